#pragma once
// The cross-replica lock as a decorator of a fetch: with several replicas on one store, the
// fetch of a file runs under the lock of its key (coord::Locks), after looking at the store once
// more, so that one replica fetches and the others find the file stored. A holder that keeps
// the lock past `wait` is waited for no longer (fetched anyway). When the lock service fails,
// the fetch goes ahead without it (logged, stoa_lock_degraded_total) and the service is left
// alone for `retry` (Backoff) before it is tried again.
// Thread-safe; run() blocks.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "stoa/proxy/backoff.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/store/store.hpp"
#include "stoa/trace/tracer.hpp"

namespace spdlog {
class logger;
}
namespace stoa::coord {
class Locks;
}

namespace stoa::proxy {

class ReplicaLock {
 public:
  // `locks` may be null (run() is the fetch alone). Everything must outlive this.
  ReplicaLock(coord::Locks* locks, std::chrono::milliseconds wait, std::chrono::milliseconds retry,
              store::Store& store, const trace::Tracer& tracer, ServiceMetrics& metrics,
              std::shared_ptr<spdlog::logger> log);

  // `fetch` of the file stored under `key`, under its lock. `fetched` becomes false when, once
  // the lock was held, the file was found stored (by another replica): `fetch` did not run.
  FetchResult run(const std::string& key, const trace::SpanContext& parent,
                  const std::function<FetchResult()>& fetch, bool& fetched);

  bool enabled() const { return m_locks != nullptr; }
  std::int64_t held() const { return m_held.load(); }  // locks this replica holds now

 private:
  // The fetch once the lock is held: unless the file is stored by now.
  FetchResult holding(const std::string& key, const std::function<FetchResult()>& fetch,
                      bool& fetched);

  coord::Locks* m_locks;
  std::chrono::milliseconds m_wait;
  Backoff m_backoff;
  store::Store& m_store;
  const trace::Tracer& m_tracer;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
  std::atomic<std::int64_t> m_held{0};
};

}  // namespace stoa::proxy
