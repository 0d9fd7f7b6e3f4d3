#include "stoa/store/testing/faulty_store.hpp"

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store::testing {
namespace {

namespace fs = std::filesystem;
using Op = FaultyStore::Op;

class FaultyStoreTest : public ::testing::Test {
 protected:
  fsio::testing::ScratchDir m_dir;
  FaultyStore m_store{make_memory_store(m_dir.path())};
};

TEST_F(FaultyStoreTest, PassesThroughWhenDisarmed) {
  ASSERT_TRUE(put_bytes(m_store, "example.com/a/@v/v1.0.0.mod", "m"));
  EXPECT_EQ(read_all(*m_store.get("example.com/a/@v/v1.0.0.mod")), "m");
  EXPECT_EQ(m_store.calls(Op::put), 1);
  EXPECT_EQ(m_store.calls(Op::stage), 1);
  EXPECT_EQ(m_store.calls(Op::get), 1);
}

TEST_F(FaultyStoreTest, FailsOnlyTheNthCall) {
  ASSERT_TRUE(put_bytes(m_store, "example.com/a/@v/v1.0.0.mod", "m"));
  m_store.fail_nth(Op::get, 2);
  EXPECT_NO_THROW(m_store.get("example.com/a/@v/v1.0.0.mod"));
  EXPECT_THROW(m_store.get("example.com/a/@v/v1.0.0.mod"), StoreError);
  EXPECT_NO_THROW(m_store.get("example.com/a/@v/v1.0.0.mod"));
  EXPECT_EQ(m_store.calls(Op::get), 3);
}

TEST_F(FaultyStoreTest, FailedPutDiscardsStagedFileAndStoresNothing) {
  m_store.fail_always(Op::put);
  fsio::TempFile staged = m_store.stage();
  staged.write("x");
  const fs::path staged_path = staged.path();
  EXPECT_THROW(m_store.put("example.com/a/@v/v1.0.0.mod", std::move(staged)), StoreError);
  EXPECT_FALSE(fs::exists(staged_path));
  EXPECT_THROW(put_bytes(m_store, "example.com/a/@v/v1.0.0.mod", "x"), StoreError);
  m_store.fail_nth(Op::put, 0);
  EXPECT_FALSE(m_store.get("example.com/a/@v/v1.0.0.mod").has_value());
  EXPECT_TRUE(put_bytes(m_store, "example.com/a/@v/v1.0.0.mod", "x"));
}

TEST_F(FaultyStoreTest, ExactlyOneConcurrentCallFails) {
  constexpr int k_threads = 8;
  constexpr int k_calls = 100;
  m_store.fail_nth(Op::versions, 437);
  std::atomic<int> thrown{0};
  std::latch start(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < k_calls; ++i) {
        try {
          (void)m_store.versions("example.com/a");
        } catch (const StoreError&) {
          thrown.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(thrown.load(), 1);
  EXPECT_EQ(m_store.calls(Op::versions), k_threads * k_calls);
}

}  // namespace
}  // namespace stoa::store::testing
