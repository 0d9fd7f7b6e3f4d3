#include "stoa/policy/policy.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "stoa/fsio/testing/scratch_dir.hpp"

namespace stoa::policy {
namespace {

void write(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

SourceFactory no_sources() {
  return [](const std::string&) -> std::unique_ptr<fetch::Upstream> {
    throw std::runtime_error("no upstreams in this test");
  };
}

TEST(Policy, ReloadSwapsWholeOrKeepsTheOld) {
  fsio::testing::ScratchDir dir;
  const auto rules = dir.path() / "rules.toml";
  write(rules, "[[rule]]\nmodules = \"a.example\"\naction = \"deny\"\n");
  Policy p({rules.string(), "", ""}, no_sources());
  EXPECT_FALSE(p.no_rules());
  const auto first = p.current();
  ASSERT_EQ(first->rules.rules.size(), 1u);

  bool tried = true;
  EXPECT_EQ(p.reload_if_changed(&tried), std::nullopt);
  EXPECT_FALSE(tried);  // unchanged: not even parsed

  write(rules, "[[rule]]\nmodules = \"a.example\"\naction = \"nonsense\"\n");
  const auto error = p.reload();
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("rules.toml: rule 1"), std::string::npos) << *error;
  EXPECT_EQ(p.current(), first);  // the old snapshot stays

  write(rules, "# none\n");
  EXPECT_EQ(p.reload_if_changed(&tried), std::nullopt);
  EXPECT_TRUE(tried);
  EXPECT_TRUE(p.current()->rules.rules.empty());
  EXPECT_TRUE(p.no_rules());
  // A snapshot held by a request in progress stays valid after the swap.
  EXPECT_EQ(first->rules.rules[0].action, Action::deny);
}

TEST(Policy, LoadErrors) {
  fsio::testing::ScratchDir dir;
  const auto rules = dir.path() / "rules.toml";
  write(rules, "[[rule]]\nmodules = \"corp.example\"\naction = \"private\"\n");
  try {
    Policy p({rules.string(), "", ""}, no_sources());
    FAIL() << "a private rule without credentials loaded";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("no users_file or tokens_file"), std::string::npos)
        << e.what();
  }
  write(rules, "[[rule]]\nmodules = \"x.example\"\nupstream = \"ftp://nope\"\n");
  try {
    Policy p({rules.string(), "", ""}, no_sources());
    FAIL() << "a bad upstream loaded";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("upstream"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Policy({(dir.path() / "missing.toml").string(), "", ""}, no_sources()), LoadError);
}

}  // namespace
}  // namespace stoa::policy
