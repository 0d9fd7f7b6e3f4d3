// The policy gate alone: one decision per request, into an answer, store-only, or a fetch plan
// whose sources come in order.
#include "stoa/proxy/policy_gate.hpp"

#include <gtest/gtest.h>

#include "stoa/fetch/worker_pool.hpp"
#include "stoa/proxy/testing/fakes.hpp"

namespace stoa::proxy {
namespace {

module::Request request(std::string module, std::string version) {
  return std::get<module::Request>(
      module::parse_request("/" + module + "/@v/" + version + ".info"));
}

class PolicyGateTest : public ::testing::Test {
 protected:
  PolicyGateTest()
      : m_pool(1, 4),
        m_metrics(m_registry, "memory"),
        m_logins({}, m_pool, m_metrics, [] { return std::chrono::steady_clock::now(); }) {}
  ~PolicyGateTest() override { m_pool.shutdown(); }

  PolicyGate gate(policy::Policy* p, std::vector<std::shared_ptr<Source>> front = {}) {
    return PolicyGate({p, &m_upstream, "https://up.example", nullptr, std::move(front), nullptr},
                      m_logins, m_metrics);
  }

  metrics::Registry m_registry;
  fetch::WorkerPool m_pool;
  ServiceMetrics m_metrics;
  Logins m_logins;
  fakes::ScriptedUpstream m_upstream;
};

TEST_F(PolicyGateTest, WithoutRulesEverythingIsCachedFromTheUpstream) {
  PolicyGate g = gate(nullptr);
  EXPECT_FALSE(g.has_rules());
  const HttpRequest req = fakes::make_request("GET", "/example.com/m/@v/v1.0.0.info");
  const module::Request r = request("example.com/m", "v1.0.0");
  EXPECT_FALSE(g.slow(req, r));
  EXPECT_FALSE(g.limited(req, r));
  Gate d = g.decide(req, r);
  EXPECT_FALSE(d.answer);
  EXPECT_FALSE(d.store_only);
  EXPECT_EQ(d.plan.mode, Mode::cache);
  ASSERT_FALSE(d.plan.sources.empty());
  m_upstream.set("example.com/m/@v/v1.0.0.info", {fetch::Status::ok, "{}"});
  std::string out;
  const auto got = d.plan.sources.get(r.module, "example.com/m/@v/v1.0.0.info", out, 1 << 10, {});
  EXPECT_EQ(got.outcome.status, fetch::Status::ok);
  EXPECT_EQ(got.origin, "https://up.example");
}

TEST_F(PolicyGateTest, TheModuleThatShipsWithGoIsRefusedWithoutARule) {
  PolicyGate g = gate(nullptr);
  const HttpRequest req = fakes::make_request("GET", "/golang.org/fips140/@v/v1.0.0.info");
  Gate d = g.decide(req, request("golang.org/fips140", "v1.0.0"));
  ASSERT_TRUE(d.answer);
  EXPECT_EQ(d.answer->status, 403);
  EXPECT_NE(m_registry.render().find(
                "stoa_policy_refusals_total{action=\"deny\",reason=\"ships_with_go\"} 1"),
            std::string::npos);
}

TEST_F(PolicyGateTest, FrontSourcesComeFirst) {
  fakes::ScriptedUpstream front_up;
  front_up.set("example.com/m/@v/list", {fetch::Status::ok, "v9.0.0\n"});
  PolicyGate g = gate(nullptr, {upstream_source(front_up, "front")});
  const HttpRequest req = fakes::make_request("GET", "/example.com/m/@v/list");
  const module::Request r = std::get<module::Request>(module::parse_request(req.target));
  Gate d = g.decide(req, r);
  std::string out;
  const auto got = d.plan.sources.get(r.module, "example.com/m/@v/list", out, 1 << 10, {});
  EXPECT_EQ(got.origin, "front");
  EXPECT_EQ(out, "v9.0.0\n");
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/list"), 0);
}

}  // namespace
}  // namespace stoa::proxy
