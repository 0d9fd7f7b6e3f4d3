#include "stoa/proxy/operational.hpp"

#include <string>
#include <utility>

#include "stoa/proxy/failure.hpp"

namespace stoa::proxy {
namespace {

// 401 for /metrics, /index or /catalog without valid credentials.
Response unauthorized(std::string_view target) {
  Response resp = error_response(
      401,
      "unauthorized: " + std::string(target.substr(0, target.find('?'))) + " needs credentials",
      Outcome::rejected);
  resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"stoa\"");
  return resp;
}

Response stamped(Response resp, const HttpRequest& req) {
  resp.head = req.method == "HEAD";
  resp.endpoint = "internal";
  return resp;
}

}  // namespace

Operational::Operational(OperationalAccess access, policy::Policy* policy,
                         metrics::Registry& registry, std::unique_ptr<IndexEndpoint> index,
                         fetch::WorkerPool& pool)
    : m_access(access),
      m_policy(policy),
      m_registry(registry),
      m_index(std::move(index)),
      m_pool(pool) {}

bool Operational::is_target(std::string_view target) {
  return target == "/metrics" || is_index_target(target);
}

std::optional<Response> Operational::gate(const HttpRequest& req, bool& slow) const {
  switch (m_access) {
    case OperationalAccess::anyone:
      return std::nullopt;
    case OperationalAccess::admin_only:
      return error_response(404, "not found", Outcome::not_found);
    case OperationalAccess::authenticated:
      break;
  }
  if (!req.authorization.empty() && m_policy != nullptr) {
    const auto snap = m_policy->current();
    if (snap->credentials->is_slow(req.authorization)) {
      slow = true;
      return std::nullopt;
    }
    if (snap->credentials->authenticate(req.authorization).status == policy::AuthResult::Status::ok)
      return std::nullopt;
  }
  return unauthorized(req.target);
}

std::optional<Response> Operational::respond_now(const HttpRequest& req) {
  bool slow = false;
  if (auto refused = gate(req, slow)) return stamped(std::move(*refused), req);
  if (slow) return std::nullopt;  // respond() checks the credentials off-thread
  return now(req);
}

void Operational::respond(const HttpRequest& req, Done done) {
  bool slow = false;
  if (auto refused = gate(req, slow)) return done(stamped(std::move(*refused), req));
  if (!slow) return serve(req, std::move(done));
  // The first bcrypt check of these credentials: on a worker (its verdict is remembered).
  auto shared = std::make_shared<Done>(std::move(done));
  const bool queued = m_pool.try_submit([this, req, shared] {
    const trace::ScopedLogContext log_scope(req.log);
    const auto who = m_policy->current()->credentials->authenticate(req.authorization);
    if (who.status != policy::AuthResult::Status::ok) {
      return (*shared)(stamped(unauthorized(req.target), req));
    }
    serve(req, std::move(*shared));
  });
  if (!queued) (*shared)(stamped(retry_answer("stoa is busy; retry shortly"), req));
}

std::optional<Response> Operational::now(const HttpRequest& req) {
  if (req.target == "/metrics") {
    Response resp = text_answer(200, m_registry.render(), Outcome::internal);
    resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return stamped(std::move(resp), req);
  }
  if (!is_index_target(req.target)) return std::nullopt;
  if (m_index == nullptr) {
    return stamped(error_response(404, "not found: this stoa keeps no index (index = none)",
                                  Outcome::not_found),
                   req);
  }
  auto q = parse_index_query(req.target);
  if (auto* refused = std::get_if<Response>(&q)) return stamped(std::move(*refused), req);
  return std::nullopt;  // read on the worker pool by serve()
}

void Operational::serve(const HttpRequest& req, Done done) {
  if (auto answer = now(req)) return done(std::move(*answer));
  if (!is_index_target(req.target)) {
    return done(stamped(error_response(404, "not found", Outcome::not_found), req));
  }
  const auto q = std::get<IndexQuery>(parse_index_query(req.target));
  m_index->fetch(req, q, [req, done = std::move(done)](Response resp) {
    done(stamped(std::move(resp), req));
  });
}

}  // namespace stoa::proxy
