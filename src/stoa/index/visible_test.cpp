#include "stoa/index/visible.hpp"

#include <gtest/gtest.h>

#include <set>

namespace stoa::index {
namespace {

// An index of `n` versions m000..m<n-1>@v1.0.0 stored at times 0..n-1, and a client that sees
// only the modules in `shown`.
class VisibleTest : public ::testing::Test {
 protected:
  void fill(int n) {
    for (int i = 0; i < n; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "m%03d", i);
      m_idx->record({name, "v1.0.0", "", "", -1, i, ""});
    }
  }
  Visible sees(std::set<std::string> shown) {
    return [shown = std::move(shown)](const Entry& e) { return shown.contains(e.module); };
  }
  static std::string names(const std::vector<Entry>& es) {
    std::string out;
    for (const auto& e : es) out += e.module + " ";
    return out;
  }
  // Every page of the catalog as a client that follows Next sees it.
  std::string walk_catalog(const Visible& v, std::size_t limit, std::size_t scan_max,
                           int* pages = nullptr) {
    std::string out;
    Cursor at;
    for (int i = 0; i < 1000; ++i) {
      if (pages != nullptr) *pages = i + 1;
      // Through the wire form, as a client carries it.
      const auto page = visible_page(*m_idx, at, limit, v, scan_max);
      out += names(page.entries);
      if (!page.next) return out;
      at = decode_cursor(encode_cursor(*page.next)).value();
    }
    return out + "(no end)";
  }

  std::unique_ptr<Index> m_idx = make_sqlite_index(":memory:");
};

// The bug this guards against: hidden entries taken out of a page after the query, so a page of
// `limit` came back short (or empty) although visible entries followed, and a client stopped.
TEST_F(VisibleTest, FeedPagesAreFullWhileVisibleEntriesFollow) {
  fill(50);
  const auto v = sees({"m000", "m020", "m021", "m045", "m049"});
  auto page = visible_since(*m_idx, 0, 2, v);
  EXPECT_EQ(names(page.entries), "m000 m020 ");
  EXPECT_FALSE(page.cut);
  page = visible_since(*m_idx, 20, 2, v);  // the next request: since = the last Timestamp
  EXPECT_EQ(names(page.entries), "m020 m021 ");
  page = visible_since(*m_idx, 21, 3, v);
  EXPECT_EQ(names(page.entries), "m021 m045 m049 ");
  page = visible_since(*m_idx, 46, 3, v);
  EXPECT_EQ(names(page.entries), "m049 ");  // the end: short, not cut
  EXPECT_FALSE(page.cut);
  EXPECT_TRUE(visible_since(*m_idx, 0, 5, sees({})).entries.empty());
}

TEST_F(VisibleTest, FeedSaysWhenTheBoundCutsIt) {
  fill(50);
  const auto v = sees({"m000", "m040"});
  auto page = visible_since(*m_idx, 0, 5, v, 10);
  EXPECT_EQ(names(page.entries), "m000 ");
  EXPECT_TRUE(page.cut);
  page = visible_since(*m_idx, 1, 5, v, 10);
  EXPECT_TRUE(page.entries.empty());
  EXPECT_TRUE(page.cut);
  page = visible_since(*m_idx, 1, 5, v, 100);
  EXPECT_EQ(names(page.entries), "m040 ");
  EXPECT_FALSE(page.cut);
  // Exactly at the bound, at the end of the index: not cut; one more: cut.
  EXPECT_FALSE(visible_since(*m_idx, 41, 5, v, 9).cut);
  EXPECT_TRUE(visible_since(*m_idx, 41, 5, v, 8).cut);
}

// Equal times: the feed goes on after the last entry read, not after its time.
TEST_F(VisibleTest, FeedBatchesResumeWithinOneTimestamp) {
  for (const std::string m : {"a", "b", "c", "d", "e", "f", "g"}) {
    m_idx->record({m, "v1.0.0", "", "", -1, 5, ""});
  }
  EXPECT_EQ(names(visible_since(*m_idx, 5, 2, sees({"c", "g"})).entries), "c g ");
  EXPECT_EQ(names(visible_since(*m_idx, 5, 1, sees({"g"})).entries), "g ");
}

TEST_F(VisibleTest, CatalogPagesAreFullAndNextMeansMore) {
  fill(30);
  const auto v = sees({"m001", "m002", "m010", "m028"});
  auto page = visible_page(*m_idx, {}, 2, v);
  EXPECT_EQ(names(page.entries), "m001 m002 ");
  ASSERT_TRUE(page.next);
  EXPECT_EQ(*page.next, (Cursor{"m002", "v1.0.0", 0}));
  page = visible_page(*m_idx, *page.next, 2, v);
  EXPECT_EQ(names(page.entries), "m010 m028 ");
  EXPECT_FALSE(page.next);  // nothing visible after m028: no Next
  // All of it, limit 1: one page per visible version, then none.
  int pages = 0;
  EXPECT_EQ(walk_catalog(v, 1, k_scan_max, &pages), "m001 m002 m010 m028 ");
  EXPECT_EQ(pages, 4);
}

// A run of hidden versions longer than the bound: the cursor goes past them by count (their
// names never appear in it) and the client still reaches every visible version.
TEST_F(VisibleTest, CatalogCursorsPassLongHiddenRunsWithoutNamingThem) {
  fill(100);
  const auto v = sees({"m000", "m050", "m051", "m099"});
  auto page = visible_page(*m_idx, {}, 5, v, 10);
  EXPECT_EQ(names(page.entries), "m000 ");
  ASSERT_TRUE(page.next);
  EXPECT_EQ(*page.next, (Cursor{"m000", "v1.0.0", 0}));
  page = visible_page(*m_idx, *page.next, 5, v, 10);
  EXPECT_TRUE(page.entries.empty());
  ASSERT_TRUE(page.next);
  EXPECT_EQ(*page.next, (Cursor{"m000", "v1.0.0", 10}));  // past m001..m010, by count
  for (const std::size_t bound : {1u, 3u, 10u, 49u, 50u, 1000u}) {
    for (const std::size_t limit : {1u, 2u, 5u}) {
      EXPECT_EQ(walk_catalog(v, limit, bound), "m000 m050 m051 m099 ")
          << "bound " << bound << " limit " << limit;
    }
  }
  EXPECT_EQ(walk_catalog(sees({}), 3, 7), "");
}

}  // namespace
}  // namespace stoa::index
