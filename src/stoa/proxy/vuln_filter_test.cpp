// Known vulnerabilities as a version filter: which versions OSV ranges affect (a table), the
// reason naming ids and fixes, `allow` waivers, `warn`, stdlib entries ignored, and a database
// switch taking effect on the next check without a new filter.
#include "stoa/proxy/vuln_filter.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stoa/proxy/policy_filter.hpp"
#include "stoa/vulndb/mirror.hpp"

namespace stoa::proxy {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<policy::Policy> fixed_policy(std::string_view rules) {
  auto snap = std::make_shared<policy::Snapshot>();
  auto parsed = policy::parse_rules(rules, "rules");
  snap->rules = std::get<policy::RuleSet>(std::move(parsed));
  return std::make_unique<policy::Policy>(std::move(snap));
}

struct Vuln {
  std::string id;
  std::string module;
  std::string events;  // JSON array of events
};

class VulnFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_root = fs::temp_directory_path() /
             ("stoa-vuln-filter-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_root);
    m_mirror =
        std::make_unique<vulndb::Mirror>(vulndb::Repository(m_root / "db"), vulndb::Limits{});
  }
  void TearDown() override { fs::remove_all(m_root); }

  // Imports a database of `vulns` (all modified at `modified`) and switches the mirror to it.
  void load(const std::vector<Vuln>& vulns, const std::string& modified) {
    const fs::path src = m_root / ("src-" + modified.substr(0, 10));
    fs::create_directories(src / "ID");
    fs::create_directories(src / "index");
    std::string list;
    std::map<std::string, std::string> mods;
    for (const Vuln& v : vulns) {
      std::ofstream(src / "ID" / (v.id + ".json"))
          << R"({"id":")" << v.id << R"(","database_specific":{"url":"u"},"modified":")" << modified
          << R"(","affected":[{"package":{"name":")" << v.module
          << R"(","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":)" << v.events << "}]}]}";
      list += std::string(list.empty() ? "" : ",") + R"({"id":")" + v.id + R"(","modified":")" +
              modified + R"("})";
      std::string& m = mods[v.module];
      m += std::string(m.empty() ? "" : ",") + R"({"id":")" + v.id + R"(","modified":")" +
           modified + R"("})";
    }
    std::string modules;
    for (const auto& [path, vs] : mods) {
      modules += std::string(modules.empty() ? "" : ",") + R"({"path":")" + path +
                 R"(","vulns":[)" + vs + "]}";
    }
    std::ofstream(src / "index" / "db.json") << R"({"modified":")" << modified << R"("})";
    std::ofstream(src / "index" / "vulns.json") << "[" << list << "]";
    std::ofstream(src / "index" / "modules.json") << "[" << modules << "]";
    std::string error;
    ASSERT_NE(m_mirror->repository().import(src, vulndb::Limits{}, error), nullptr) << error;
    ASSERT_TRUE(m_mirror->refresh());
  }

  std::unique_ptr<VersionFilter> filter(const policy::Policy& p) const {
    return make_vuln_filter(
        p, *m_mirror,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }

  fs::path m_root;
  std::unique_ptr<vulndb::Mirror> m_mirror;
};

constexpr const char* k_rules = R"(
[[rule]]
name = "waived"
modules = "example.com/w"
vulnerable = "deny"
allow = ["GO-2099-0003"]
[[rule]]
name = "watch"
modules = "example.com/warn"
vulnerable = "warn"
[[rule]]
name = "gate"
modules = "example.com/*"
vulnerable = "deny"
)";

TEST_F(VulnFilterTest, VersionsByRanges) {
  load(
      {{"GO-2099-0001", "example.com/m",
        R"([{"introduced":"0"},{"fixed":"1.2.0"},{"introduced":"1.5.0"},{"last_affected":"1.6.0"}])"},
       {"GO-2099-0002", "example.com/m", R"([{"introduced":"1.1.0"},{"fixed":"1.3.0"}])"},
       {"GO-2099-0003", "example.com/w", R"([{"introduced":"0"}])"},
       {"GO-2099-0004", "example.com/warn", R"([{"introduced":"0"}])"},
       {"GO-2099-0005", "stdlib", R"([{"introduced":"0"}])"},
       {"GO-2099-0006", "other.example/x", R"([{"introduced":"0"}])"}},
      "2099-01-01T00:00:00Z");
  const auto policy = fixed_policy(k_rules);
  const auto f = filter(*policy);
  ASSERT_TRUE(f->active());
  struct Case {
    const char* module;
    const char* version;
    const char* reason;  // "" when allowed
  };
  const Case cases[] = {
      {"example.com/m", "v1.0.0",
       "affected by GO-2099-0001 (fixed in v1.2.0); refused by rule \"gate\""},
      {"example.com/m", "v1.1.5",
       "affected by GO-2099-0001 (fixed in v1.2.0), GO-2099-0002 (fixed in v1.3.0); refused by "
       "rule "
       "\"gate\""},
      {"example.com/m", "v1.2.0",
       "affected by GO-2099-0002 (fixed in v1.3.0); refused by rule \"gate\""},
      {"example.com/m", "v1.3.0", ""},
      {"example.com/m", "v1.5.0-rc.1", ""},  // before the range is introduced again
      {"example.com/m", "v1.5.0",
       "affected by GO-2099-0001 (no fixed version); refused by rule \"gate\""},
      {"example.com/m", "v1.6.0",
       "affected by GO-2099-0001 (no fixed version); refused by rule \"gate\""},
      {"example.com/m", "v1.6.1", ""},     // after last_affected
      {"example.com/w", "v1.0.0", ""},     // waived by allow
      {"example.com/warn", "v1.0.0", ""},  // warn serves
      {"stdlib", "v1.0.0", ""},            // not a module
      {"other.example/x", "v1.0.0", ""},   // no rule with `vulnerable` matches
      {"example.com/m", "not-a-version", ""},
  };
  for (const Case& c : cases) {
    const auto v = f->check(c.module, c.version, "");
    EXPECT_EQ(v.hidden, *c.reason != '\0') << c.module << "@" << c.version;
    EXPECT_EQ(v.reason, c.reason) << c.module << "@" << c.version;
    if (v.hidden) {
      EXPECT_EQ(v.cause, "vulnerable");
    }
  }
}

// What `stoa rules test` prints: the same ranges and fixes, warn and waived entries included.
TEST_F(VulnFilterTest, VulnerabilitiesOfExplainsWhatTheFilterSees) {
  load({{"GO-2099-0001", "example.com/m", R"([{"introduced":"0"},{"fixed":"1.2.0"}])"},
        {"GO-2099-0002", "example.com/m", R"([{"introduced":"1.1.0"}])"},
        {"GO-2099-0003", "stdlib", R"([{"introduced":"0"}])"}},
       "2099-01-01T00:00:00Z");
  const auto db = m_mirror->current();
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(vulnerabilities_of(*db, "example.com/m", "v1.1.0", {}),
            "GO-2099-0001 (fixed in v1.2.0), GO-2099-0002 (no fixed version)");
  EXPECT_EQ(vulnerabilities_of(*db, "example.com/m", "v1.0.0", {}),
            "GO-2099-0001 (fixed in v1.2.0)");
  std::vector<std::string> waived;
  EXPECT_EQ(vulnerabilities_of(*db, "example.com/m", "v1.1.0", {"GO-2099-0001"}, &waived),
            "GO-2099-0002 (no fixed version)");
  EXPECT_EQ(waived, std::vector<std::string>{"GO-2099-0001"});
  EXPECT_EQ(vulnerabilities_of(*db, "example.com/other", "v1.0.0", {}), "");
  EXPECT_EQ(vulnerabilities_of(*db, "stdlib", "v1.0.0", {}), "") << "stdlib is not a module";
  // The filter's reason names the same text.
  const auto policy = fixed_policy(k_rules);
  EXPECT_EQ(filter(*policy)->check("example.com/m", "v1.1.0", "").reason,
            "affected by " + vulnerabilities_of(*db, "example.com/m", "v1.1.0", {}) +
                "; refused by rule \"gate\"");
}

TEST_F(VulnFilterTest, ANewDatabaseTakesEffectOnTheNextCheck) {
  const auto policy = fixed_policy(k_rules);
  const auto f = filter(*policy);
  EXPECT_FALSE(f->active());  // no database yet
  load({{"GO-2099-0001", "example.com/m", R"([{"introduced":"0"},{"fixed":"1.2.0"}])"}},
       "2099-01-01T00:00:00Z");
  EXPECT_TRUE(f->check("example.com/m", "v1.1.0", "").hidden);
  EXPECT_FALSE(f->check("example.com/m", "v1.2.0", "").hidden);
  load({{"GO-2099-0001", "example.com/m", R"([{"introduced":"0"},{"fixed":"1.3.0"}])"}},
       "2099-02-01T00:00:00Z");
  EXPECT_TRUE(f->check("example.com/m", "v1.2.0", "").hidden);
}

TEST_F(VulnFilterTest, ChainAsksInOrder) {
  load({{"GO-2099-0001", "example.com/m", R"([{"introduced":"0"}])"}}, "2099-01-01T00:00:00Z");
  const auto policy = fixed_policy(std::string(R"(
[[rule]]
name = "held"
modules = "example.com/m"
versions = ">=v2.0.0"
action = "deny"
)") + k_rules);
  std::vector<std::unique_ptr<VersionFilter>> filters;
  filters.push_back(make_policy_filter(*policy));
  filters.push_back(filter(*policy));
  const auto chain = chain_filters(std::move(filters));
  EXPECT_EQ(chain->check("example.com/m", "v2.0.0", "").cause, "deny");
  EXPECT_EQ(chain->check("example.com/m", "v1.0.0", "").cause, "vulnerable");
  EXPECT_FALSE(chain->check("example.com/n", "v1.0.0", "").hidden);
}

TEST(VulnerableRules, ParseErrors) {
  for (const char* bad : {"vulnerable = \"block\"", "vulnerable = true", "allow = [\"GO-1\"]",
                          "vulnerable = \"deny\"\nallow = \"GO-1\""}) {
    auto parsed = policy::parse_rules(
        std::string("[[rule]]\nmodules = \"example.com/*\"\n") + bad + "\n", "rules");
    EXPECT_TRUE(std::holds_alternative<policy::ParseError>(parsed)) << bad;
  }
}

}  // namespace
}  // namespace stoa::proxy
