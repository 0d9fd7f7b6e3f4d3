#pragma once
// Records each committed .mod and .zip (and .info) in the index of stored versions, read by
// /index and /catalog. A failure is logged and counted (stoa_index_errors_total), never fails the
// request (`stoa index rebuild` adds what is missing); after one the index is left alone for a
// while (Backoff), so that an unreachable database does not add a connect timeout to every fetch.
// Modules not verified against a checksum database (no_sumdb) are never recorded, so their names
// are not published. Thread-safe; record() blocks.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "stoa/module/request.hpp"
#include "stoa/proxy/backoff.hpp"
#include "stoa/proxy/service_metrics.hpp"

namespace spdlog {
class logger;
}
namespace stoa::index {
class Index;
}

namespace stoa::proxy {

class IndexRecorder {
 public:
  // `index` may be null (nothing recorded). Everything must outlive this.
  IndexRecorder(index::Index* index, std::string no_sumdb, std::chrono::milliseconds retry,
                ServiceMetrics& metrics, std::shared_ptr<spdlog::logger> log);

  // `h1` and `size` of the committed .zip (h1 of a .mod), `origin` the source that served it.
  void record(const module::Request& r, const std::string& h1, std::uint64_t size,
              const std::string& origin);

 private:
  index::Index* m_index;
  std::string m_no_sumdb;
  Backoff m_backoff;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
};

}  // namespace stoa::proxy
