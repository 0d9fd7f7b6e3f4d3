#include "stoa/proxy/index_endpoint.hpp"

#include <gtest/gtest.h>

namespace stoa::proxy {
namespace {

TEST(IsIndexTarget, PathsOnly) {
  EXPECT_TRUE(is_index_target("/index"));
  EXPECT_TRUE(is_index_target("/catalog?limit=3"));
  EXPECT_FALSE(is_index_target("/indexes"));
  EXPECT_FALSE(is_index_target("/example.com/index/@v/list"));
}

TEST(ParseIndexQuery, Table) {
  struct Case {
    const char* target;
    int status;  // 0: parsed
    std::size_t limit;
    std::int64_t since_ns;
  };
  const Case cases[] = {
      {"/index", 0, k_feed_max, 0},
      {"/catalog", 0, k_catalog_default, 0},
      {"/index?limit=5", 0, 5, 0},
      {"/index?since=1970-01-01T00:00:01Z", 0, k_feed_max, 1'000'000'000},
      {"/index?since=1970-01-01T00:00:01Z&&limit=7", 0, 7, 1'000'000'000},  // empty pair skipped
      {"/catalog?limit=1000", 0, 1000, 0},
      {"/catalog?limit=1001", 400, 0, 0},
      {"/index?limit=2001", 400, 0, 0},
      {"/index?limit=0", 400, 0, 0},
      {"/index?limit=5x", 400, 0, 0},
      {"/index?limit=%35", 0, 5, 0},  // percent-decoded
      {"/index?limit=%3", 400, 0, 0},
      {"/index?since=yesterday", 400, 0, 0},
      {"/index?cursor=abc", 400, 0, 0},  // a catalog parameter
      {"/catalog?since=1970-01-01T00:00:01Z", 400, 0, 0},
      {"/catalog?cursor=%%%", 400, 0, 0},
      {"/index?x=1", 400, 0, 0},
  };
  for (const Case& c : cases) {
    auto got = parse_index_query(c.target);
    if (c.status == 0) {
      ASSERT_TRUE(std::holds_alternative<IndexQuery>(got)) << c.target;
      const auto& q = std::get<IndexQuery>(got);
      EXPECT_EQ(q.limit, c.limit) << c.target;
      EXPECT_EQ(q.since_ns, c.since_ns) << c.target;
    } else {
      ASSERT_TRUE(std::holds_alternative<Response>(got)) << c.target;
      EXPECT_EQ(std::get<Response>(got).status, c.status) << c.target;
    }
  }
}

}  // namespace
}  // namespace stoa::proxy
