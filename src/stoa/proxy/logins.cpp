#include "stoa/proxy/logins.hpp"

#include <string>
#include <utility>

#include "stoa/proxy/failure.hpp"

namespace stoa::proxy {

Logins::Logins(policy::LoginLimitOptions limit, fetch::WorkerPool& pool, ServiceMetrics& metrics,
               std::function<Clock::time_point()> now)
    : m_limit(limit), m_pool(pool), m_metrics(metrics), m_now(std::move(now)) {}

std::optional<Response> Logins::limited(const HttpRequest& req) {
  const auto left = m_limit.blocked(req.remote_address, m_now());
  if (!left) return std::nullopt;
  m_metrics.auth_rejected.with({"rate_limited"}).inc();
  Response resp = error_response(
      429,
      "too many failed logins from this address; retry in " + std::to_string(left->count()) + " s",
      Outcome::rejected);
  resp.headers.emplace_back("Retry-After", std::to_string(left->count()));
  return resp;
}

void Logins::failed(const HttpRequest& req) {
  m_metrics.login_failures.inc();
  m_limit.failed(req.remote_address, m_now());
}

bool Logins::submit(std::function<void()> check) {
  if (m_pool.try_submit(std::move(check))) return true;
  m_metrics.auth_rejected.with({"busy"}).inc();
  return false;
}

Response Logins::busy() { return retry_answer("stoa is busy checking credentials; retry shortly"); }

}  // namespace stoa::proxy
