#pragma once
// Per-request metrics of the HTTP front end: requests by endpoint and status, latency by
// endpoint, answers by outcome, bytes sent, open and accepted connections. Recording is lock-free
// once a series exists (series pointers are cached in atomics; a new series takes the family's lock
// once).

#include <array>
#include <atomic>
#include <string_view>

#include "stoa/metrics/metrics.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::http {

class RequestMetrics {
 public:
  explicit RequestMetrics(metrics::Registry& registry);

  void record(std::string_view endpoint, int status, proxy::Outcome outcome, double seconds,
              std::uint64_t bytes);
  metrics::Gauge& connections() { return m_connections; }
  // Connections taken in (after the TLS handshake where TLS is on), open or since closed.
  metrics::Counter& accepted() { return m_accepted; }

  static constexpr std::array<std::string_view, 10> k_endpoints = {
      "list", "info", "mod", "zip", "latest", "query", "sumdb", "vulndb", "internal", "other"};

 private:
  static constexpr std::array<int, 15> k_codes = {200, 206, 304, 400, 401, 403, 404, 405,
                                                  410, 416, 431, 500, 502, 503, 504};

  metrics::Family<metrics::Counter>& m_requests;
  metrics::Family<metrics::Histogram>& m_seconds;
  metrics::Family<metrics::Counter>& m_outcomes;
  metrics::Family<metrics::Counter>& m_bytes;
  metrics::Gauge& m_connections;
  metrics::Counter& m_accepted;

  std::array<std::array<std::atomic<metrics::Counter*>, k_codes.size()>, k_endpoints.size()>
      m_request_cache{};
  std::array<std::atomic<metrics::Histogram*>, k_endpoints.size()> m_seconds_cache{};
  std::array<std::atomic<metrics::Counter*>, k_endpoints.size()> m_bytes_cache{};
  std::array<std::atomic<metrics::Counter*>, 8> m_outcome_cache{};
};

}  // namespace stoa::http
