#include "stoa/proxy/checksum_gate.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace stoa::proxy {

using Status = FetchResult::Status;

ChecksumGate::ChecksumGate(sumdb::Client* db, std::function<bool(std::string_view)> is_private,
                           const trace::Tracer& tracer, ServiceMetrics& metrics,
                           std::shared_ptr<spdlog::logger> log)
    : m_db(db),
      m_is_private(std::move(is_private)),
      m_tracer(tracer),
      m_metrics(metrics),
      m_log(std::move(log)) {}

std::optional<FetchResult> ChecksumGate::check(const module::Request& r, const std::string& h1,
                                               const trace::SpanContext& parent) {
  trace::Span span = m_tracer.start_span("sumdb.verify", &parent);
  if (m_db == nullptr || m_is_private(r.module)) {
    skipped();
    return std::nullopt;
  }
  const auto artifact = r.kind == module::Kind::zip ? sumdb::Artifact::zip : sumdb::Artifact::mod;
  sumdb::Verdict v;
  try {
    v = m_db->verify(r.module, r.version, artifact, h1);
    span.set_attribute("stoa.checksum.result", static_cast<std::int64_t>(v.status));
  } catch (const sumdb::SecurityError& e) {
    m_log->critical("checksum database {} misbehaved: {}\n{}", m_db->name(), e.what(),
                    e.evidence());
    m_metrics.checksum_checks.with({"error"}).inc();
    return FetchResult{Status::unavailable, "the checksum database cannot be trusted now", {}, {}};
  } catch (const std::exception& e) {
    m_log->warn("checksum database lookup for {}@{} failed: {}", r.module, r.version, e.what());
    m_metrics.checksum_checks.with({"error"}).inc();
    return FetchResult{Status::unavailable, "checksum database unreachable", {}, {}};
  }
  return judge(r, h1, v);
}

std::optional<FetchResult> ChecksumGate::judge(const module::Request& r, const std::string& h1,
                                               const sumdb::Verdict& v) {
  using V = sumdb::Verdict::Status;
  switch (v.status) {
    case V::match:
      m_metrics.checksum_checks.with({"match"}).inc();
      return std::nullopt;
    case V::mismatch:
      m_metrics.checksum_checks.with({"mismatch"}).inc();
      m_log->error(
          "SECURITY: checksum mismatch for {}@{} ({}): upstream served {}, checksum database {} "
          "has {}; "
          "refused, nothing stored",
          r.module, r.version, r.kind == module::Kind::zip ? "zip" : "go.mod", h1, m_db->name(),
          v.expected);
      return FetchResult{
          Status::invalid,
          "checksum mismatch: upstream served " + h1 + ", the checksum database has " + v.expected,
          {},
          {}};
    case V::not_found:
      m_metrics.checksum_checks.with({"not_found"}).inc();
      m_log->warn(
          "{}@{} is not in checksum database {}; refused (add it to no_sumdb if it is private)",
          r.module, r.version, m_db->name());
      return FetchResult{Status::invalid, "not in the checksum database " + m_db->name(), {}, {}};
    case V::error:
      break;
  }
  m_metrics.checksum_checks.with({"error"}).inc();
  m_log->warn("checksum database check of {}@{} failed: {}", r.module, r.version, v.message);
  return FetchResult{Status::unavailable, "checksum database: " + v.message, {}, {}};
}

}  // namespace stoa::proxy
