#include "stoa/policy/age.hpp"

#include <gtest/gtest.h>

namespace stoa::policy {
namespace {

using std::chrono::seconds;

TEST(Age, ParsesUnitsAndSums) {
  const struct {
    const char* text;
    std::int64_t seconds;
  } cases[] = {
      {"7d", 7 * 86400}, {"36h", 36 * 3600},   {"2w", 14 * 86400},           {"90m", 5400},
      {"45s", 45},       {"1w3d", 10 * 86400}, {"1d12h", 86400 + 12 * 3600},
  };
  for (const auto& c : cases) {
    const auto age = parse_age(c.text);
    ASSERT_TRUE(age) << c.text;
    EXPECT_EQ(age->count(), c.seconds) << c.text;
  }
}

TEST(Age, RefusesMalformedZeroAndHuge) {
  for (const char* bad : {"", "7", "d", "7x", "-7d", "+7d", "7 d", "7D", "0d", "0", "1.5d", "7d ",
                          "99999999999w", "3661d", "9223372036854775807s"}) {
    EXPECT_FALSE(parse_age(bad)) << bad;
  }
  EXPECT_TRUE(parse_age("3660d"));
}

TEST(Age, FormatsTheShortestForm) {
  EXPECT_EQ(format_age(seconds(7 * 86400)), "1w");
  EXPECT_EQ(format_age(seconds(6 * 86400)), "6d");
  EXPECT_EQ(format_age(seconds(86400 + 12 * 3600)), "1d12h");
  EXPECT_EQ(format_age(seconds(0)), "0s");
  for (const char* text : {"36h", "2w", "1w3d", "90m"}) {
    EXPECT_EQ(parse_age(format_age(*parse_age(text))), parse_age(text)) << text;
  }
}

TEST(Age, Rfc3339InUtc) {
  EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point(seconds(0))), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(std::chrono::system_clock::time_point(seconds(1796767689))),
            "2026-12-08T22:08:09Z");
}

}  // namespace
}  // namespace stoa::policy
