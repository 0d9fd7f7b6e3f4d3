#include "stoa/fetch/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <set>
#include <stdexcept>
#include <thread>

namespace stoa::fetch {
namespace {

TEST(WorkerPool, RunsTasksOnPoolThreads) {
  constexpr int k_tasks = 50;
  std::mutex mutex;
  std::set<std::thread::id> ids;
  std::latch done(k_tasks);
  WorkerPool pool(4, k_tasks);
  for (int i = 0; i < k_tasks; ++i) {
    ASSERT_TRUE(pool.try_submit([&] {
      {
        std::lock_guard lock(mutex);
        ids.insert(std::this_thread::get_id());
      }
      done.count_down();
    }));
  }
  done.wait();
  std::lock_guard lock(mutex);
  EXPECT_EQ(ids.count(std::this_thread::get_id()), 0u);
  EXPECT_GE(ids.size(), 1u);
  EXPECT_LE(ids.size(), 4u);
}

TEST(WorkerPool, AllThreadsWorkConcurrently) {
  // Four tasks that each wait for all four to have started can only finish on four threads.
  constexpr int k_threads = 4;
  WorkerPool pool(k_threads, k_threads);
  std::latch all_started(k_threads);
  std::latch done(k_threads);
  for (int i = 0; i < k_threads; ++i) {
    ASSERT_TRUE(pool.try_submit([&] {
      all_started.arrive_and_wait();
      done.count_down();
    }));
  }
  done.wait();
}

TEST(WorkerPool, TrySubmitRefusesPastMaxQueued) {
  WorkerPool pool(1, 2);
  std::latch started(1);
  std::latch gate(1);
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_submit([&] {
    started.count_down();
    gate.wait();
    ++ran;
  }));
  started.wait();  // the only thread is busy, so what follows stays queued
  EXPECT_EQ(pool.active(), 1u);
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_TRUE(pool.try_submit([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 2u);
  bool dropped_ran = false;
  EXPECT_FALSE(pool.try_submit([&] { dropped_ran = true; }));
  EXPECT_EQ(pool.queued(), 2u);
  gate.count_down();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_FALSE(dropped_ran);
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_EQ(pool.active(), 0u);
}

TEST(WorkerPool, ShutdownRunsQueuedTasks) {
  WorkerPool pool(1, 1'000'000);
  std::latch started(1);
  std::latch gate(1);
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.try_submit([&] {
    started.count_down();
    gate.wait();
  }));
  started.wait();
  int accepted = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(pool.try_submit([&] { ++ran; }));
    ++accepted;
  }
  std::thread stopper([&] { pool.shutdown(); });
  // Until shutdown begins, submissions are accepted (the queue is far from full); once it has,
  // they are refused. The only thread is still blocked, so every accepted task is still queued
  // when shutdown begins: it must run them all.
  while (pool.try_submit([&] { ++ran; })) {
    ++accepted;
    std::this_thread::yield();
  }
  EXPECT_EQ(pool.queued(), static_cast<std::size_t>(accepted));
  gate.count_down();
  stopper.join();
  EXPECT_EQ(ran.load(), accepted);
  EXPECT_FALSE(pool.try_submit([] {}));
}

TEST(WorkerPool, ShutdownIsIdempotentAndConcurrentCallersWait) {
  auto pool = std::make_unique<WorkerPool>(2, 10);
  std::latch started(1);
  std::latch gate(1);
  std::atomic<bool> finished{false};
  ASSERT_TRUE(pool->try_submit([&] {
    started.count_down();
    gate.wait();
    finished = true;
  }));
  started.wait();
  std::atomic<int> returned_early{0};
  std::vector<std::thread> stoppers;
  for (int i = 0; i < 3; ++i) {
    stoppers.emplace_back([&] {
      pool->shutdown();
      if (!finished) ++returned_early;
    });
  }
  gate.count_down();
  for (auto& t : stoppers) t.join();
  EXPECT_EQ(returned_early.load(), 0);
  pool->shutdown();
  pool.reset();  // the destructor shuts down once more
}

TEST(WorkerPool, DestructorDrainsTheQueue) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2, 100);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pool.try_submit([&] { ++ran; }));
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(WorkerPool, ZeroThreadsIsRefused) { EXPECT_THROW(WorkerPool(0, 10), std::invalid_argument); }

}  // namespace
}  // namespace stoa::fetch
