#include "stoa/proxy/index_recorder.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/index/index.hpp"
#include "stoa/module/patterns.hpp"

namespace stoa::proxy {

IndexRecorder::IndexRecorder(index::Index* index, std::string no_sumdb,
                             std::chrono::milliseconds retry, ServiceMetrics& metrics,
                             std::shared_ptr<spdlog::logger> log)
    : m_index(index),
      m_no_sumdb(std::move(no_sumdb)),
      m_backoff(retry),
      m_metrics(metrics),
      m_log(std::move(log)) {}

void IndexRecorder::record(const module::Request& r, const std::string& h1, std::uint64_t size,
                           const std::string& origin) {
  if (m_index == nullptr) return;
  // Restricted modules are recorded, and listed to their readers only (index_access.hpp).
  if (module::match_prefix_patterns_folded(m_no_sumdb, r.module)) return;
  index::Entry e;
  e.module = r.module;
  e.version = r.version;
  if (r.kind == module::Kind::zip) {
    e.zip_h1 = h1;
    e.zip_size = static_cast<std::int64_t>(size);
  } else if (r.kind == module::Kind::mod) {
    e.mod_h1 = h1;
  }
  e.stored_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  e.origin = origin;
  const auto now = Backoff::Clock::now();
  if (m_backoff.resting(now)) {
    m_metrics.index_errors.inc();
    m_log->debug("index: not recording {}@{} (index unavailable)", r.module, r.version);
    return;
  }
  try {
    m_index->record(e);
  } catch (const std::exception& ex) {
    m_metrics.index_errors.inc();
    m_backoff.failed(now);
    m_log->error("index: cannot record {}@{}: {} (it is stored; `stoa index rebuild` adds it)",
                 r.module, r.version, ex.what());
  }
}

}  // namespace stoa::proxy
