#include "stoa/proxy/replica_lock.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/coord/lock.hpp"

namespace stoa::proxy {

ReplicaLock::ReplicaLock(coord::Locks* locks, std::chrono::milliseconds wait,
                         std::chrono::milliseconds retry, store::Store& store,
                         const trace::Tracer& tracer, ServiceMetrics& metrics,
                         std::shared_ptr<spdlog::logger> log)
    : m_locks(locks),
      m_wait(wait),
      m_backoff(retry),
      m_store(store),
      m_tracer(tracer),
      m_metrics(metrics),
      m_log(std::move(log)) {}

FetchResult ReplicaLock::run(const std::string& key, const trace::SpanContext& parent,
                             const std::function<FetchResult()>& fetch, bool& fetched) {
  if (m_locks == nullptr) return fetch();
  const auto now = Backoff::Clock::now();
  if (m_backoff.resting(now)) {
    m_metrics.lock_degraded.inc();
    return fetch();
  }
  std::unique_ptr<coord::Held> held;
  {
    trace::Span span = m_tracer.start_span("lock.acquire", &parent, trace::Kind::client);
    span.set_attribute("stoa.key", key);
    try {
      held = m_locks->acquire(key, now + m_wait);
    } catch (const coord::LockError& e) {
      span.set_status(trace::StatusCode::error, e.what());
      m_metrics.lock_acquisitions.with({"error"}).inc();
      m_metrics.lock_degraded.inc();
      m_backoff.failed(Backoff::Clock::now());
      m_log->warn(
          "lock service ({}) unavailable: {}; fetching {} with per-replica single-flight only, "
          "retrying the lock service in {} ms",
          m_locks->backend(), e.what(), key, m_backoff.pause().count());
      return fetch();
    }
    m_metrics.lock_wait_seconds.observe(
        std::chrono::duration<double>(Backoff::Clock::now() - now).count());
  }
  if (!held) {
    m_metrics.lock_acquisitions.with({"timeout"}).inc();
    m_log->warn("{} stayed locked by another replica for {} ms; fetching it anyway", key,
                m_wait.count());
    return fetch();
  }
  m_metrics.lock_acquisitions.with({"acquired"}).inc();
  m_log->debug("lock {} acquired", key);
  FetchResult res = holding(key, fetch, fetched);
  if (held->lost()) m_log->warn("lost the lock of {} while fetching it", key);
  try {
    held->release();
  } catch (const coord::LockError& e) {
    m_log->warn("releasing the lock of {}: {} (it ends by itself)", key, e.what());
  }
  return res;
}

FetchResult ReplicaLock::holding(const std::string& key, const std::function<FetchResult()>& fetch,
                                 bool& fetched) {
  m_held.fetch_add(1);
  struct Unheld {
    std::atomic<std::int64_t>& n;
    ~Unheld() { n.fetch_sub(1); }
  } unheld{m_held};
  // Another replica may have committed the file while this one waited.
  if (m_store.get(key)) {
    m_metrics.lock_found_stored.inc();
    fetched = false;
    return {FetchResult::Status::ok, {}, {}, {}};
  }
  return fetch();
}

}  // namespace stoa::proxy
