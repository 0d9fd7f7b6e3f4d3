#pragma once
// The credential checks of a request, as the service runs them: the failed-login limit per
// client address (policy::LoginLimit: over it, 429 with Retry-After and no check at all), the
// count of failed checks, and the queue where slow (bcrypt) checks run, off the serving threads
// (the auth pool, else the fetch pool; full: 503 with Retry-After).
// Thread-safe.

#include <chrono>
#include <functional>
#include <optional>

#include "stoa/fetch/worker_pool.hpp"
#include "stoa/policy/login_limit.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/proxy/service_metrics.hpp"

namespace stoa::proxy {

class Logins {
 public:
  using Clock = std::chrono::steady_clock;

  // `pool` runs the checks; both it and `metrics` must outlive this.
  Logins(policy::LoginLimitOptions limit, fetch::WorkerPool& pool, ServiceMetrics& metrics,
         std::function<Clock::time_point()> now);

  // 429 when the address of `req` has failed to log in too often; nullopt when it may try.
  // Only for requests whose answer depends on their credentials.
  std::optional<Response> limited(const HttpRequest& req);
  // Counts a failed credential check of `req` against its address.
  void failed(const HttpRequest& req);
  // Runs `check` on the check pool; false when its queue is full (counted as busy).
  bool submit(std::function<void()> check);
  // The answer when submit() was refused.
  static Response busy();

  bool enabled() const { return m_limit.enabled(); }
  std::size_t tracked() const { return m_limit.tracked(); }
  std::size_t queued() const { return m_pool.queued(); }

 private:
  policy::LoginLimit m_limit;
  fetch::WorkerPool& m_pool;
  ServiceMetrics& m_metrics;
  std::function<Clock::time_point()> m_now;
};

}  // namespace stoa::proxy
