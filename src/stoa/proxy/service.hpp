#pragma once
// The GOPROXY protocol as a router: a request is parsed once into what it asks for (an internal
// endpoint, /sumdb/, /metrics, /index, /catalog, or a module request), a module request is
// decided once by the policy gate (policy_gate.hpp), and flows down to the part that answers it:
//   stored files (stored.hpp) and kept answers (meta.hpp, answer_cache.hpp), else a fetch shared
//   by every request that wants the same thing (flights.hpp): a file through the fetch pipeline
//   (file_fetch.hpp) under the cross-replica lock (replica_lock.hpp), a list, @latest or query
//   through meta.hpp, from the module's sources (source.hpp), through the version filter
//   (version_filter.hpp); every failure answered by the failure table (failure.hpp).
//
// Thread-safe: respond_now() and handle() may be called concurrently from any thread. A listener
// calls respond_now() first and handle() only when it declined; each call parses and decides
// the request itself (the second call decides again: a policy reload in between counts).
// Blocking work (fetches, bcrypt checks, index reads, and reads of a store whose reads may
// block: Store::reads_may_block) runs on the WorkerPool; a disk or memory store is read on the
// calling thread (two syscalls).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stoa/fetch/upstream.hpp"
#include "stoa/fetch/validator.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/module/request.hpp"
#include "stoa/policy/login_limit.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/answer_cache.hpp"
#include "stoa/proxy/checksum_gate.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/file_fetch.hpp"
#include "stoa/proxy/first_seen.hpp"
#include "stoa/proxy/flights.hpp"
#include "stoa/proxy/hot_cache.hpp"
#include "stoa/proxy/index_recorder.hpp"
#include "stoa/proxy/logins.hpp"
#include "stoa/proxy/meta.hpp"
#include "stoa/proxy/operational.hpp"
#include "stoa/proxy/policy_gate.hpp"
#include "stoa/proxy/replica_lock.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/proxy/source.hpp"
#include "stoa/proxy/stored.hpp"
#include "stoa/proxy/sumdb_endpoint.hpp"
#include "stoa/proxy/version_filter.hpp"
#include "stoa/proxy/vulndb_endpoint.hpp"
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
  using OperationalAccess = proxy::OperationalAccess;
  OperationalAccess operational_access = OperationalAccess::anyone;
  // Sources asked before the one the policy picks, in order, for every module (source.hpp):
  // published modules, a mirrored peer, an imported bundle. None today.
  std::vector<std::shared_ptr<Source>> sources;
  // What may be listed and resolved (version_filter.hpp; nullptr: everything).
  const VersionFilter* version_filter = nullptr;
  // Where the versions named by upstream list, @latest and query answers are recorded as seen
  // (first_seen.hpp; the minimum release ages of version_filter count from there). nullptr:
  // not recorded.
  FirstSeen* first_seen = nullptr;
  // The mirrored vulnerability database served at /vulndb/ (nullptr: none; /vulndb/ is 404).
  const vulndb::Mirror* vulndb = nullptr;
};

class Service {
 public:
  using Done = std::function<void(Response)>;

  // Registers its metrics (upstream fetches, refusals, in-flight) in `registry` and serves the
  // registry's text at /metrics.
  Service(ServiceOptions options, store::Store& store, fetch::Upstream& upstream,
          fetch::WorkerPool& pool, std::shared_ptr<spdlog::logger> log,
          metrics::Registry& registry);

  // The response when it can be given without waiting (stored file, fresh cached answer, bad
  // request, internal endpoint); nullopt when handle() must be used.
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
  StoreCounters committed() const {
    return {m_files.committed_objects(), m_files.committed_bytes()};
  }

  // From now on /readyz answers 503 (the server is shutting down). Thread-safe.
  void set_draining() { m_draining.store(true); }

 private:
  // handle() on the calling thread.
  void serve(const HttpRequest& req, Done done);
  // What needs no waiting: nullopt when handle() must answer. `may_block`: handle()'s own call,
  // on a thread where a blocking store read is fine.
  std::optional<Response> now(const HttpRequest& req, bool may_block);
  std::optional<Response> readiness();
  std::optional<Response> sumdb_now(const HttpRequest& req, bool may_block);
  std::optional<Response> module_now(const HttpRequest& req, const module::Request& r,
                                     bool may_block);
  void module(const HttpRequest& req, const module::Request& r, Done done);
  // The gate's decision for `req`, with who may keep its answers (Audience: `client` for a
  // restricted rule's module and for a private path).
  Gate decide(const HttpRequest& req, const module::Request& r);
  // Decides `r` (once) and answers it: from what is known, else by a fetch.
  void decided(const HttpRequest& req, const module::Request& r, Done done);
  // The answer that needs no fetch under `g`, confined to its audience; nullopt when one is
  // needed. Throws StoreError.
  std::optional<Response> known(const HttpRequest& req, const module::Request& r, Gate& g);
  std::optional<Response> known_answer(const HttpRequest& req, const module::Request& r, Gate& g);
  // 403 when the version filter hides the version `r` names.
  std::optional<Response> filtered(const module::Request& r);
  // Whether the version filter must read the index before it can decide `r` (or the request
  // `req`, when it is one for a module): such requests are answered on the pool.
  bool filter_waits(const module::Request& r) const;
  bool filter_waits(const HttpRequest& req) const;
  void fetch(const HttpRequest& req, const module::Request& r, const FetchPlan& g, Done done);
  void fetch_file(const HttpRequest& req, const module::Request& r, const FetchPlan& g, Done done);
  Response on_file(const HttpRequest& req, const module::Request& r, Mode mode,
                   const FetchResult& res, Outcome outcome);
  FetchResult file_job(const module::Request& r, const FetchContext& ctx, const FetchPlan& g);
  void fetch_meta(const HttpRequest& req, const module::Request& r, const FetchPlan& g, Done done);
  fetch::WorkerPool* pool_for(const module::Request& r) const;
  void register_gauges(metrics::Registry& registry);

  ServiceOptions m_options;
  store::Store& m_store;
  fetch::WorkerPool& m_pool;
  std::shared_ptr<spdlog::logger> m_log;
  trace::Tracer m_no_tracer;      // disabled; used when options.tracer is null
  const trace::Tracer* m_tracer;  // never null
  std::atomic<bool> m_draining{false};
  bool m_reads_block;  // the store's reads may block: read it on the pool only

  ServiceMetrics m_metrics;
  HotCache m_hot;
  Answers m_answers;
  Flights m_flights;
  Logins m_logins;
  PolicyGate m_gate;
  StoredFiles m_stored;
  MetaAnswers m_meta;
  ChecksumGate m_checksums;
  IndexRecorder m_recorder;
  FileFetch m_files;
  ReplicaLock m_lock;
  SumdbEndpoint m_sumdb;
  VulndbEndpoint m_vulndb;
  Operational m_operational;
};

}  // namespace stoa::proxy
