#include "stoa/cli/suggest.hpp"

#include <gtest/gtest.h>

namespace stoa::cli {
namespace {

TEST(Closest, Table) {
  const std::vector<std::string_view> commands = {"serve",   "config", "verify", "index",
                                                  "version", "passwd", "rules"};
  struct Case {
    std::string_view typed;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"servee", "serve"}, {"serv", "serve"},   {"sreve", "serve"},
      {"SERVE", "serve"},  {"confg", "config"}, {"verison", "version"},
      {"rule", "rules"},   {"indx", "index"},   {"xyz", std::nullopt},
      {"", std::nullopt},  {"s", std::nullopt}, {"download", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(closest(c.typed, commands), c.want) << c.typed;
}

TEST(Closest, EnvironmentNames) {
  const std::vector<std::string_view> names = {"STOA_LISTEN", "STOA_LIST_TTL", "STOA_DATA_DIR"};
  EXPECT_EQ(closest("STOA_LISTN", names), "STOA_LISTEN");
  EXPECT_EQ(closest("STOA_DATADIR", names), "STOA_DATA_DIR");
  EXPECT_EQ(closest("STOA_UPSTREAM", names), std::nullopt);
  EXPECT_EQ(closest(std::string(1000, 'x'), names), std::nullopt);
}

}  // namespace
}  // namespace stoa::cli
