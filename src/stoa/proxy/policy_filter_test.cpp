// The policy's deny rules as a version filter: which versions a rule hides (a table of versions
// by rules), and, through a whole Service, @latest answered with the newest allowed version,
// a module with no allowed version, and a reload changing answers that were kept before it.
#include "stoa/proxy/policy_filter.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/proxy/listing.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/proxy/testing/service_harness.hpp"

namespace stoa::proxy {
namespace {

using fetch::Status;

constexpr const char* k_rules = R"(
[[rule]]
name = "keep-v2"
modules = "example.com/m/v2"
action = "cache"
[[rule]]
name = "hold"
modules = "example.com/m"
versions = ">=v1.2.0 <v2.0.0"
action = "deny"
message = "CVE-2099-1: stay below v1.2"
[[rule]]
name = "old"
modules = "example.com/*"
versions = "<v0.5.0"
action = "deny"
[[rule]]
name = "pass"
modules = "example.com/p"
versions = ">=v1.0.0"
action = "passthrough"
[[rule]]
name = "gone"
modules = "example.com/gone"
action = "deny"
)";

std::unique_ptr<policy::Policy> fixed_policy(std::string_view rules) {
  auto snap = std::make_shared<policy::Snapshot>();
  auto parsed = policy::parse_rules(rules, "rules");
  snap->rules = std::get<policy::RuleSet>(std::move(parsed));
  return std::make_unique<policy::Policy>(std::move(snap));
}

TEST(PolicyFilter, VersionsByRules) {
  const auto policy = fixed_policy(k_rules);
  const auto filter = make_policy_filter(*policy);
  EXPECT_TRUE(filter->active());
  struct Case {
    const char* module;
    const char* version;
    const char* rule;  // "" when allowed
  };
  const Case cases[] = {
      {"example.com/m", "v1.1.0", ""},
      {"example.com/m", "v1.2.0", "hold"},
      {"example.com/m", "v1.9.9-rc.1", "hold"},
      {"example.com/m", "v1.2.0-pre", ""},  // a pre-release sorts before its release
      {"example.com/m", "v1.3.0-0.20240101000000-abcdefabcdef", "hold"},  // pseudo-version
      {"example.com/m", "v1.2", "hold"},             // as a list line may spell it
      {"example.com/m", "v2.0.0+incompatible", ""},  // compared as v2.0.0
      {"example.com/m", "v0.4.0", "old"},            // a later rule matches
      {"example.com/m/v2", "v2.5.0", ""},            // an earlier rule without a range
      {"example.com/m/v2", "v0.4.0", ""},            // decides every version
      {"example.com/p", "v1.0.0", ""},               // passthrough: served
      {"example.com/p", "v0.1.0", "old"},
      {"example.com/gone", "v1.0.0", "gone"},  // a whole-module deny
      {"other.org/m", "v1.2.0", ""},
      {"example.com/m", "not-a-version", ""},
      {"example.com/m", "", ""},
  };
  for (const auto& c : cases) {
    const auto v = filter->check(c.module, c.version, "");
    EXPECT_EQ(v.hidden, *c.rule != '\0') << c.module << "@" << c.version;
    EXPECT_EQ(v.rule, c.rule) << c.module << "@" << c.version;
    if (v.hidden) {
      EXPECT_EQ(v.cause, "deny");
    }
  }
  const auto v = filter->check("example.com/m", "v1.2.0", "");
  EXPECT_EQ(v.reason, R"(denied by rule "hold": CVE-2099-1: stay below v1.2)");
  EXPECT_EQ(filter->check("example.com/gone", "v1.0.0", "").reason, R"(denied by rule "gone")");
}

TEST(PolicyFilter, NoRulesHidesNothingAndIsInactive) {
  const auto policy = fixed_policy("");
  const auto filter = make_policy_filter(*policy);
  EXPECT_FALSE(filter->active());
  EXPECT_FALSE(filter->check("example.com/m", "v1.2.0", "").hidden);
}

constexpr const char* k_service_rules = R"(
[[rule]]
name = "hold"
modules = "example.com/*"
versions = ">=v1.2.0"
action = "deny"
message = "not reviewed yet"
)";

std::string info(std::string_view version) {
  return R"({"Version":")" + std::string(version) + R"(","Time":"2020-01-01T00:00:00Z"})";
}

class PolicyFilterServiceTest : public ::testing::Test {
 protected:
  PolicyFilterServiceTest() : m_rules_file((m_dir.path() / "rules.toml").string()) {
    write_rules(k_service_rules);
    m_policy = std::make_unique<policy::Policy>(
        policy::PolicyFiles{m_rules_file, "", ""},
        [](const std::string&) -> std::unique_ptr<fetch::Upstream> { return nullptr; });
    m_filter = make_policy_filter(*m_policy);
    ServiceOptions o;
    o.policy = m_policy.get();
    o.version_filter = m_filter.get();
    o.list_ttl = std::chrono::hours(1);  // kept answers stay fresh: a reload must still tell
    m_h.emplace(o);
  }

  void write_rules(std::string_view text) { std::ofstream(m_rules_file, std::ios::trunc) << text; }
  // A module whose upstream lists `list` (one version a line), answers @latest with `latest`
  // and has a .info for each listed version.
  void serve(const std::string& module, const std::vector<std::string>& list,
             const std::string& latest) {
    std::string body;
    for (const auto& v : list) {
      body += v + "\n";
      m_h->upstream().set(module + "/@v/" + v + ".info", {Status::ok, info(v)});
    }
    m_h->upstream().set(module + "/@v/list", {Status::ok, body});
    m_h->upstream().set(module + "/@latest", {Status::ok, info(latest)});
  }
  Response get(const std::string& target) { return m_h->get(target); }
  std::string latest_version(const std::string& module) {
    const Response r = get("/" + module + "/@latest");
    if (r.status != 200) return std::to_string(r.status) + " " + r.body;
    return parse_info(r.body)->version;
  }

  fsio::testing::ScratchDir m_dir;  // the rules file
  std::string m_rules_file;
  std::unique_ptr<policy::Policy> m_policy;
  std::unique_ptr<VersionFilter> m_filter;
  std::optional<fakes::ServiceHarness> m_h;
};

// When the upstream's @latest is denied, the newest allowed version answers, chosen as the go
// command chooses latest: releases over pre-releases over pseudo-versions.
TEST_F(PolicyFilterServiceTest, LatestIsTheNewestAllowedVersion) {
  struct Case {
    const char* module;
    std::vector<std::string> list;
    const char* upstream_latest;
    const char* want;
  };
  const Case cases[] = {
      {"example.com/a", {"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}, "v1.3.0", "v1.1.0"},
      // a release over a newer pre-release
      {"example.com/b", {"v1.0.0", "v1.1.0-rc.1", "v1.2.0"}, "v1.2.0", "v1.0.0"},
      // a pre-release when no release is allowed
      {"example.com/c", {"v1.1.0-rc.1", "v1.1.0-rc.2", "v1.2.0"}, "v1.2.0", "v1.1.0-rc.2"},
      // a pseudo-version only when nothing tagged is allowed
      {"example.com/d",
       {"v0.0.0-20200101000000-abcdefabcdef", "v1.2.0"},
       "v1.2.0",
       "v0.0.0-20200101000000-abcdefabcdef"},
      // the upstream's own answer when it is allowed (even if the list has a newer one)
      {"example.com/e", {"v1.0.0", "v1.1.0", "v1.3.0"}, "v1.0.0", "v1.0.0"},
  };
  for (const auto& c : cases) {
    serve(c.module, c.list, c.upstream_latest);
    EXPECT_EQ(latest_version(c.module), c.want) << c.module;
    EXPECT_EQ(latest_version(c.module), c.want) << c.module << " (kept)";
  }
  EXPECT_EQ(get("/example.com/a/@v/list").body, "v1.0.0\nv1.1.0\n");
  // The denied versions' files were never asked for.
  EXPECT_EQ(m_h->upstream().hits("example.com/a/@v/v1.3.0.info"), 0);
  const std::string m = m_h->registry().render();
  EXPECT_NE(m.find(R"(stoa_versions_filtered_total{rule="hold",reason="deny",answer="latest"})"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(stoa_versions_filtered_total{rule="hold",reason="deny",answer="list"} 2)"),
            std::string::npos)
      << m;
}

TEST_F(PolicyFilterServiceTest, NoAllowedVersionIsA403WithTheReason) {
  serve("example.com/all", {"v1.2.0", "v1.3.0"}, "v1.3.0");
  const Response r = get("/example.com/all/@latest");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body,
            "forbidden: example.com/all@latest: no version of it is allowed (v1.3.0 is denied by "
            "rule \"hold\": not reviewed yet)\n");
  EXPECT_EQ(get("/example.com/all/@v/list").body, "");
}

TEST_F(PolicyFilterServiceTest, AQueryResolvingToADeniedVersionIsRefused) {
  m_h->upstream().set("example.com/q/@v/main.info", {Status::ok, info("v1.4.0")});
  const Response r = get("/example.com/q/@v/main.info");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body,
            "forbidden: example.com/q@v1.4.0 is filtered: denied by rule \"hold\": not reviewed "
            "yet\n");
  const Response file = get("/example.com/q/@v/v1.4.0.zip");
  EXPECT_EQ(file.status, 403);
  EXPECT_EQ(file.body,
            "forbidden: example.com/q@v1.4.0 is denied by rule \"hold\": not reviewed yet\n");
  EXPECT_EQ(m_h->upstream().hits("example.com/q/@v/v1.4.0.zip"), 0);
}

// Kept answers are the upstream's, filtered when served: a reload changes the next answer
// although the kept ones are still fresh (list_ttl 1h).
TEST_F(PolicyFilterServiceTest, AReloadChangesKeptAnswers) {
  serve("example.com/r", {"v1.0.0", "v1.1.0", "v1.3.0"}, "v1.3.0");
  EXPECT_EQ(get("/example.com/r/@v/list").body, "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(latest_version("example.com/r"), "v1.1.0");
  write_rules(R"(
[[rule]]
name = "recall"
modules = "example.com/r"
versions = "=v1.1.0"
action = "deny"
)");
  ASSERT_EQ(m_policy->reload(), std::nullopt);
  EXPECT_EQ(get("/example.com/r/@v/list").body, "v1.0.0\nv1.3.0\n");
  EXPECT_EQ(latest_version("example.com/r"), "v1.3.0");  // the upstream's own, allowed now
  write_rules(R"(
[[rule]]
name = "recall"
modules = "example.com/r"
versions = ">=v1.1.0"
action = "deny"
)");
  ASSERT_EQ(m_policy->reload(), std::nullopt);
  // v1.0.0's .info was never fetched before: the kept @latest is resolved again.
  EXPECT_EQ(latest_version("example.com/r"), "v1.0.0");
  write_rules("");
  ASSERT_EQ(m_policy->reload(), std::nullopt);
  EXPECT_FALSE(m_filter->active());
  EXPECT_EQ(get("/example.com/r/@v/list").body, "v1.0.0\nv1.1.0\nv1.3.0\n");
}

}  // namespace
}  // namespace stoa::proxy
