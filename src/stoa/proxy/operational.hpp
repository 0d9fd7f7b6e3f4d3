#pragma once
// The operational endpoints: /metrics (the registry's text), /index and /catalog
// (index_endpoint.hpp), and who may read them on the main listener (`access`): anyone; only
// clients whose credentials the policy accepts (none or wrong ones: 401 with WWW-Authenticate;
// a first bcrypt check runs on the worker pool); or nobody (404: the admin listener serves them,
// through now() and serve(), which skip the check).
// Every answer is labelled endpoint "internal". Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "stoa/fetch/worker_pool.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/index_endpoint.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::proxy {

enum class OperationalAccess : std::uint8_t { anyone, authenticated, admin_only };

class Operational {
 public:
  using Done = std::function<void(Response)>;

  // `policy` and `index` may be null (no index: /index and /catalog are 404). Everything must
  // outlive this.
  Operational(OperationalAccess access, policy::Policy* policy, metrics::Registry& registry,
              std::unique_ptr<IndexEndpoint> index, fetch::WorkerPool& pool);

  static bool is_target(std::string_view target);

  // The main listener: the answer now, or nullopt when respond() must be used (a credential
  // check or an index read on a worker).
  std::optional<Response> respond_now(const HttpRequest& req);
  void respond(const HttpRequest& req, Done done);

  // The admin listener (no access check): the answer now, or nullopt when serve() must read the
  // index on a worker. serve() answers any target (404 for others).
  std::optional<Response> now(const HttpRequest& req);
  void serve(const HttpRequest& req, Done done);

 private:
  // The main listener's check: the refusal (401, 404), or nullopt when it may be served. `slow`
  // is set (and nullopt returned) when the credentials need a bcrypt check first.
  std::optional<Response> gate(const HttpRequest& req, bool& slow) const;

  OperationalAccess m_access;
  policy::Policy* m_policy;
  metrics::Registry& m_registry;
  std::unique_ptr<IndexEndpoint> m_index;
  fetch::WorkerPool& m_pool;
};

}  // namespace stoa::proxy
