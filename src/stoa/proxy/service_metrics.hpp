#pragma once
// The service's metrics, registered once in the registry the service is given and handed to the
// parts that count (docs/operations.md lists them all). The families are the registry's; this
// holds references, valid while the registry lives. Thread-safe as metrics are.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/metrics/metrics.hpp"
#include "stoa/module/request.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/version_filter.hpp"

namespace stoa::proxy {

struct ServiceMetrics {
  // `store_backend` labels the store latency histogram.
  ServiceMetrics(metrics::Registry& registry, const std::string& store_backend);

  metrics::Family<metrics::Counter>& fetches;          // {kind, result}
  metrics::Family<metrics::Histogram>& fetch_seconds;  // {kind}
  metrics::Family<metrics::Counter>& fetch_bytes;      // {kind}
  metrics::Family<metrics::Counter>& checksum_checks;  // {result}
  metrics::Family<metrics::Histogram>& store_seconds;  // {backend, op}
  metrics::Histogram& store_get_seconds;
  metrics::Histogram& store_put_seconds;
  metrics::Family<metrics::Counter>& lock_acquisitions;  // {result}
  metrics::Histogram& lock_wait_seconds;
  metrics::Counter& lock_degraded;
  metrics::Counter& lock_found_stored;
  metrics::Counter& index_errors;
  metrics::Family<metrics::Counter>& derived;        // {file: list|hash, event: failed|repaired}
  metrics::Family<metrics::Counter>& refusals;       // {action, reason}
  metrics::Family<metrics::Counter>& auth_rejected;  // {reason}
  metrics::Counter& login_failures;
  metrics::Family<metrics::Counter>& versions_filtered;  // {rule, reason, answer}

  // Counts a fetch of `r` from its sources that came to `res`, started at `started`, receiving
  // `bytes`.
  void fetched(const module::Request& r, const FetchResult& res,
               std::chrono::steady_clock::time_point started, std::uint64_t bytes);
  // Counts the versions a version filter hid from an answer (`answer`: list, latest, query,
  // file, index).
  void filtered(std::string_view answer, const std::vector<HiddenVersion>& hidden);
};

}  // namespace stoa::proxy
