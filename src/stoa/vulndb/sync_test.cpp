#include "stoa/vulndb/sync.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "stoa/curl/testing/test_server.hpp"
#include "stoa/vulndb/gzip.hpp"

namespace stoa::vulndb {
namespace {

namespace fs = std::filesystem;
using curl::testing::Reply;
using Kind = Syncer::Outcome::Kind;

std::string entry(const std::string& id, const std::string& modified) {
  return R"({"id":")" + id + R"(","modified":")" + modified +
         R"(","database_specific":{"url":"https://vulns.example/)" + id +
         R"("},"affected":[{"package":{"name":"example.com/m","ecosystem":"Go"},"ranges":)"
         R"([{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}]}]})";
}

// A database of entries (id, modified) as the source serves it: .json.gz with an ETag.
Documents database(const std::vector<std::pair<std::string, std::string>>& entries,
                   const std::string& db_modified) {
  Documents d;
  std::string vulns;
  std::string mods;
  for (const auto& [id, modified] : entries) {
    d["ID/" + id] = entry(id, modified);
    vulns += std::string(vulns.empty() ? "" : ",") + R"({"id":")" + id + R"(","modified":")" +
             modified + R"("})";
    mods += std::string(mods.empty() ? "" : ",") + R"({"id":")" + id + R"(","modified":")" +
            modified + R"("})";
  }
  d["index/db"] = R"({"modified":")" + db_modified + R"("})";
  d["index/vulns"] = "[" + vulns + "]";
  d["index/modules"] = R"([{"path":"example.com/m","vulns":[)" + mods + "]}]";
  return d;
}

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_root = fs::temp_directory_path() /
             ("stoa-vulndb-sync-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_root);
    m_mirror = std::make_unique<Mirror>(Repository(m_root), Limits{});
  }
  void TearDown() override { fs::remove_all(m_root); }

  void serve(const Documents& docs) {
    for (const auto& [name, json] : docs) {
      Reply r;
      r.body = gzip(json);
      r.headers = {{"ETag", "\"" + name + std::to_string(json.size()) + "\""}};
      m_server.route("/db/" + name + ".json.gz", r);
    }
  }
  Syncer syncer() { return Syncer({m_server.url() + "/db"}, *m_mirror); }

  fs::path m_root;
  curl::testing::TestServer m_server;
  std::unique_ptr<Mirror> m_mirror;
};

TEST_F(SyncTest, TakesANewerDatabaseFetchingOnlyChangedEntries) {
  serve(database({{"GO-1", "2026-01-01T00:00:00Z"}, {"GO-2", "2026-01-01T00:00:00Z"}},
                 "2026-01-01T00:00:00Z"));
  Syncer s = syncer();
  auto o = s.sync_once();
  ASSERT_EQ(o.kind, Kind::updated) << o.detail;
  ASSERT_NE(m_mirror->current(), nullptr);
  EXPECT_EQ(m_mirror->current()->entries().size(), 2u);

  // Unchanged: the conditional GET carries the ETag; nothing else is asked.
  o = s.sync_once();
  EXPECT_EQ(o.kind, Kind::unchanged) << o.detail;
  EXPECT_EQ(m_server.requests().back().header("If-None-Match"),
            "\"index/db" + std::to_string(database({}, "2026-01-01T00:00:00Z")["index/db"].size()) +
                "\"");
  EXPECT_EQ(m_server.hits("/db/index/modules.json.gz"), 1u);

  serve(database({{"GO-1", "2026-01-01T00:00:00Z"},
                  {"GO-2", "2026-02-01T00:00:00Z"},
                  {"GO-3", "2026-02-01T00:00:00Z"}},
                 "2026-02-01T00:00:00Z"));
  o = s.sync_once();
  ASSERT_EQ(o.kind, Kind::updated) << o.detail;
  EXPECT_EQ(o.detail, "3 entries, 2 fetched");
  EXPECT_EQ(m_server.hits("/db/ID/GO-1.json.gz"), 1u);
  EXPECT_EQ(m_server.hits("/db/ID/GO-2.json.gz"), 2u);
  EXPECT_EQ(m_mirror->current()->entries().size(), 3u);
}

TEST_F(SyncTest, AFailedSyncChangesNothing) {
  serve(database({{"GO-1", "2026-01-01T00:00:00Z"}}, "2026-01-01T00:00:00Z"));
  Syncer s = syncer();
  ASSERT_EQ(s.sync_once().kind, Kind::updated);
  const auto held = m_mirror->current();
  const std::string name = m_mirror->repository().current_name();

  const Documents newer = database(
      {{"GO-1", "2026-01-01T00:00:00Z"}, {"GO-2", "2026-03-01T00:00:00Z"}}, "2026-03-01T00:00:00Z");
  struct Case {
    const char* name;
    Reply reply;
    const char* why;
  };
  Reply cut;
  cut.body = gzip(newer.at("ID/GO-2"));
  cut.cut_after = cut.body.size() / 2;
  Reply bomb;
  bomb.body = gzip(std::string(std::size_t{16} << 20, ' '));
  Reply not_gzip;
  not_gzip.body = newer.at("ID/GO-2");
  Reply bad_entry;
  bad_entry.body = gzip(R"({"id":"GO-2","modified":"2026-03-01T00:00:00Z","ID":"../x"})");
  const std::vector<Case> cases = {
      {"server error", curl::testing::text(500, "down"), "status 500"},
      {"cut body", cut, "ID/GO-2.json.gz"},
      {"gzip bomb", bomb, "decompresses to more than"},
      {"not gzip", not_gzip, "not valid gzip"},
      {"hostile entry", bad_entry, "refused: "},
  };
  for (const Case& c : cases) {
    serve(newer);
    m_server.route("/db/ID/GO-2.json.gz", c.reply);
    const auto o = s.sync_once();
    EXPECT_EQ(o.kind, Kind::failed) << c.name;
    EXPECT_NE(o.detail.find(c.why), std::string::npos) << c.name << ": " << o.detail;
    EXPECT_EQ(m_mirror->current(), held) << c.name;
    EXPECT_EQ(m_mirror->repository().current_name(), name) << c.name;
  }
  serve(newer);
  EXPECT_EQ(s.sync_once().kind, Kind::updated);
}

}  // namespace
}  // namespace stoa::vulndb
