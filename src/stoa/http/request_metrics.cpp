#include "stoa/http/request_metrics.hpp"

#include <algorithm>
#include <string>

namespace stoa::http {
namespace {

template <class T, class Make>
T& cached(std::atomic<T*>& slot, Make make) {
  T* p = slot.load(std::memory_order_acquire);
  if (p == nullptr) {
    p = &make();  // the family returns the same child for the same labels, so a race is harmless
    slot.store(p, std::memory_order_release);
  }
  return *p;
}

}  // namespace

RequestMetrics::RequestMetrics(metrics::Registry& registry)
    : m_requests(registry.counter("stoa_http_requests_total",
                                  "HTTP requests by endpoint and status code.",
                                  {"endpoint", "code"})),
      m_seconds(registry.histogram("stoa_http_request_duration_seconds",
                                   "Time from a complete request header to the last byte sent.",
                                   {"endpoint"})),
      m_outcomes(registry.counter("stoa_cache_answers_total",
                                  "Answers by how they were produced: hit, miss, coalesced, stale, "
                                  "not-found, rejected, failed, internal.",
                                  {"outcome"})),
      m_bytes(registry.counter("stoa_http_response_bytes_total", "Response body bytes sent.",
                               {"endpoint"})),
      m_connections(registry.gauge("stoa_http_connections", "Open client connections.").with({})),
      m_accepted(registry
                     .counter("stoa_http_connections_accepted_total",
                              "Client connections accepted since start (open or closed since).")
                     .with({})) {}

void RequestMetrics::record(std::string_view endpoint, int status, proxy::Outcome outcome,
                            double seconds, std::uint64_t bytes) {
  auto e = static_cast<std::size_t>(std::find(k_endpoints.begin(), k_endpoints.end(), endpoint) -
                                    k_endpoints.begin());
  if (e == k_endpoints.size()) e = k_endpoints.size() - 1;  // "other"
  const std::string ep(k_endpoints[e]);
  const auto c =
      static_cast<std::size_t>(std::find(k_codes.begin(), k_codes.end(), status) - k_codes.begin());
  if (c < k_codes.size()) {
    cached(m_request_cache[e][c], [&]() -> metrics::Counter& {
      return m_requests.with({ep, std::to_string(status)});
    }).inc();
  } else {
    m_requests.with({ep, std::to_string(status)}).inc();  // rare codes take the family lock
  }
  cached(m_seconds_cache[e], [&]() -> metrics::Histogram& {
    return m_seconds.with({ep});
  }).observe(seconds);
  if (bytes > 0)
    cached(m_bytes_cache[e], [&]() -> metrics::Counter& { return m_bytes.with({ep}); }).inc(bytes);
  const auto o = static_cast<std::size_t>(outcome);
  if (o < m_outcome_cache.size()) {
    cached(m_outcome_cache[o], [&]() -> metrics::Counter& {
      return m_outcomes.with({std::string(proxy::to_string(outcome))});
    }).inc();
  }
}

}  // namespace stoa::http
