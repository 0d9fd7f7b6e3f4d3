#include "stoa/proxy/service.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>
#include <system_error>
#include <utility>

#include "stoa/coord/lock.hpp"
#include "stoa/index/feed.hpp"
#include "stoa/index/index.hpp"
#include "stoa/index/visible.hpp"
#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/modzip/modzip.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/conditional.hpp"
#include "stoa/proxy/index_access.hpp"
#include "stoa/proxy/listing.hpp"
#include "stoa/proxy/privacy.hpp"
#include "stoa/proxy/validate.hpp"
#include "stoa/sumdb/tile.hpp"

namespace stoa::proxy {
namespace {

using module::Kind;
using Status = FetchResult::Status;

constexpr std::uint64_t k_max_info_bytes = 64 << 10;
constexpr std::uint64_t k_max_list_bytes = 16 << 20;
constexpr std::string_view k_immutable = "public, max-age=31536000, immutable";

std::string_view content_type_of(Kind k) {
  switch (k) {
    case Kind::info:
    case Kind::latest:
      return "application/json";
    case Kind::zip:
      return "application/zip";
    case Kind::list:
    case Kind::mod:
      break;
  }
  return "text/plain; charset=utf-8";
}

Response text(int status, std::string body, Outcome outcome) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.cache_control = "no-store";
  r.body = std::move(body);
  r.outcome = outcome;
  return r;
}

FetchResult result_of(const fetch::Outcome& o) {
  switch (o.status) {
    case fetch::Status::ok:
      return {Status::ok, {}, {}, {}};
    case fetch::Status::not_found:
      return {Status::not_found, o.message, {}, {}};
    case fetch::Status::failed:
      break;
  }
  // An upstream's deliberate refusal is its policy, not an outage: the client hears it as such.
  if (o.http_status == 403) return {Status::forbidden, o.message, {}, {}};
  return {o.timed_out ? Status::timed_out : Status::failed, o.message, {}, {}};
}

std::string describe(const module::Request& r) {
  return r.version.empty() ? r.module : r.module + "@" + r.version;
}

Response failure(const module::Request& r, const FetchResult& res) {
  const int status = status_for(res.status);
  std::string msg;
  switch (res.status) {
    case Status::not_found:
      msg = "not found: " + describe(r) + (res.message.empty() ? "" : ": " + res.message);
      return error_response(status, std::move(msg), Outcome::not_found);
    case Status::forbidden:
      msg = "forbidden: " + describe(r);
      break;
    case Status::unavailable:
      msg = "cannot check " + describe(r) + " against policy now; retry shortly";
      break;
    case Status::timed_out:
      msg = "upstream timed out fetching " + describe(r);
      break;
    case Status::invalid:
      msg = "upstream served invalid data for " + describe(r);
      break;
    case Status::busy:
      msg = "stoa is busy fetching other modules; retry shortly";
      break;
    case Status::store_error:
      msg = "storage error serving " + describe(r);
      break;
    case Status::failed:
    case Status::ok:
      msg = "upstream failed fetching " + describe(r);
      break;
  }
  if (!res.message.empty()) msg += ": " + res.message;
  Response resp = error_response(status, std::move(msg), Outcome::failed);
  if (res.status == Status::busy || res.status == Status::unavailable) {
    resp.headers.emplace_back("Retry-After", "1");
  }
  return resp;
}

}  // namespace

int status_for(FetchResult::Status s) {
  switch (s) {
    case Status::ok:
      return 200;
    case Status::not_found:
      return 404;
    case Status::forbidden:
      return 403;
    case Status::timed_out:
      return 504;
    case Status::busy:
    case Status::unavailable:
    case Status::store_error:
      return 503;
    case Status::failed:
    case Status::invalid:
      break;
  }
  return 502;
}

namespace {

std::string_view endpoint_of(const module::Request& r) {
  if (r.kind == Kind::info && !r.canonical) return "query";
  switch (r.kind) {
    case Kind::list:
      return "list";
    case Kind::info:
      return "info";
    case Kind::mod:
      return "mod";
    case Kind::zip:
      return "zip";
    case Kind::latest:
      return "latest";
  }
  return "other";
}

std::string_view result_label(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::not_found:
      return "not_found";
    case Status::forbidden:
      return "forbidden";
    case Status::failed:
      return "failed";
    case Status::timed_out:
      return "timed_out";
    case Status::invalid:
      return "invalid";
    case Status::busy:
      return "busy";
    case Status::unavailable:
      return "unavailable";
    case Status::store_error:
      return "store_error";
  }
  return "unknown";
}

}  // namespace

Service::Service(ServiceOptions options, store::Store& store, fetch::Upstream& upstream,
                 fetch::WorkerPool& pool, std::shared_ptr<spdlog::logger> log,
                 metrics::Registry& registry)
    : m_options(std::move(options)),
      m_store(store),
      m_upstream(upstream),
      m_pool(pool),
      m_log(std::move(log)),
      m_short_cache("public, max-age=" + std::to_string(m_options.list_ttl.count())),
      m_registry(registry),
      m_fetches(
          registry.counter("stoa_upstream_fetches_total",
                           "Upstream fetches by requested kind and result (invalid: refused by "
                           "validation, nothing stored).",
                           {"kind", "result"})),
      m_fetch_seconds(registry.histogram("stoa_upstream_fetch_duration_seconds",
                                         "Time to fetch, validate and commit from upstream.",
                                         {"kind"})),
      m_fetch_bytes(
          registry.counter("stoa_upstream_bytes_total", "Bytes received from upstream.", {"kind"})),
      m_checksum_checks(registry.counter(
          "stoa_checksum_checks_total",
          "Downloads checked against the checksum database before storing: match, mismatch "
          "(refused), not_found (refused), error (refused for now), skipped (no_sumdb or off).",
          {"result"})),
      m_store_seconds(
          registry.histogram("stoa_store_operation_duration_seconds",
                             "Store operations by backend and operation (get: open of a "
                             "stored file; put: fsync, rename and directory fsync).",
                             {"backend", "op"})),
      m_store_get_seconds(m_store_seconds.with({m_options.store_backend, "get"})),
      m_store_put_seconds(m_store_seconds.with({m_options.store_backend, "put"})),
      m_lock_acquisitions(registry.counter(
          "stoa_lock_acquisitions_total",
          "Cross-replica lock requests before a fetch: acquired, timeout (waited lock_wait, "
          "fetched anyway), error (lock service failed; fetched without the lock).",
          {"result"})),
      m_lock_wait_seconds(registry
                              .histogram("stoa_lock_wait_seconds",
                                         "Time spent getting the cross-replica lock of a file.", {})
                              .with({})),
      m_lock_degraded(registry
                          .counter("stoa_lock_degraded_total",
                                   "Fetches done without the cross-replica lock because the lock "
                                   "service was unavailable (per-replica single-flight only).",
                                   {})
                          .with({})),
      m_lock_found_stored(registry
                              .counter("stoa_lock_found_stored_total",
                                       "Fetches skipped because, once the lock was held, the file "
                                       "was already stored (by another replica).",
                                       {})
                              .with({})),
      m_index_errors(registry
                         .counter("stoa_index_errors_total",
                                  "Stored versions the index could not record (the store has "
                                  "them; `stoa index rebuild` adds them).",
                                  {})
                         .with({})),
      m_derived(registry.counter(
          "stoa_derived_files_total",
          "Files derived from stored versions (file: list, the module's @v/list; hash, a "
          ".ziphash or .modhash) that failed to be written after a commit (event: failed; the "
          "answer is still served and the file converges later) or were found stale and "
          "rewritten (event: repaired).",
          {"file", "event"})),
      m_refusals(registry.counter(
          "stoa_policy_refusals_total",
          "Requests refused by a rule, by the rule's action and why: denied (deny), "
          "unauthenticated (401), hidden (a reader check failed: answered 404), not_stored "
          "(offline or private without a source, and the version is not stored), ships_with_go "
          "(golang.org/fips140, refused unless a rule names it).",
          {"action", "reason"})),
      m_auth_rejected(registry.counter(
          "stoa_auth_rejected_total",
          "Requests with credentials answered without checking them: rate_limited (429, too "
          "many failed logins from the client's address), busy (503, the credential-check "
          "queue auth_queue was full).",
          {"reason"})),
      m_login_failures(registry
                           .counter("stoa_login_failures_total",
                                    "Failed credential checks (wrong, unknown or malformed "
                                    "credentials for a restricted module, /index or /catalog).",
                                    {})
                           .with({})),
      m_login_limit(m_options.login_limit),
      m_hot(m_options.memory_cache_bytes, m_options.memory_cache_max_object),
      m_answers(m_options.answer_cache_bytes, m_options.answer_max_age) {
  m_tracer = m_options.tracer != nullptr ? m_options.tracer : &m_no_tracer;
  registry.callback_gauge("stoa_fetches_in_flight", "Upstream fetches running or queued.",
                          [this] { return static_cast<double>(m_flights.in_flight()); });
  registry.callback_gauge("stoa_fetch_queue_depth", "Fetches waiting for a worker.",
                          [this] { return static_cast<double>(m_pool.queued()); });
  registry.callback_gauge("stoa_memory_cache_bytes",
                          "Bytes held by the in-memory cache of small stored files.",
                          [this] { return static_cast<double>(m_hot.stats().bytes); });
  registry.callback_gauge("stoa_memory_cache_entries",
                          "Files held by the in-memory cache of small stored files.",
                          [this] { return static_cast<double>(m_hot.stats().entries); });
  registry.callback_gauge("stoa_answer_cache_bytes",
                          "Bytes held by the in-memory cache of list, @latest, query and "
                          "checksum-database answers (bounded by answer_cache_bytes).",
                          [this] { return static_cast<double>(m_answers.bytes()); });
  if (m_options.auth_pool != nullptr) {
    registry.callback_gauge("stoa_auth_queue_depth", "Credential checks waiting for a worker.",
                            [this] { return static_cast<double>(m_options.auth_pool->queued()); });
  }
  registry.callback_gauge("stoa_login_limit_addresses",
                          "Client addresses whose failed logins are being counted.",
                          [this] { return static_cast<double>(m_login_limit.tracked()); });
  if (m_options.locks != nullptr) {
    registry.callback_gauge("stoa_locks_held", "Cross-replica locks this replica holds now.",
                            [this] { return static_cast<double>(m_locks_held.load()); });
  }
}

void Service::record_fetch(const module::Request& r, const FetchResult& res,
                           std::chrono::steady_clock::time_point started, std::uint64_t bytes) {
  const std::string k(endpoint_of(r));
  m_fetches.with({k, std::string(result_label(res.status))}).inc();
  m_fetch_seconds.with({k}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (bytes > 0) m_fetch_bytes.with({k}).inc(bytes);
}

std::size_t Service::in_flight() const { return m_flights.in_flight(); }

namespace {

// A request under /sumdb/<name>/, checked: `path` is the database path to fetch (canonical
// form), `store_key` is set for tiles and lookups (the verifying client keeps the ones it
// authenticated there).
struct SumdbRequest {
  std::string name;
  std::string path;
  std::string store_key;
  std::string module, version;  // of a lookup, decoded
  bool supported = false;       // ".../supported"
  bool tile = false;
};

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// nullopt: parsed into `out`; else the error to answer.
std::optional<Response> parse_sumdb(std::string_view target, const ServiceOptions& o,
                                    SumdbRequest& out) {
  target.remove_prefix(std::string_view("/sumdb/").size());
  const auto slash = target.find('/');
  const std::string_view name = target.substr(0, slash);
  if (slash == std::string_view::npos || !o.sumdb_sources.contains(name)) {
    return error_response(404, "not found: no such checksum database here", Outcome::not_found);
  }
  out.name = std::string(name);
  const std::string_view rest = target.substr(slash + 1);
  if (rest == "supported") {
    out.supported = true;
    return std::nullopt;
  }
  if (rest == "latest") {
    out.path = "latest";
    return std::nullopt;
  }
  if (rest.starts_with("lookup/")) {
    const auto decoded = percent_decode(rest.substr(7));
    const auto at = decoded ? decoded->rfind('@') : std::string::npos;
    if (at == std::string::npos)
      return error_response(400, "bad request: malformed lookup", Outcome::rejected);
    const auto path = module::unescape_path(decoded->substr(0, at));
    const auto version = module::unescape_version(decoded->substr(at + 1));
    if (!path || !version || !module::semver::is_valid(*version)) {
      return error_response(400, "bad request: malformed lookup", Outcome::rejected);
    }
    if (is_private_module(o, *path)) {
      return error_response(403,
                            "forbidden: private module paths are not sent to a checksum database",
                            Outcome::rejected);
    }
    out.path = "lookup/" + *module::escape_path(*path) + "@" + *module::escape_version(*version);
    out.store_key = "sumdb/" + out.name + "/" + out.path;
    out.module = *path;
    out.version = *version;
    return std::nullopt;
  }
  if (rest.starts_with("tile/")) {
    const auto tile = sumdb::parse_tile_path(rest);
    if (!tile || sumdb::tile_path(*tile) != rest) {
      return error_response(400, "bad request: malformed tile path", Outcome::rejected);
    }
    // Checksum databases serve tiles of height 8 only (the go command asks for no other): any
    // other height is a client mistake, never a store or upstream matter.
    if (tile->h != sumdb::k_tile_height) {
      return error_response(404, "not found: checksum database tiles have height 8",
                            Outcome::not_found);
    }
    out.path = std::string(rest);
    out.tile = true;
    out.store_key = "sumdb/" + out.name + "/" + out.path;
    return std::nullopt;
  }
  return error_response(404, "not found", Outcome::not_found);
}

Response sumdb_answer(const SumdbRequest& s, std::string body, Outcome outcome,
                      const std::string& short_cache) {
  Response r;
  r.outcome = outcome;
  r.content_type = s.tile ? "application/octet-stream" : "text/plain; charset=utf-8";
  // Bytes from the database (or remembered from it) are passed on unauthenticated: never as
  // immutable, only the store's authenticated tiles and lookups are (sumdb_now).
  r.cache_control = short_cache;
  r.body = std::move(body);
  return r;
}

std::optional<std::string> verified_head(const ServiceOptions& o, const SumdbRequest& s,
                                         Status failure) {
  // The database unreachable (not: it answered 404, or stoa is too busy to ask): the latest tree
  // head stoa verified, which the tiles kept with its lookups prove.
  if (s.path != "latest" || (failure != Status::failed && failure != Status::timed_out))
    return std::nullopt;
  if (o.checksum_db == nullptr || o.checksum_db->name() != s.name) return std::nullopt;
  std::string note = o.checksum_db->latest_note();
  if (note.empty()) return std::nullopt;
  return note;
}

}  // namespace

namespace {

// A checked /index or /catalog request.
struct IndexQuery {
  bool catalog = false;
  std::int64_t since_ns = 0;
  std::size_t limit = 0;
  index::Cursor from;  // /catalog: where the page starts
};

constexpr std::size_t k_feed_max = 2000;
constexpr std::size_t k_catalog_default = 100;
constexpr std::size_t k_catalog_max = 1000;

bool is_index_target(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return path == "/index" || path == "/catalog";
}

// nullopt: parsed into `q`; else the 400 to answer.
std::optional<Response> parse_index_query(std::string_view target, IndexQuery& q) {
  const auto qm = target.find('?');
  q.catalog = target.substr(0, qm) == "/catalog";
  q.limit = q.catalog ? k_catalog_default : k_feed_max;
  const std::size_t max = q.catalog ? k_catalog_max : k_feed_max;
  std::string_view rest = qm == std::string_view::npos ? "" : target.substr(qm + 1);
  auto bad = [](const std::string& why) {
    return error_response(400, "bad request: " + why, Outcome::rejected);
  };
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value) return bad("malformed query");
    if (name == "limit") {
      std::size_t n = 0;
      const auto [p, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
      if (ec != std::errc() || p != value->data() + value->size() || n < 1 || n > max) {
        return bad("limit must be a number from 1 to " + std::to_string(max));
      }
      q.limit = n;
    } else if (name == "since" && !q.catalog) {
      const auto ns = index::parse_rfc3339(*value);
      if (!ns) return bad("since must be an RFC 3339 time, e.g. 2024-01-02T03:04:05Z");
      q.since_ns = *ns;
    } else if (name == "cursor" && q.catalog) {
      const auto c = index::decode_cursor(*value);
      if (!c) return bad("malformed cursor");
      q.from = *c;
    } else {
      return bad("unknown parameter " + std::string(name.substr(0, 32)));
    }
  }
  return std::nullopt;
}

}  // namespace

void Service::index_fetch(const HttpRequest& req, Done done) {
  IndexQuery q;
  if (auto bad = parse_index_query(req.target, q)) return done(std::move(*bad));
  const bool head = req.method == "HEAD";
  auto shared_done = std::make_shared<Done>(std::move(done));
  auto answer = [head, shared_done](Response resp) {
    resp.head = head;
    resp.endpoint = "internal";
    (*shared_done)(std::move(resp));
  };
  if (!req.authorization.empty() && m_options.policy != nullptr && !m_options.policy->no_rules()) {
    // What is listed depends on the credentials: limited and checked as for a restricted module.
    if (auto limited = login_limited(req)) return answer(std::move(*limited));
    const auto snap = m_options.policy->current();
    if (snap->credentials->is_slow(req.authorization)) {
      const bool queued = submit_check([this, req, shared_done] {
        const trace::ScopedLogContext log_scope(req.log);
        if (auto limited = login_limited(req)) {
          limited->head = req.method == "HEAD";
          limited->endpoint = "internal";
          return (*shared_done)(std::move(*limited));
        }
        (void)m_options.policy->current()->credentials->authenticate(req.authorization);
        index_fetch(req, std::move(*shared_done));  // the verdict is remembered: fast now
      });
      if (!queued) {
        Response resp = error_response(503, "stoa is busy checking credentials; retry shortly",
                                       Outcome::failed);
        resp.headers.emplace_back("Retry-After", "1");
        answer(std::move(resp));
      }
      return;
    }
    if (snap->credentials->authenticate(req.authorization).status !=
        policy::AuthResult::Status::ok) {
      login_failed(req);
    }
  }
  const bool queued = m_pool.try_submit([this, q, head, shared_done, auth = req.authorization,
                                         log = req.log] {
    const trace::ScopedLogContext log_scope(log);
    Response resp;
    try {
      // Only what this client could read: see index_access.hpp.
      const index::Visible visible = visible_to(m_options.policy, auth);
      if (q.catalog) {
        const auto page = index::visible_page(*m_options.index, q.from, q.limit, visible);
        resp = text(
            200,
            index::render_catalog(page.entries, page.next ? index::encode_cursor(*page.next) : ""),
            Outcome::internal);
        resp.content_type = "application/json";
      } else if (auto feed = index::visible_since(*m_options.index, q.since_ns, q.limit, visible);
                 feed.cut && feed.entries.empty()) {
        // The feed cannot point past entries it does not show; an empty page would read as "no
        // more" (see visible.hpp).
        m_log->warn(
            "/index: more than {} entries in a row after since={} are hidden from this "
            "client; answering 503",
            index::k_scan_max, index::format_rfc3339(q.since_ns));
        resp = error_response(503,
                              "more than " + std::to_string(index::k_scan_max) +
                                  " index entries in a row are not visible to this client",
                              Outcome::failed);
      } else {
        resp = text(200, index::render_feed(feed.entries), Outcome::internal);
        resp.content_type = "application/json";
      }
    } catch (const std::exception& e) {
      m_log->error("index read failed: {}", e.what());
      resp = error_response(503, "the index is unavailable; retry shortly", Outcome::failed);
      resp.headers.emplace_back("Retry-After", "1");
    }
    resp.head = head;
    resp.endpoint = "internal";
    (*shared_done)(std::move(resp));
  });
  if (!queued) {
    Response resp = error_response(503, "stoa is busy; retry shortly", Outcome::failed);
    resp.headers.emplace_back("Retry-After", "1");
    resp.head = head;
    resp.endpoint = "internal";
    (*shared_done)(std::move(resp));
  }
}

void Service::record_index(const module::Request& r, const std::string& h1, std::uint64_t size,
                           const std::string& origin) {
  if (m_options.index == nullptr) return;
  // Modules not verified (no_sumdb) are never put there; restricted ones are, and are listed
  // to their readers only (index_access.hpp).
  if (module::match_prefix_patterns_folded(m_options.no_sumdb, r.module)) return;
  index::Entry e;
  e.module = r.module;
  e.version = r.version;
  if (r.kind == Kind::zip) {
    e.zip_h1 = h1;
    e.zip_size = static_cast<std::int64_t>(size);
  } else if (r.kind == Kind::mod) {
    e.mod_h1 = h1;
  }
  e.stored_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  e.origin = origin;
  // After a failure the index is left alone for lock_retry, so that an unreachable database
  // does not add a connect timeout to every fetch.
  const auto now = std::chrono::steady_clock::now();
  if (now.time_since_epoch().count() < m_index_down_until.load()) {
    m_index_errors.inc();
    m_log->debug("index: not recording {}@{} (index unavailable)", r.module, r.version);
    return;
  }
  try {
    m_options.index->record(e);
  } catch (const std::exception& ex) {
    m_index_errors.inc();
    m_index_down_until.store((now + m_options.lock_retry).time_since_epoch().count());
    m_log->error("index: cannot record {}@{}: {} (it is stored; `stoa index rebuild` adds it)",
                 r.module, r.version, ex.what());
  }
}

std::optional<Response> Service::sumdb_now(const HttpRequest& req) {
  SumdbRequest s;
  if (auto bad = parse_sumdb(req.target, m_options, s)) return bad;
  if (s.supported) return text(200, "", Outcome::internal);
  if (!s.store_key.empty()) {
    // Kept by the verifying client: immutable, answered first, with or without the database.
    if (auto obj = m_store.get(s.store_key)) {
      Response r = serve_stored(req, std::move(*obj), Kind::zip, Outcome::hit);
      r.content_type = s.tile ? "application/octet-stream" : "text/plain; charset=utf-8";
      return r;
    }
  }
  if (auto c = cached("sumdb/" + s.name + "/" + s.path, true)) {
    return sumdb_answer(s, std::move(c->body), Outcome::hit, m_short_cache);
  }
  return std::nullopt;
}

void Service::sumdb_fetch(const HttpRequest& req, Done done) {
  SumdbRequest s;
  if (auto bad = parse_sumdb(req.target, m_options, s)) return done(std::move(*bad));
  const std::string key = "sumdb/" + s.name + "/" + s.path;
  const bool head = req.method == "HEAD";
  auto waiter = [this, s, key, head, done = std::move(done)](const FetchResult& res) {
    Response resp;
    if (res.status == Status::ok) {
      resp = sumdb_answer(s, res.body, Outcome::miss, m_short_cache);
    } else if (res.status == Status::not_found) {
      resp = error_response(404, "not found: " + (res.message.empty() ? s.path : res.message),
                            Outcome::not_found);
    } else if (auto note = verified_head(m_options, s, res.status)) {
      resp = sumdb_answer(s, std::move(*note), Outcome::stale, m_short_cache);
    } else if (auto c = cached(key, false);
               c && res.status != Status::busy && res.status != Status::unavailable) {
      // (unavailable: the database proved itself untrustworthy; nothing of it is answered)
      resp = sumdb_answer(s, std::move(c->body), Outcome::stale, m_short_cache);
    } else {
      resp = error_response(status_for(res.status), "checksum database unreachable: " + res.message,
                            Outcome::failed);
    }
    resp.head = head;
    resp.endpoint = "sumdb";
    done(std::move(resp));
  };
  run_flight(key, std::move(waiter), nullptr, [this, s, key, log = req.log] {
    const trace::ScopedLogContext log_scope(log);
    FetchResult res;
    try {
      // Kept by a flight that ended after this request looked (see fetch_file).
      if (!s.store_key.empty()) {
        if (auto stored = read_object(m_store, s.store_key))
          return FetchResult{Status::ok, {}, std::move(*stored), {}};
      }
      if (auto c = cached(key, true)) return FetchResult{Status::ok, {}, std::move(c->body), {}};
      if (auto verified = verify_lookup(s.name, s.module, s.version, s.store_key)) {
        return std::move(*verified);
      }
      const DatabaseSource& src = m_options.sumdb_sources.find(s.name)->second;
      std::string body;
      res = result_of(src.upstream->get(src.prefix + s.path, body, sumdb::k_max_fetch_bytes));
      if (res.status == Status::ok) {
        // Kept in memory only: what reaches the store are the tiles the verifying client has
        // authenticated against a signed tree head (first bytes win forever, so never
        // unauthenticated ones).
        remember(key, body);
        res.body = std::move(body);
      }
    } catch (const std::exception& e) {
      m_log->error("checksum database fetch {} failed: {}", key, e.what());
      res = {Status::failed, {}, {}, {}};
    }
    return res;
  });
}

std::optional<FetchResult> Service::verify_lookup(const std::string& db, const std::string& module,
                                                  const std::string& version,
                                                  const std::string& store_key) {
  // Only once stoa trusts a tree head of its own (from verifying a download): a client's lookup
  // through /sumdb/ never picks the first head stoa trusts.
  sumdb::Client* client = m_options.checksum_db;
  if (module.empty() || client == nullptr || client->name() != db || client->latest().n == 0) {
    return std::nullopt;
  }
  try {
    const sumdb::Lookup l = client->lookup(module, version);
    if (l.status == sumdb::Lookup::Status::not_found)
      return FetchResult{Status::not_found, {}, {}, {}};
    if (l.status == sumdb::Lookup::Status::found) {
      // Verified and kept (LookupCache): answered as kept.
      if (auto kept = read_object(m_store, store_key)) {
        return FetchResult{Status::ok, {}, std::move(*kept), {}};
      }
    }
  } catch (const sumdb::SecurityError& e) {
    m_log->critical("checksum database {} misbehaved: {}\n{}", client->name(), e.what(),
                    e.evidence());
    return FetchResult{Status::unavailable, "the checksum database cannot be trusted now", {}, {}};
  } catch (const std::exception& e) {
    m_log->warn("checksum database lookup for {}@{} through /sumdb/ not verified: {}", module,
                version, e.what());
  }
  // Not verified (a tile missing, the database unreachable): the go command that asked checks
  // the database's answer itself; nothing of it is kept.
  return std::nullopt;
}

fetch::WorkerPool* Service::pool_for(const module::Request& r) const {
  if (m_options.direct_pool != nullptr && m_options.goes_direct && m_options.goes_direct(r.module))
    return m_options.direct_pool;
  return &m_pool;
}

void Service::run_flight(const std::string& key, fetch::SingleFlight<FetchResult>::Callback waiter,
                         const std::shared_ptr<bool>& leader, std::function<FetchResult()> work) {
  run_flight(key, std::move(waiter), leader, &m_pool, std::move(work));
}

void Service::run_flight(const std::string& key, fetch::SingleFlight<FetchResult>::Callback waiter,
                         const std::shared_ptr<bool>& leader, fetch::WorkerPool* pool,
                         std::function<FetchResult()> work) {
  // The start function runs only for the first waiter, before the work is queued: so *leader is
  // set before any completion reads it.
  m_flights.join(key, std::move(waiter), [&] {
    if (leader) *leader = true;
    const bool queued =
        pool->try_submit([this, key, work = std::move(work)] { m_flights.complete(key, work()); });
    if (!queued) m_flights.complete(key, {Status::busy, {}, {}, {}});
  });
}

Service::FetchContext Service::context_of(const HttpRequest& req) {
  return FetchContext{req.trace, req.tracestate, req.log, {}};
}

fetch::Upstream::Headers Service::upstream_headers(const trace::Span& span,
                                                   const FetchContext& ctx) const {
  fetch::Upstream::Headers h;
  if (span.context().valid()) {
    h.push_back("traceparent: " + trace::format_traceparent(span.context()));
    if (!ctx.tracestate.empty()) h.push_back("tracestate: " + ctx.tracestate);
  }
  return h;
}

std::optional<FetchResult> Service::verify_checksum(const module::Request& r, const std::string& h1,
                                                    const trace::SpanContext& parent) {
  trace::Span span = m_tracer->start_span("sumdb.verify", &parent);
  if (m_options.checksum_db == nullptr || is_private_module(m_options, r.module)) {
    m_checksum_checks.with({"skipped"}).inc();
    return std::nullopt;
  }
  const auto artifact = r.kind == Kind::zip ? sumdb::Artifact::zip : sumdb::Artifact::mod;
  sumdb::Verdict v;
  try {
    v = m_options.checksum_db->verify(r.module, r.version, artifact, h1);
    span.set_attribute("stoa.checksum.result", static_cast<std::int64_t>(v.status));
  } catch (const sumdb::SecurityError& e) {
    m_log->critical("checksum database {} misbehaved: {}\n{}", m_options.checksum_db->name(),
                    e.what(), e.evidence());
    m_checksum_checks.with({"error"}).inc();
    return FetchResult{Status::unavailable, "the checksum database cannot be trusted now", {}, {}};
  } catch (const std::exception& e) {
    m_log->warn("checksum database lookup for {}@{} failed: {}", r.module, r.version, e.what());
    m_checksum_checks.with({"error"}).inc();
    return FetchResult{Status::unavailable, "checksum database unreachable", {}, {}};
  }
  using V = sumdb::Verdict::Status;
  switch (v.status) {
    case V::match:
      m_checksum_checks.with({"match"}).inc();
      return std::nullopt;
    case V::mismatch:
      m_checksum_checks.with({"mismatch"}).inc();
      m_log->error(
          "SECURITY: checksum mismatch for {}@{} ({}): upstream served {}, checksum database {} "
          "has {}; "
          "refused, nothing stored",
          r.module, r.version, r.kind == Kind::zip ? "zip" : "go.mod", h1,
          m_options.checksum_db->name(), v.expected);
      return FetchResult{
          Status::invalid,
          "checksum mismatch: upstream served " + h1 + ", the checksum database has " + v.expected,
          {},
          {}};
    case V::not_found:
      m_checksum_checks.with({"not_found"}).inc();
      m_log->warn(
          "{}@{} is not in checksum database {}; refused (add it to no_sumdb if it is private)",
          r.module, r.version, m_options.checksum_db->name());
      return FetchResult{
          Status::invalid, "not in the checksum database " + m_options.checksum_db->name(), {}, {}};
    case V::error:
      break;
  }
  m_checksum_checks.with({"error"}).inc();
  m_log->warn("checksum database check of {}@{} failed: {}", r.module, r.version, v.message);
  return FetchResult{Status::unavailable, "checksum database: " + v.message, {}, {}};
}

std::vector<std::string> Service::in_flight_keys() const { return m_flights.keys(); }

Handler Service::handler() {
  return {[this](const HttpRequest& r) { return respond_now(r); },
          [this](const HttpRequest& r, std::function<void(Response)> done) {
            handle(r, std::move(done));
          }};
}

std::optional<Response> Service::respond_now(const HttpRequest& req) {
  const bool head = req.method == "HEAD";
  if (!head && req.method != "GET") {
    Response r =
        error_response(405, "method not allowed: " + req.method.substr(0, 16), Outcome::rejected);
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // Small stored files from memory: no parsing, no store access. Ranges take the full path.
  // With rules, the request is policed first and try_answer() looks here before the store.
  if (req.range.empty() && (m_options.policy == nullptr || m_options.policy->no_rules())) {
    if (auto e = m_hot.find(req.target)) {
      Response r = hot_response(req, std::move(e));
      r.head = head;
      return r;
    }
  }
  std::optional<Response> out;
  if (req.target == "/healthz") {
    out = text(200, "ok\n", Outcome::internal);
  } else if (req.target == "/_stoa/instance") {
    out = text(200, m_options.instance_id, Outcome::internal);
  } else if (req.target == "/readyz") {
    if (m_draining.load()) {
      out = text(503, "draining\n", Outcome::internal);
    } else {
      try {
        (void)m_store.get("stoa.readiness/@v/list");  // absent is fine; a backend failure throws
        try {
          // A store that cannot take a new file cannot take a miss: not ready either. (One
          // empty temp file created and removed: cheap enough for a probe.)
          (void)m_store.stage();
          out = text(200, "ready\n", Outcome::internal);
        } catch (const std::exception& e) {
          m_log->warn("not ready: the store cannot stage a file: {}", e.what());
          out = text(503, "store not writable\n", Outcome::internal);
        }
      } catch (const store::StoreError& e) {
        out = text(503, "store unavailable\n", Outcome::internal);
      }
    }
  } else if (is_operational_target(req.target)) {
    bool slow = false;
    out = operational_gate(req, slow);
    if (slow) return std::nullopt;  // handle() checks the credentials off-thread
    if (!out) {
      out = operational_now(req);
      if (!out) return std::nullopt;  // the index is read on the worker pool by handle()
    }
    out->endpoint = "internal";
  } else if (req.target == "/") {
    out = text(200, "stoa: a Go module proxy. Set GOPROXY to this URL.\n", Outcome::internal);
  } else if (req.target.starts_with("/sumdb/")) {
    try {
      out = sumdb_now(req);
    } catch (const store::StoreError& e) {
      m_log->error("store error for {}: {}", req.target, e.what());
      out = error_response(503, "storage error; retry shortly", Outcome::failed);
    }
    if (!out) return std::nullopt;
    out->endpoint = "sumdb";
  } else {
    auto parsed = module::parse_request(req.target);
    if (auto* bad = std::get_if<module::BadRequest>(&parsed)) {
      out = error_response(bad->status, bad->message,
                           bad->status == 404 ? Outcome::not_found : Outcome::rejected);
    } else {
      const auto& r = std::get<module::Request>(parsed);
      try {
        if (m_login_limit.enabled() && m_options.policy != nullptr &&
            !m_options.policy->no_rules() &&
            m_options.policy->current()->checks_credentials(
                r.module, r.canonical ? std::string_view(r.version) : "", req.authorization)) {
          if (auto limited = login_limited(req)) {
            limited->endpoint = endpoint_of(r);
            limited->head = head;
            return limited;
          }
        }
        if (slow_credentials(req, r)) return std::nullopt;  // handle() checks them off-thread
        const Policed p = police(req, r);
        out = policy_now(req, r, p);
        if (!out && p.decision.action != policy::Action::passthrough) out = try_answer(req, r);
        if (!out && p.decision.action == policy::Action::passthrough && !r.canonical) {
          // Mutable answers live in memory only, so a fresh one may be reused.
          if (auto c = cached(module::key_of(r), true))
            out = meta_response(req, r, std::move(c->body), Outcome::hit);
        }
        if (!out) out = answer_stale_and_refresh(req, r, p);
      } catch (const store::StoreError& e) {
        m_log->error("store error for {}: {}", req.target, e.what());
        out = error_response(503, "storage error; retry shortly", Outcome::failed);
      }
      if (out) out->endpoint = endpoint_of(r);
    }
  }
  if (out) {
    out->head = head;
    if (out->outcome == Outcome::internal) out->endpoint = "internal";
  }
  return out;
}

namespace {

// 401 for /metrics, /index or /catalog without valid credentials.
Response operational_unauthorized(std::string_view target) {
  Response resp = error_response(
      401,
      "unauthorized: " + std::string(target.substr(0, target.find('?'))) + " needs credentials",
      Outcome::rejected);
  resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"stoa\"");
  resp.endpoint = "internal";
  return resp;
}

}  // namespace

bool Service::is_operational_target(std::string_view target) {
  return target == "/metrics" || is_index_target(target);
}

std::optional<Response> Service::operational_gate(const HttpRequest& req, bool& slow) const {
  using Access = ServiceOptions::OperationalAccess;
  switch (m_options.operational_access) {
    case Access::anyone:
      return std::nullopt;
    case Access::admin_only: {
      Response resp = error_response(404, "not found", Outcome::not_found);
      resp.endpoint = "internal";
      return resp;
    }
    case Access::authenticated:
      break;
  }
  if (!req.authorization.empty() && m_options.policy != nullptr) {
    const auto snap = m_options.policy->current();
    if (snap->credentials->is_slow(req.authorization)) {
      slow = true;
      return std::nullopt;
    }
    if (snap->credentials->authenticate(req.authorization).status == policy::AuthResult::Status::ok)
      return std::nullopt;
  }
  return operational_unauthorized(req.target);
}

std::optional<Response> Service::operational_now(const HttpRequest& req) {
  std::optional<Response> out;
  if (req.target == "/metrics") {
    out = text(200, m_registry.render(), Outcome::internal);
    out->content_type = "text/plain; version=0.0.4; charset=utf-8";
  } else if (is_index_target(req.target)) {
    if (m_options.index == nullptr) {
      out = error_response(404, "not found: this stoa keeps no index (index = none)",
                           Outcome::not_found);
    } else {
      IndexQuery q;
      out = parse_index_query(req.target, q);
      if (!out) return std::nullopt;  // read on the worker pool by handle_operational()
    }
  } else {
    return std::nullopt;
  }
  out->head = req.method == "HEAD";
  out->endpoint = "internal";
  return out;
}

void Service::handle_operational(const HttpRequest& req, Done done) {
  if (auto now = operational_now(req)) return done(std::move(*now));
  if (is_index_target(req.target)) return index_fetch(req, std::move(done));
  Response resp = error_response(404, "not found", Outcome::not_found);
  resp.endpoint = "internal";
  done(std::move(resp));
}

void Service::handle(const HttpRequest& req, Done done) {
  if (auto r = respond_now(req)) return done(std::move(*r));
  if (req.target.starts_with("/sumdb/")) return sumdb_fetch(req, std::move(done));
  if (is_operational_target(req.target)) {
    bool slow = false;
    if (auto refused = operational_gate(req, slow)) {
      refused->head = req.method == "HEAD";
      return done(std::move(*refused));
    }
    if (!slow) return handle_operational(req, std::move(done));
    // The first bcrypt check of these credentials: on a worker (its verdict is remembered).
    auto shared = std::make_shared<Done>(std::move(done));
    const bool queued = m_pool.try_submit([this, req, shared] {
      const trace::ScopedLogContext log_scope(req.log);
      const auto who = m_options.policy->current()->credentials->authenticate(req.authorization);
      if (who.status != policy::AuthResult::Status::ok) {
        Response resp = operational_unauthorized(req.target);
        resp.head = req.method == "HEAD";
        return (*shared)(std::move(resp));
      }
      handle_operational(req, std::move(*shared));
    });
    if (!queued) {
      Response resp = error_response(503, "stoa is busy; retry shortly", Outcome::failed);
      resp.headers.emplace_back("Retry-After", "1");
      resp.endpoint = "internal";
      (*shared)(std::move(resp));
    }
    return;
  }
  // respond_now only declines for well-formed module requests that need upstream work, or
  // whose credentials need a bcrypt check: that runs on a worker, never on a serving thread.
  auto r = std::get<module::Request>(module::parse_request(req.target));
  if (m_options.from_own_fetcher && m_options.from_own_fetcher(req)) {
    m_log->warn(
        "{} was asked by stoa's own go command (a go-import loop back to this proxy); "
        "refused",
        module::key_of(r));
    Response resp = error_response(508, "loop detected: stoa does not fetch for its own go command",
                                   Outcome::rejected);
    resp.head = req.method == "HEAD";
    resp.endpoint = endpoint_of(r);
    return done(std::move(resp));
  }
  if (slow_credentials(req, r)) {
    auto shared = std::make_shared<Done>(std::move(done));
    const bool queued = submit_check([this, req, r, shared] {
      const trace::ScopedLogContext log_scope(req.log);
      try {
        // Failures counted while this waited may have used up the address's attempts.
        if (auto limited = login_limited(req)) {
          limited->endpoint = endpoint_of(r);
          limited->head = req.method == "HEAD";
          return (*shared)(std::move(*limited));
        }
        police(req, r);  // the bcrypt check; its verdict is remembered (and counted just below)
        if (auto now = respond_now(req)) return (*shared)(std::move(*now));
        decided(req, r, std::move(*shared));
      } catch (const std::exception& e) {
        m_log->error("answering {}: {}", req.target, e.what());
        (*shared)(error_response(503, "storage error; retry shortly", Outcome::failed));
      }
    });
    if (!queued) {
      Response resp =
          error_response(503, "stoa is busy checking credentials; retry shortly", Outcome::failed);
      resp.headers.emplace_back("Retry-After", "1");
      resp.head = req.method == "HEAD";
      resp.endpoint = endpoint_of(r);
      (*shared)(std::move(resp));
    }
    return;
  }
  decided(req, r, std::move(done));
}

bool Service::submit_check(std::function<void()> check) {
  fetch::WorkerPool& pool = m_options.auth_pool != nullptr ? *m_options.auth_pool : m_pool;
  if (pool.try_submit(std::move(check))) return true;
  m_auth_rejected.with({"busy"}).inc();
  return false;
}

std::optional<Response> Service::login_limited(const HttpRequest& req) {
  const auto left = m_login_limit.blocked(req.remote_address, m_options.now());
  if (!left) return std::nullopt;
  m_auth_rejected.with({"rate_limited"}).inc();
  Response resp = error_response(
      429,
      "too many failed logins from this address; retry in " + std::to_string(left->count()) + " s",
      Outcome::rejected);
  resp.headers.emplace_back("Retry-After", std::to_string(left->count()));
  return resp;
}

void Service::login_failed(const HttpRequest& req) {
  m_login_failures.inc();
  m_login_limit.failed(req.remote_address, m_options.now());
}

bool Service::slow_credentials(const HttpRequest& req, const module::Request& r) const {
  if (req.authorization.empty() || m_options.policy == nullptr || m_options.policy->no_rules())
    return false;
  return m_options.policy->current()->needs_slow_check(
      r.module, r.canonical ? std::string_view(r.version) : "", req.authorization);
}

void Service::decided(const HttpRequest& req, const module::Request& r, Done done) {
  const Policed p = police(req, r);
  // Decided again: a reload in between may have changed the answer.
  if (auto now = policy_now(req, r, p)) {
    now->head = req.method == "HEAD";
    now->endpoint = endpoint_of(r);
    return done(std::move(*now));
  }
  fetch::Upstream* up = source_for(p);
  if (up == nullptr) {  // a private module nothing can fetch: what policy_now answers
    Response resp = error_response(404, "not found: " + describe(r), Outcome::not_found);
    resp.endpoint = endpoint_of(r);
    return done(std::move(resp));
  }
  const Mode mode = mode_of(p);
  if (r.canonical && r.kind != Kind::latest && r.kind != Kind::list) {
    fetch_file(req, r, std::move(done), *up, mode, origin_of(p.decision, m_options.origin),
               p.snapshot);
  } else {
    fetch_meta(req, r, std::move(done), *up, mode, p.snapshot);
  }
}

Service::Mode Service::mode_of(const Policed& p) {
  switch (p.decision.action) {
    case policy::Action::passthrough:
      return Mode::passthrough;
    case policy::Action::private_:
      return Mode::private_;
    default:
      return Mode::cache;
  }
}

std::optional<Response> Service::answer_stale_and_refresh(const HttpRequest& req,
                                                          const module::Request& r,
                                                          const Policed& p) {
  if (r.canonical && r.kind != Kind::list && r.kind != Kind::latest) return std::nullopt;
  auto c = cached(module::key_of(r), false);
  if (!c) return std::nullopt;
  fetch::Upstream* up = source_for(p);
  if (up == nullptr) return std::nullopt;
  // The refresh is an ordinary flight with nobody waiting: it joins a running one, and its
  // answer lands in the cache for the next request.
  fetch_meta(
      req, r, [](Response) {}, *up, mode_of(p), p.snapshot);
  return meta_response(req, r, std::move(c->body), Outcome::stale);
}

Service::Policed Service::police(const HttpRequest& req, const module::Request& r) const {
  Policed p;
  if (m_options.policy == nullptr || m_options.policy->no_rules()) return p;
  p.snapshot = m_options.policy->current();
  p.decision = p.snapshot->decide(r.module, r.canonical ? std::string_view(r.version) : "",
                                  req.authorization);
  return p;
}

fetch::Upstream* Service::source_for(const Policed& p) const {
  if (p.decision.source != nullptr) return p.decision.source;
  if (p.decision.action == policy::Action::private_) return m_options.private_source;
  return &m_upstream;
}

std::optional<Response> Service::policy_now(const HttpRequest& req, const module::Request& r,
                                            const Policed& p) {
  using policy::Action;
  const auto& d = p.decision;
  if (d.rule == nullptr && policy::ships_with_go(r.module)) {
    m_refusals.with({"deny", "ships_with_go"}).inc();
    return error_response(403,
                          "forbidden: " + describe(r) +
                              " ships inside Go (GOROOT/lib/fips140) and the go command never "
                              "downloads it; a rule naming it may allow it",
                          Outcome::rejected);
  }
  if (d.rule == nullptr) return std::nullopt;
  const std::string action(policy::to_string(d.action));
  // The one answer for "no such module" under a restricted rule: a hidden module gets exactly
  // this too, so a client cannot tell the two apart.
  auto not_found = [&] {
    return error_response(404, "not found: " + describe(r), Outcome::not_found);
  };
  using Access = policy::Decision::Access;
  if (d.access == Access::unauthenticated) {
    m_refusals.with({action, "unauthenticated"}).inc();
    if (!req.authorization.empty()) login_failed(req);  // sent, and wrong
    Response resp = error_response(401, "unauthorized: " + describe(r) + " needs credentials",
                                   Outcome::rejected);
    resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"stoa\"");
    return resp;
  }
  if (d.access == Access::hidden) {
    m_refusals.with({action, "hidden"}).inc();
    return not_found();
  }
  switch (d.action) {
    case Action::deny: {
      m_refusals.with({action, "denied"}).inc();
      std::string msg = "forbidden: " + describe(r) + " is denied by rule \"" + d.rule->name + "\"";
      if (!d.rule->message.empty()) msg += ": " + d.rule->message;
      return error_response(403, std::move(msg), Outcome::rejected);
    }
    case Action::redirect: {
      Response resp;
      resp.status = 302;
      resp.content_type = "text/plain; charset=utf-8";
      resp.cache_control = "no-store";
      resp.outcome = Outcome::rejected;
      resp.headers.emplace_back("Location", d.rule->to + req.target);
      return resp;
    }
    case Action::offline:
    case Action::private_: {
      const bool fetchable = d.action == Action::private_ && source_for(p) != nullptr;
      if (fetchable) return std::nullopt;  // store first, then the private source
      if (auto hit = try_answer(req, r)) return hit;
      if (!r.canonical || r.kind == Kind::list || r.kind == Kind::latest) {
        if (auto stored = answer_from_store(req, r, Outcome::hit)) return stored;
      }
      m_refusals.with({action, "not_stored"}).inc();
      if (d.action == Action::private_) return not_found();
      return error_response(404,
                            "not found: " + describe(r) + " (rule \"" + d.rule->name +
                                "\" is offline: only stored versions are served)",
                            Outcome::not_found);
    }
    case Action::cache:
    case Action::passthrough:
      break;
  }
  return std::nullopt;
}

std::optional<Response> Service::try_answer(const HttpRequest& req, const module::Request& r) {
  const std::string key = module::key_of(r);
  if (r.canonical && r.kind == Kind::zip && m_options.zip_redirector != nullptr) {
    trace::Span span = m_tracer->start_span("store.locate", &req.trace);
    auto url = m_options.zip_redirector->locate(key);
    if (!url) return std::nullopt;
    Response resp = text(302, "", Outcome::hit);
    resp.cache_control = "no-store";  // the URL expires
    resp.headers.emplace_back("Location", std::move(*url));
    return resp;
  }
  if (r.canonical) {
    if (req.range.empty()) {
      if (auto e = m_hot.find(req.target)) return hot_response(req, std::move(e));
    }
    trace::Span span = m_tracer->start_span("store.get", &req.trace);
    const auto t0 = std::chrono::steady_clock::now();
    auto found = m_store.get(key);
    m_store_get_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (!found) return std::nullopt;
    if (found->size <= m_hot.max_object_bytes() && m_hot.enabled() && req.range.empty()) {
      if (auto e = make_hot(r, *found)) {
        m_hot.insert(req.target, e);
        return hot_response(req, std::move(e));
      }
    }
    return serve_stored(req, std::move(*found), r.kind, Outcome::hit);
  }
  if (auto c = cached(key, true)) return meta_response(req, r, std::move(c->body), Outcome::hit);
  return std::nullopt;
}

std::shared_ptr<const HotEntry> Service::make_hot(const module::Request& r,
                                                  store::Object& obj) const {
  if (r.kind != Kind::info && r.kind != Kind::mod && r.kind != Kind::zip) return nullptr;
  auto e = std::make_shared<HotEntry>();
  if (auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj.body)) {
    e->body = *bytes;
  } else {
    const int fd = std::get<fsio::UniqueFd>(obj.body).get();
    std::string body(obj.size, '\0');
    std::size_t done = 0;
    while (done < body.size()) {
      const ssize_t n =
          ::pread(fd, body.data() + done, body.size() - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return nullptr;  // unreadable or shorter than its size: serve it the slow way
      done += static_cast<std::size_t>(n);
    }
    e->body = std::make_shared<const std::string>(std::move(body));
  }
  e->etag = obj.etag;
  e->mtime_unix = obj.mtime_unix;
  e->endpoint = endpoint_of(r);
  std::string& h = e->head_lines;
  h.append("Content-Type: ").append(content_type_of(r.kind)).append("\r\n");
  h.append("Cache-Control: ").append(k_immutable).append("\r\n");
  h.append("ETag: ").append(obj.etag).append("\r\n");
  h.append("Last-Modified: ").append(http_date(obj.mtime_unix)).append("\r\n");
  h.append("Accept-Ranges: bytes\r\n");
  return e;
}

Response Service::hot_response(const HttpRequest& req, std::shared_ptr<const HotEntry> e) {
  Response r;
  r.outcome = Outcome::hit;
  r.endpoint = e->endpoint;
  r.head_lines = std::shared_ptr<const std::string>(e, &e->head_lines);
  if (!req.if_none_match.empty() && if_none_match_matches(req.if_none_match, e->etag)) {
    r.status = 304;
    return r;
  }
  const std::uint64_t size = e->body->size();
  r.object = store::Object{size, e->mtime_unix, {}, e->body};
  r.offset = 0;
  r.length = size;
  return r;
}

Response Service::serve_stored(const HttpRequest& req, store::Object obj, Kind kind,
                               Outcome outcome) const {
  Response r;
  r.outcome = outcome;
  r.content_type = content_type_of(kind);
  r.cache_control = k_immutable;
  r.etag = obj.etag;
  r.headers.emplace_back("Last-Modified", http_date(obj.mtime_unix));
  r.headers.emplace_back("Accept-Ranges", "bytes");
  if (if_none_match_matches(req.if_none_match, obj.etag)) {
    r.status = 304;
    return r;
  }
  const std::uint64_t size = obj.size;
  const RangeDecision d = decide_range(req.range, req.if_range, obj.etag, size);
  switch (d.verdict) {
    case RangeVerdict::unsatisfiable:
      r.status = 416;
      r.content_type = "text/plain; charset=utf-8";
      r.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
      return r;
    case RangeVerdict::partial:
      r.status = 206;
      r.headers.emplace_back("Content-Range",
                             "bytes " + std::to_string(d.range.offset) + "-" +
                                 std::to_string(d.range.offset + d.range.length - 1) + "/" +
                                 std::to_string(size));
      r.offset = d.range.offset;
      r.length = d.range.length;
      break;
    case RangeVerdict::full:
      r.offset = 0;
      r.length = size;
      break;
  }
  r.object = std::move(obj);
  return r;
}

// ---- immutable files: .info, .mod, .zip of canonical versions ----

void Service::fetch_file(const HttpRequest& req, const module::Request& r, Done done,
                         fetch::Upstream& up, Mode mode, std::string origin,
                         std::shared_ptr<const policy::Snapshot> snapshot) {
  const std::string key = module::key_of(r);
  const bool head = req.method == "HEAD";
  // Set by the start function, which only the leader runs, before the work is submitted: so it
  // happens-before the completion that reads it.
  auto leader = std::make_shared<bool>(false);
  auto waiter = [this, req, r, done = std::move(done), head, leader, mode](const FetchResult& res) {
    const trace::ScopedLogContext log_scope(req.log);
    Response resp;
    const Outcome outcome = *leader ? Outcome::miss : Outcome::coalesced;
    if (res.status == Status::ok && res.file) {
      // Passthrough: served from the checked download, never from the store.
      fsio::UniqueFd fd(::dup(res.file->fd.get()));
      if (!fd) {
        resp = failure(r, {Status::store_error, {}, {}, {}});
      } else {
        store::Object obj;
        obj.size = res.file->size;
        obj.mtime_unix = std::time(nullptr);
        obj.body = std::move(fd);
        resp = serve_stored(req, std::move(obj), r.kind, outcome);
      }
    } else if (res.status == Status::ok) {
      try {
        if (auto obj = m_store.get(module::key_of(r))) {
          resp = serve_stored(req, std::move(*obj), r.kind, outcome);
        } else {
          m_log->error("{} vanished right after commit", module::key_of(r));
          resp = failure(r, {Status::store_error, {}, {}, {}});
        }
      } catch (const store::StoreError& e) {
        m_log->error("store error reading {}: {}", module::key_of(r), e.what());
        resp = failure(r, {Status::store_error, {}, {}, {}});
      }
    } else if (mode == Mode::private_ && res.status == Status::not_found) {
      // Exactly what a reader who may not see the module gets (see policy_now).
      resp = error_response(404, "not found: " + describe(r), Outcome::not_found);
    } else {
      resp = failure(r, res);
    }
    resp.head = head;
    resp.endpoint = endpoint_of(r);
    done(std::move(resp));
  };
  // A passthrough download is its own flight: it must not satisfy a waiter that expects the
  // file in the store, nor the other way round.
  const std::string flight = mode == Mode::passthrough ? "passthrough:" + key : key;
  FetchContext ctx = context_of(req);
  ctx.origin = std::move(origin);
  run_flight(flight, std::move(waiter), leader, pool_for(r),
             [this, r, key, ctx = std::move(ctx), &up, mode, snapshot = std::move(snapshot)] {
               (void)snapshot;  // keeps `up` alive (a rule's upstream) until the job ends
               const trace::ScopedLogContext log_scope(ctx.log);
               const auto started = std::chrono::steady_clock::now();
               FetchResult res;
               std::uint64_t bytes = 0;
               bool fetched = true;  // false: found stored, nothing asked of the upstream
               try {
                 // This flight's first request may have looked in the store just before an
                 // earlier flight for the same file committed it and left the table: look again
                 // before fetching, so that any number of misses make one upstream fetch.
                 if (mode != Mode::passthrough && m_store.get(key))
                   return FetchResult{Status::ok, {}, {}, {}};
                 res = download_file_once(r, ctx, bytes, up, mode, fetched);
               } catch (const std::exception& e) {
                 m_log->error("fetch {} failed: {}", key, e.what());
                 res = {Status::store_error, {}, {}, {}};
               }
               if (fetched) record_fetch(r, res, started, bytes);
               return res;
             });
}

FetchResult Service::download_file_once(const module::Request& r, const FetchContext& ctx,
                                        std::uint64_t& bytes, fetch::Upstream& up, Mode mode,
                                        bool& fetched) {
  coord::Locks* locks = m_options.locks;
  // A passthrough download is never stored, so no other replica can save this one the fetch.
  if (locks == nullptr || mode == Mode::passthrough) return download_file(r, ctx, bytes, up, mode);
  const std::string key = module::key_of(r);
  const auto now = std::chrono::steady_clock::now();
  if (now.time_since_epoch().count() < m_lock_down_until.load()) {
    m_lock_degraded.inc();
    return download_file(r, ctx, bytes, up, mode);
  }
  std::unique_ptr<coord::Held> held;
  {
    trace::Span span = m_tracer->start_span("lock.acquire", &ctx.trace, trace::Kind::client);
    span.set_attribute("stoa.key", key);
    try {
      held = locks->acquire(key, now + m_options.lock_wait);
    } catch (const coord::LockError& e) {
      span.set_status(trace::StatusCode::error, e.what());
      m_lock_acquisitions.with({"error"}).inc();
      m_lock_degraded.inc();
      const auto until = std::chrono::steady_clock::now() + m_options.lock_retry;
      m_lock_down_until.store(until.time_since_epoch().count());
      m_log->warn(
          "lock service ({}) unavailable: {}; fetching {} with per-replica single-flight only, "
          "retrying the lock service in {} ms",
          locks->backend(), e.what(), key, m_options.lock_retry.count());
      return download_file(r, ctx, bytes, up, mode);
    }
    m_lock_wait_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - now).count());
  }
  if (!held) {
    m_lock_acquisitions.with({"timeout"}).inc();
    m_log->warn("{} stayed locked by another replica for {} ms; fetching it anyway", key,
                m_options.lock_wait.count());
    return download_file(r, ctx, bytes, up, mode);
  }
  m_lock_acquisitions.with({"acquired"}).inc();
  m_locks_held.fetch_add(1);
  struct Unheld {
    std::atomic<std::int64_t>& n;
    ~Unheld() { n.fetch_sub(1); }
  } unheld{m_locks_held};
  m_log->debug("lock {} acquired", key);
  FetchResult res;
  // Another replica may have committed the file while this one waited.
  if (m_store.get(key)) {
    m_lock_found_stored.inc();
    fetched = false;
    res = {Status::ok, {}, {}, {}};
  } else {
    res = download_file(r, ctx, bytes, up, mode);
  }
  if (held->lost()) m_log->warn("lost the lock of {} while fetching it", key);
  try {
    held->release();
  } catch (const coord::LockError& e) {
    m_log->warn("releasing the lock of {}: {} (it ends by itself)", key, e.what());
  }
  return res;
}

FetchResult Service::download_file(const module::Request& r, const FetchContext& ctx,
                                   std::uint64_t& bytes, fetch::Upstream& up, Mode mode) {
  const std::string key = module::key_of(r);
  trace::Span span = m_tracer->start_span("upstream.fetch", &ctx.trace, trace::Kind::client);
  span.set_attribute("stoa.key", key);
  const auto started = std::chrono::steady_clock::now();
  fsio::TempFile staged;
  try {
    staged = mode == Mode::passthrough ? fsio::TempFile::create(m_options.scratch_dir, "pass-")
                                       : m_store.stage();
  } catch (const std::exception& e) {
    m_log->error("cannot stage {}: {}", key, e.what());
    return {Status::store_error, {}, {}, {}};
  }
  const std::uint64_t limit = r.kind == Kind::zip   ? modzip::k_max_zip_bytes
                              : r.kind == Kind::mod ? modzip::k_max_go_mod_bytes
                                                    : k_max_info_bytes;
  FetchResult res = result_of(up.get(key, staged, limit, upstream_headers(span, ctx)));
  bytes = staged.size();
  span.set_attribute("stoa.bytes", static_cast<std::int64_t>(bytes));
  if (res.status != Status::ok && res.status != Status::not_found) {
    span.set_status(trace::StatusCode::error, res.message);
  }
  if (res.status != Status::ok) {
    if (res.status != Status::not_found)
      m_log->warn("upstream fetch {} failed: {}", key, res.message);
    return res;
  }

  // Validate before anything becomes visible.
  std::string problem;
  std::string zip_h1;
  if (r.kind == Kind::info || r.kind == Kind::mod) {
    std::string body(staged.size(), '\0');
    if (::pread(staged.fd(), body.data(), body.size(), 0) != static_cast<ssize_t>(body.size())) {
      return {Status::store_error, "reading staged file", {}, {}};
    }
    // What the go command would refuse is never stored (validate.hpp).
    problem = (r.kind == Kind::info ? info_problem(body, r.version) : go_mod_problem(body))
                  .value_or(std::string());
  } else if (r.kind == Kind::zip) {
    const modzip::ZipCheck check = modzip::check_zip(staged.path().string(), r.module, r.version);
    zip_h1 = check.h1;
    if (!check.ok()) {
      problem = "invalid module zip: " + check.problems.front();
    } else if (m_options.validator != nullptr) {
      const auto v =
          m_options.validator->check({r.module, r.version, "zip", staged.size(), check.h1});
      using Decision = fetch::ValidationVerdict::Decision;
      if (v.decision == Decision::deny) {
        m_log->warn("validator denied {}: {}", key, v.reason);
        return {Status::forbidden, "denied by policy: " + v.reason, {}, {}};
      }
      if (v.decision == Decision::error) {
        if (!m_options.validator_allows_on_error) {
          m_log->error("validator failed for {}: {}; refusing for now", key, v.reason);
          return {Status::unavailable, {}, {}, {}};
        }
        m_log->warn("validator failed for {}: {}; storing anyway (validator_failure = allow)", key,
                    v.reason);
      }
    }
  }
  if (!problem.empty()) {
    m_log->error("refusing {} from upstream: {}", key, problem);
    span.set_status(trace::StatusCode::error, problem);
    return {Status::invalid, problem, {}, {}};
  }

  // The go.sum hash of what will be stored, checked against the checksum database.
  std::string h1;
  if (r.kind == Kind::zip) {
    h1 = zip_h1;
  } else if (r.kind == Kind::mod) {
    h1 = modzip::hash_go_mod_file(staged.path().string());
  }
  if (mode == Mode::private_) {
    m_checksum_checks.with({"skipped"}).inc();  // private paths never reach a checksum database
  } else if (!h1.empty()) {
    if (auto refused = verify_checksum(r, h1, span.context())) return std::move(*refused);
  }
  if (mode == Mode::passthrough) {
    m_log->info("passed through {} ({} bytes, not stored)", key, staged.size());
    auto passed = std::make_shared<FetchResult::PassedFile>();
    passed->fd = fsio::UniqueFd(::dup(staged.fd()));
    passed->size = staged.size();
    if (!passed->fd) return {Status::store_error, "dup of a passthrough download", {}, {}};
    const auto path = staged.release();  // closes its descriptor; ours stays open
    (void)::unlink(path.c_str());
    FetchResult ok{Status::ok, {}, {}, {}};
    ok.file = std::move(passed);
    return ok;
  }

  const std::uint64_t size = staged.size();
  bool committed = false;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    committed = m_store.put(key, std::move(staged));
  } catch (const store::DerivedFileError& e) {
    // The file is stored: answer with it, and let the list converge later.
    committed = true;
    m_derived.with({"list", "failed"}).inc();
    m_log->error("stored {} but not its list: {}", key, e.what());
  } catch (const store::StoreError& e) {
    m_log->error("cannot store {}: {}", key, e.what());
    return {Status::store_error, {}, {}, {}};
  }
  m_store_put_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (committed) {
    m_committed_objects.fetch_add(1);
    m_committed_bytes.fetch_add(size);
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  m_log->info("{} {} ({} bytes, {} ms)", committed ? "stored" : "already stored", key, size,
              ms.count());
  if (committed) record_index(r, h1, size, ctx.origin);
  if (committed && !h1.empty()) record_hash(r, h1);
  return {Status::ok, {}, {}, {}};
}

void Service::record_hash(const module::Request& r, const std::string& h1) {
  const std::string key = r.escaped_module + "/@v/" + r.escaped_version +
                          (r.kind == Kind::zip ? ".ziphash" : ".modhash");
  try {
    put_bytes(m_store, key, h1 + "\n");
  } catch (const store::StoreError& e) {
    m_derived.with({"hash", "failed"}).inc();
    m_log->error("cannot record {} (`stoa verify --repair` writes it): {}", key, e.what());
  }
}

void Service::converge_list(const std::string& escaped_module) {
  try {
    if (m_store.repair_list(escaped_module)) {
      m_derived.with({"list", "repaired"}).inc();
      m_log->warn(
          "{}/@v/list did not name the stored versions (a crash or a full disk after a "
          "commit); rewritten",
          escaped_module);
    }
  } catch (const store::StoreError& e) {
    m_derived.with({"list", "failed"}).inc();
    m_log->error("cannot repair {}/@v/list: {}", escaped_module, e.what());
  }
}

// ---- mutable answers: list, @latest, .info queries ----

void Service::fetch_meta(const HttpRequest& req, const module::Request& r, Done done,
                         fetch::Upstream& up, Mode mode,
                         std::shared_ptr<const policy::Snapshot> snapshot) {
  const std::string key = module::key_of(r);
  const bool head = req.method == "HEAD";
  auto leader = std::make_shared<bool>(false);
  auto waiter = [this, req, r, done = std::move(done), head, leader, mode](const FetchResult& res) {
    const trace::ScopedLogContext log_scope(req.log);
    Response resp;
    try {
      resp = answer_meta(req, r, res, *leader ? Outcome::miss : Outcome::coalesced);
      if (mode == Mode::private_ && resp.status == 404) {
        resp = error_response(404, "not found: " + describe(r), Outcome::not_found);
      }
    } catch (const store::StoreError& e) {
      m_log->error("store error answering {}: {}", req.target, e.what());
      resp = failure(r, {Status::store_error, {}, {}, {}});
    }
    resp.head = head;
    resp.endpoint = endpoint_of(r);
    done(std::move(resp));
  };
  run_flight(key, std::move(waiter), leader, pool_for(r),
             [this, r, key, ctx = context_of(req), &up, snapshot = std::move(snapshot)] {
               (void)snapshot;  // keeps `up` alive (a rule's upstream) until the job ends
               const trace::ScopedLogContext log_scope(ctx.log);
               const auto started = std::chrono::steady_clock::now();
               FetchResult res;
               try {
                 // An answer remembered by a flight that ended after this one's first request
                 // looked (see fetch_file).
                 if (auto c = cached(key, true))
                   return FetchResult{Status::ok, {}, std::move(c->body), {}};
                 res = download_meta(r, ctx, up);
               } catch (const std::exception& e) {
                 m_log->error("fetch {} failed: {}", key, e.what());
                 res = {Status::failed, {}, {}, {}};
               }
               record_fetch(r, res, started, res.body.size());
               return res;
             });
}

FetchResult Service::download_meta(const module::Request& r, const FetchContext& ctx,
                                   fetch::Upstream& up) {
  const std::string key = module::key_of(r);
  trace::Span span = m_tracer->start_span("upstream.fetch", &ctx.trace, trace::Kind::client);
  span.set_attribute("stoa.key", key);
  FetchResult res;
  std::string body;
  res = result_of(up.get(key, body, r.kind == Kind::list ? k_max_list_bytes : k_max_info_bytes,
                         upstream_headers(span, ctx)));
  if (res.status != Status::ok && res.status != Status::not_found) {
    span.set_status(trace::StatusCode::error, res.message);
  }
  if (res.status != Status::ok) {
    if (res.status != Status::not_found) m_log->warn("upstream {} failed: {}", key, res.message);
    return res;
  }
  if (r.kind == Kind::list) {
    std::vector<std::string> stored;
    for (const auto& v : m_store.versions(r.escaped_module)) {
      if (auto d = module::unescape_version(v)) stored.push_back(std::move(*d));
    }
    body = merge_list(body, stored);
    if (!stored.empty()) converge_list(r.escaped_module);
  } else {
    const auto info = parse_info(body);
    std::string problem;
    if (!info || !module::semver::is_canonical(info->version)) {
      problem = "malformed answer (no canonical Version)";
    } else if (auto bad = module::split_path_version(r.module);
               !bad || module::check_path_major(info->version, bad->major)) {
      problem = "version " + info->version.substr(0, 128) + " does not match module path";
    }
    if (!problem.empty()) {
      m_log->error("refusing {} from upstream: {}", key, problem);
      return {Status::invalid, problem, {}, {}};
    }
  }
  remember(key, body);
  return {Status::ok, {}, std::move(body), {}};
}

Response Service::answer_meta(const HttpRequest& req, const module::Request& r,
                              const FetchResult& res, Outcome outcome) {
  if (res.status == Status::ok) return meta_response(req, r, res.body, outcome);
  if (res.status != Status::not_found && res.status != Status::busy &&
      res.status != Status::forbidden && res.status != Status::unavailable) {
    if (auto c = cached(module::key_of(r), false)) {
      return meta_response(req, r, std::move(c->body), Outcome::stale);
    }
  }
  // An upstream without @latest is an answer, not an outage: the go command then computes the
  // latest version from the list itself (modfetch/proxy.go), which stoa serves; answering from
  // the store here would take that choice away from it (#20).
  const bool upstream_has_no_latest = r.kind == Kind::latest && res.status == Status::not_found;
  if (res.status != Status::busy && res.status != Status::forbidden && !upstream_has_no_latest) {
    if (auto fallback = answer_from_store(
            req, r, res.status == Status::not_found ? Outcome::hit : Outcome::stale)) {
      return std::move(*fallback);
    }
  }
  return failure(r, res);
}

std::optional<Response> Service::answer_from_store(const HttpRequest& req, const module::Request& r,
                                                   Outcome outcome) {
  if (r.kind == Kind::info) return std::nullopt;  // queries need upstream
  std::vector<std::string> versions;
  for (const auto& v : m_store.versions(r.escaped_module)) {
    if (auto d = module::unescape_version(v)) versions.push_back(std::move(*d));
  }
  if (versions.empty()) return std::nullopt;
  if (r.kind == Kind::list) {
    converge_list(r.escaped_module);
    return meta_response(req, r, merge_list("", versions), outcome);
  }
  const auto latest = pick_latest(versions);
  if (!latest) return std::nullopt;
  const auto escaped = module::escape_version(*latest);
  if (!escaped) return std::nullopt;
  auto body = read_object(m_store, r.escaped_module + "/@v/" + *escaped + ".info");
  if (!body) return std::nullopt;
  return meta_response(req, r, std::move(*body), outcome);
}

Response Service::meta_response(const HttpRequest& /*req*/, const module::Request& r,
                                std::string body, Outcome outcome) const {
  Response resp;
  resp.outcome = outcome;
  resp.content_type = content_type_of(r.kind);
  resp.cache_control = m_short_cache;
  resp.body = std::move(body);
  return resp;
}

std::optional<Service::Cached> Service::cached(const std::string& key, bool fresh_only) {
  const auto now = m_options.now();
  auto e = m_answers.get(key, now);
  if (!e) return std::nullopt;
  if (fresh_only && now - e->fetched >= m_options.list_ttl) return std::nullopt;
  return Cached{*e->body, e->fetched};
}

void Service::remember(const std::string& key, std::string body) {
  m_answers.put(key, std::move(body), m_options.now());
}

}  // namespace stoa::proxy
