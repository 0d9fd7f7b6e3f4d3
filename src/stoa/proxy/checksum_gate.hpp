#pragma once
// The checksum gate: the go.sum hash (h1:) of a .mod or .zip from a source is checked against the
// checksum database before it is stored; a mismatch, a version the database does not know, or a
// database that cannot answer (or cannot be trusted) refuses the file. Private modules
// (privacy.hpp) never reach the database: they pass unchecked, as does everything without one.
// Thread-safe; check() blocks (a lookup over the network).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/module/request.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/sumdb/client.hpp"
#include "stoa/trace/tracer.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

class ChecksumGate {
 public:
  // `db` may be null (nothing checked). Everything must outlive this.
  ChecksumGate(sumdb::Client* db, std::function<bool(std::string_view module)> is_private,
               const trace::Tracer& tracer, ServiceMetrics& metrics,
               std::shared_ptr<spdlog::logger> log);

  // nullopt when `h1` (of `r`'s .mod or .zip) may be stored; else why not (invalid: mismatch or
  // unknown; unavailable: the database failed).
  std::optional<FetchResult> check(const module::Request& r, const std::string& h1,
                                   const trace::SpanContext& parent);
  // Counts a check not made because the fetch is of a private module.
  void skipped() { m_metrics.checksum_checks.with({"skipped"}).inc(); }

 private:
  std::optional<FetchResult> judge(const module::Request& r, const std::string& h1,
                                   const sumdb::Verdict& v);

  sumdb::Client* m_db;
  std::function<bool(std::string_view)> m_is_private;
  const trace::Tracer& m_tracer;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
};

}  // namespace stoa::proxy
