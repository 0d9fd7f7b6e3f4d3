#include "stoa/proxy/service.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <ctime>
#include <utility>

#include "stoa/module/path.hpp"
#include "stoa/policy/age.hpp"
#include "stoa/proxy/index_access.hpp"
#include "stoa/proxy/privacy.hpp"

namespace stoa::proxy {
namespace {

using Status = FetchResult::Status;

std::unique_ptr<IndexEndpoint> index_endpoint(const ServiceOptions& o, Logins& logins,
                                              fetch::WorkerPool& pool,
                                              const std::shared_ptr<spdlog::logger>& log) {
  if (o.index == nullptr) return nullptr;
  return std::make_unique<IndexEndpoint>(*o.index, o.policy, o.version_filter, logins, pool, log);
}

// What a request target asks for, told apart once.
enum class Route : std::uint8_t {
  health,
  instance,
  ready,
  root,
  operational,
  sumdb,
  vulndb,
  module
};

Route route_of(std::string_view target) {
  if (target == "/healthz") return Route::health;
  if (target == "/_stoa/instance") return Route::instance;
  if (target == "/readyz") return Route::ready;
  if (target == "/") return Route::root;
  if (Operational::is_target(target)) return Route::operational;
  if (target.starts_with("/sumdb/")) return Route::sumdb;
  if (VulndbEndpoint::is_target(target)) return Route::vulndb;
  return Route::module;
}

constexpr std::string_view k_cooldown_prefix = "/cooldown/";

// The request under a /cooldown/<age>/ prefix, without it and with its age; a 404 when the age
// is malformed or what follows is neither a module request nor /sumdb/.
std::variant<HttpRequest, Response> unprefixed(const HttpRequest& req) {
  std::string_view rest = std::string_view(req.target).substr(k_cooldown_prefix.size());
  const auto slash = rest.find('/');
  const std::string_view age_text = rest.substr(0, slash);
  const auto age = policy::parse_age(age_text);
  if (!age || slash == std::string_view::npos) {
    return error_response(404,
                          "not found: /cooldown/" + module::excerpt(age_text) +
                              ": not an age (a whole number and a unit: 36h, 7d, 2w)",
                          Outcome::not_found);
  }
  HttpRequest inner = req;
  inner.target = std::string(rest.substr(slash));
  inner.min_age = *age;
  const Route route = route_of(inner.target);
  if (route != Route::module && route != Route::sumdb) {
    return error_response(404, "not found: /cooldown/<age>/ serves module and /sumdb/ requests",
                          Outcome::not_found);
  }
  return inner;
}

// Stamps what every answer carries: HEAD-ness, and the endpoint label of internal answers.
Response finished(Response r, const HttpRequest& req) {
  r.head = req.method == "HEAD";
  if (r.outcome == Outcome::internal) r.endpoint = "internal";
  return r;
}

Service::Done finishing(const HttpRequest& req, std::string_view endpoint, Service::Done done) {
  return [head = req.method == "HEAD", endpoint, done = std::move(done)](Response r) {
    r.head = head;
    r.endpoint = r.outcome == Outcome::internal ? "internal" : endpoint;
    done(std::move(r));
  };
}

}  // namespace

Service::Service(ServiceOptions options, store::Store& store, fetch::Upstream& upstream,
                 fetch::WorkerPool& pool, std::shared_ptr<spdlog::logger> log,
                 metrics::Registry& registry)
    : m_options(std::move(options)),
      m_store(store),
      m_pool(pool),
      m_log(std::move(log)),
      m_tracer(m_options.tracer != nullptr ? m_options.tracer : &m_no_tracer),
      m_reads_block(store.reads_may_block()),
      m_metrics(registry, m_options.store_backend),
      m_hot(m_options.memory_cache_bytes, m_options.memory_cache_max_object),
      m_answers(m_options.answer_cache_bytes, m_options.answer_max_age, m_options.list_ttl,
                m_options.now),
      m_flights(pool),
      m_logins(m_options.login_limit, m_options.auth_pool != nullptr ? *m_options.auth_pool : pool,
               m_metrics, m_options.now),
      m_gate({m_options.policy, &upstream, m_options.origin, m_options.private_source,
              m_options.sources, m_log},
             m_logins, m_metrics),
      m_stored(store, m_hot, m_options.zip_redirector, *m_tracer, m_metrics.store_get_seconds),
      m_meta(store, m_answers, m_options.version_filter, m_options.first_seen, *m_tracer, m_metrics,
             m_log, std::chrono::duration_cast<std::chrono::seconds>(m_options.list_ttl)),
      m_checksums(
          m_options.checksum_db,
          [this](std::string_view module) { return is_private_module(m_options, module); },
          *m_tracer, m_metrics, m_log),
      m_recorder(m_options.index, m_options.no_sumdb, m_options.lock_retry, m_metrics, m_log),
      m_files({m_options.validator, m_options.validator_allows_on_error, m_options.scratch_dir},
              store, m_checksums, m_recorder, *m_tracer, m_metrics, m_log),
      m_lock(m_options.locks, m_options.lock_wait, m_options.lock_retry, store, *m_tracer,
             m_metrics, m_log),
      m_sumdb({m_options.sumdb_sources, m_options.checksum_db,
               [this](std::string_view module) { return is_private_module(m_options, module); },
               "public, max-age=" + std::to_string(m_options.list_ttl.count())},
              store, m_answers, m_flights, m_log),
      m_vulndb(m_options.vulndb),
      m_operational(m_options.operational_access, m_options.policy, registry,
                    index_endpoint(m_options, m_logins, pool, m_log), pool) {
  register_gauges(registry);
}

void Service::register_gauges(metrics::Registry& registry) {
  registry.callback_gauge("stoa_fetches_in_flight", "Upstream fetches running or queued.",
                          [this] { return static_cast<double>(m_flights.in_flight()); });
  registry.callback_gauge("stoa_fetch_queue_depth", "Fetches waiting for a worker.",
                          [this] { return static_cast<double>(m_pool.queued()); });
  registry.callback_gauge("stoa_memory_cache_bytes",
                          "Bytes held by the in-memory cache of small stored files.",
                          [this] { return static_cast<double>(m_hot.stats().bytes); });
  registry.callback_gauge("stoa_memory_cache_entries",
                          "Files held by the in-memory cache of small stored files.",
                          [this] { return static_cast<double>(m_hot.stats().entries); });
  registry.callback_gauge("stoa_answer_cache_bytes",
                          "Bytes held by the in-memory cache of list, @latest, query and "
                          "checksum-database answers (bounded by answer_cache_bytes).",
                          [this] { return static_cast<double>(m_answers.bytes()); });
  if (m_options.auth_pool != nullptr) {
    registry.callback_gauge("stoa_auth_queue_depth", "Credential checks waiting for a worker.",
                            [this] { return static_cast<double>(m_logins.queued()); });
  }
  registry.callback_gauge("stoa_login_limit_addresses",
                          "Client addresses whose failed logins are being counted.",
                          [this] { return static_cast<double>(m_logins.tracked()); });
  if (m_lock.enabled()) {
    registry.callback_gauge("stoa_locks_held", "Cross-replica locks this replica holds now.",
                            [this] { return static_cast<double>(m_lock.held()); });
  }
}

std::size_t Service::in_flight() const { return m_flights.in_flight(); }
std::vector<std::string> Service::in_flight_keys() const { return m_flights.keys(); }

Handler Service::handler() {
  return {[this](const HttpRequest& r) { return respond_now(r); },
          [this](const HttpRequest& r, std::function<void(Response)> done) {
            handle(r, std::move(done));
          }};
}

bool Service::is_operational_target(std::string_view target) {
  return Operational::is_target(target);
}
std::optional<Response> Service::operational_now(const HttpRequest& req) {
  return m_operational.now(req);
}
void Service::handle_operational(const HttpRequest& req, Done done) {
  m_operational.serve(req, std::move(done));
}

// ---- routing ----

std::optional<Response> Service::respond_now(const HttpRequest& req) {
  if (req.target.starts_with(k_cooldown_prefix)) {
    auto inner = unprefixed(req);
    if (auto* refused = std::get_if<Response>(&inner)) return finished(std::move(*refused), req);
    return now(std::get<HttpRequest>(inner), !m_reads_block);
  }
  return now(req, !m_reads_block);
}

void Service::handle(const HttpRequest& req, Done done) {
  if (req.target.starts_with(k_cooldown_prefix)) {
    auto inner = unprefixed(req);
    if (auto* refused = std::get_if<Response>(&inner)) {
      return done(finished(std::move(*refused), req));
    }
    return handle(std::get<HttpRequest>(inner), std::move(done));
  }
  if (!m_reads_block && !filter_waits(req)) return serve(req, std::move(done));
  // A store whose reads may block (a network round trip), or a version filter that must read
  // the index first (when a module's versions were first seen), is read on the pool, never on a
  // serving thread.
  auto shared = std::make_shared<Done>(std::move(done));
  const bool queued = m_pool.try_submit([this, req, shared] {
    const trace::ScopedLogContext log_scope(req.log);
    serve(req, std::move(*shared));
  });
  if (!queued) (*shared)(finished(retry_answer("stoa is busy; retry shortly"), req));
}

void Service::serve(const HttpRequest& req, Done done) {
  const Route route = route_of(req.target);
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (get && route == Route::operational) return m_operational.respond(req, std::move(done));
  if (get && route == Route::module) {
    auto parsed = module::parse_request(req.target);
    if (auto* r = std::get_if<module::Request>(&parsed)) {
      r->min_age = req.min_age;
      return module(req, *r, finishing(req, endpoint_of(*r), std::move(done)));
    }
  }
  if (auto answer = now(req, true)) return done(std::move(*answer));
  // /sumdb/: now() declines only for a well-formed request that needs a fetch.
  m_sumdb.fetch(req, std::get<SumdbRequest>(m_sumdb.parse(req.target)), std::move(done));
}

std::optional<Response> Service::now(const HttpRequest& req, bool may_block) {
  if (req.method != "GET" && req.method != "HEAD") {
    Response r =
        error_response(405, "method not allowed: " + req.method.substr(0, 16), Outcome::rejected);
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  // Small stored files from memory: no parsing, no store access. Ranges take the full path.
  // With rules or a filter, the request is decided first and the stored files look here.
  // (Asked per request: a policy reload may add rules.)
  // Never under a /cooldown/ prefix (its target is the unprefixed one).
  if (!m_gate.has_rules() && req.min_age.count() == 0 &&
      (m_options.version_filter == nullptr || !m_options.version_filter->active())) {
    if (auto hit = m_stored.hot(req)) return finished(std::move(*hit), req);
  }
  std::optional<Response> out;
  switch (route_of(req.target)) {
    case Route::health:
      out = text_answer(200, "ok\n", Outcome::internal);
      break;
    case Route::instance:
      out = text_answer(200, m_options.instance_id, Outcome::internal);
      break;
    case Route::root:
      out = text_answer(200, "stoa: a Go module proxy. Set GOPROXY to this URL.\n",
                        Outcome::internal);
      break;
    case Route::ready:
      if (!may_block) return std::nullopt;
      out = readiness();
      break;
    case Route::operational:
      return m_operational.respond_now(req);
    case Route::sumdb:
      out = sumdb_now(req, may_block);
      break;
    case Route::vulndb:
      out = m_vulndb.respond(req);
      out->endpoint = "vulndb";
      break;
    case Route::module: {
      auto parsed = module::parse_request(req.target);
      if (auto* bad = std::get_if<module::BadRequest>(&parsed)) {
        out = error_response(bad->status, bad->message,
                             bad->status == 404 ? Outcome::not_found : Outcome::rejected);
        break;
      }
      auto& r = std::get<module::Request>(parsed);
      r.min_age = req.min_age;
      out = module_now(req, r, may_block);
      if (out) out->endpoint = endpoint_of(r);
      break;
    }
  }
  if (!out) return std::nullopt;
  return finished(std::move(*out), req);
}

std::optional<Response> Service::readiness() {
  if (m_draining.load()) return text_answer(503, "draining\n", Outcome::internal);
  try {
    (void)m_store.get("stoa.readiness/@v/list");  // absent is fine; a backend failure throws
  } catch (const store::StoreError& e) {
    return text_answer(503, "store unavailable\n", Outcome::internal);
  }
  try {
    // A store that cannot take a new file cannot take a miss: not ready either. (One empty temp
    // file created and removed: cheap enough for a probe.)
    (void)m_store.stage();
  } catch (const std::exception& e) {
    m_log->warn("not ready: the store cannot stage a file: {}", e.what());
    return text_answer(503, "store not writable\n", Outcome::internal);
  }
  return text_answer(200, "ready\n", Outcome::internal);
}

std::optional<Response> Service::sumdb_now(const HttpRequest& req, bool may_block) {
  auto parsed = m_sumdb.parse(req.target);
  std::optional<Response> out;
  if (auto* bad = std::get_if<Response>(&parsed)) {
    out = std::move(*bad);
    out->endpoint = "sumdb";
    return out;
  }
  const auto& s = std::get<SumdbRequest>(parsed);
  if (!may_block && !s.store_key.empty()) return std::nullopt;
  try {
    out = m_sumdb.now(req, s);
  } catch (const store::StoreError& e) {
    m_log->error("store error for {}: {}", req.target, e.what());
    out = storage_error_answer();
  }
  if (out) out->endpoint = "sumdb";
  return out;
}

// ---- module requests ----

std::optional<Response> Service::module_now(const HttpRequest& req, const module::Request& r,
                                            bool may_block) {
  try {
    if (auto limited = m_gate.limited(req, r)) return limited;
    if (m_gate.slow(req, r)) return std::nullopt;  // handle() checks them off-thread
    if (!may_block) return std::nullopt;           // the store is read on the pool
    if (filter_waits(r)) return std::nullopt;      // so is the index, for the filter
    Gate g = decide(req, r);
    return known(req, r, g);
  } catch (const store::StoreError& e) {
    m_log->error("store error for {}: {}", req.target, e.what());
    return storage_error_answer();
  }
}

void Service::module(const HttpRequest& req, const module::Request& r, Done done) {
  if (!m_gate.slow(req, r)) return decided(req, r, std::move(done));
  // The first bcrypt check of these credentials: on the check pool, never a serving thread.
  auto shared = std::make_shared<Done>(std::move(done));
  const bool queued = m_logins.submit([this, req, r, shared] {
    const trace::ScopedLogContext log_scope(req.log);
    decided(req, r, std::move(*shared));
  });
  if (!queued) (*shared)(Logins::busy());
}

void Service::decided(const HttpRequest& req, const module::Request& r, Done done) {
  try {
    // Failures counted meanwhile may have used up the address's attempts.
    if (auto limited = m_gate.limited(req, r)) return done(std::move(*limited));
    Gate g = decide(req, r);
    if (auto answer = known(req, r, g)) return done(std::move(*answer));
    if (m_options.from_own_fetcher && m_options.from_own_fetcher(req)) {
      m_log->warn(
          "{} was asked by stoa's own go command (a go-import loop back to this proxy); "
          "refused",
          module::key_of(r));
      return done(error_response(508, "loop detected: stoa does not fetch for its own go command",
                                 Outcome::rejected));
    }
    fetch(req, r, g.plan, std::move(done));
  } catch (const std::exception& e) {  // a StoreError; on a worker, anything (done must run)
    m_log->error("store error for {}: {}", req.target, e.what());
    done(storage_error_answer());
  }
}

std::optional<Response> Service::filtered(const module::Request& r) {
  const VersionFilter* f = m_options.version_filter;
  const VersionFilter::Asked asked{r.min_age, true};
  if (f == nullptr || !r.canonical || !f->applies(asked)) return std::nullopt;
  HiddenVersion h{r.version, f->check(r.module, r.version, "", asked)};
  if (!h.verdict.hidden) return std::nullopt;
  m_metrics.filtered("file", {h});
  m_log->info("refused {}: {}", describe(r), describe_hidden({h}));
  return error_response(403, refusal(r.module, r.version, h.verdict), Outcome::rejected);
}

bool Service::filter_waits(const module::Request& r) const {
  const VersionFilter* f = m_options.version_filter;
  const VersionFilter::Asked asked{r.min_age, r.canonical};
  return f != nullptr && f->applies(asked) &&
         !f->ready(r.module, r.canonical ? r.version : "", asked);
}

bool Service::filter_waits(const HttpRequest& req) const {
  if (m_options.version_filter == nullptr || route_of(req.target) != Route::module) return false;
  auto parsed = module::parse_request(req.target);
  auto* r = std::get_if<module::Request>(&parsed);
  if (r == nullptr) return false;
  r->min_age = req.min_age;
  return filter_waits(*r);
}

Gate Service::decide(const HttpRequest& req, const module::Request& r) {
  Gate g = m_gate.decide(req, r);
  const policy::Rule* rule = g.decision.rule;
  if ((rule != nullptr && rule->restricted()) || is_private_module(m_options, r.module))
    g.plan.audience = Audience::client;
  return g;
}

std::optional<Response> Service::known(const HttpRequest& req, const module::Request& r, Gate& g) {
  auto answer = known_answer(req, r, g);
  if (answer) confine(*answer, g.plan.audience);
  return answer;
}

std::optional<Response> Service::known_answer(const HttpRequest& req, const module::Request& r,
                                              Gate& g) {
  if (g.answer) return std::move(g.answer);
  if (auto hidden = filtered(r)) return hidden;
  const Audience audience = g.plan.audience;
  if (g.store_only) {
    if (auto hit = r.canonical ? m_stored.file(req, r, audience) : m_meta.fresh(r)) return hit;
    if (auto stored = m_meta.from_store(r, Outcome::hit)) return stored;
    return m_gate.not_stored(g, r);
  }
  if (r.canonical) {
    if (g.plan.mode == Mode::passthrough) return std::nullopt;  // never from the store
    return m_stored.file(req, r, audience);
  }
  if (auto fresh = m_meta.fresh(r)) return fresh;
  // Stale-while-revalidate: an answer older than list_ttl is answered at once and a refresh
  // flight (nobody waiting; it joins a running one) lands in the cache for the next request.
  if (g.plan.sources.empty()) return std::nullopt;
  auto stale = m_meta.kept(r, Outcome::stale);
  if (stale) fetch_meta(req, r, g.plan, [](Response) {});
  return stale;
}

// ---- fetches ----

fetch::WorkerPool* Service::pool_for(const module::Request& r) const {
  if (m_options.direct_pool != nullptr && m_options.goes_direct && m_options.goes_direct(r.module))
    return m_options.direct_pool;
  return &m_pool;
}

void Service::fetch(const HttpRequest& req, const module::Request& r, const FetchPlan& g,
                    Done done) {
  if (g.sources.empty()) return done(not_found_answer(r));  // nothing may fetch it
  if (r.canonical) return fetch_file(req, r, g, std::move(done));
  fetch_meta(req, r, g, std::move(done));
}

void Service::fetch_file(const HttpRequest& req, const module::Request& r, const FetchPlan& g,
                         Done done) {
  const std::string key = module::key_of(r);
  // Set by the start function, which only the leader runs, before the work is submitted: so it
  // happens-before the completion that reads it.
  auto leader = std::make_shared<bool>(false);
  auto waiter = [this, req, r, mode = g.mode, audience = g.audience, leader,
                 done = std::move(done)](const FetchResult& res) {
    const trace::ScopedLogContext log_scope(req.log);
    Response resp = on_file(req, r, mode, res, *leader ? Outcome::miss : Outcome::coalesced);
    confine(resp, audience);
    done(std::move(resp));
  };
  // A passthrough download is its own flight: it must not satisfy a waiter that expects the
  // file in the store, nor the other way round.
  const std::string flight = g.mode == Mode::passthrough ? "passthrough:" + key : key;
  m_flights.run(
      flight, std::move(waiter),
      [this, r, ctx = FetchContext::of(req), g] { return file_job(r, ctx, g); }, leader,
      pool_for(r));
}

FetchResult Service::file_job(const module::Request& r, const FetchContext& ctx,
                              const FetchPlan& g) {
  const trace::ScopedLogContext log_scope(ctx.log);
  const std::string key = module::key_of(r);
  const auto started = std::chrono::steady_clock::now();
  FetchResult res;
  std::uint64_t bytes = 0;
  bool fetched = true;  // false: found stored, nothing asked of a source
  try {
    // This flight's first request may have looked in the store just before an earlier flight
    // for the same file committed it and left the table: look again before fetching, so that
    // any number of misses make one upstream fetch.
    if (g.mode != Mode::passthrough && m_store.get(key)) return {Status::ok, {}, {}, {}};
    auto download = [&] { return m_files.run(r, ctx, g.sources, g.mode, bytes); };
    // A passthrough download is never stored, so no other replica can save this one the fetch.
    res = g.mode == Mode::passthrough ? download() : m_lock.run(key, ctx.trace, download, fetched);
  } catch (const std::exception& e) {
    m_log->error("fetch {} failed: {}", key, e.what());
    res = {Status::store_error, {}, {}, {}};
  }
  if (fetched) m_metrics.fetched(r, res, started, bytes);
  return res;
}

Response Service::on_file(const HttpRequest& req, const module::Request& r, Mode mode,
                          const FetchResult& res, Outcome outcome) {
  if (res.status == Status::ok && res.file) {
    // Passthrough: served from the checked download, never from the store.
    fsio::UniqueFd fd(::dup(res.file->fd.get()));
    if (!fd) return failure(r, {Status::store_error, {}, {}, {}});
    store::Object obj;
    obj.size = res.file->size;
    obj.mtime_unix = std::time(nullptr);
    obj.body = std::move(fd);
    return serve_object(req, std::move(obj), content_type_of(r.kind), outcome);
  }
  if (res.status == Status::ok) {
    try {
      if (auto obj = m_store.get(module::key_of(r))) {
        return serve_object(req, std::move(*obj), content_type_of(r.kind), outcome);
      }
      m_log->error("{} vanished right after commit", module::key_of(r));
    } catch (const store::StoreError& e) {
      m_log->error("store error reading {}: {}", module::key_of(r), e.what());
    }
    return failure(r, {Status::store_error, {}, {}, {}});
  }
  // A private module's absence is exactly what a reader who may not see it gets.
  if (mode == Mode::private_ && res.status == Status::not_found) return not_found_answer(r);
  return failure(r, res);
}

void Service::fetch_meta(const HttpRequest& req, const module::Request& r, const FetchPlan& g,
                         Done done) {
  auto leader = std::make_shared<bool>(false);
  auto waiter = [this, req, r, mode = g.mode, audience = g.audience, leader,
                 done = std::move(done)](const FetchResult& res) {
    const trace::ScopedLogContext log_scope(req.log);
    Response resp;
    try {
      resp = m_meta.on_result(r, res, *leader ? Outcome::miss : Outcome::coalesced);
      if (mode == Mode::private_ && resp.status == 404) resp = not_found_answer(r);
    } catch (const store::StoreError& e) {
      m_log->error("store error answering {}: {}", req.target, e.what());
      resp = failure(r, {Status::store_error, {}, {}, {}});
    }
    confine(resp, audience);
    done(std::move(resp));
  };
  m_flights.run(
      module::key_of(r), std::move(waiter),
      [this, r, ctx = FetchContext::of(req), g]() -> FetchResult {
        const trace::ScopedLogContext log_scope(ctx.log);
        const auto started = std::chrono::steady_clock::now();
        FetchResult res;
        bool fetched = true;  // false: kept by a flight that ended after this one's request looked
        try {
          res = m_meta.fetch(r, ctx, g.sources, fetched);
        } catch (const std::exception& e) {
          m_log->error("fetch {} failed: {}", module::key_of(r), e.what());
          res = {Status::failed, {}, {}, {}};
        }
        if (fetched) m_metrics.fetched(r, res, started, res.body.size());
        return res;
      },
      leader, pool_for(r));
}

}  // namespace stoa::proxy
