#include "stoa/proxy/meta.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/module/path.hpp"
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

}  // namespace

MetaAnswers::MetaAnswers(store::Store& store, Answers& answers, const VersionFilter* filter,
                         const trace::Tracer& tracer, ServiceMetrics& metrics,
                         std::shared_ptr<spdlog::logger> log, std::string short_cache)
    : m_store(store),
      m_answers(answers),
      m_filter(filter),
      m_tracer(tracer),
      m_metrics(metrics),
      m_log(std::move(log)),
      m_short_cache(std::move(short_cache)) {}

Response MetaAnswers::answer(const module::Request& r, std::string body, Outcome outcome) const {
  if (m_filter != nullptr) {
    if (r.kind == Kind::list) {
      body = filter_list(*m_filter, r.module, body);
    } else if (const auto info = parse_info(body)) {
      const auto v = m_filter->check(r.module, info->version, info->time);
      if (v.hidden && r.kind == Kind::latest) {
        return error_response(404, "not found: " + r.module + "@latest is filtered: " + v.reason,
                              Outcome::not_found);
      }
      if (v.hidden) {
        return error_response(
            403, "forbidden: " + r.module + "@" + info->version + " is filtered: " + v.reason,
            Outcome::rejected);
      }
    }
  }
  Response resp;
  resp.outcome = outcome;
  resp.content_type = content_type_of(r.kind);
  resp.cache_control = m_short_cache;
  resp.body = std::move(body);
  return resp;
}

std::optional<Response> MetaAnswers::fresh(const module::Request& r) {
  auto body = m_answers.fresh(module::key_of(r));
  if (!body) return std::nullopt;
  return answer(r, std::move(*body), Outcome::hit);
}

std::optional<Response> MetaAnswers::kept(const module::Request& r, Outcome outcome) {
  auto body = m_answers.any(module::key_of(r));
  if (!body) return std::nullopt;
  return answer(r, std::move(*body), outcome);
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
                               const SourceChain& sources) {
  const std::string key = module::key_of(r);
  trace::Span span = m_tracer.start_span("upstream.fetch", &ctx.trace, trace::Kind::client);
  span.set_attribute("stoa.key", key);
  std::string body;
  FetchResult res = result_of(sources
                                  .get(r.module, key, body,
                                       r.kind == Kind::list ? k_max_list_bytes : k_max_info_bytes,
                                       ctx.headers(span))
                                  .outcome);
  if (res.status != Status::ok && res.status != Status::not_found) {
    span.set_status(trace::StatusCode::error, res.message);
  }
  if (res.status != Status::ok) {
    if (res.status != Status::not_found) m_log->warn("upstream {} failed: {}", key, res.message);
    return res;
  }
  if (r.kind == Kind::list) {
    const auto stored = stored_versions(r.escaped_module);
    body = merge_list(body, stored);
    if (!stored.empty()) converge_list(r.escaped_module);
  } else if (auto problem = resolved_info_problem(body, r.module)) {
    m_log->error("refusing {} from upstream: {}", key, *problem);
    return {Status::invalid, std::move(*problem), {}, {}};
  }
  m_answers.remember(key, body);
  return {Status::ok, {}, std::move(body), {}};
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
