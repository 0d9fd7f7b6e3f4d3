#include "stoa/proxy/conditional.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>

namespace stoa::proxy {
namespace {

TEST(IfNoneMatch, Table) {
  struct Case {
    const char* header;
    bool match;
  } cases[] = {
      {"", false},
      {"*", true},
      {"\"abc\"", true},
      {"W/\"abc\"", true},
      {"\"x\", \"abc\"", true},
      {"\"x\",\"y\"", false},
      {"\"ab\"", false},
      {"abc", false},
      {" \"abc\" ", true},
      {",,", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(if_none_match_matches(c.header, "\"abc\""), c.match) << c.header;
  }
}

TEST(DecideRange, Table) {
  struct Case {
    const char* range;
    const char* if_range;
    RangeVerdict verdict;
    std::uint64_t offset, length;
  } cases[] = {
      {"", "", RangeVerdict::full, 0, 0},
      {"bytes=0-9", "", RangeVerdict::partial, 0, 10},
      {"bytes=10-", "", RangeVerdict::partial, 10, 90},
      {"bytes=-5", "", RangeVerdict::partial, 95, 5},
      {"bytes=-500", "", RangeVerdict::partial, 0, 100},
      {"bytes=90-200", "", RangeVerdict::partial, 90, 10},
      {"bytes=99-99", "", RangeVerdict::partial, 99, 1},
      {"bytes=100-", "", RangeVerdict::unsatisfiable, 0, 0},
      {"bytes=-0", "", RangeVerdict::unsatisfiable, 0, 0},
      {"bytes=5-1", "", RangeVerdict::full, 0, 0},
      {"bytes=0-1,5-6", "", RangeVerdict::full, 0, 0},
      {"items=0-1", "", RangeVerdict::full, 0, 0},
      {"bytes=a-b", "", RangeVerdict::full, 0, 0},
      {"bytes=0-9", "\"abc\"", RangeVerdict::partial, 0, 10},
      {"bytes=0-9", "\"other\"", RangeVerdict::full, 0, 0},
      {"bytes=0-9", "W/\"abc\"", RangeVerdict::full, 0, 0},
      {"bytes=0-9", "Sun, 06 Nov 1994 08:49:37 GMT", RangeVerdict::full, 0, 0},
      {"bytes=18446744073709551615-", "", RangeVerdict::unsatisfiable, 0, 0},
      {"bytes=0-99999999999999999999999", "", RangeVerdict::full, 0, 0},
  };
  for (const auto& c : cases) {
    const auto d = decide_range(c.range, c.if_range, "\"abc\"", 100);
    EXPECT_EQ(d.verdict, c.verdict) << c.range << " / " << c.if_range;
    if (c.verdict == RangeVerdict::partial) {
      EXPECT_EQ(d.range.offset, c.offset) << c.range;
      EXPECT_EQ(d.range.length, c.length) << c.range;
    }
  }
}

TEST(DecideRange, EmptyObject) {
  EXPECT_EQ(decide_range("bytes=0-", "", "\"e\"", 0).verdict, RangeVerdict::unsatisfiable);
  EXPECT_EQ(decide_range("bytes=-1", "", "\"e\"", 0).verdict, RangeVerdict::unsatisfiable);
}

TEST(HttpDate, Epoch) {
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
}

// The hand-written formatter agrees with strftime's "%a, %d %b %Y %H:%M:%S GMT" in the C locale
// over two centuries of timestamps (a prime step visits every weekday, month and time of day).
TEST(HttpDate, AgreesWithStrftime) {
  for (std::int64_t t = 0; t < 7'258'118'400; t += 86'399 * 3 + 7) {
    const auto tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    const auto n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    ASSERT_EQ(http_date(tt), std::string(buf, n)) << t;
  }
}

}  // namespace
}  // namespace stoa::proxy
