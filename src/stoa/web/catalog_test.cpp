#include "stoa/web/catalog.hpp"

#include <gtest/gtest.h>

namespace stoa::web {
namespace {

index::Entry entry(std::string module, std::string version, std::int64_t ns,
                   std::int64_t size = 100) {
  index::Entry e;
  e.module = std::move(module);
  e.version = std::move(version);
  e.stored_ns = ns;
  e.zip_size = size;
  return e;
}

Catalog sample() {
  return Catalog({entry("example.com/b", "v1.10.0", 5), entry("example.com/b", "v1.9.0", 4),
                  entry("example.com/b", "v1.0.0-20200101000000-abcdefabcdef", 6),
                  entry("example.com/a", "v0.1.0", 1), entry("golang.example/x/text", "v0.3.0", 3),
                  entry("Example.com/Upper", "v2.0.0+incompatible", 2, -1)});
}

const auto everyone = [](const ModuleSummary&) { return true; };

TEST(Catalog, SummariesAndTotals) {
  const Catalog c = sample();
  ASSERT_EQ(c.modules().size(), 4u);
  EXPECT_EQ(c.modules()[0].path, "Example.com/Upper");  // bytewise order
  const ModuleSummary& b = c.modules()[2];
  EXPECT_EQ(b.path, "example.com/b");
  EXPECT_EQ(b.versions, 3u);
  EXPECT_EQ(b.latest, "v1.10.0");  // semver, not bytewise; a release over a pseudo-version
  EXPECT_EQ(b.last_stored_ns, 6);
  EXPECT_EQ(c.version_count(), 6u);
  EXPECT_EQ(c.total_bytes(), 500);  // the unknown size is not counted
}

TEST(Catalog, VersionsNewestFirstInSemverOrder) {
  const Catalog c = sample();
  const auto vs = c.versions("example.com/b");
  ASSERT_EQ(vs.size(), 3u);
  EXPECT_EQ(vs[0]->version, "v1.10.0");
  EXPECT_EQ(vs[1]->version, "v1.9.0");
  EXPECT_EQ(vs[2]->version, "v1.0.0-20200101000000-abcdefabcdef");
  EXPECT_TRUE(c.versions("example.com").empty());
  EXPECT_TRUE(c.versions("example.com/c").empty());
}

TEST(Catalog, RecentNewestFirstAndOnlyVisible) {
  const Catalog c = sample();
  const auto r = c.recent(3, [](const ModuleSummary& m) { return m.path != "example.com/b"; });
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]->module, "golang.example/x/text");
  EXPECT_EQ(r[1]->module, "Example.com/Upper");
  EXPECT_EQ(r[2]->module, "example.com/a");
}

TEST(Catalog, SearchPrefixThenSubstringCaseInsensitive) {
  const Catalog c = sample();
  auto p = c.search("EXAMPLE.com/", 0, 10, everyone);
  ASSERT_EQ(p.total, 3u);
  EXPECT_EQ(p.modules[0]->path, "Example.com/Upper");
  p = c.search("x", 0, 10, everyone);  // only substrings: golang.example/x/text and the examples
  ASSERT_EQ(p.total, 4u);
  p = c.search("text", 0, 10, everyone);
  ASSERT_EQ(p.total, 1u);
  EXPECT_EQ(p.modules[0]->path, "golang.example/x/text");
  p = c.search("golang", 0, 10, everyone);
  EXPECT_EQ(p.total, 1u);
  p = c.search("nothing<script>", 0, 10, everyone);
  EXPECT_EQ(p.total, 0u);
  EXPECT_TRUE(p.modules.empty());
  EXPECT_FALSE(p.more);
}

TEST(Catalog, SearchPagesAndHidesInvisible) {
  std::vector<index::Entry> es;
  for (int i = 0; i < 25; ++i)
    es.push_back(entry("example.com/m" + std::to_string(100 + i), "v1.0.0", i));
  const Catalog c(std::move(es));
  const auto hide_odd = [](const ModuleSummary& m) { return (m.path.back() - '0') % 2 == 0; };
  auto p = c.search("example.com/m", 0, 5, hide_odd);
  EXPECT_EQ(p.total, 13u);
  ASSERT_EQ(p.modules.size(), 5u);
  EXPECT_EQ(p.modules[0]->path, "example.com/m100");
  EXPECT_EQ(p.modules[1]->path, "example.com/m102");
  EXPECT_TRUE(p.more);
  p = c.search("example.com/m", 2, 5, hide_odd);
  ASSERT_EQ(p.modules.size(), 3u);
  EXPECT_FALSE(p.more);
  p = c.search("example.com/m", 9, 5, hide_odd);
  EXPECT_TRUE(p.modules.empty());
}

TEST(Catalog, LoadsTheIndexInBatches) {
  auto idx = index::make_sqlite_index(":memory:");
  for (int i = 0; i < 23; ++i) {
    idx->record(entry("example.com/m" + std::to_string(i % 7), "v1.0." + std::to_string(i), i));
  }
  const auto c = Catalog::load(*idx, 1000, 5);
  EXPECT_EQ(c->version_count(), 23u);
  EXPECT_EQ(c->modules().size(), 7u);
  EXPECT_FALSE(c->truncated());
  const auto cut = Catalog::load(*idx, 10, 4);
  EXPECT_EQ(cut->version_count(), 10u);
  EXPECT_TRUE(cut->truncated());
}

TEST(Catalog, MergesNewerEntries) {
  const Catalog c = sample();
  const index::Entry* last = c.newest();
  ASSERT_NE(last, nullptr);
  EXPECT_EQ(last->module, "example.com/b");  // stored_ns 6
  index::Entry completed = entry("example.com/a", "v0.1.0", 1, 7777);
  const auto merged = c.with(
      {entry("example.com/aa", "v1.0.0", 9), completed, entry("zzz.example/z", "v0.0.1", 8)});
  EXPECT_EQ(merged->version_count(), 8u);
  EXPECT_EQ(merged->modules().size(), 6u);
  EXPECT_EQ(merged->newest()->module, "example.com/aa");
  ASSERT_EQ(merged->versions("example.com/a").size(), 1u);
  EXPECT_EQ(merged->versions("example.com/a")[0]->zip_size, 7777);
  EXPECT_EQ(merged->search("example.com/aa", 0, 10, everyone).total, 1u);
  EXPECT_EQ(Catalog({}).newest(), nullptr);
}

}  // namespace
}  // namespace stoa::web
