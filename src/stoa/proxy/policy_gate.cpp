#include "stoa/proxy/policy_gate.hpp"

#include <spdlog/spdlog.h>

#include <utility>

#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/index_access.hpp"

namespace stoa::proxy {

using policy::Action;

namespace {

std::string_view version_of(const module::Request& r) {
  return r.canonical ? std::string_view(r.version) : std::string_view();
}

Mode mode_of(const policy::Decision& d) {
  switch (d.action) {
    case Action::passthrough:
      return Mode::passthrough;
    case Action::private_:
      return Mode::private_;
    default:
      return Mode::cache;
  }
}

}  // namespace

PolicyGate::PolicyGate(PolicyGateOptions options, Logins& logins, ServiceMetrics& metrics)
    : m_options(std::move(options)), m_logins(logins), m_metrics(metrics) {}

bool PolicyGate::has_rules() const {
  return m_options.policy != nullptr && !m_options.policy->no_rules();
}

std::optional<Response> PolicyGate::limited(const HttpRequest& req, const module::Request& r) {
  if (!m_logins.enabled() || !has_rules() ||
      !m_options.policy->current()->checks_credentials(r.module, version_of(r),
                                                       req.authorization)) {
    return std::nullopt;
  }
  return m_logins.limited(req);
}

bool PolicyGate::slow(const HttpRequest& req, const module::Request& r) const {
  if (req.authorization.empty() || !has_rules()) return false;
  return m_options.policy->current()->needs_slow_check(r.module, version_of(r), req.authorization);
}

Gate PolicyGate::decide(const HttpRequest& req, const module::Request& r) {
  Gate g;
  if (has_rules()) {
    g.plan.snapshot = m_options.policy->current();
    g.decision = g.plan.snapshot->decide(r.module, version_of(r), req.authorization);
  }
  g.answer = refusal(req, r, g.decision);
  if (g.answer) return g;
  g.plan.sources = sources_for(g.decision);
  g.plan.mode = mode_of(g.decision);
  const Action a = g.decision.action;
  // Offline, and private without a source: what is stored, nothing else.
  g.store_only = a == Action::offline || (a == Action::private_ && g.plan.sources.empty());
  return g;
}

SourceChain PolicyGate::sources_for(const policy::Decision& d) const {
  fetch::Upstream* up = d.source;
  if (up == nullptr)
    up = d.action == Action::private_ ? m_options.private_source : m_options.upstream;
  SourceChain chain(m_options.front);
  if (up != nullptr) chain.push_back(upstream_source(*up, origin_of(d, m_options.origin)));
  if (d.action == Action::private_ && up == nullptr) return {};  // nothing may fetch it
  return chain;
}

std::optional<Response> PolicyGate::refusal(const HttpRequest& req, const module::Request& r,
                                            const policy::Decision& d) {
  if (d.rule == nullptr && policy::ships_with_go(r.module)) {
    m_metrics.refusals.with({"deny", "ships_with_go"}).inc();
    return error_response(403,
                          "forbidden: " + describe(r) +
                              " ships inside Go (GOROOT/lib/fips140) and the go command never "
                              "downloads it; a rule naming it may allow it",
                          Outcome::rejected);
  }
  if (d.rule == nullptr) return std::nullopt;
  const std::string action(policy::to_string(d.action));
  using Access = policy::Decision::Access;
  if (d.access == Access::unauthenticated) {
    m_metrics.refusals.with({action, "unauthenticated"}).inc();
    if (!req.authorization.empty()) m_logins.failed(req);  // sent, and wrong
    Response resp = error_response(401, "unauthorized: " + describe(r) + " needs credentials",
                                   Outcome::rejected);
    resp.headers.emplace_back("WWW-Authenticate", "Basic realm=\"stoa\"");
    return resp;
  }
  if (d.access == Access::hidden) {
    // The one answer for "no such module" under a restricted rule: a client cannot tell the two
    // apart.
    m_metrics.refusals.with({action, "hidden"}).inc();
    return not_found_answer(r);
  }
  if (d.action == Action::deny) {
    m_metrics.refusals.with({action, "denied"}).inc();
    std::string reason = policy::deny_reason(*d.rule);
    // A version a `versions` range denies is a version filter decision (policy_filter.hpp),
    // refused here before anything is read or fetched.
    if (r.canonical && d.rule->range) {
      m_metrics.filtered("file", {{r.version, {true, reason, d.rule->name, "deny"}}});
    }
    if (m_options.log) m_options.log->info("refused {}: {}", describe(r), reason);
    return error_response(403, "forbidden: " + describe(r) + " is " + reason, Outcome::rejected);
  }
  if (d.action == Action::redirect) {
    Response resp = text_answer(302, "", Outcome::rejected);
    resp.headers.emplace_back("Location", d.rule->to + req.target);
    return resp;
  }
  return std::nullopt;
}

Response PolicyGate::not_stored(const Gate& g, const module::Request& r) {
  const policy::Decision& d = g.decision;
  m_metrics.refusals.with({std::string(policy::to_string(d.action)), "not_stored"}).inc();
  if (d.action == Action::private_ || d.rule == nullptr) return not_found_answer(r);
  return error_response(404,
                        "not found: " + describe(r) + " (rule \"" + d.rule->name +
                            "\" is offline: only stored versions are served)",
                        Outcome::not_found);
}

}  // namespace stoa::proxy
