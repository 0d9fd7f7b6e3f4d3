#include "stoa/web/vulns.hpp"

#include <gtest/gtest.h>

namespace stoa::web {
namespace {

using Kind = vulndb::Event::Kind;

vulndb::Range range(std::vector<vulndb::Event> events) { return {"SEMVER", std::move(events)}; }

TEST(Vulns, Affects) {
  const auto twice = range({{Kind::introduced, "0"},
                            {Kind::fixed, "1.2.0"},
                            {Kind::introduced, "1.3.0"},
                            {Kind::fixed, "1.3.5"}});
  const std::pair<const char*, bool> cases[] = {
      {"v0.1.0", true},      {"v1.1.9", true}, {"v1.2.0", false}, {"v1.2.9", false},
      {"v1.3.0", true},      {"v1.3.4", true}, {"v1.3.5", false}, {"v2.0.0", false},
      {"v1.2.0-rc.1", true},  // a prerelease of the fix comes before it
  };
  for (const auto& [v, want] : cases) EXPECT_EQ(affects(twice, v), want) << v;

  const auto last = range({{Kind::introduced, "1.0.0"}, {Kind::last_affected, "1.4.0"}});
  EXPECT_FALSE(affects(last, "v0.9.0"));
  EXPECT_TRUE(affects(last, "v1.0.0"));
  EXPECT_TRUE(affects(last, "v1.4.0"));
  EXPECT_FALSE(affects(last, "v1.4.1"));

  EXPECT_TRUE(affects(range({{Kind::introduced, "0"}}), "v9.9.9"));
  EXPECT_FALSE(affects(range({}), "v1.0.0"));
}

TEST(Vulns, Describe) {
  vulndb::Affected a;
  a.name = "example.com/m";
  EXPECT_EQ(describe(a), "all versions");
  a.ranges.push_back(range({{Kind::introduced, "0"}}));
  EXPECT_EQ(describe(a), "all versions");
  a.ranges.push_back(range({{Kind::introduced, "1.1.0"}, {Kind::fixed, "1.2.3"}}));
  EXPECT_EQ(describe(a), "introduced in v1.1.0, fixed in v1.2.3");
}

}  // namespace
}  // namespace stoa::web
