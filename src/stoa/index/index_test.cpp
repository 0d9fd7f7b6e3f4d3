#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "stoa/coord/testing/servers.hpp"
#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/index/index.hpp"

namespace stoa::index {
namespace {

coord::testing::PostgresServer& postgres_server() {
  static coord::testing::PostgresServer s;
  return s;
}

class IndexTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Index> open() {
    if (GetParam() == "sqlite") return make_sqlite_index((m_dir / "index.sqlite").string());
    return make_postgres_index(postgres_server().url());
  }
  // Module paths unique to the test (the PostgreSQL database is shared by the binary).
  std::string mod(const std::string& m) const {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
               .substr(0, 20) +
           ".example/" + m;
  }
  fsio::testing::ScratchDir m_dir;
};

TEST_P(IndexTest, RecordKeepsFirstTimeAndCompletesFields) {
  auto idx = open();
  const std::string m = mod("a");
  idx->record({m, "v1.0.0", "", "", -1, 1000, "https://up.internal"});
  idx->record({m, "v1.0.0", "h1:zip=", "", 4096, 2000, "https://other.internal"});
  idx->record({m, "v1.0.0", "", "h1:mod=", -1, 3000, ""});
  idx->record({m, "v1.0.0", "h1:different=", "", 1, 4000, ""});  // known fields stay
  const auto all = idx->page(m, "", 10);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (Entry{m, "v1.0.0", "h1:zip=", "h1:mod=", 4096, 1000, "https://up.internal"}));
}

std::vector<Seen> sorted(std::vector<Seen> v) {
  std::sort(v.begin(), v.end(), [](const Seen& a, const Seen& b) { return a.version < b.version; });
  return v;
}

TEST_P(IndexTest, FirstSeenIsWriteOnceAndBackfilledByStoredVersions) {
  auto idx = open();
  const std::string m = mod("a");
  EXPECT_TRUE(idx->seen(m).empty());
  idx->record_seen(m, {"v1.0.0", "v2.0.0+incompatible"}, 5000);
  idx->record_seen(m, {"v1.0.0", "v1.1.0"}, 9000);  // v1.0.0 keeps 5000
  idx->record_seen(m, {}, 1);
  // Stored before it was ever seen (an index older than cooldown): the earlier time counts.
  idx->record({m, "v0.9.0", "", "", -1, 100, ""});
  idx->record({m, "v1.1.0", "", "", -1, 7000, ""});
  idx->record({m, "v1.0.0", "", "", -1, 8000, ""});
  idx->record_seen(mod("other"), {"v1.0.0"}, 1);  // another module
  EXPECT_EQ(
      sorted(idx->seen(m)),
      (std::vector<Seen>{
          {"v0.9.0", 100}, {"v1.0.0", 5000}, {"v1.1.0", 7000}, {"v2.0.0+incompatible", 5000}}));
  // Never listed with the stored versions.
  for (const auto& e : idx->page("", "", 100000)) EXPECT_NE(e.module, mod("other"));
}

TEST_P(IndexTest, SinceIsOrderedByTimeAndLimited) {
  auto idx = open();
  const std::int64_t base = 1'700'000'000'000'000'000 + (GetParam() == "sqlite" ? 0 : 7);
  idx->record({mod("b"), "v1.0.0", "", "", -1, base + 30, ""});
  idx->record({mod("a"), "v1.0.0", "", "", -1, base + 10, ""});
  idx->record({mod("a"), "v1.1.0", "", "", -1, base + 20, ""});
  idx->record({mod("c"), "v1.0.0", "", "", -1, base + 20, ""});
  const auto got = idx->since(base + 10, 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].module + "@" + got[0].version, mod("a") + "@v1.0.0");
  EXPECT_EQ(got[1].module + "@" + got[1].version, mod("a") + "@v1.1.0");  // ties: by path
  EXPECT_EQ(got[2].module + "@" + got[2].version, mod("c") + "@v1.0.0");
  EXPECT_EQ(idx->since(base + 21, 10).size(), 1u);
  EXPECT_TRUE(idx->since(base + 31, 10).empty());
}

TEST_P(IndexTest, PagesWalkEveryVersionOnceInByteOrder) {
  auto idx = open();
  std::vector<std::string> want;
  for (const std::string m : {"B", "a", "a/b", "a-b"}) {
    for (const std::string v : {"v1.0.0", "v1.0.0-RC", "v0.1.0"}) {
      idx->record({mod(m), v, "", "", -1, 1, ""});
      want.push_back(mod(m) + "@" + v);
    }
  }
  std::sort(want.begin(), want.end(), [](const std::string& x, const std::string& y) {
    const auto ax = x.rfind('@'), ay = y.rfind('@');
    return std::make_pair(x.substr(0, ax), x.substr(ax)) <
           std::make_pair(y.substr(0, ay), y.substr(ay));
  });
  std::vector<std::string> got;
  std::string after_m = mod(""), after_v;
  for (;;) {
    const auto page = idx->page(after_m, after_v, 5);
    for (const auto& e : page) {
      if (e.module.rfind(mod(""), 0) == 0) got.push_back(e.module + "@" + e.version);
    }
    if (page.size() < 5 || page.back().module.rfind(mod(""), 0) != 0) break;
    after_m = page.back().module;
    after_v = page.back().version;
  }
  EXPECT_EQ(got, want);
}

// since() resumes strictly after a (time, module, version) triple, ties broken bytewise; page()
// leaves out the first `skip` versions after its pair.
TEST_P(IndexTest, SinceResumesAfterATripleAndPagesSkip) {
  auto idx = open();
  const std::int64_t base = 1'600'000'000'000'000'000 + (GetParam() == "sqlite" ? 0 : 11);
  for (const std::string m : {"b", "B", "a"}) {
    for (const std::string v : {"v1.0.0", "v0.9.0"}) idx->record({mod(m), v, "", "", -1, base, ""});
  }
  idx->record({mod("a"), "v2.0.0", "", "", -1, base + 1, ""});
  auto names = [](const std::vector<Entry>& es) {
    std::string out;
    for (const auto& e : es)
      out += e.module.substr(e.module.rfind('/') + 1) + "@" + e.version + " ";
    return out;
  };
  EXPECT_EQ(names(idx->since(base, "", "", 3)), "B@v0.9.0 B@v1.0.0 a@v0.9.0 ");
  EXPECT_EQ(names(idx->since(base, mod("a"), "v0.9.0", 3)), "a@v1.0.0 b@v0.9.0 b@v1.0.0 ");
  EXPECT_EQ(names(idx->since(base, mod("b"), "v1.0.0", 3)), "a@v2.0.0 ");
  EXPECT_EQ(names(idx->since(base + 1, mod("a"), "v2.0.0", 3)), "");
  EXPECT_EQ(names(idx->page(mod(""), "", 2, 0)), "B@v0.9.0 B@v1.0.0 ");
  EXPECT_EQ(names(idx->page(mod(""), "", 2, 3)), "a@v1.0.0 a@v2.0.0 ");
  EXPECT_EQ(names(idx->page(mod("a"), "v0.9.0", 3, 2)), "b@v0.9.0 b@v1.0.0 ");
}

// Replicas: several handles (processes) on one index, writing at once.
TEST_P(IndexTest, ConcurrentWritersFromSeveralHandles) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto idx = open();
      for (int i = 0; i < 25; ++i) {
        idx->record({mod("m"), "v1.0." + std::to_string(i), "", "", -1, 100 + i, ""});
        idx->record({mod("t" + std::to_string(t)), "v1.0." + std::to_string(i), "", "", -1, 1, ""});
      }
    });
  }
  for (auto& th : threads) th.join();
  // After (m, ""): the 25 versions of m (each recorded by 4 writers, kept once), then 4 x 25 of
  // t0..t3.
  const auto all = open()->page(mod("m"), "", 1000);
  std::size_t ours = 0;
  for (const auto& e : all) ours += e.module.rfind(mod(""), 0) == 0 ? 1 : 0;
  EXPECT_EQ(ours, 125u);
}

TEST(PostgresIndex, UnreachableIsAnErrorNotEmptiness) {
  auto idx = make_postgres_index("postgresql://postgres@127.0.0.1:" +
                                 std::to_string(coord::testing::free_port()) + "/postgres");
  EXPECT_THROW(idx->record({"m", "v1.0.0", "", "", -1, 1, ""}), IndexError);
  EXPECT_THROW((void)idx->since(0, 10), IndexError);
  EXPECT_THROW((void)idx->page("", "", 10), IndexError);
}

TEST(SqliteIndex, UnopenableIsAnError) {
  EXPECT_THROW(make_sqlite_index("/nonexistent-dir/x/index.sqlite"), IndexError);
}

INSTANTIATE_TEST_SUITE_P(Backends, IndexTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& p) { return p.param; });

}  // namespace
}  // namespace stoa::index
