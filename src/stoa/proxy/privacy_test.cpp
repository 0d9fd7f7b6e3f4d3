#include "stoa/proxy/privacy.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>

#include "stoa/policy/policy.hpp"
#include "stoa/policy/rules.hpp"
#include "stoa/proxy/service.hpp"

namespace stoa::proxy {
namespace {

std::unique_ptr<policy::Policy> policy_of(std::string_view toml) {
  auto parsed = policy::parse_rules(toml, "test");
  auto* rules = std::get_if<policy::RuleSet>(&parsed);
  if (rules == nullptr) throw std::runtime_error(std::get<policy::ParseError>(parsed).message);
  auto snap = std::make_shared<policy::Snapshot>();
  snap->rules = std::move(*rules);
  return std::make_unique<policy::Policy>(std::move(snap));
}

TEST(ProxyPrivacy, NoSumdbMatchesEverySpellingOfAPrivatePath) {
  ServiceOptions o;
  o.no_sumdb = "corp.example/*,Team.Example/Secret,*.internal.example";
  const struct {
    std::string_view module;
    bool is_private;
  } cases[] = {
      {"corp.example/secret", true},
      {"corp.example/Secret", true},
      {"corp.example/SECRET/sub", true},
      {"team.example/secret", true},  // the glob is spelled in another case than the path
      {"team.example/Secret/v2", true},
      {"team.example/secretive", false},
      {"git.internal.example/x", true},
      {"git.Internal.example/x", true},
      {"corp.example", false},  // "corp.example/*" needs a second element
      {"example.com/corp.example/x", false},
      {"public.example/mod", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_private_module(o, c.module), c.is_private) << c.module;
  }
}

TEST(ProxyPrivacy, PrivateRulesOfThePolicyCountInAnyCase) {
  ServiceOptions o;
  const auto p = policy_of(R"(
[[rule]]
modules = "corp.example/Public/*"
action = "cache"

[[rule]]
modules = "Corp.Example"
action = "private"
)");
  o.policy = p.get();
  EXPECT_TRUE(is_private_module(o, "corp.example/x"));
  EXPECT_TRUE(is_private_module(o, "corp.example/X/y"));
  // A private rule covers the path even where an earlier rule decides how it is served.
  EXPECT_TRUE(is_private_module(o, "corp.example/Public/tool"));
  EXPECT_FALSE(is_private_module(o, "example.com/corp.example"));
  EXPECT_FALSE(is_private_module(o, "corp.example.com/x"));

  ServiceOptions none;
  EXPECT_FALSE(is_private_module(none, "corp.example/x"));
}

}  // namespace
}  // namespace stoa::proxy
