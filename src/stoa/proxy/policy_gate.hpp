#pragma once
// The policy gate: decides a module request once, under one policy snapshot, into what the
// service does with it. Either an answer at once (401, 403, a hidden module's 404, a redirect),
// or "from the store only" (offline, or private without a source), or where a miss comes from:
// the module's sources in order (source.hpp: ServiceOptions::sources, then the rule's own
// upstream, the private source or the global upstream) and how the fetch treats what it gets
// (Mode). Without a policy (or without rules) every module is `cache` from the global upstream,
// except the module that ships with Go.
//
// Credentials: limited() and slow() are asked before decide(); a decide() whose credentials
// need a bcrypt check must run on a worker (the verdict is remembered; later ones are fast).
// Thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stoa/fetch/upstream.hpp"
#include "stoa/module/request.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/flights.hpp"
#include "stoa/proxy/logins.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/proxy/source.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

// Where a miss is fetched from and how; a value a fetch job carries.
struct FetchPlan {
  SourceChain sources;  // in order (empty: nowhere)
  Mode mode = Mode::cache;
  // Who may keep the answers (set by the service, which knows the private paths).
  Audience audience = Audience::shared;
  // The snapshot decided under (null without rules): holds a rule's own upstream alive for as
  // long as a fetch that uses it runs.
  std::shared_ptr<const policy::Snapshot> snapshot;
};

struct Gate {
  std::optional<Response> answer;  // given at once, whatever is stored or fetchable
  bool store_only = false;         // answered from the store, else PolicyGate::not_stored()
  FetchPlan plan;
  policy::Decision decision;
};

struct PolicyGateOptions {
  policy::Policy* policy = nullptr;            // null: no rules
  fetch::Upstream* upstream = nullptr;         // the global upstream (never null)
  std::string origin;                          // its origin, as the index records it
  fetch::Upstream* private_source = nullptr;   // for private modules without an upstream
  std::vector<std::shared_ptr<Source>> front;  // asked before the policy's source, in order
  std::shared_ptr<spdlog::logger> log;         // refusals by a deny rule are logged (null: not)
};

class PolicyGate {
 public:
  // Everything must outlive this.
  PolicyGate(PolicyGateOptions options, Logins& logins, ServiceMetrics& metrics);

  bool has_rules() const;
  // 429 when the answer depends on credentials sent from an address over its failed-login limit.
  std::optional<Response> limited(const HttpRequest& req, const module::Request& r);
  // Whether decide() would run a bcrypt check (keep it off the serving threads).
  bool slow(const HttpRequest& req, const module::Request& r) const;
  // The decision for `req`; refusals and failed logins are counted here.
  Gate decide(const HttpRequest& req, const module::Request& r);
  // The answer for a store_only request whose file is not stored (counted).
  Response not_stored(const Gate& g, const module::Request& r);

 private:
  std::optional<Response> refusal(const HttpRequest& req, const module::Request& r,
                                  const policy::Decision& d);
  SourceChain sources_for(const policy::Decision& d) const;

  PolicyGateOptions m_options;
  Logins& m_logins;
  ServiceMetrics& m_metrics;
};

}  // namespace stoa::proxy
