#include "stoa/proxy/meta.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/listing.hpp"
#include "stoa/proxy/stored.hpp"
#include "stoa/proxy/validate.hpp"

namespace stoa::proxy {
namespace {

using module::Kind;
using Status = FetchResult::Status;

constexpr std::uint64_t k_max_info_bytes = 64 << 10;
constexpr std::uint64_t k_max_list_bytes = 16 << 20;

// The first field of each line of a list body.
std::vector<std::string> versions_in(std::string_view list_body) {
  std::vector<std::string> out;
  while (!list_body.empty()) {
    const auto nl = list_body.find('\n');
    const std::string_view line = list_body.substr(0, nl);
    list_body = nl == std::string_view::npos ? "" : list_body.substr(nl + 1);
    const std::string_view version = line.substr(0, line.find(' '));
    if (!version.empty()) out.emplace_back(version);
  }
  return out;
}

}  // namespace

MetaAnswers::MetaAnswers(store::Store& store, Answers& answers, const VersionFilter* filter,
                         FirstSeen* seen, const trace::Tracer& tracer, ServiceMetrics& metrics,
                         std::shared_ptr<spdlog::logger> log, std::string short_cache)
    : m_store(store),
      m_answers(answers),
      m_filter(filter),
      m_seen(seen),
      m_tracer(tracer),
      m_metrics(metrics),
      m_log(std::move(log)),
      m_short_cache(std::move(short_cache)) {}

Response MetaAnswers::answer(const module::Request& r, std::string body, Outcome outcome) {
  return *shaped(r, std::move(body), outcome, true);
}

void MetaAnswers::note(std::string_view answer, const module::Request& r,
                       const std::vector<HiddenVersion>& hidden) {
  if (hidden.empty()) return;
  m_metrics.filtered(answer, hidden);
  m_log->info("filtered from the {} answer of {}: {}", answer, r.module, describe_hidden(hidden));
}

std::optional<Response> MetaAnswers::shaped(const module::Request& r, std::string body,
                                            Outcome outcome, bool settled) {
  if (filtering(r)) {
    if (r.kind == Kind::list) {
      std::vector<HiddenVersion> hidden;
      body = filter_list(*m_filter, r.module, body, &hidden, asked(r));
      note("list", r, hidden);
    } else if (const auto info = parse_info(body)) {
      auto verdict = m_filter->check(r.module, info->version, info->time, asked(r));
      if (verdict.hidden) {
        HiddenVersion h{info->version, std::move(verdict)};
        if (r.kind == Kind::latest) return allowed_latest(r, h, outcome, settled);
        note("query", r, {h});
        return error_response(403, refusal(r.module, h.version, h.verdict), Outcome::rejected);
      }
    }
  }
  return plain(r, std::move(body), outcome);
}

Response MetaAnswers::plain(const module::Request& r, std::string body, Outcome outcome) const {
  Response resp;
  resp.outcome = outcome;
  resp.content_type = content_type_of(r.kind);
  resp.cache_control = m_short_cache;
  resp.body = std::move(body);
  return resp;
}

std::optional<Response> MetaAnswers::allowed_latest(const module::Request& r,
                                                    const HiddenVersion& hidden, Outcome outcome,
                                                    bool settled) {
  const std::string why = hidden.version + " is " + hidden.verdict.reason;
  const auto list = m_answers.any(r.escaped_module + "/@v/list");
  if (!list && !settled) return std::nullopt;
  const std::string merged = merge_list(list ? *list : "", stored_versions(r.escaped_module));
  if (!list && merged.empty()) {
    note("latest", r, {hidden});
    // Nothing to choose from: the go command then computes latest from the (filtered) list.
    return error_response(404, "not found: " + r.module + "@latest is filtered: " + why,
                          Outcome::not_found);
  }
  const auto best =
      pick_latest(versions_in(filter_list(*m_filter, r.module, merged, nullptr, asked(r))));
  if (!best) {
    note("latest", r, {hidden});
    return error_response(
        403, "forbidden: " + r.module + "@latest: no version of it is allowed (" + why + ")",
        Outcome::rejected);
  }
  std::optional<std::string> body;
  if (const auto escaped = module::escape_version(*best)) {
    const std::string key = r.escaped_module + "/@v/" + *escaped + ".info";
    body = read_object(m_store, key);
    if (!body) body = m_answers.any(key);
  }
  const auto info = body ? parse_info(*body) : std::nullopt;
  // The list may carry no times: the chosen version's own Time is checked once more (one whose
  // Time is in the future is still in cooldown).
  const bool still_hidden =
      info && m_filter->check(r.module, info->version, info->time, asked(r)).hidden;
  if (!info || info->version != *best || still_hidden) {
    if (!settled) return std::nullopt;
    note("latest", r, {hidden});
    return error_response(404,
                          "not found: " + r.module + "@latest is filtered (" + why + ") and " +
                              *best + ", the newest allowed version, cannot be resolved now",
                          Outcome::not_found);
  }
  note("latest", r, {hidden});
  m_log->debug("@latest of {}: answering {}, the newest allowed version", r.module, *best);
  return plain(r, std::move(*body), outcome);
}

std::optional<Response> MetaAnswers::fresh(const module::Request& r) {
  auto body = m_answers.fresh(module::key_of(r));
  if (!body) return std::nullopt;
  return shaped(r, std::move(*body), Outcome::hit, false);
}

std::optional<Response> MetaAnswers::kept(const module::Request& r, Outcome outcome) {
  auto body = m_answers.any(module::key_of(r));
  if (!body) return std::nullopt;
  return shaped(r, std::move(*body), outcome, false);
}

std::vector<std::string> MetaAnswers::stored_versions(const std::string& escaped_module) {
  std::vector<std::string> versions;
  for (const auto& v : m_store.versions(escaped_module)) {
    if (auto d = module::unescape_version(v)) versions.push_back(std::move(*d));
  }
  return versions;
}

std::optional<Response> MetaAnswers::from_store(const module::Request& r, Outcome outcome) {
  if (r.kind == Kind::info) return std::nullopt;  // queries need a source
  const auto versions = stored_versions(r.escaped_module);
  if (versions.empty()) return std::nullopt;
  if (r.kind == Kind::list) {
    converge_list(r.escaped_module);
    return answer(r, merge_list("", versions), outcome);
  }
  const auto latest = pick_latest(versions);
  if (!latest) return std::nullopt;
  const auto escaped = module::escape_version(*latest);
  if (!escaped) return std::nullopt;
  auto body = read_object(m_store, r.escaped_module + "/@v/" + *escaped + ".info");
  if (!body) return std::nullopt;
  return answer(r, std::move(*body), outcome);
}

Response MetaAnswers::on_result(const module::Request& r, const FetchResult& res, Outcome outcome) {
  if (res.status == Status::ok) return answer(r, res.body, outcome);
  if (res.status != Status::not_found && res.status != Status::busy &&
      res.status != Status::forbidden && res.status != Status::unavailable) {
    if (auto k = kept(r, Outcome::stale)) return std::move(*k);
  }
  // An upstream without @latest is an answer, not an outage: the go command then computes the
  // latest version from the list itself (modfetch/proxy.go), which stoa serves; answering from
  // the store here would take that choice away from it (#20).
  const bool upstream_has_no_latest = r.kind == Kind::latest && res.status == Status::not_found;
  if (res.status != Status::busy && res.status != Status::forbidden && !upstream_has_no_latest) {
    if (auto fallback =
            from_store(r, res.status == Status::not_found ? Outcome::hit : Outcome::stale)) {
      return std::move(*fallback);
    }
  }
  return failure(r, res);
}

FetchResult MetaAnswers::fetch(const module::Request& r, const FetchContext& ctx,
                               const SourceChain& sources, bool& fetched) {
  const std::string key = module::key_of(r);
  FetchResult res;
  // An answer remembered by a flight that ended after this one's first request looked.
  if (auto body = m_answers.fresh(key)) {
    fetched = false;
    res = {Status::ok, {}, std::move(*body), {}};
  } else {
    fetched = true;
    res = fetch_key(r, key, r.kind == Kind::list, {}, ctx, sources);
  }
  if (res.status == Status::ok && r.kind == Kind::latest && filtering(r)) {
    fetch_allowed_latest(r, res.body, ctx, sources);
  }
  return res;
}

FetchResult MetaAnswers::fetch_key(const module::Request& r, const std::string& key, bool list,
                                   std::string_view version, const FetchContext& ctx,
                                   const SourceChain& sources) {
  trace::Span span = m_tracer.start_span("upstream.fetch", &ctx.trace, trace::Kind::client);
  span.set_attribute("stoa.key", key);
  std::string body;
  FetchResult res = result_of(
      sources
          .get(r.module, key, body, list ? k_max_list_bytes : k_max_info_bytes, ctx.headers(span))
          .outcome);
  if (res.status != Status::ok && res.status != Status::not_found) {
    span.set_status(trace::StatusCode::error, res.message);
  }
  if (res.status != Status::ok) {
    if (res.status != Status::not_found) m_log->warn("upstream {} failed: {}", key, res.message);
    return res;
  }
  if (list) {
    const auto stored = stored_versions(r.escaped_module);
    body = merge_list(body, stored);
    if (!stored.empty()) converge_list(r.escaped_module);
  } else {
    auto problem = resolved_info_problem(body, r.module);
    if (!problem && !version.empty() && parse_info(body)->version != version) {
      problem = "it names another version than " + std::string(version);
    }
    if (problem) {
      m_log->error("refusing {} from upstream: {}", key, *problem);
      return {Status::invalid, std::move(*problem), {}, {}};
    }
  }
  // The start of each named version's minimum release age (first_seen.hpp).
  if (m_seen != nullptr) {
    std::vector<std::string> named = list ? versions_in(body) : std::vector<std::string>{};
    if (!list) named.push_back(parse_info(body)->version);
    std::erase_if(named, [](const std::string& v) { return !module::semver::is_valid(v); });
    m_seen->saw(r.module, named);
  }
  m_answers.remember(key, body);
  return {Status::ok, {}, std::move(body), {}};
}

void MetaAnswers::fetch_allowed_latest(const module::Request& r, std::string_view latest_body,
                                       const FetchContext& ctx, const SourceChain& sources) {
  const auto info = parse_info(latest_body);
  if (!info || !m_filter->check(r.module, info->version, info->time, asked(r)).hidden) return;
  const std::string list_key = r.escaped_module + "/@v/list";
  auto list = m_answers.fresh(list_key);
  if (!list) {
    FetchResult l = fetch_key(r, list_key, true, {}, ctx, sources);
    if (l.status != Status::ok) return;  // answered from what is kept or stored
    list = std::move(l.body);
  }
  const auto best =
      pick_latest(versions_in(filter_list(*m_filter, r.module, *list, nullptr, asked(r))));
  const auto escaped = best ? module::escape_version(*best) : std::nullopt;
  if (!escaped) return;
  const std::string key = r.escaped_module + "/@v/" + *escaped + ".info";
  if (m_answers.any(key) || read_object(m_store, key)) return;
  (void)fetch_key(r, key, false, *best, ctx, sources);
}

void MetaAnswers::converge_list(const std::string& escaped_module) {
  try {
    if (m_store.repair_list(escaped_module)) {
      m_metrics.derived.with({"list", "repaired"}).inc();
      m_log->warn(
          "{}/@v/list did not name the stored versions (a crash or a full disk after a "
          "commit); rewritten",
          escaped_module);
    }
  } catch (const store::StoreError& e) {
    m_metrics.derived.with({"list", "failed"}).inc();
    m_log->error("cannot repair {}/@v/list: {}", escaped_module, e.what());
  }
}

}  // namespace stoa::proxy
