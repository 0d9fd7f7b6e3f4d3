#include "stoa/cli/graph.hpp"

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>

#include "stoa/coord/postgres.hpp"
#include "stoa/coord/redis.hpp"
#include "stoa/direct/routing.hpp"
#include "stoa/text/redact.hpp"
#include "stoa/trace/options.hpp"
#include "stoa/trace/otlp.hpp"

namespace stoa::cli {
namespace {

// The cross-replica lock of `lock` (nullptr for none). Connects lazily.
std::unique_ptr<coord::Locks> make_locks(const LockConfig& lock) {
  try {
    switch (lock.kind) {
      case LockKind::none:
        return nullptr;
      case LockKind::redis:
        return coord::make_redis_locks({lock.url, lock.lease});
      case LockKind::postgres:
        return coord::make_postgres_locks({lock.url});
    }
  } catch (const coord::LockError& e) {
    throw ConfigError(e.what());
  }
  return nullptr;
}

// Tracing: the OTEL_* environment, with otlp_endpoint taking precedence. Export is
// asynchronous; a slow or dead collector only costs dropped spans (counted as metrics).
std::unique_ptr<trace::Tracer> make_tracer(const std::string& otlp_endpoint,
                                           const std::shared_ptr<spdlog::logger>& log) {
  trace::TraceOptions to = trace::from_environment(trace::process_environment());
  if (!otlp_endpoint.empty()) to.endpoint = otlp_endpoint;
  to.on_error = [log](std::string_view message) { log->warn("trace export: {}", message); };
  auto tracer = std::make_unique<trace::Tracer>(trace::make_tracer(to));
  if (tracer->enabled()) log->info("exporting traces to {}", text::redact_credentials(to.endpoint));
  return tracer;
}

void log_policy(spdlog::logger& log, const policy::Policy& policy, bool reloaded) {
  const auto snap = policy.current();
  if (!reloaded && snap->rules.rules.empty() && snap->credentials->empty()) return;
  log.info("policy{}: {} rule(s), {} user(s), {} token(s)", reloaded ? " reloaded" : "",
           snap->rules.rules.size(), snap->credentials->users(), snap->credentials->tokens());
}

void add_process_metrics(metrics::Registry& registry, const trace::Tracer& tracer) {
  registry.gauge("stoa_build_info", "Always 1; the labels say which stoa this is.", {"version"})
      .with({STOA_VERSION})
      .set(1);
  registry.callback_gauge("stoa_trace_spans_exported", "Spans sent to the trace collector.",
                          [&tracer] { return static_cast<double>(tracer.stats().spans_exported); });
  registry.callback_gauge(
      "stoa_trace_spans_dropped",
      "Spans dropped (queue full or collector failing): tracing never slows serving.", [&tracer] {
        const auto st = tracer.stats();
        return static_cast<double>(st.spans_dropped + st.spans_failed);
      });
}

// Where passthrough downloads are staged; on the disk store, leftovers of a crash are removed.
std::filesystem::path scratch_dir(const Options& o) {
  namespace fs = std::filesystem;
  fs::path dir = o.service.scratch_dir.empty() ? fs::temp_directory_path() : o.service.scratch_dir;
  fs::create_directories(dir);
  if (o.clean_scratch) {
    // Passthrough downloads are unlinked once checked; a crash before that leaves them here.
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().filename().string().starts_with("pass-")) fs::remove(e.path());
    }
  }
  return dir;
}

// The clock of minimum release ages: the system clock. Test builds only (STOA_TEST_CLOCK, set
// by the asan and dev presets, never by release): STOATEST_CLOCK_FILE names a file holding a
// number of seconds added to it, read at each use, so an end-to-end test can let time pass.
proxy::FirstSeen::Clock release_age_clock(spdlog::logger& log) {
#ifdef STOA_TEST_CLOCK
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start, before any thread
  if (const char* file = std::getenv("STOATEST_CLOCK_FILE"); file != nullptr && *file != 0) {
    log.warn("TEST CLOCK: minimum release ages use the system clock plus the seconds in {}", file);
    return [path = std::string(file)] {
      std::ifstream in(path);
      long long offset = 0;
      in >> offset;
      return std::chrono::system_clock::now() + std::chrono::seconds(offset);
    };
  }
#else
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at start, before any thread
  if (std::getenv("STOATEST_CLOCK_FILE") != nullptr) {
    log.warn("STOATEST_CLOCK_FILE is ignored: this build has no test clock");
  }
#endif
  return {};
}

}  // namespace

Graph::Graph(Options options, Loggers logs)
    : m_options(std::move(options)), m_logs(std::move(logs)), m_log(m_logs.app) {
  const Options& o = m_options;
  m_core = make_core(o.store, o.upstream, o.checksum);
  if (o.upstream.options.proxies.off) {
    m_log->warn("upstream {}: 'off' and the entries after it are ignored", o.upstream.display);
  }
  m_direct = make_direct(o.direct, *m_core.upstream, m_registry, m_log);
  m_policy = make_policy(o.policy, o.upstream.options);
  log_policy(*m_log, *m_policy, false);
  m_pool = std::make_unique<fetch::WorkerPool>(o.fetch_pool.workers, o.fetch_pool.queue);
  m_auth_pool = std::make_unique<fetch::WorkerPool>(o.auth_pool.workers, o.auth_pool.queue);
  if (!o.validator_url.empty()) {
    m_validator = fetch::make_http_validator(o.validator_url, o.validator_timeout);
  }
  if (const auto& db = o.checksum.db) {
    m_log->info("verifying against checksum database {} (via {}); not for: {}", db->name,
                db->url.empty() ? "the upstream proxies" : text::redact_credentials(db->url),
                o.checksum.no_sumdb.empty() ? "-" : o.checksum.no_sumdb);
  } else {
    m_log->warn("sumdb = off: downloads are not checked against a checksum database");
  }
  m_tracer = make_tracer(o.otlp_endpoint, m_log);
  m_locks = make_locks(o.lock);
  if (m_locks) {
    m_log->info("cross-replica lock: {} at {} (lease {} ms, wait up to {} ms)", m_locks->backend(),
                text::redact_credentials(o.lock.url), o.lock.lease.count(),
                o.service.lock_wait.count());
  }
  if (o.index.local_to_this_machine) {
    const bool bucket = o.store.kind != StoreKind::mongodb;
    m_log->warn(
        "index = sqlite with store = {}: the index is a file of this machine ({}); replicas "
        "sharing the {} need index = postgres. `stoa index rebuild` fills it from the {}",
        to_string(o.store.kind), o.index.target, bucket ? "bucket" : "database",
        bucket ? "bucket" : "database");
  }
  m_index = make_index(o.index);
  build_service();
  build_listeners();
}

Graph::~Graph() { shutdown(); }

void Graph::build_service() {
  proxy::ServiceOptions so = m_options.service;
  so.index = m_index.get();
  so.locks = m_locks.get();
  so.tracer = m_tracer.get();
  so.zip_redirector = m_core.zip_redirector.get();
  so.checksum_db = m_core.sumdb_client.get();
  if (const auto& db = m_options.checksum.db)
    so.sumdb_sources.emplace(db->name, m_core.sumdb_source);
  if (const Direct* d = m_direct.get()) {
    so.direct_pool = d->pool.get();
    so.goes_direct = [d](std::string_view module) {
      return direct::route_of(d->routes, d->have_proxy, module) == direct::Route::direct;
    };
    so.from_own_fetcher = [d](const proxy::HttpRequest& req) {
      // A client on the unix socket has no address; the go command cannot use a unix socket.
      if (d->running.empty() || req.remote_address.empty()) return false;
      return direct::connection_from_groups(req.remote_address, req.remote_port,
                                            d->running.snapshot());
    };
    // A `private` rule without an upstream of its own fetches with the go command.
    so.private_source = d->source.get();
  }
  so.validator = m_validator.get();
  m_instance_id = random_instance_id();
  so.instance_id = m_instance_id;
  so.policy = m_policy.get();
  m_first_seen =
      std::make_unique<proxy::FirstSeen>(m_index.get(), m_log, release_age_clock(*m_log));
  if (!m_index) {
    m_log->warn(
        "index = none: when versions were first seen (minimum release ages, /cooldown/) is kept "
        "in memory only; after a restart every version counts as seen anew");
  }
  so.first_seen = m_first_seen.get();
  so.auth_pool = m_auth_pool.get();
  if (!m_options.vulndb_dir.empty()) {
    m_vulndb = std::make_unique<vulndb::Mirror>(vulndb::Repository(m_options.vulndb_dir),
                                                vulndb::Limits{});
    refresh_vulndb(false);
    so.vulndb = m_vulndb.get();
    if (!m_options.vulndb_source.empty()) {
      m_vulndb_sync =
          std::make_unique<vulndb::Syncer>(vulndb::SyncOptions{m_options.vulndb_source}, *m_vulndb);
    }
  }
  m_version_filter = proxy::make_policy_filter(*m_policy, m_first_seen.get());
  if (m_vulndb) {
    std::vector<std::unique_ptr<proxy::VersionFilter>> filters;
    filters.push_back(std::move(m_version_filter));
    filters.push_back(proxy::make_vuln_filter(*m_policy, *m_vulndb, m_log));
    m_version_filter = proxy::chain_filters(std::move(filters));
  }
  so.version_filter = m_version_filter.get();
  so.scratch_dir = scratch_dir(m_options);
  add_process_metrics(m_registry, *m_tracer);
  fetch::Upstream& upstream = m_direct ? *m_direct->routing : *m_core.upstream;
  m_service =
      std::make_unique<proxy::Service>(so, *m_core.store, upstream, *m_pool, m_log, m_registry);
}

void Graph::build_listeners() {
  // One counter for the main and the admin listener: a request id names one request of this
  // process.
  const auto request_ids = std::make_shared<std::atomic<std::uint64_t>>(0);
  http::ServerOptions ho = m_options.server;
  ho.on_drain = [this] { m_service->set_draining(); };
  ho.tracer = m_tracer.get();
  ho.request_ids = request_ids;
  ho.on_check = [this] {
    reload_policy(true);
    // The database is read and verified on a worker, never on this serving thread.
    if (m_vulndb && m_vulndb->stale()) (void)m_pool->try_submit([this] { refresh_vulndb(false); });
    maybe_sync_vulndb();
  };
  proxy::Handler handler = m_service->handler();
  if (m_options.ui.enabled) {
    build_site();
    handler = m_site->wrap(handler);
    ho.on_check = [this, check = std::move(ho.on_check)] {
      check();
      m_site->sample();
    };
  }
  m_server =
      std::make_unique<http::Server>(ho, std::move(handler), m_log, m_logs.access, m_registry);
  m_address = m_server->bind();
  if (m_site) {
    const bool tls = !m_options.server.tls_cert.empty();
    m_site->set_listen_url(m_address.starts_with("unix:")
                               ? "http://localhost"
                               : (tls ? "https://" : "http://") + m_address);
  }
  if (!m_options.admin) return;
  m_admin = std::make_unique<proxy::Admin>(m_options.admin->admin, *m_service);
  http::ServerOptions ao = m_options.admin->server;
  ao.tracer = m_tracer.get();
  ao.request_ids = request_ids;
  m_admin_server = std::make_unique<http::Server>(ao, m_admin->handler(), m_log, m_logs.access,
                                                  m_admin_registry);
  const std::string admin_addr = m_admin_server->bind();
  m_log->info("admin listener on {}{}", admin_addr.starts_with("unix:") ? "http over " : "http://",
              admin_addr);
}

void Graph::build_site() {
  const Options& o = m_options;
  web::SiteOptions so;
  so.path_prefix = o.server.path_prefix == "/" ? "" : o.server.path_prefix;
  while (so.path_prefix.ends_with('/')) so.path_prefix.pop_back();
  so.ui_path = o.ui.path;
  so.external_url = o.ui.external_url;
  so.version = STOA_VERSION;
  so.private_globs = o.checksum.not_verified;
  if (o.checksum.db) so.sumdb_name = o.checksum.db->name;
  so.upstream = o.upstream.display;
  if (o.store.kind == StoreKind::disk) so.data_dir = o.store.data_dir.string();
  so.lock = o.lock.kind == LockKind::redis      ? "redis"
            : o.lock.kind == LockKind::postgres ? "postgres"
                                                : "none";
  // The last warnings and errors, for the status page (credentials are redacted in every log
  // message already).
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(20);
  ring->set_level(spdlog::level::warn);
  m_log->sinks().push_back(ring);
  so.last_errors = [ring] { return ring->last_formatted(); };
  m_ui_pool = std::make_unique<fetch::WorkerPool>(1, 64);
  m_site = std::make_unique<web::Site>(so, *m_core.store, m_index.get(), m_policy.get(),
                                       m_version_filter.get(), m_vulndb.get(), m_registry,
                                       *m_ui_pool, m_log);
}

void Graph::start() {
  m_server->start();
  if (m_admin_server) m_admin_server->start();
  const Options& o = m_options;
  m_log->info("stoa {} serving {}{}{} (store: {} {}, upstream: {})", STOA_VERSION,
              m_address.starts_with("unix:") ? "http over "
              : o.server.tls_cert.empty()    ? "http://"
                                             : "https://",
              m_address, o.server.path_prefix, to_string(o.store.kind), o.store.location,
              o.upstream.display);
}

std::optional<std::string> Graph::upstream_that_is_itself() const {
  for (const auto& e : m_options.upstream.options.proxies.entries) {
    const auto id = fetch::get_once(e.base_url + "/_stoa/instance", std::chrono::seconds(3), 256);
    if (id && *id == m_instance_id) return e.base_url;
  }
  return std::nullopt;
}

void Graph::reload_policy(bool only_if_changed) {
  bool tried = true;
  const auto error = only_if_changed ? m_policy->reload_if_changed(&tried) : m_policy->reload();
  if (!tried) return;
  if (error) {
    m_log->error("policy reload failed; keeping the previous rules and credentials: {}", *error);
    return;
  }
  log_policy(*m_log, *m_policy, true);
}

void Graph::refresh_vulndb(bool force) {
  if (!m_vulndb) return;
  try {
    if (!m_vulndb->refresh(force)) return;
    const auto s = m_vulndb->current();
    if (s == nullptr) {
      m_log->info("vulndb: no vulnerability database in {}", m_options.vulndb_dir.string());
    } else {
      m_log->info("vulndb: serving {} entries from {}", s->entries().size(),
                  m_options.vulndb_dir.string());
    }
  } catch (const std::exception& e) {
    m_log->error("vulndb: cannot load the vulnerability database; keeping the one served: {}",
                 e.what());
  }
}

void Graph::maybe_sync_vulndb() {
  if (!m_vulndb_sync) return;
  const std::int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  if (now < m_vulndb_next_sync.load() || m_vulndb_syncing.exchange(true)) return;
  const auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      m_options.vulndb_sync_interval);
  m_vulndb_next_sync.store(now + interval.count());
  const bool queued = m_pool->try_submit([this] {
    const std::string source = text::redact_credentials(m_options.vulndb_source);
    const auto outcome = m_vulndb_sync->sync_once();
    using Kind = vulndb::Syncer::Outcome::Kind;
    if (outcome.kind == Kind::updated) {
      m_log->info("vulndb: synced from {}: {}", source, outcome.detail);
    } else if (outcome.kind == Kind::failed) {
      m_log->error("vulndb: sync from {} failed; keeping the database served: {}", source,
                   text::redact_credentials(outcome.detail));
    } else {
      m_log->debug("vulndb: sync from {}: {}", source, outcome.detail);
    }
    m_vulndb_syncing.store(false);
  });
  if (!queued) m_vulndb_syncing.store(false);
}

void Graph::drain() {
  m_server->drain();
  if (m_admin_server) m_admin_server->drain();
}

void Graph::stop() {
  m_server->stop();
  if (m_admin_server) m_admin_server->stop();
}

void Graph::reload() {
  reload_policy(false);
  refresh_vulndb(false);
  m_server->reload_tls();
}

void Graph::wait() { m_server->wait(); }

void Graph::shutdown() {
  if (m_shut_down) return;
  m_shut_down = true;
  for (http::Server* s : {m_server.get(), m_admin_server.get()}) {
    if (s == nullptr) continue;
    s->stop();
    s->wait();
  }
  if (m_ui_pool) m_ui_pool->shutdown();  // pages being rendered read the store and index
  m_auth_pool->shutdown();               // its tasks may still queue fetches
  m_pool->shutdown();
  if (m_direct) m_direct->pool->shutdown();
  m_tracer->shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2));
}

}  // namespace stoa::cli
