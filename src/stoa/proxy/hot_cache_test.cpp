#include "stoa/proxy/hot_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace stoa::proxy {
namespace {

std::shared_ptr<const HotEntry> entry(std::size_t body_bytes, char fill = 'x') {
  auto e = std::make_shared<HotEntry>();
  e->body = std::make_shared<const std::string>(body_bytes, fill);
  e->etag = "\"e\"";
  e->head_lines = "Content-Type: application/json\r\n";
  return e;
}

TEST(HotCache, FindsWhatWasInsertedAndNothingElse) {
  HotCache c(1 << 20, 1024);
  EXPECT_EQ(c.find("/a/@v/v1.0.0.info"), nullptr);
  c.insert("/a/@v/v1.0.0.info", entry(10, 'a'));
  auto e = c.find("/a/@v/v1.0.0.info");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(*e->body, std::string(10, 'a'));
  EXPECT_EQ(c.find("/a/@v/v1.0.0.mod"), nullptr);
  EXPECT_EQ(c.find("/a/@v/v1.0.0.inf"), nullptr);
  EXPECT_EQ(c.stats().entries, 1u);
}

TEST(HotCache, FirstEntryStays) {
  HotCache c(1 << 20, 1024);
  c.insert("/k", entry(3, 'a'));
  c.insert("/k", entry(3, 'b'));
  EXPECT_EQ(*c.find("/k")->body, "aaa");
}

TEST(HotCache, RefusesBigObjectsAndDisabledCacheHoldsNothing) {
  HotCache c(1 << 20, 100);
  c.insert("/big", entry(101));
  EXPECT_EQ(c.find("/big"), nullptr);
  c.insert("/fits", entry(100));
  EXPECT_NE(c.find("/fits"), nullptr);

  HotCache off(0, 100);
  EXPECT_FALSE(off.enabled());
  off.insert("/fits", entry(10));
  EXPECT_EQ(off.find("/fits"), nullptr);
  EXPECT_EQ(off.stats().entries, 0u);
}

TEST(HotCache, StaysWithinItsBudget) {
  const std::size_t budget = 64 << 10;
  HotCache c(budget, 4096);
  for (int i = 0; i < 2000; ++i) c.insert("/m" + std::to_string(i) + "/@v/v1.0.0.mod", entry(1000));
  const auto st = c.stats();
  EXPECT_LE(st.bytes, budget);
  EXPECT_GT(st.entries, 10u);
  EXPECT_LT(st.entries, 2000u);
}

TEST(HotCache, ReferencedEntriesSurviveAClockSweep) {
  // One shard's worth of budget holds about three entries; keep touching one while many others
  // pass through: it must survive every sweep (second chance), the untouched ones must not.
  HotCache c(16 * 3 * 1300, 4096);
  c.insert("/hot", entry(1000));
  int survivors = 0;
  for (int i = 0; i < 500; ++i) {
    ASSERT_NE(c.find("/hot"), nullptr) << i;
    c.insert("/cold" + std::to_string(i), entry(1000));
  }
  for (int i = 0; i < 500; ++i) survivors += c.find("/cold" + std::to_string(i)) != nullptr;
  EXPECT_LT(survivors, 500);
}

TEST(HotCache, ConcurrentReadersAndWriters) {
  HotCache c(256 << 10, 4096);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::string k = "/m" + std::to_string((i * 7 + t) % 300);
        if (auto e = c.find(k)) {
          ASSERT_EQ(e->body->size(), 500u);
        } else {
          c.insert(k, entry(500));
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(c.stats().bytes, 256u << 10);
}

}  // namespace
}  // namespace stoa::proxy
