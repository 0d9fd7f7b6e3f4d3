#pragma once
// The GOPROXY protocol: turns an HttpRequest into a Response using the store, caches of the
// mutable endpoints (list, @latest, .info queries) and the upstream on a miss.
//
// Thread-safe: respond_now() and handle() may be called concurrently from any thread.
// Blocking upstream work runs on the WorkerPool; the store's get() runs on the calling thread
// (it is two syscalls for the disk store).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "stoa/fetch/single_flight.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/fetch/validator.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/module/request.hpp"
#include "stoa/policy/login_limit.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/answer_cache.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/hot_cache.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/store/store.hpp"
#include "stoa/sumdb/client.hpp"
#include "stoa/trace/tracer.hpp"

namespace spdlog {
class logger;
}
namespace stoa::coord {
class Locks;
}
namespace stoa::index {
class Index;
}

namespace stoa::proxy {

struct ServiceOptions {
  std::chrono::seconds list_ttl{60};  // freshness of list, @latest and .info query answers
  std::string instance_id;            // served at /_stoa/instance (self-upstream detection)
  // Answers of list, @latest, queries and /sumdb/ lookups kept in memory (answer_cache.hpp):
  // reused while younger than list_ttl, served stale when the upstream fails while younger than
  // answer_max_age; bounded in bytes.
  std::size_t answer_cache_bytes = 32 << 20;
  std::chrono::seconds answer_max_age{24 * 3600};
  // Small stored files answered from memory (hot_cache.hpp): total bytes (0: off) and the
  // largest file kept.
  std::size_t memory_cache_bytes = 64 << 20;
  std::size_t memory_cache_max_object = 16 << 10;
  // Asked before a new zip is stored (nullptr: none). When it cannot answer, the zip is refused
  // (503) unless validator_allows_on_error.
  fetch::Validator* validator = nullptr;
  bool validator_allows_on_error = false;
  // Every .mod and .zip from upstream is checked against this checksum database before it is
  // stored (nullptr: not checked), except private modules (privacy.hpp: `no_sumdb`, GONOSUMDB
  // syntax in any letter case, and private rules).
  sumdb::Client* checksum_db = nullptr;
  std::string no_sumdb;
  // Checksum databases proxied at /sumdb/<name>/ (lookups of private modules get 403).
  std::map<std::string, DatabaseSource, std::less<>> sumdb_sources;
  // Spans for store reads, upstream fetches and checksum checks (nullptr: no tracing). The trace
  // context of the request that starts a fetch goes to the upstream as traceparent.
  const trace::Tracer* tracer = nullptr;
  std::string store_backend = "disk";  // label of the store latency metric
  // When set, a stored .zip is answered with a 302 to the URL it gives (e.g. a presigned S3
  // URL), so the bytes flow from the object store; misses are still fetched and served here.
  store::Redirector* zip_redirector = nullptr;
  // Cross-replica lock (nullptr: none). The leader of a file's in-process flight takes the lock
  // of the file's key, looks at the store again, and fetches only if the file is still missing;
  // it waits at most `lock_wait` for another holder. When the lock service fails, the fetch goes
  // ahead without it (logged, stoa_lock_degraded_total) and the service is left alone for
  // `lock_retry` before it is tried again (the index too, after an index failure).
  coord::Locks* locks = nullptr;
  std::chrono::milliseconds lock_wait{600'000};
  std::chrono::milliseconds lock_retry{5'000};
  // Index of stored versions (nullptr: none): written after each commit of a .info, .mod or .zip
  // (a failure is logged and counted, never fails the request), read by /index and /catalog.
  // Private modules (privacy.hpp) are never recorded, so their names are not published; the
  // endpoints list to each client only the versions the policy lets it read (index_access.hpp).
  index::Index* index = nullptr;
  // Recorded as the origin of what the global upstream serves (redacted); what a rule's own
  // upstream serves is recorded with that upstream (index_access.hpp).
  std::string origin;
  // Rules and client credentials (nullptr: none; everything is `cache`, nobody authenticates).
  // See docs/configuration.md "Rules": deny, redirect and offline are answered without upstream;
  // passthrough fetches into `scratch_dir` and never stores; private modules are answered from
  // the store or the rule's own `upstream`, never from the global upstream or checksum database.
  policy::Policy* policy = nullptr;
  // Where passthrough downloads are staged while they are checked and served (removed after).
  std::filesystem::path scratch_dir;
  // Seam for private modules without an `upstream` of their own: the direct (VCS) source, when
  // one is configured (nullptr: such modules are answered from the store only).
  fetch::Upstream* private_source = nullptr;
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
  // Direct fetching (the go command): fetches of modules for which `goes_direct(module)` is true
  // run on `direct_pool` instead of the upstream pool, so slow clones never hold the threads of
  // proxy fetches (both null: one pool for all).
  fetch::WorkerPool* direct_pool = nullptr;
  std::function<bool(std::string_view module)> goes_direct;
  // True when a request was sent by one of stoa's own go commands (a go-import tag pointing back
  // here): it is answered 508 at once instead of starting or joining a fetch, so a loop ends
  // after one hop instead of waiting on its own flight. Null: never.
  std::function<bool(const HttpRequest&)> from_own_fetcher;
  // Credential checks that run bcrypt (a first check of Basic credentials) run on `auth_pool`
  // (nullptr: on the fetch pool), so a flood of logins never queues ahead of misses; when its
  // queue is full the request gets 503 with Retry-After at once.
  fetch::WorkerPool* auth_pool = nullptr;
  // Failed logins per client address (login_limit.hpp): once an address is over the limit, its
  // requests whose answer depends on credentials (restricted modules, /index, /catalog) get 429
  // with Retry-After, without any check; other requests from it are served as usual.
  policy::LoginLimitOptions login_limit;
  // Who may read /metrics, /index and /catalog through respond_now() and handle() (the main
  // listener): anyone; only clients whose credentials `policy` accepts (any valid user or
  // token; none or wrong ones: 401 with WWW-Authenticate); or nobody (404: the admin listener
  // serves them, through operational_now() and handle_operational()).
  enum class OperationalAccess : std::uint8_t { anyone, authenticated, admin_only };
  OperationalAccess operational_access = OperationalAccess::anyone;
};

// What an upstream fetch came to; shared by every request waiting on it.
struct FetchResult {
  enum class Status : std::uint8_t {
    ok,
    not_found,
    forbidden,
    failed,
    timed_out,
    invalid,
    busy,
    unavailable,
    store_error
  };
  Status status = Status::failed;
  std::string message;  // one line for the client (forbidden: upstream's own words)
  std::string body;     // small answers fetched into memory (list, @latest, queries)
  // A passthrough download, checked but not stored: an open descriptor of a file already
  // unlinked (nothing is left behind, even by a crash while it is served).
  struct PassedFile {
    fsio::UniqueFd fd;
    std::uint64_t size = 0;
  };
  std::shared_ptr<const PassedFile> file;
};

// The one table from failure kinds to HTTP status codes.
int status_for(FetchResult::Status s);

class Service {
 public:
  using Done = std::function<void(Response)>;

  // Registers its metrics (upstream fetches, refusals, in-flight) in `registry` and serves the
  // registry's text at /metrics.
  Service(ServiceOptions options, store::Store& store, fetch::Upstream& upstream,
          fetch::WorkerPool& pool, std::shared_ptr<spdlog::logger> log,
          metrics::Registry& registry);

  // The response when it can be given without waiting on upstream (stored file, fresh cached
  // answer, bad request, internal endpoint); nullopt when handle() must be used.
  std::optional<Response> respond_now(const HttpRequest& req);

  // Answers any request; `done` is called exactly once, possibly before handle() returns,
  // possibly on a worker thread.
  void handle(const HttpRequest& req, Done done);

  // This service as a listener's Handler (the service must outlive it).
  Handler handler();

  // /metrics, /index and /catalog whatever `operational_access` says, for the admin listener:
  // the answer now, or nullopt when handle_operational() must read the index on a worker.
  // Other targets: nullopt from operational_now(), 404 from handle_operational().
  std::optional<Response> operational_now(const HttpRequest& req);
  void handle_operational(const HttpRequest& req, Done done);
  static bool is_operational_target(std::string_view target);

  // Fetches in flight (files and metadata).
  std::size_t in_flight() const;
  // Their keys (e.g. "example.com/m/@v/v1.0.0.zip"), for the admin listener.
  std::vector<std::string> in_flight_keys() const;

  struct StoreCounters {
    std::uint64_t objects = 0;  // committed by this process since it started
    std::uint64_t bytes = 0;
  };
  StoreCounters committed() const { return {m_committed_objects.load(), m_committed_bytes.load()}; }

  // From now on /readyz answers 503 (the server is shutting down). Thread-safe.
  void set_draining() { m_draining.store(true); }

 private:
  struct Cached {
    std::string body;
    std::chrono::steady_clock::time_point fetched;
  };

  // The policy snapshot a request is decided under, and the decision.
  struct Policed {
    std::shared_ptr<const policy::Snapshot> snapshot;  // null without a policy
    policy::Decision decision;
  };
  Policed police(const HttpRequest& req, const module::Request& r) const;
  // The main listener's check of an operational target (operational_access): the refusal
  // (401, 404), or nullopt when it may be served. `slow` is set (and nullopt returned) when the
  // credentials need a bcrypt check first, which handle() runs on a worker.
  std::optional<Response> operational_gate(const HttpRequest& req, bool& slow) const;
  // Whether deciding `req` would run a bcrypt check (kept off the serving threads).
  bool slow_credentials(const HttpRequest& req, const module::Request& r) const;
  // 429 when the address of `req` has failed to log in too often (login_limit.hpp); nullopt
  // when it may try. Only for requests whose answer depends on their credentials.
  std::optional<Response> login_limited(const HttpRequest& req);
  // Counts a failed credential check of `req` against its address.
  void login_failed(const HttpRequest& req);
  // Runs `check` on the auth pool (the fetch pool without one); false when its queue is full
  // (counted as busy).
  bool submit_check(std::function<void()> check);
  // handle() once the credentials are cheap to check: policy answer, or a fetch.
  void decided(const HttpRequest& req, const module::Request& r, Done done);
  // The answer the policy gives without looking further (401, hidden 404, 403, 302, offline
  // and store-only private answers); nullopt when the request proceeds.
  std::optional<Response> policy_now(const HttpRequest& req, const module::Request& r,
                                     const Policed& p);
  // Where a fetch for `p` goes: the rule's upstream, the private seam, or the global upstream;
  // nullptr when nowhere (a private module without a source).
  fetch::Upstream* source_for(const Policed& p) const;
  std::optional<Response> try_answer(const HttpRequest& req, const module::Request& r);
  // A small stored file into the memory cache; nullptr when it is too big or unreadable.
  std::shared_ptr<const HotEntry> make_hot(const module::Request& r, store::Object& obj) const;
  static Response hot_response(const HttpRequest& req, std::shared_ptr<const HotEntry> e);
  Response serve_stored(const HttpRequest& req, store::Object obj, module::Kind kind,
                        Outcome outcome) const;
  // How a fetch treats what it gets: store it (cache), serve it without storing (passthrough),
  // or store it without asking the checksum database (private).
  enum class Mode : std::uint8_t { cache, passthrough, private_ };
  // `origin` is recorded in the index as where the file came from (index_access.hpp). `up` may
  // belong to a policy snapshot (a rule's own upstream): the job holds `snapshot` until it ends,
  // so a reload meanwhile cannot free it.
  void fetch_file(const HttpRequest& req, const module::Request& r, Done done, fetch::Upstream& up,
                  Mode mode, std::string origin, std::shared_ptr<const policy::Snapshot> snapshot);
  void fetch_meta(const HttpRequest& req, const module::Request& r, Done done, fetch::Upstream& up,
                  Mode mode, std::shared_ptr<const policy::Snapshot> snapshot);
  // What a fetch job carries of the request that started it: its trace context, and its log
  // context, which the job sets on its worker thread (trace::ScopedLogContext).
  struct FetchContext {
    trace::SpanContext trace;
    std::string tracestate;
    trace::LogContext log;
    std::string origin;  // recorded in the index for a file this fetch stores
  };
  static FetchContext context_of(const HttpRequest& req);
  // Joins the flight for `key` with `waiter`; the first joiner queues `work` on the pool (its
  // result completes the flight), or completes it as busy when the queue is full.
  void run_flight(const std::string& key, fetch::SingleFlight<FetchResult>::Callback waiter,
                  const std::shared_ptr<bool>& leader, std::function<FetchResult()> work);
  // Same, on `pool` (the direct pool or the upstream pool).
  void run_flight(const std::string& key, fetch::SingleFlight<FetchResult>::Callback waiter,
                  const std::shared_ptr<bool>& leader, fetch::WorkerPool* pool,
                  std::function<FetchResult()> work);
  fetch::WorkerPool* pool_for(const module::Request& r) const;
  fetch::Upstream::Headers upstream_headers(const trace::Span& span, const FetchContext& ctx) const;
  FetchResult download_file(const module::Request& r, const FetchContext& ctx, std::uint64_t& bytes,
                            fetch::Upstream& up, Mode mode);
  // download_file() under the cross-replica lock of the file, when there is one. `fetched`
  // becomes false when another replica had stored the file meanwhile (no upstream fetch: not
  // counted in stoa_upstream_fetches_total).
  FetchResult download_file_once(const module::Request& r, const FetchContext& ctx,
                                 std::uint64_t& bytes, fetch::Upstream& up, Mode mode,
                                 bool& fetched);
  FetchResult download_meta(const module::Request& r, const FetchContext& ctx, fetch::Upstream& up);
  Response answer_meta(const HttpRequest& req, const module::Request& r, const FetchResult& res,
                       Outcome outcome);
  std::optional<Response> answer_from_store(const HttpRequest& req, const module::Request& r,
                                            Outcome outcome);
  std::optional<Cached> cached(const std::string& key, bool fresh_only);
  // Stale-while-revalidate: a list, @latest or query answer older than list_ttl (and younger
  // than answer_max_age) is answered at once, and a refresh flight starts in the background, so
  // a hanging upstream never delays these answers once one is known. nullopt: none kept.
  std::optional<Response> answer_stale_and_refresh(const HttpRequest& req, const module::Request& r,
                                                   const Policed& p);
  static Mode mode_of(const Policed& p);
  // nullopt when `h1` may be stored; else why not.
  std::optional<FetchResult> verify_checksum(const module::Request& r, const std::string& h1,
                                             const trace::SpanContext& parent);
  // /sumdb/<name>/...: answered now when possible (supported, stored tiles, cached answers).
  std::optional<Response> sumdb_now(const HttpRequest& req);
  void sumdb_fetch(const HttpRequest& req, Done done);
  // A /sumdb/ lookup verified with the checksum database client (and so kept in the store); its
  // result, or nullopt to pass the database's answer through unverified. Blocking.
  std::optional<FetchResult> verify_lookup(const std::string& db, const std::string& module,
                                           const std::string& version,
                                           const std::string& store_key);
  // /index and /catalog: parameters checked now, the index read on the worker pool.
  void index_fetch(const HttpRequest& req, Done done);
  void record_index(const module::Request& r, const std::string& h1, std::uint64_t size,
                    const std::string& origin);
  // Brings the module's stored list in line with its stored versions (a crash or a full disk
  // between a commit and its list rewrite leaves it stale). A failure is logged and counted,
  // never fails the request: the answer is computed from the stored versions anyway.
  void converge_list(const std::string& escaped_module);
  // Records the h1: of a committed .zip or .mod beside it; a failure is logged and counted only.
  void record_hash(const module::Request& r, const std::string& h1);
  void remember(const std::string& key, std::string body);
  Response meta_response(const HttpRequest& req, const module::Request& r, std::string body,
                         Outcome outcome) const;

  ServiceOptions m_options;
  store::Store& m_store;
  fetch::Upstream& m_upstream;
  fetch::WorkerPool& m_pool;
  std::shared_ptr<spdlog::logger> m_log;
  std::string m_short_cache;

  trace::Tracer m_no_tracer;      // disabled; used when options.tracer is null
  const trace::Tracer* m_tracer;  // never null
  std::atomic<bool> m_draining{false};
  std::atomic<std::uint64_t> m_committed_objects{0};
  std::atomic<std::uint64_t> m_committed_bytes{0};
  metrics::Registry& m_registry;
  metrics::Family<metrics::Counter>& m_fetches;          // {kind, result}
  metrics::Family<metrics::Histogram>& m_fetch_seconds;  // {kind}
  metrics::Family<metrics::Counter>& m_fetch_bytes;      // {kind}
  metrics::Family<metrics::Counter>& m_checksum_checks;
  metrics::Family<metrics::Histogram>& m_store_seconds;  // {backend, op}
  metrics::Histogram& m_store_get_seconds;
  metrics::Histogram& m_store_put_seconds;                 // {result}
  metrics::Family<metrics::Counter>& m_lock_acquisitions;  // {result}
  metrics::Histogram& m_lock_wait_seconds;
  metrics::Counter& m_lock_degraded;
  metrics::Counter& m_lock_found_stored;
  metrics::Counter& m_index_errors;
  metrics::Family<metrics::Counter>& m_derived;     // {file: list|hash, event: failed|repaired}
  std::atomic<std::int64_t> m_index_down_until{0};  // steady_clock ticks; index skipped until then
  std::atomic<std::int64_t> m_locks_held{0};
  std::atomic<std::int64_t> m_lock_down_until{0};  // steady_clock ticks; lock skipped until then
  metrics::Family<metrics::Counter>& m_refusals;   // {action, reason}
  metrics::Family<metrics::Counter>& m_auth_rejected;  // {reason}
  metrics::Counter& m_login_failures;
  policy::LoginLimit m_login_limit;
  void record_fetch(const module::Request& r, const FetchResult& res,
                    std::chrono::steady_clock::time_point started, std::uint64_t bytes);

  fetch::SingleFlight<FetchResult> m_flights;
  HotCache m_hot;
  AnswerCache m_answers;  // list, @latest, .info queries, /sumdb/ lookups and latest
};

}  // namespace stoa::proxy
