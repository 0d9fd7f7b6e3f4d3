#include "stoa/proxy/service_metrics.hpp"

namespace stoa::proxy {

ServiceMetrics::ServiceMetrics(metrics::Registry& registry, const std::string& store_backend)
    : fetches(registry.counter("stoa_upstream_fetches_total",
                               "Upstream fetches by requested kind and result (invalid: refused by "
                               "validation, nothing stored).",
                               {"kind", "result"})),
      fetch_seconds(registry.histogram("stoa_upstream_fetch_duration_seconds",
                                       "Time to fetch, validate and commit from upstream.",
                                       {"kind"})),
      fetch_bytes(
          registry.counter("stoa_upstream_bytes_total", "Bytes received from upstream.", {"kind"})),
      checksum_checks(registry.counter(
          "stoa_checksum_checks_total",
          "Downloads checked against the checksum database before storing: match, mismatch "
          "(refused), not_found (refused), error (refused for now), skipped (no_sumdb or off).",
          {"result"})),
      store_seconds(registry.histogram("stoa_store_operation_duration_seconds",
                                       "Store operations by backend and operation (get: open of a "
                                       "stored file; put: fsync, rename and directory fsync).",
                                       {"backend", "op"})),
      store_get_seconds(store_seconds.with({store_backend, "get"})),
      store_put_seconds(store_seconds.with({store_backend, "put"})),
      lock_acquisitions(registry.counter(
          "stoa_lock_acquisitions_total",
          "Cross-replica lock requests before a fetch: acquired, timeout (waited lock_wait, "
          "fetched anyway), error (lock service failed; fetched without the lock).",
          {"result"})),
      lock_wait_seconds(registry
                            .histogram("stoa_lock_wait_seconds",
                                       "Time spent getting the cross-replica lock of a file.", {})
                            .with({})),
      lock_degraded(registry
                        .counter("stoa_lock_degraded_total",
                                 "Fetches done without the cross-replica lock because the lock "
                                 "service was unavailable (per-replica single-flight only).",
                                 {})
                        .with({})),
      lock_found_stored(registry
                            .counter("stoa_lock_found_stored_total",
                                     "Fetches skipped because, once the lock was held, the file "
                                     "was already stored (by another replica).",
                                     {})
                            .with({})),
      index_errors(registry
                       .counter("stoa_index_errors_total",
                                "Stored versions the index could not record (the store has "
                                "them; `stoa index rebuild` adds them).",
                                {})
                       .with({})),
      derived(registry.counter(
          "stoa_derived_files_total",
          "Files derived from stored versions (file: list, the module's @v/list; hash, a "
          ".ziphash or .modhash) that failed to be written after a commit (event: failed; the "
          "answer is still served and the file converges later) or were found stale and "
          "rewritten (event: repaired).",
          {"file", "event"})),
      refusals(registry.counter(
          "stoa_policy_refusals_total",
          "Requests refused by a rule, by the rule's action and why: denied (deny), "
          "unauthenticated (401), hidden (a reader check failed: answered 404), not_stored "
          "(offline or private without a source, and the version is not stored), ships_with_go "
          "(golang.org/fips140, refused unless a rule names it).",
          {"action", "reason"})),
      auth_rejected(registry.counter(
          "stoa_auth_rejected_total",
          "Requests with credentials answered without checking them: rate_limited (429, too "
          "many failed logins from the client's address), busy (503, the credential-check "
          "queue auth_queue was full).",
          {"reason"})),
      login_failures(registry
                         .counter("stoa_login_failures_total",
                                  "Failed credential checks (wrong, unknown or malformed "
                                  "credentials for a restricted module, /index or /catalog).",
                                  {})
                         .with({})),
      versions_filtered(registry.counter(
          "stoa_versions_filtered_total",
          "Versions a version filter hid from an answer, by the rule that hid them, the kind of "
          "filter (reason: deny) and the answer (list and index: left out; latest: not the "
          "answer, the newest allowed version answered instead; query and file: refused 403).",
          {"rule", "reason", "answer"})) {}

void ServiceMetrics::fetched(const module::Request& r, const FetchResult& res,
                             std::chrono::steady_clock::time_point started, std::uint64_t bytes) {
  const std::string k(endpoint_of(r));
  fetches.with({k, std::string(result_label(res.status))}).inc();
  fetch_seconds.with({k}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (bytes > 0) fetch_bytes.with({k}).inc(bytes);
}

}  // namespace stoa::proxy

namespace stoa::proxy {

void ServiceMetrics::filtered(std::string_view answer, const std::vector<HiddenVersion>& hidden) {
  for (const auto& h : hidden) {
    versions_filtered.with({h.verdict.rule, h.verdict.cause, std::string(answer)}).inc();
  }
}

}  // namespace stoa::proxy
