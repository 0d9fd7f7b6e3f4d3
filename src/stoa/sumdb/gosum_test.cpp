#include "stoa/sumdb/gosum.hpp"

#include <gtest/gtest.h>

namespace stoa::sumdb {
namespace {

constexpr std::string_view k_h1 = "h1:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lmnQ=";

TEST(GoSumLine, ParseTable) {
  const auto zip = parse_go_sum_line("example.com/m v1.0.0 h1:abc=");
  ASSERT_TRUE(zip);
  EXPECT_EQ(zip->module_path, "example.com/m");
  EXPECT_EQ(zip->version, "v1.0.0");
  EXPECT_FALSE(zip->go_mod);
  EXPECT_EQ(zip->hash, "h1:abc=");
  const auto mod = parse_go_sum_line("example.com/m v1.0.0/go.mod h1:abc=");
  ASSERT_TRUE(mod);
  EXPECT_EQ(mod->version, "v1.0.0");
  EXPECT_TRUE(mod->go_mod);
  for (const std::string_view bad :
       {"", "a", "a b", "a b ", " a b c", "a  b c", "a b c d", "a b c\n", "a /go.mod c"}) {
    EXPECT_FALSE(parse_go_sum_line(bad)) << bad;
  }
}

TEST(H1, FormAndEquality) {
  EXPECT_TRUE(is_h1(k_h1));
  EXPECT_FALSE(is_h1("h1:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lmnQ"));
  EXPECT_FALSE(is_h1("h2:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lmnQ="));
  EXPECT_FALSE(is_h1("h1:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lmnR="));  // non-zero pad bits
  EXPECT_FALSE(is_h1("h1:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lm\nQ="));
  EXPECT_FALSE(is_h1("H1:oKjI1BFmNkNCyZj2C9N4ou5ZOnSMsWnlex6/MS/lmnQ="));
  EXPECT_FALSE(is_h1(""));
  EXPECT_TRUE(h1_equal(k_h1, k_h1));
  EXPECT_FALSE(h1_equal(k_h1, "h1:VCAxE6ciiwFmDfJsTp7c/7KHJHtzo1BzIfZu+pRgx4g="));
  EXPECT_FALSE(h1_equal("h1:x", "h1:x"));
}

}  // namespace
}  // namespace stoa::sumdb
