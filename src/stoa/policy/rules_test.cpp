#include "stoa/policy/rules.hpp"

#include <gtest/gtest.h>

#include "stoa/policy/policy.hpp"

namespace stoa::policy {
namespace {

RuleSet parse_ok(std::string_view text) {
  auto r = parse_rules(text, "test.toml");
  if (auto* e = std::get_if<ParseError>(&r)) {
    ADD_FAILURE() << e->message;
    return {};
  }
  return std::get<RuleSet>(std::move(r));
}

TEST(VersionRange, Table) {
  struct Case {
    std::string_view range, version;
    bool in;
  } cases[] = {
      {">=v1.2.0 <v2.0.0", "v1.2.0", true},
      {">=v1.2.0 <v2.0.0", "v1.9.9", true},
      {">=v1.2.0 <v2.0.0", "v2.0.0", false},
      {">=v1.2.0 <v2.0.0", "v1.2.0-pre", false},  // pre-release sorts before the release
      {">=v1.2.0 <v2.0.0", "v1.1.9", false},
      {">=v1.2 <v2", "v1.5.0", true},
      {"v1.0.0", "v1.0.0", true},
      {"=v1.0.0", "v1.0.1", false},
      {">v1.0.0", "v1.0.1-0.20200101000000-abcdefabcdef", true},
      {"<=v1.0.0", "v1.0.0", true},
      {"<v2.0.0", "v2.0.0+incompatible", false},
      {">=v2.0.0", "v2.1.0+incompatible", true},
      {">=v1.0.0,<v1.1.0", "v1.0.5", true},
      {">=v1.0.0", "master", false},
  };
  for (const auto& c : cases) {
    std::string error;
    const auto r = parse_version_range(c.range, &error);
    ASSERT_TRUE(r) << c.range << ": " << error;
    EXPECT_EQ(r->contains(c.version), c.in) << c.range << " " << c.version;
  }
}

TEST(VersionRange, Malformed) {
  for (const auto* bad : {"", " ", ">=", ">=1.2.0", "v1.2.0.0", ">=v1 <", "~v1.2.0", "=>v1.0.0"}) {
    std::string error;
    EXPECT_FALSE(parse_version_range(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(Rules, FirstMatchWinsAndVersionsOnlyForVersions) {
  const RuleSet s = parse_ok(R"(
[groups]
team = ["alice"]

[[rule]]
name = "old"
modules = "example.com/lib"
versions = "<v1.2.0"
action = "deny"
message = "upgrade to v1.2.0"

[[rule]]
modules = "example.com/*"
action = "passthrough"

[[rule]]
modules = "corp.example.com"
action = "private"
readers = ["@team", "bob"]
)");
  ASSERT_EQ(s.rules.size(), 3u);
  EXPECT_EQ(s.rules[1].name, "rule 2");
  EXPECT_EQ(s.match("example.com/lib", "v1.1.0"), &s.rules[0]);
  EXPECT_EQ(s.match("example.com/lib", "v1.2.0"), &s.rules[1]);
  EXPECT_EQ(s.match("example.com/lib", ""), &s.rules[1]);  // list: the range rule is skipped
  EXPECT_EQ(s.match("example.com", ""), nullptr);
  EXPECT_EQ(s.match("corp.example.com/x/y", "v1.0.0"), &s.rules[2]);
  EXPECT_EQ(s.match("Corp.Example.COM/x", "v1.0.0"), &s.rules[2]);  // private: case folded
  EXPECT_TRUE(s.is_private("corp.example.com/a"));
  EXPECT_FALSE(s.is_private("example.com/a"));
  EXPECT_EQ(s.match("other.org/m", "v1.0.0"), nullptr);
  const std::string why = s.explain(&s.rules[1], "example.com/lib", "v1.2.0");
  EXPECT_NE(why.find("passthrough"), std::string::npos) << why;
  EXPECT_NE(why.find("\"old\": version v1.2.0 is not in"), std::string::npos) << why;
  EXPECT_NE(s.explain(nullptr, "other.org/m", "").find("default"), std::string::npos);
}

// A rule that restricts readers covers every ASCII-case spelling of its paths, as a private
// rule does: otherwise "Example.com/Gated" would be a way around the readers of
// "example.com/gated". Unrestricted rules keep the go command's exact matching.
TEST(Rules, RestrictedRulesMatchEverySpelling) {
  const RuleSet s = parse_ok(R"(
[[rule]]
modules = "example.com/gated"
readers = ["bob"]
[[rule]]
modules = "example.com/open"
action = "deny"
)");
  for (const auto* spelling : {"example.com/gated", "Example.com/Gated/x", "EXAMPLE.COM/GATED"}) {
    EXPECT_EQ(s.match(spelling, "v1.0.0"), &s.rules[0]) << spelling;
    EXPECT_EQ(s.match(spelling, ""), &s.rules[0]) << spelling;
  }
  EXPECT_EQ(s.match("example.com/open/x", ""), &s.rules[1]);
  EXPECT_EQ(s.match("Example.com/Open/x", ""), nullptr);
  EXPECT_FALSE(s.is_private("Example.com/Gated"));  // restricted, not private
}

TEST(Rules, Errors) {
  struct Case {
    std::string_view text, want;
  } cases[] = {
      {"[[rule]]\naction = \"deny\"\n", "`modules` is required"},
      {"[[rule]]\nmodules = \"x\"\naction = \"nope\"\n", "must be cache, passthrough"},
      {"[[rule]]\nmodules = \"x\"\nversions = \">=1\"\n", "not a semantic version"},
      {"[[rule]]\nmodules = \"x\"\naction = \"redirect\"\n", "needs `to`"},
      {"[[rule]]\nmodules = \"x\"\naction = \"redirect\"\nto = \"ftp://a\"\n", "needs `to`"},
      {"[[rule]]\nmodules = \"x\"\nto = \"http://a\"\n", "only for action redirect"},
      {"[[rule]]\nmodules = \"x\"\nmessage = \"m\"\n", "only for deny"},
      {"[[rule]]\nmodules = \"x\"\naction = \"deny\"\nmessage = \"a\\nb\"\n", "one line"},
      {"[[rule]]\nmodules = \"x[\"\n", "malformed glob"},
      {"[[rule]]\nmodules = \",\"\n", "names no glob"},
      {"[[rule]]\nmodules = \"x\"\nreaders = [\"@nobody\"]\n", "no group"},
      {"[[rule]]\nmodules = \"x\"\nmodule = \"y\"\n", "unknown key"},
      {"[[rule]]\nmodules = \"x\"\naction = \"deny\"\nupstream = \"http://a\"\n", "only for cache"},
      {"[[rule]]\nname = \"a\"\nmodules = \"x\"\n[[rule]]\nname = \"a\"\nmodules = \"y\"\n",
       "two rules"},
      {"[[rule]]\nmodules = \"x\"\nmin_age = \"7\"\n", "min_age \"7\": not an age"},
      {"[[rule]]\nmodules = \"x\"\nmin_age = \"7x\"\n", "min_age \"7x\": not an age"},
      {"[[rule]]\nmodules = \"x\"\nmin_age = 7\n", "`min_age` must be a string"},
      {"[[rule]]\nmodules = \"x\"\nmin_age = \"7d\"\nmin_age_pinned = \"yes\"\n",
       "min_age_pinned \"yes\": must be allow or deny"},
      {"[[rule]]\nmodules = \"x\"\naction = \"deny\"\nmin_age = \"7d\"\n",
       "not for deny or redirect"},
      {"rule = 1\n", "array of tables"},
      {"[[rule]\n", "test.toml"},
  };
  for (const auto& c : cases) {
    auto r = parse_rules(c.text, "test.toml");
    auto* e = std::get_if<ParseError>(&r);
    ASSERT_NE(e, nullptr) << c.text;
    EXPECT_NE(e->message.find(c.want), std::string::npos) << e->message;
  }
}

TEST(Rules, MinAge) {
  const RuleSet s = parse_ok(
      "[[rule]]\nname = \"slow\"\nmodules = \"a.b\"\nmin_age = \"1w3d\"\n"
      "[[rule]]\nname = \"pins\"\nmodules = \"c.d\"\nmin_age = \"36h\"\n"
      "min_age_pinned = \"allow\"\n"
      "[[rule]]\nmodules = \"e.f\"\n");
  ASSERT_EQ(s.rules.size(), 3u);
  EXPECT_EQ(s.rules[0].min_age, std::chrono::seconds(10 * 86400));
  EXPECT_FALSE(s.rules[0].min_age_pinned_allowed);
  EXPECT_EQ(s.rules[1].min_age, std::chrono::hours(36));
  EXPECT_TRUE(s.rules[1].min_age_pinned_allowed);
  EXPECT_EQ(s.rules[2].min_age, std::chrono::seconds(0));
  const std::string why = s.explain(&s.rules[0], "a.b", "v1.0.0");
  EXPECT_NE(why.find("min_age: 1w3d (exact versions: held too)"), std::string::npos) << why;
}

// Whether any version's age may matter: the rules a module's versions can reach, in order.
TEST(Rules, MayHoldBack) {
  const RuleSet s = parse_ok(
      "[[rule]]\nmodules = \"a.b/fresh\"\n"
      "[[rule]]\nmodules = \"a.b/new\"\nversions = \">=v2.0.0\"\nmin_age = \"1d\"\n"
      "[[rule]]\nmodules = \"a.b/old\"\nversions = \"<v1.0.0\"\naction = \"deny\"\n"
      "[[rule]]\nmodules = \"a.b\"\nmin_age = \"7d\"\n"
      "[[rule]]\nmodules = \"c.d\"\n");
  EXPECT_FALSE(s.may_hold_back("a.b/fresh")) << "its first rule takes every version";
  EXPECT_TRUE(s.may_hold_back("a.b/new")) << "v2 and up";
  EXPECT_TRUE(s.may_hold_back("a.b/old")) << "the versions the deny range leaves to a.b";
  EXPECT_TRUE(s.may_hold_back("a.b/x"));
  EXPECT_FALSE(s.may_hold_back("c.d/x"));
  EXPECT_FALSE(s.may_hold_back("e.f"));
}

TEST(Rules, OtherKeysIgnored) {
  const RuleSet s = parse_ok("listen = \"127.0.0.1:1\"\n[[rule]]\nmodules = \"a.b\"\n");
  EXPECT_EQ(s.rules.size(), 1u);
  EXPECT_EQ(s.rules[0].action, Action::cache);
}

}  // namespace
}  // namespace stoa::policy

namespace stoa::policy {
namespace {

TEST(Rules, DenyReasonNamesTheRuleAndItsMessage) {
  Rule r;
  r.name = "cve";
  EXPECT_EQ(deny_reason(r), R"(denied by rule "cve")");
  r.message = "use v1.2.0";
  EXPECT_EQ(deny_reason(r), R"(denied by rule "cve": use v1.2.0)");
}

TEST(ShipsWithGo, Table) {
  EXPECT_TRUE(ships_with_go("golang.org/fips140"));
  EXPECT_TRUE(ships_with_go("golang.org/FIPS140"));
  EXPECT_TRUE(ships_with_go("Golang.Org/Fips140"));
  EXPECT_FALSE(ships_with_go("golang.org/fips140/v2"));
  EXPECT_FALSE(ships_with_go("golang.org/fips1400"));
  EXPECT_FALSE(ships_with_go("golang.org/fips14"));
  EXPECT_FALSE(ships_with_go("example.com/golang.org/fips140"));
  EXPECT_FALSE(ships_with_go(""));
}

}  // namespace
}  // namespace stoa::policy
