#include "stoa/proxy/backoff.hpp"

#include <gtest/gtest.h>

namespace stoa::proxy {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, RestsForThePauseAfterAFailureOnly) {
  Backoff b(milliseconds(5000));
  const Backoff::Clock::time_point t0{std::chrono::hours(1)};
  EXPECT_FALSE(b.resting(t0));  // never failed
  b.failed(t0);
  EXPECT_TRUE(b.resting(t0));
  EXPECT_TRUE(b.resting(t0 + milliseconds(4999)));
  EXPECT_FALSE(b.resting(t0 + milliseconds(5000)));
  b.failed(t0 + milliseconds(6000));  // a later failure starts a new pause
  EXPECT_TRUE(b.resting(t0 + milliseconds(10999)));
  EXPECT_FALSE(b.resting(t0 + milliseconds(11000)));
}

}  // namespace
}  // namespace stoa::proxy
