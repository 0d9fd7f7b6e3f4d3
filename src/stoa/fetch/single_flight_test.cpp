#include "stoa/fetch/single_flight.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace stoa::fetch {
namespace {

TEST(SingleFlight, HundredJoinersShareOneFlight) {
  constexpr int k_threads = 100;
  SingleFlight<std::string> flights;
  std::atomic<int> starts{0};
  std::atomic<int> leaders{0};
  std::vector<std::atomic<int>> calls(k_threads);
  std::vector<std::string> results(k_threads);
  std::latch go(k_threads);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_threads; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      const bool leader = flights.join(
          "example.com/m/@v/v1.0.0.zip",
          [&, i](const std::string& r) {
            results[static_cast<std::size_t>(i)] = r;
            ++calls[static_cast<std::size_t>(i)];
          },
          [&] { ++starts; });
      if (leader) ++leaders;
    });
  }
  for (auto& t : threads) t.join();
  // Every joiner is registered and nobody completed the work: one flight, no callback yet.
  EXPECT_EQ(starts.load(), 1);
  EXPECT_EQ(leaders.load(), 1);
  EXPECT_EQ(flights.in_flight(), 1u);
  for (const auto& c : calls) EXPECT_EQ(c.load(), 0);

  flights.complete("example.com/m/@v/v1.0.0.zip", "the one result");
  EXPECT_EQ(flights.in_flight(), 0u);
  for (int i = 0; i < k_threads; ++i) {
    EXPECT_EQ(calls[static_cast<std::size_t>(i)].load(), 1) << i;
    EXPECT_EQ(results[static_cast<std::size_t>(i)], "the one result") << i;
  }
  // A late completion of the same key is a no-op.
  flights.complete("example.com/m/@v/v1.0.0.zip", "late");
  for (const auto& r : results) EXPECT_EQ(r, "the one result");
}

TEST(SingleFlight, CompletionFromAnotherThreadWhileJoining) {
  // The work runs elsewhere and may complete while others are still joining: everyone who
  // joined gets exactly one callback, from this flight or from a new one.
  constexpr int k_threads = 50;
  SingleFlight<int> flights;
  std::atomic<int> starts{0};
  std::atomic<int> callbacks{0};
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  std::latch go(k_threads);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_threads; ++i) {
    threads.emplace_back([&] {
      go.arrive_and_wait();
      flights.join(
          "k",
          [&](const int& r) {
            EXPECT_EQ(r, 7);
            ++callbacks;
          },
          [&] {
            ++starts;
            std::lock_guard lock(workers_mutex);
            workers.emplace_back([&] { flights.complete("k", 7); });
          });
    });
  }
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(workers_mutex);
    for (auto& w : workers) w.join();
  }
  EXPECT_EQ(callbacks.load(), k_threads);
  EXPECT_GE(starts.load(), 1);
  EXPECT_EQ(flights.in_flight(), 0u);
}

TEST(SingleFlight, KeysAreIndependent) {
  SingleFlight<int> flights;
  int a = 0;
  int b = 0;
  int starts = 0;
  EXPECT_TRUE(flights.join(
      "a", [&](const int& r) { a = r; }, [&] { ++starts; }));
  EXPECT_TRUE(flights.join(
      "b", [&](const int& r) { b = r; }, [&] { ++starts; }));
  EXPECT_FALSE(flights.join(
      "a", [&](const int& r) { a += r; }, [&] { ++starts; }));
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(flights.in_flight(), 2u);
  flights.complete("a", 1);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 0);
  flights.complete("b", 5);
  EXPECT_EQ(b, 5);
}

TEST(SingleFlight, CallbackMayStartTheNextFlight) {
  // Callbacks run outside the lock, so a callback can join the same key again (a retry).
  SingleFlight<int> flights;
  int starts = 0;
  int second = 0;
  flights.join(
      "k",
      [&](const int&) {
        EXPECT_TRUE(flights.join(
            "k", [&](const int& r) { second = r; }, [&] { ++starts; }));
      },
      [&] { ++starts; });
  flights.complete("k", 1);
  EXPECT_EQ(starts, 2);
  EXPECT_EQ(flights.in_flight(), 1u);
  flights.complete("k", 2);
  EXPECT_EQ(second, 2);
}

TEST(SingleFlight, SynchronousStartCompletesInsideJoin) {
  // start() may finish the work at once (a cache hit found by the leader).
  SingleFlight<int> flights;
  int got = 0;
  EXPECT_TRUE(flights.join(
      "k", [&](const int& r) { got = r; }, [&] { flights.complete("k", 3); }));
  EXPECT_EQ(got, 3);
  EXPECT_EQ(flights.in_flight(), 0u);
}

}  // namespace
}  // namespace stoa::fetch
