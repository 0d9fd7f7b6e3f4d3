#include "stoa/cli/signals.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace stoa::cli {
namespace {

// What the watcher reported, in order; wait_for() blocks (bounded) until `n` reports arrived.
class Reports {
 public:
  void add(std::string what) {
    std::lock_guard lock(m_mutex);
    m_seen.push_back(std::move(what));
    m_changed.notify_all();
  }
  std::vector<std::string> wait_for(std::size_t n) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, std::chrono::seconds(10), [&] { return m_seen.size() >= n; });
    return m_seen;
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::string> m_seen;
};

SignalHandlers recording(Reports& reports) {
  return {[&reports](int sig, bool first) {
            reports.add(std::string(first ? "first " : "again ") + std::to_string(sig));
          },
          [&reports] { reports.add("reload"); }};
}

TEST(Signals, StopThenStopAgainAndReload) {
  Reports reports;
  const SignalWatcher watcher(recording(reports));
  ASSERT_EQ(std::raise(SIGHUP), 0);
  EXPECT_EQ(reports.wait_for(1), std::vector<std::string>{"reload"});
  ASSERT_EQ(std::raise(SIGTERM), 0);
  reports.wait_for(2);
  ASSERT_EQ(std::raise(SIGINT), 0);
  reports.wait_for(3);
  ASSERT_EQ(std::raise(SIGHUP), 0);
  EXPECT_EQ(reports.wait_for(4),
            (std::vector<std::string>{"reload", "first " + std::to_string(SIGTERM),
                                      "again " + std::to_string(SIGINT), "reload"}));
}

TEST(Signals, OneWatcherAtATime) {
  Reports reports;
  const SignalWatcher watcher(recording(reports));
  EXPECT_THROW(SignalWatcher{recording(reports)}, std::logic_error);
}

// The watcher leaves the dispositions it found: the next one can be installed, and a signal
// ignored before is ignored again.
TEST(Signals, RestoresThePreviousDispositions) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGHUP, &ignore, &before), 0);
  {
    Reports reports;
    const SignalWatcher watcher(recording(reports));
    struct sigaction during {};
    ASSERT_EQ(::sigaction(SIGHUP, nullptr, &during), 0);
    EXPECT_NE(during.sa_handler, SIG_IGN);
  }
  struct sigaction after {};
  ASSERT_EQ(::sigaction(SIGHUP, &before, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_IGN);
  Reports reports;
  EXPECT_NO_THROW(SignalWatcher{recording(reports)});
}

}  // namespace
}  // namespace stoa::cli
