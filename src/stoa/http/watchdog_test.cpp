#include "stoa/http/watchdog.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

namespace stoa::http {
namespace {

using std::chrono::milliseconds;

TEST(WatchdogPeriod, TenthOfTheShortestTimeoutClamped) {
  EXPECT_EQ(watchdog_period(milliseconds(10'000)), milliseconds(250));
  EXPECT_EQ(watchdog_period(milliseconds(1'000)), milliseconds(100));
  EXPECT_EQ(watchdog_period(milliseconds(50)), milliseconds(10));
}

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

TEST(Watchdog, ShutsDownTheSocketOfAPassedDeadlineOnly) {
  boost::asio::io_context ioc;
  Watchdog dog(ioc, milliseconds(10));
  SocketPair late;
  SocketPair idle;
  Watch armed(late.fds[0]);
  Watch unarmed(idle.fds[0]);
  const Watchdog::Guard g1(dog, armed);
  const Watchdog::Guard g2(dog, unarmed);
  armed.arm(milliseconds(1));
  dog.start();
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!armed.fired.load() && std::chrono::steady_clock::now() < limit)
    ioc.run_one_for(milliseconds(100));
  ASSERT_TRUE(armed.fired.load());
  EXPECT_FALSE(unarmed.fired.load());  // checked in the same tick: no deadline, no shutdown
  char c;
  EXPECT_EQ(::recv(late.fds[1], &c, 1, MSG_DONTWAIT), 0);   // the peer sees EOF
  EXPECT_EQ(::recv(idle.fds[1], &c, 1, MSG_DONTWAIT), -1);  // nothing: still open
  dog.stop();
}

TEST(Watchdog, ADisarmedWatchDoesNotFire) {
  boost::asio::io_context ioc;
  Watchdog dog(ioc, milliseconds(10));
  SocketPair a;
  SocketPair b;
  Watch disarmed(a.fds[0]);
  Watch marker(b.fds[0]);
  const Watchdog::Guard g1(dog, disarmed);
  const Watchdog::Guard g2(dog, marker);
  disarmed.arm(milliseconds(1));
  disarmed.disarm();
  marker.arm(milliseconds(1));
  dog.start();
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!marker.fired.load() && std::chrono::steady_clock::now() < limit)
    ioc.run_one_for(milliseconds(100));
  ASSERT_TRUE(marker.fired.load());
  EXPECT_FALSE(disarmed.fired.load());
  dog.stop();
}

}  // namespace
}  // namespace stoa::http
