#include "stoa/proxy/sumdb_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/proxy/stored.hpp"
#include "stoa/sumdb/tile.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::proxy {

using Status = FetchResult::Status;

namespace {

Response malformed(std::string_view what) {
  return error_response(400, "bad request: malformed " + std::string(what), Outcome::rejected);
}

// "lookup/<escaped module>@<escaped version>" of database `s.name`.
std::optional<Response> parse_lookup(std::string_view rest,
                                     const std::function<bool(std::string_view)>& is_private,
                                     SumdbRequest& s) {
  const auto decoded = text::percent_decode(rest);
  const auto at = decoded ? decoded->rfind('@') : std::string::npos;
  if (at == std::string::npos) return malformed("lookup");
  const auto path = module::unescape_path(decoded->substr(0, at));
  const auto version = module::unescape_version(decoded->substr(at + 1));
  if (!path || !version || !module::semver::is_valid(*version)) return malformed("lookup");
  if (is_private(*path)) {
    return error_response(403,
                          "forbidden: private module paths are not sent to a checksum database",
                          Outcome::rejected);
  }
  s.path = "lookup/" + *module::escape_path(*path) + "@" + *module::escape_version(*version);
  s.store_key = "sumdb/" + s.name + "/" + s.path;
  s.module = *path;
  s.version = *version;
  return std::nullopt;
}

std::optional<Response> parse_tile(std::string_view rest, SumdbRequest& s) {
  const auto tile = sumdb::parse_tile_path(rest);
  if (!tile || sumdb::tile_path(*tile) != rest) return malformed("tile path");
  // Checksum databases serve tiles of height 8 only (the go command asks for no other): any
  // other height is a client mistake, never a store or upstream matter.
  if (tile->h != sumdb::k_tile_height) {
    return error_response(404, "not found: checksum database tiles have height 8",
                          Outcome::not_found);
  }
  s.path = std::string(rest);
  s.tile = true;
  s.store_key = "sumdb/" + s.name + "/" + s.path;
  return std::nullopt;
}

}  // namespace

std::variant<SumdbRequest, Response> parse_sumdb_target(
    std::string_view target, const std::function<bool(std::string_view)>& known,
    const std::function<bool(std::string_view)>& is_private) {
  constexpr std::string_view prefix = "/sumdb/";
  if (!target.starts_with(prefix)) return error_response(404, "not found", Outcome::not_found);
  target.remove_prefix(prefix.size());
  const auto slash = target.find('/');
  const std::string_view name = target.substr(0, slash);
  if (slash == std::string_view::npos || !known(name)) {
    return error_response(404, "not found: no such checksum database here", Outcome::not_found);
  }
  SumdbRequest s;
  s.name = std::string(name);
  const std::string_view rest = target.substr(slash + 1);
  std::optional<Response> bad;
  if (rest == "supported") {
    s.supported = true;
  } else if (rest == "latest") {
    s.path = "latest";
  } else if (rest.starts_with("lookup/")) {
    bad = parse_lookup(rest.substr(7), is_private, s);
  } else if (rest.starts_with("tile/")) {
    bad = parse_tile(rest, s);
  } else {
    bad = error_response(404, "not found", Outcome::not_found);
  }
  if (bad) return std::move(*bad);
  return s;
}

SumdbEndpoint::SumdbEndpoint(SumdbEndpointOptions options, store::Store& store, Answers& answers,
                             Flights& flights, std::shared_ptr<spdlog::logger> log)
    : m_options(std::move(options)),
      m_store(store),
      m_answers(answers),
      m_flights(flights),
      m_log(std::move(log)) {}

std::variant<SumdbRequest, Response> SumdbEndpoint::parse(std::string_view target) const {
  return parse_sumdb_target(
      target, [this](std::string_view name) { return m_options.sources.contains(name); },
      m_options.is_private);
}

Response SumdbEndpoint::answer(const SumdbRequest& s, std::string body, Outcome outcome) const {
  Response r;
  r.outcome = outcome;
  r.content_type = s.tile ? "application/octet-stream" : "text/plain; charset=utf-8";
  // Bytes from the database (or remembered from it) are passed on unauthenticated: never as
  // immutable, only the store's authenticated tiles and lookups are (now()).
  r.cache_control = m_options.short_cache;
  r.body = std::move(body);
  return r;
}

std::optional<Response> SumdbEndpoint::now(const HttpRequest& req, const SumdbRequest& s) {
  if (s.supported) return text_answer(200, "", Outcome::internal);
  if (!s.store_key.empty()) {
    // Kept by the verifying client: immutable, answered first, with or without the database.
    if (auto obj = m_store.get(s.store_key)) {
      return serve_object(req, std::move(*obj),
                          s.tile ? "application/octet-stream" : "text/plain; charset=utf-8",
                          Outcome::hit);
    }
  }
  if (auto body = m_answers.fresh("sumdb/" + s.name + "/" + s.path)) {
    return answer(s, std::move(*body), Outcome::hit);
  }
  return std::nullopt;
}

void SumdbEndpoint::fetch(const HttpRequest& req, const SumdbRequest& s, Done done) {
  const std::string key = "sumdb/" + s.name + "/" + s.path;
  const bool head = req.method == "HEAD";
  auto waiter = [this, s, key, head, done = std::move(done)](const FetchResult& res) {
    Response resp = on_result(s, key, res);
    resp.head = head;
    resp.endpoint = "sumdb";
    done(std::move(resp));
  };
  m_flights.run(key, std::move(waiter), [this, s, key, log = req.log] {
    const trace::ScopedLogContext log_scope(log);
    try {
      return fetch_job(s, key);
    } catch (const std::exception& e) {
      m_log->error("checksum database fetch {} failed: {}", key, e.what());
      return FetchResult{Status::failed, {}, {}, {}};
    }
  });
}

Response SumdbEndpoint::on_result(const SumdbRequest& s, const std::string& key,
                                  const FetchResult& res) {
  if (res.status == Status::ok) return answer(s, res.body, Outcome::miss);
  if (res.status == Status::not_found) {
    return error_response(404, "not found: " + (res.message.empty() ? s.path : res.message),
                          Outcome::not_found);
  }
  if (auto note = verified_head(s, res.status)) return answer(s, std::move(*note), Outcome::stale);
  // (unavailable: the database proved itself untrustworthy; nothing of it is answered)
  if (res.status != Status::busy && res.status != Status::unavailable) {
    if (auto body = m_answers.any(key)) return answer(s, std::move(*body), Outcome::stale);
  }
  return error_response(status_for(res.status), "checksum database unreachable: " + res.message,
                        Outcome::failed);
}

FetchResult SumdbEndpoint::fetch_job(const SumdbRequest& s, const std::string& key) {
  // Kept by a flight that ended after this request looked (see FileFetch).
  if (!s.store_key.empty()) {
    if (auto stored = read_object(m_store, s.store_key))
      return FetchResult{Status::ok, {}, std::move(*stored), {}};
  }
  if (auto body = m_answers.fresh(key)) return FetchResult{Status::ok, {}, std::move(*body), {}};
  if (auto verified = verify_lookup(s)) return std::move(*verified);
  const DatabaseSource& src = m_options.sources.find(s.name)->second;
  std::string body;
  FetchResult res =
      result_of(src.upstream->get(src.prefix + s.path, body, sumdb::k_max_fetch_bytes));
  if (res.status == Status::ok) {
    // Kept in memory only: what reaches the store are the tiles the verifying client has
    // authenticated against a signed tree head (first bytes win forever, so never
    // unauthenticated ones).
    m_answers.remember(key, body);
    res.body = std::move(body);
  }
  return res;
}

std::optional<FetchResult> SumdbEndpoint::verify_lookup(const SumdbRequest& s) {
  // Only once stoa trusts a tree head of its own (from verifying a download): a client's lookup
  // through /sumdb/ never picks the first head stoa trusts.
  sumdb::Client* client = m_options.checksum_db;
  if (s.module.empty() || client == nullptr || client->name() != s.name ||
      client->latest().n == 0) {
    return std::nullopt;
  }
  try {
    const sumdb::Lookup l = client->lookup(s.module, s.version);
    if (l.status == sumdb::Lookup::Status::not_found)
      return FetchResult{Status::not_found, {}, {}, {}};
    if (l.status == sumdb::Lookup::Status::found) {
      // Verified and kept (LookupCache): answered as kept.
      if (auto kept = read_object(m_store, s.store_key)) {
        return FetchResult{Status::ok, {}, std::move(*kept), {}};
      }
    }
  } catch (const sumdb::SecurityError& e) {
    m_log->critical("checksum database {} misbehaved: {}\n{}", client->name(), e.what(),
                    e.evidence());
    return FetchResult{Status::unavailable, "the checksum database cannot be trusted now", {}, {}};
  } catch (const std::exception& e) {
    m_log->warn("checksum database lookup for {}@{} through /sumdb/ not verified: {}", s.module,
                s.version, e.what());
  }
  // Not verified (a tile missing, the database unreachable): the go command that asked checks
  // the database's answer itself; nothing of it is kept.
  return std::nullopt;
}

std::optional<std::string> SumdbEndpoint::verified_head(const SumdbRequest& s, Status failure) {
  // The database unreachable (not: it answered 404, or stoa is too busy to ask): the latest tree
  // head stoa verified, which the tiles kept with its lookups prove.
  if (s.path != "latest" || (failure != Status::failed && failure != Status::timed_out))
    return std::nullopt;
  sumdb::Client* db = m_options.checksum_db;
  if (db == nullptr || db->name() != s.name) return std::nullopt;
  std::string note = db->latest_note();
  if (note.empty()) return std::nullopt;
  return note;
}

}  // namespace stoa::proxy
