#include "stoa/proxy/answer_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stoa::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = AnswerCache::Clock;

const Clock::time_point t0{std::chrono::hours(1)};

std::size_t cost(const std::string& key, std::size_t body) {
  return key.size() + body + AnswerCache::k_entry_overhead;
}

TEST(AnswerCache, KeepsAndReturnsAnswers) {
  AnswerCache c(1 << 20, 1h);
  EXPECT_FALSE(c.get("a", t0));
  c.put("a", "one", t0);
  auto e = c.get("a", t0 + 10s);
  ASSERT_TRUE(e);
  EXPECT_EQ(*e->body, "one");
  EXPECT_EQ(e->fetched, t0);
  c.put("a", "two", t0 + 20s);  // replaces
  EXPECT_EQ(*c.get("a", t0 + 20s)->body, "two");
  EXPECT_EQ(c.size(), 1u);
  EXPECT_EQ(c.bytes(), cost("a", 3));
}

TEST(AnswerCache, BoundedInBytesLeastRecentlyUsedFirst) {
  const std::size_t budget = 10 * cost("k0", 100);
  AnswerCache c(budget, 1h);
  for (int i = 0; i < 10; ++i) c.put("k" + std::to_string(i), std::string(100, 'x'), t0);
  EXPECT_EQ(c.bytes(), budget);
  ASSERT_TRUE(c.get("k0", t0));  // k0 is now the most recently used; k1 the least
  c.put("k10", std::string(99, 'y'), t0);
  EXPECT_LE(c.bytes(), budget);
  EXPECT_FALSE(c.get("k1", t0));
  EXPECT_TRUE(c.get("k0", t0));
  EXPECT_TRUE(c.get("k10", t0));
  // Many keys with valid-looking names never grow it past the budget.
  for (int i = 0; i < 20000; ++i) c.put("sumdb/x/tile/8/0/" + std::to_string(i), "abc", t0);
  EXPECT_LE(c.bytes(), budget);
}

TEST(AnswerCache, OversizedBodiesAreNotKeptAndDropAnOlderEntry) {
  AnswerCache c(8000, 1h);
  c.put("list", "v1.0.0\n", t0);
  c.put("list", std::string(1001, 'v'), t0 + 1s);  // over 8000 / 8
  EXPECT_FALSE(c.get("list", t0 + 1s));
  EXPECT_EQ(c.bytes(), 0u);
}

TEST(AnswerCache, EntriesOlderThanMaxAgeAreDropped) {
  AnswerCache c(1 << 20, 10min);
  c.put("a", "x", t0);
  EXPECT_TRUE(c.get("a", t0 + 10min));
  EXPECT_FALSE(c.get("a", t0 + 10min + 1s));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.bytes(), 0u);
}

}  // namespace
}  // namespace stoa::proxy

namespace stoa::proxy {
namespace {

TEST(Answers, FreshUntilTtlThenStaleUntilMaxAge) {
  using namespace std::chrono_literals;
  Answers::Clock::time_point now{std::chrono::hours(1)};
  Answers a(1 << 20, 3600s, 60s, [&] { return now; });
  EXPECT_FALSE(a.any("m/@v/list"));
  a.remember("m/@v/list", "v1.0.0\n");
  EXPECT_EQ(a.fresh("m/@v/list").value_or(""), "v1.0.0\n");
  now += 60s;
  EXPECT_FALSE(a.fresh("m/@v/list"));  // ttl reached: stale
  EXPECT_EQ(a.any("m/@v/list").value_or(""), "v1.0.0\n");
  now += 3600s;
  EXPECT_FALSE(a.any("m/@v/list"));  // past max_age: gone
}

}  // namespace
}  // namespace stoa::proxy
