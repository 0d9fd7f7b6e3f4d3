#include "stoa/policy/login_limit.hpp"

#include <gtest/gtest.h>

namespace stoa::policy {
namespace {

using namespace std::chrono_literals;
using Clock = LoginLimit::Clock;

const Clock::time_point t0 = Clock::time_point() + 1000h;

TEST(LoginLimit, BlocksAfterMaxFailuresUntilTheWindowEnds) {
  LoginLimit limit({3, 60s, 100});
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0));
  limit.failed("192.0.2.1", t0);
  limit.failed("192.0.2.1", t0 + 10s);
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0 + 10s));
  limit.failed("192.0.2.1", t0 + 20s);
  // Three failures in the window that began at t0: refused until t0 + 60s.
  EXPECT_EQ(limit.blocked("192.0.2.1", t0 + 20s), 40s);
  EXPECT_EQ(limit.blocked("192.0.2.1", t0 + 59s + 1ms), 1s);  // rounded up, never 0
  EXPECT_EQ(limit.blocked("192.0.2.1", t0 + 20s + 500ms), 40s);
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0 + 60s));
  // A failure after the window starts a new one, with a count of one.
  limit.failed("192.0.2.1", t0 + 61s);
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0 + 61s));
}

TEST(LoginLimit, AddressesAreCountedApart) {
  LoginLimit limit({2, 60s, 100});
  limit.failed("192.0.2.1", t0);
  limit.failed("192.0.2.1", t0);
  EXPECT_TRUE(limit.blocked("192.0.2.1", t0));
  EXPECT_FALSE(limit.blocked("192.0.2.2", t0));
  limit.failed("192.0.2.2", t0);
  EXPECT_FALSE(limit.blocked("192.0.2.2", t0));
}

TEST(LoginLimit, ZeroMaxFailuresIsOff) {
  LoginLimit limit({0, 60s, 100});
  EXPECT_FALSE(limit.enabled());
  for (int i = 0; i < 100; ++i) limit.failed("192.0.2.1", t0);
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0));
  EXPECT_EQ(limit.tracked(), 0u);
}

TEST(LoginLimit, UnknownAddressIsNeverLimited) {
  LoginLimit limit({1, 60s, 100});
  limit.failed("", t0);
  limit.failed("", t0);
  EXPECT_FALSE(limit.blocked("", t0));
  EXPECT_EQ(limit.tracked(), 0u);
}

TEST(LoginLimit, TrackedAddressesAreBoundedOldestWindowEvicted) {
  LoginLimit limit({1, 60s, 3});
  limit.failed("192.0.2.1", t0);
  limit.failed("192.0.2.2", t0 + 1s);
  limit.failed("192.0.2.3", t0 + 2s);
  EXPECT_EQ(limit.tracked(), 3u);
  limit.failed("192.0.2.4", t0 + 3s);  // evicts .1, whose window began first
  EXPECT_EQ(limit.tracked(), 3u);
  EXPECT_FALSE(limit.blocked("192.0.2.1", t0 + 3s));
  EXPECT_TRUE(limit.blocked("192.0.2.2", t0 + 3s));
  EXPECT_TRUE(limit.blocked("192.0.2.4", t0 + 3s));
  // .2 starts a new window later on: now .3 is the oldest.
  limit.failed("192.0.2.2", t0 + 70s);
  limit.failed("192.0.2.5", t0 + 71s);
  EXPECT_FALSE(limit.blocked("192.0.2.3", t0 + 71s));
  EXPECT_TRUE(limit.blocked("192.0.2.2", t0 + 71s));
  EXPECT_TRUE(limit.blocked("192.0.2.5", t0 + 71s));
  for (int i = 0; i < 1000; ++i) limit.failed("198.51.100." + std::to_string(i), t0 + 80s);
  EXPECT_EQ(limit.tracked(), 3u);
}

TEST(LoginLimit, KeysGroupIpv6By64AndUnmapIpv4) {
  const struct {
    const char* address;
    const char* key;
  } cases[] = {
      {"192.0.2.7", "192.0.2.7"},
      {"::ffff:192.0.2.7", "192.0.2.7"},
      {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
      {"2001:db8:1:2::9", "2001:db8:1:2::/64"},
      {"[2001:db8:1:2::9]", "2001:db8:1:2::/64"},
      {"fe80::1%eth0", "fe80::/64"},
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(login_limit_key(c.address), c.key) << c.address;
  LoginLimit limit({2, 60s, 100});
  limit.failed("2001:db8:1:2::1", t0);
  limit.failed("2001:db8:1:2::2", t0);
  EXPECT_TRUE(limit.blocked("2001:db8:1:2:ffff::3", t0));
  EXPECT_FALSE(limit.blocked("2001:db8:1:3::1", t0));
}

}  // namespace
}  // namespace stoa::policy
