#pragma once
// The object graph of `stoa serve`, wired from typed options (options.hpp): the store, the
// upstreams and the checksum database (core.hpp), direct fetching, the policy, the worker pools,
// the validator, the tracer, the cross-replica lock, the index, the service and its listeners.
// The graph owns every part; members are destroyed in the reverse order of their construction,
// after shutdown(), the one shutdown sequence.
//
// Thread-safety: drain(), stop() and reload() may be called from any thread (the signal watcher
// calls them); the rest from the thread that built the graph.

#include <memory>
#include <optional>
#include <string>

#include "stoa/cli/core.hpp"
#include "stoa/cli/direct_wiring.hpp"
#include "stoa/cli/logging.hpp"
#include "stoa/cli/options.hpp"
#include "stoa/coord/lock.hpp"
#include "stoa/fetch/validator.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/http/server.hpp"
#include "stoa/index/index.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/admin.hpp"
#include "stoa/proxy/policy_filter.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/vuln_filter.hpp"
#include "stoa/trace/tracer.hpp"
#include "stoa/vulndb/mirror.hpp"
#include "stoa/vulndb/sync.hpp"
#include "stoa/web/site.hpp"

namespace stoa::cli {

class Graph {
 public:
  // Builds every part and binds the listeners; nothing is served before start(). Throws
  // ConfigError for a configuration that cannot be used, other exceptions for the rest (a
  // listener that cannot bind, a bucket that cannot be reached).
  Graph(Options options, Loggers logs);
  ~Graph();  // shutdown()
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Starts both listeners and logs what is served where; returns at once.
  void start();
  // The upstream of the list that is this very process (every miss would be a loop), if any:
  // asks each one for its /_stoa/instance. Call after start().
  std::optional<std::string> upstream_that_is_itself() const;
  // Graceful stop (SIGTERM): readiness turns false, the listeners close, requests in progress
  // finish within shutdown_grace.
  void drain();
  // Stops the listeners at once (a second SIGTERM).
  void stop();
  // SIGHUP: the rules, users and tokens files, the TLS certificate and the vulnerability
  // database's snapshot are loaded again; a failure keeps the previous ones and is logged.
  void reload();
  // Blocks until the main listener has stopped.
  void wait();
  // The one shutdown sequence: the main listener stops (at once, if it still runs), then the
  // admin listener; then the worker pools finish what they queued (the auth pool first: its
  // tasks may still queue fetches) and the tracer flushes its spans. Idempotent.
  void shutdown();

 private:
  void build_service();
  void build_listeners();
  void build_site();
  void reload_policy(bool only_if_changed);
  // Loads the vulnerability database's snapshot when its repository switched to another one
  // (`stoa vulndb import`); a failure keeps the one served and is logged.
  void refresh_vulndb(bool force);
  // On the check timer: starts a sync from vulndb_source on a worker when one is due.
  void maybe_sync_vulndb();

  Options m_options;
  Loggers m_logs;
  std::shared_ptr<spdlog::logger> m_log;
  Core m_core;
  metrics::Registry m_registry;
  std::unique_ptr<Direct> m_direct;
  std::unique_ptr<policy::Policy> m_policy;
  // The policy's deny rules and minimum release ages, then known vulnerabilities.
  std::unique_ptr<proxy::VersionFilter> m_version_filter;
  std::unique_ptr<vulndb::Mirror> m_vulndb;       // served at /vulndb/
  std::unique_ptr<vulndb::Syncer> m_vulndb_sync;  // vulndb_source set
  std::atomic<bool> m_vulndb_syncing{false};
  std::atomic<std::int64_t> m_vulndb_next_sync{0};  // steady_clock ticks
  std::unique_ptr<fetch::WorkerPool> m_pool;
  // Credential checks apart from fetches: a flood of logins never queues ahead of misses.
  std::unique_ptr<fetch::WorkerPool> m_auth_pool;
  std::unique_ptr<fetch::Validator> m_validator;
  std::unique_ptr<trace::Tracer> m_tracer;
  std::unique_ptr<coord::Locks> m_locks;
  std::unique_ptr<index::Index> m_index;
  std::unique_ptr<proxy::FirstSeen> m_first_seen;  // over m_index
  std::string m_instance_id;
  std::unique_ptr<proxy::Service> m_service;
  // The web pages (ui = true): rendered on a pool of their own, never on the serving threads
  // nor on the fetch workers.
  std::unique_ptr<fetch::WorkerPool> m_ui_pool;
  std::unique_ptr<web::Site> m_site;
  std::unique_ptr<http::Server> m_server;
  std::string m_address;
  // The admin listener's own request metrics go to a registry nobody renders, so the main
  // listener's numbers stay those of module traffic. Declared before the admin server, so
  // destroyed after it: its connections still count themselves in it when it goes.
  metrics::Registry m_admin_registry;
  std::unique_ptr<proxy::Admin> m_admin;
  std::unique_ptr<http::Server> m_admin_server;
  bool m_shut_down = false;
};

}  // namespace stoa::cli
