#include <gtest/gtest.h>
#include <zip.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stoa/vulndb/gzip.hpp"
#include "stoa/vulndb/mirror.hpp"
#include "stoa/vulndb/osv.hpp"
#include "stoa/vulndb/reader.hpp"
#include "stoa/vulndb/repository.hpp"
#include "stoa/vulndb/snapshot.hpp"

namespace stoa::vulndb {
namespace {

namespace fs = std::filesystem;

struct Vuln {
  std::string id;
  std::string modified = "2026-01-02T03:04:05Z";
  std::string module = "example.com/m";
  std::string introduced = "0";
  std::string fixed = "1.2.0";
};

std::string entry_json(const Vuln& v) {
  return R"({"schema_version":"1.3.1","id":")" + v.id + R"(","modified":")" + v.modified +
         R"(","published":"2026-01-01T00:00:00Z","aliases":["CVE-2026-0001"],"summary":"s",)"
         R"("database_specific":{"url":"https://vulns.example/)" +
         v.id +
         R"("},)"
         R"("affected":[{"package":{"name":")" +
         v.module + R"(","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":")" +
         v.introduced + R"("},{"fixed":")" + v.fixed +
         R"("}]}],"ecosystem_specific":{"imports":[{"path":")" + v.module + R"("}]}}]})";
}

// A consistent database of `vulns`, db.json at `db_modified`.
Documents make_db(const std::vector<Vuln>& vulns,
                  const std::string& db_modified = "2026-02-01T00:00:00Z") {
  Documents d;
  std::map<std::string, std::string> by_module;
  std::string list;
  for (const Vuln& v : vulns) {
    d["ID/" + v.id] = entry_json(v);
    list += std::string(list.empty() ? "" : ",") + R"({"id":")" + v.id + R"(","modified":")" +
            v.modified + R"(","aliases":[]})";
    std::string& m = by_module[v.module];
    m += std::string(m.empty() ? "" : ",") + R"({"id":")" + v.id + R"(","modified":")" +
         v.modified + R"(","fixed":")" + v.fixed + R"("})";
  }
  std::string modules;
  for (const auto& [path, vs] : by_module) {
    modules += std::string(modules.empty() ? "" : ",") + R"({"path":")" + path + R"(","vulns":[)" +
               vs + "]}";
  }
  d["index/modules"] = "[" + modules + "]";
  d["index/vulns"] = "[" + list + "]";
  d["index/db"] = R"({"modified":")" + db_modified + R"("})";
  return d;
}

const Limits k_limits;

// Imports `source`: "" when installed, else why it was refused.
std::string import_of(const Repository& repo, const std::filesystem::path& source) {
  std::string error;
  const auto s = repo.import(source, k_limits, error);
  EXPECT_EQ(s == nullptr, !error.empty());
  return s == nullptr ? error : "";
}

// ---- gzip ----

TEST(Gzip, RoundTripsAndIsDeterministic) {
  const std::string data(100'000, 'x');
  const std::string gz = gzip(data);
  EXPECT_EQ(gz, gzip(data));
  std::string error;
  auto back = gunzip(gz, data.size(), error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(*back, data);
}

TEST(Gzip, StopsABombAtTheLimit) {
  const std::string gz = gzip(std::string(8 << 20, '\0'));
  ASSERT_LT(gz.size(), 64u << 10);
  std::string error;
  EXPECT_FALSE(gunzip(gz, 1 << 20, error));
  EXPECT_NE(error.find("more than 1048576 bytes"), std::string::npos) << error;
}

TEST(Gzip, RefusesCutAndForeignData) {
  const std::string gz = gzip("hello, world");
  std::string error;
  EXPECT_FALSE(gunzip(gz.substr(0, gz.size() - 3), 100, error));
  EXPECT_FALSE(gunzip("", 100, error));
  EXPECT_FALSE(gunzip("{\"modified\":1}", 100, error));
  EXPECT_FALSE(gunzip(gz + "x", 100, error));  // bytes after the member
  auto two = gunzip(gz + gz, 100, error);      // two members: Go's multistream reading
  ASSERT_TRUE(two) << error;
  EXPECT_EQ(*two, "hello, worldhello, world");
}

// ---- osv ----

TEST(Osv, ReadsAnEntry) {
  std::string error;
  auto e = parse_entry(entry_json({.id = "GO-2026-0001"}), error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->id, "GO-2026-0001");
  ASSERT_EQ(e->affected.size(), 1u);
  EXPECT_EQ(e->affected[0].name, "example.com/m");
  ASSERT_EQ(e->affected[0].ranges.size(), 1u);
  ASSERT_EQ(e->affected[0].ranges[0].events.size(), 2u);
  EXPECT_EQ(e->affected[0].ranges[0].events[1].kind, Event::Kind::fixed);
  EXPECT_EQ(e->affected[0].ranges[0].events[1].version, "1.2.0");
}

TEST(Osv, TheLastDuplicateWinsAsInGo) {
  std::string error;
  auto e = parse_entry(R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","id":"GO-2",)"
                       R"("database_specific":{"url":"u"}})",
                       error);
  ASSERT_TRUE(e) << error;
  EXPECT_EQ(e->id, "GO-2");
}

TEST(Osv, Ids) {
  for (const char* good : {"GO-2026-0001", "a", "GHSA-xxxx-yyyy-zzzz", "X.1_2"}) {
    EXPECT_TRUE(is_valid_id(good)) << good;
  }
  for (const char* bad :
       {"", ".", "..", "../x", "a/b", "a\\b", "-x", ".hidden", "a b", "a\nb", "GO%2F1"}) {
    EXPECT_FALSE(is_valid_id(bad)) << bad;
  }
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(Osv, RefusesHostileEntries) {
  const std::string good = entry_json({.id = "GO-2026-0001"});
  struct Case {
    const char* name;
    std::string json;
  };
  const std::vector<Case> cases = {
      {"not JSON", "{"},
      {"not an object", "[]"},
      {"no id", R"({"modified":"2026-01-01T00:00:00Z"})"},
      {"path in id", R"({"id":"../../etc/passwd","modified":"2026-01-01T00:00:00Z"})"},
      {"no modified", R"({"id":"GO-1"})"},
      // govulncheck v1.9.0 crashes on an entry without database_specific.url.
      {"no url", R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z"})"},
      {"empty url",
       R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","database_specific":{"url":""}})"},
      {"url not a string",
       R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","database_specific":{"url":1}})"},
      {"bad time", R"({"id":"GO-1","modified":"yesterday"})"},
      {"number id", R"({"id":1,"modified":"2026-01-01T00:00:00Z"})"},
      // Go's encoding/json reads these keys as "id"/"modified": refused, not read otherwise.
      {"case variant", R"({"id":"GO-1","ID":"GO-2","modified":"2026-01-01T00:00:00Z"})"},
      {"long s", "{\"id\":\"GO-1\",\"modified\":\"2026-01-01T00:00:00Z\",\"aliase\xC5\xBF\":[]}"},
      {"kelvin",
       "{\"id\":\"GO-1\",\"modified\":\"2026-01-01T00:00:00Z\",\"affected\":[{"
       "\"pac\xE2\x84\xAA"
       "age\":{}}]}"},
      {"bad semver",
       R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"name":"a.b/c",)"
       R"("ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.x"}]}]}]})"},
      {"two kinds in one event",
       R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"name":"a.b/c",)"
       R"("ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]})"},
      {"no events",
       R"({"id":"GO-1","modified":"2026-01-01T00:00:00Z","affected":[{"package":{"name":"a.b/c",)"
       R"("ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[]}]}]})"},
      {"deep", "{\"id\":\"GO-1\",\"modified\":\"2026-01-01T00:00:00Z\",\"details\":" +
                   std::string(100, '[') + std::string(100, ']') + "}"},
      {"invalid UTF-8",
       "{\"id\":\"GO-1\",\"modified\":\"2026-01-01T00:00:00Z\",\"summary\":\"\xff\"}"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(parse_entry(c.json, error)) << c.name;
    EXPECT_FALSE(error.empty()) << c.name;
  }
  std::string error;
  EXPECT_TRUE(parse_entry(good, error)) << error;
}

// ---- snapshot ----

TEST(Snapshot, BuildsAConsistentDatabase) {
  auto b = build_snapshot(
      make_db({{.id = "GO-2026-0001"}, {.id = "GO-2026-0002", .module = "example.com/n"}}), nullptr,
      k_limits);
  ASSERT_TRUE(b.snapshot) << b.error;
  EXPECT_EQ(b.snapshot->entries().size(), 2u);
  const auto* f = b.snapshot->find("ID/GO-2026-0002");
  ASSERT_NE(f, nullptr);
  std::string error;
  EXPECT_EQ(gunzip(f->gz, 1 << 20, error).value_or(""), f->json);
  EXPECT_NE(f->etag_json, f->etag_gz);
  EXPECT_EQ(b.snapshot->find("ID/GO-2026-0003"), nullptr);
}

TEST(Snapshot, RefusesInconsistentDatabases) {
  struct Case {
    const char* name;
    Documents docs;
    const char* why;
  };
  std::vector<Case> cases;
  auto db = [] { return make_db({{.id = "GO-2026-0001"}}); };
  {
    auto d = db();
    d.erase("index/vulns");
    cases.push_back({"no vulns index", d, "no index/vulns.json"});
  }
  {
    auto d = db();
    d["ID/GO-2026-0002"] = d["ID/GO-2026-0001"];
    cases.push_back({"id differs from its file name", d, "holds the entry GO-2026-0001"});
  }
  {
    auto d = db();
    d["index/modules"] =
        R"([{"path":"example.com/m","vulns":[{"id":"GO-2026-0009","modified":"2026-01-02T03:04:05Z"}]}])";
    cases.push_back({"module index names a missing entry", d, "which is not in ID/"});
  }
  {
    auto d = db();
    d["index/modules"] =
        R"([{"path":"example.com/other","vulns":[{"id":"GO-2026-0001","modified":"2026-01-02T03:04:05Z"}]}])";
    cases.push_back({"module index names an unaffected module", d, "does not affect"});
  }
  {
    auto d = db();
    d["index/vulns"] = "[]";
    cases.push_back({"vulns index leaves an entry out", d, "does not list GO-2026-0001"});
  }
  {
    auto d = db();
    d["index/vulns"] = R"([{"id":"GO-2026-0001","modified":"2020-01-01T00:00:00Z"}])";
    cases.push_back({"vulns index has another time", d, "another modified time"});
  }
  cases.push_back({"entry newer than the database",
                   make_db({{.id = "GO-2026-0001"}}, "2025-01-01T00:00:00Z"),
                   "modified after index/db.json"});
  {
    auto d = db();
    d["ID/x/../../y"] = "{}";
    cases.push_back({"path in a document name", d, "unexpected document"});
  }
  {
    Limits small;
    small.max_entry = 100;
    auto b = build_snapshot(db(), nullptr, small);
    EXPECT_FALSE(b.snapshot);
    EXPECT_NE(b.error.find("over 100 bytes"), std::string::npos) << b.error;
  }
  for (auto& c : cases) {
    auto b = build_snapshot(c.docs, nullptr, k_limits);
    EXPECT_FALSE(b.snapshot) << c.name;
    EXPECT_NE(b.error.find(c.why), std::string::npos) << c.name << ": " << b.error;
  }
}

TEST(Snapshot, RefusesARollback) {
  auto first = build_snapshot(make_db({{.id = "GO-2026-0001", .modified = "2026-01-05T00:00:00Z"}}),
                              nullptr, k_limits);
  ASSERT_TRUE(first.snapshot) << first.error;
  auto older_db = build_snapshot(
      make_db({{.id = "GO-2026-0001", .modified = "2026-01-05T00:00:00Z"}}, "2026-01-31T00:00:00Z"),
      first.snapshot.get(), k_limits);
  EXPECT_FALSE(older_db.snapshot);
  EXPECT_NE(older_db.error.find("older than the one served"), std::string::npos) << older_db.error;
  auto older_entry = build_snapshot(
      make_db({{.id = "GO-2026-0001", .modified = "2026-01-04T00:00:00Z"}}, "2026-03-01T00:00:00Z"),
      first.snapshot.get(), k_limits);
  EXPECT_FALSE(older_entry.snapshot);
  EXPECT_NE(older_entry.error.find("entry GO-2026-0001 is older"), std::string::npos)
      << older_entry.error;
  auto newer = build_snapshot(
      make_db({{.id = "GO-2026-0001", .modified = "2026-01-06T00:00:00Z"}, {.id = "GO-2026-0002"}},
              "2026-03-01T00:00:00Z"),
      first.snapshot.get(), k_limits);
  EXPECT_TRUE(newer.snapshot) << newer.error;
}

// ---- reader ----

std::map<std::string, std::string, std::less<>> as_files(const Documents& d) {
  std::map<std::string, std::string, std::less<>> out;
  for (const auto& [name, body] : d) out[name + ".json"] = body;
  return out;
}

TEST(Reader, TakesJsonOrGzipForms) {
  auto files = as_files(make_db({{.id = "GO-2026-0001"}}));
  files["ID/GO-2026-0001.json.gz"] = gzip(files["ID/GO-2026-0001.json"]);
  files["index/db.json.gz"] = gzip(files["index/db.json"]);
  files.erase("index/db.json");
  files["README.md"] = "not ours";
  auto r = collect_documents(files, k_limits);
  ASSERT_TRUE(r.docs) << r.error;
  EXPECT_EQ(r.docs->size(), 4u);
  EXPECT_EQ(r.docs->at("index/db"), R"({"modified":"2026-02-01T00:00:00Z"})");
}

TEST(Reader, RefusesHostileLayouts) {
  const auto base = as_files(make_db({{.id = "GO-2026-0001"}}));
  struct Case {
    const char* name;
    std::string file;
    std::string body;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"gzip bomb", "ID/GO-2026-0002.json.gz", gzip(std::string(64 << 20, ' ')), "more than"},
      {"gz differs", "ID/GO-2026-0001.json.gz", gzip("{}"), "differs"},
      {"not gzip", "index/vulns.json.gz", "[]", "not valid gzip"},
      {"nested", "ID/a/GO-1.json", "{}", "is below ID/"},
      {"dot dot", "ID/...json", "{}", "not a document"},
      {"other extension", "ID/GO-1.txt", "{}", "neither .json"},
      {"unknown index", "index/extra.json", "{}", "not a document"},
  };
  for (const Case& c : cases) {
    auto files = base;
    files[c.file] = c.body;
    auto r = collect_documents(files, k_limits);
    EXPECT_FALSE(r.docs) << c.name;
    EXPECT_NE(r.error.find(c.why), std::string::npos) << c.name << ": " << r.error;
  }
}

// ---- repository ----

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_root = fs::temp_directory_path() /
             ("stoa-vulndb-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(m_root);
    fs::create_directories(m_root);
  }
  void TearDown() override { fs::remove_all(m_root); }

  fs::path write_dir(const std::string& name, const Documents& docs) {
    const fs::path d = m_root / name;
    for (const auto& [doc, body] : docs) {
      fs::create_directories((d / doc).parent_path());
      std::ofstream(d / (doc + ".json"), std::ios::binary) << body;
    }
    fs::create_directories(d / "ID");
    return d;
  }

  fs::path write_zip(const std::string& name, const std::map<std::string, std::string>& files) {
    const fs::path p = m_root / name;
    int err = 0;
    zip_t* z = zip_open(p.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
    EXPECT_NE(z, nullptr);
    for (const auto& [n, body] : files) {
      zip_source_t* s = zip_source_buffer(z, body.data(), body.size(), 0);
      zip_file_add(z, n.c_str(), s, ZIP_FL_OVERWRITE);
    }
    EXPECT_EQ(zip_close(z), 0);
    return p;
  }

  // Every file under `dir` with its bytes: what must not change when an import is refused.
  static std::map<std::string, std::string> tree(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_symlink()) {
        out[e.path().string()] = "-> " + fs::read_symlink(e.path()).string();
      } else if (e.is_regular_file()) {
        std::ifstream in(e.path(), std::ios::binary);
        out[e.path().string()] = std::string(std::istreambuf_iterator<char>(in), {});
      }
    }
    return out;
  }

  fs::path m_root;
};

TEST_F(RepositoryTest, ImportsADirectoryAndSwitches) {
  const Repository repo(m_root / "db");
  EXPECT_EQ(repo.current_name(), "");
  EXPECT_EQ(repo.load(k_limits).snapshot, nullptr);
  const auto one = make_db({{.id = "GO-2026-0001"}});
  EXPECT_EQ(import_of(repo, write_dir("one", one)), "");
  const std::string first = repo.current_name();
  auto l = repo.load(k_limits);
  ASSERT_TRUE(l.snapshot);
  EXPECT_EQ(l.snapshot->documents(), one);

  const auto two =
      make_db({{.id = "GO-2026-0001"}, {.id = "GO-2026-0002"}}, "2026-03-01T00:00:00Z");
  EXPECT_EQ(import_of(repo, write_dir("two", two)), "");
  EXPECT_NE(repo.current_name(), first);
  EXPECT_EQ(repo.load(k_limits).snapshot->documents(), two);
  // The replaced snapshot is kept, one step back.
  EXPECT_TRUE(fs::exists(m_root / "db" / "snapshots" / first));
}

TEST_F(RepositoryTest, ImportsAZip) {
  const Repository repo(m_root / "db");
  std::map<std::string, std::string> files;
  for (const auto& [doc, body] : make_db({{.id = "GO-2026-0001"}})) files[doc + ".json"] = body;
  files["ID/"] = "";
  EXPECT_EQ(import_of(repo, write_zip("db.zip", files)), "");
  EXPECT_EQ(repo.load(k_limits).snapshot->entries().size(), 1u);
}

TEST_F(RepositoryTest, ARefusedImportChangesNothing) {
  const Repository repo(m_root / "db");
  ASSERT_EQ(import_of(repo, write_dir("good", make_db({{.id = "GO-2026-0001"}}))), "");
  const auto before = tree(m_root / "db");

  std::map<std::string, std::string> bomb;
  for (const auto& [doc, body] : make_db({{.id = "GO-2026-0001"}}, "2026-05-01T00:00:00Z")) {
    bomb[doc + ".json"] = body;
  }
  bomb["ID/GO-2026-0009.json.gz"] = gzip(std::string(64 << 20, '['));
  std::map<std::string, std::string> escape = bomb;
  escape.erase("ID/GO-2026-0009.json.gz");
  escape["ID/../../evil.json"] = "{}";
  auto rollback = make_db({{.id = "GO-2026-0001"}}, "2026-01-15T00:00:00Z");
  auto bad_id = make_db({{.id = "GO-2026-0001"}}, "2026-05-01T00:00:00Z");
  bad_id["ID/GO-2026-0001"] = R"({"id":"../x","modified":"2026-01-01T00:00:00Z"})";

  for (const auto& [what, source] : std::vector<std::pair<std::string, fs::path>>{
           {"gzip bomb", write_zip("bomb.zip", bomb)},
           {"path escape", write_zip("escape.zip", escape)},
           {"rollback", write_dir("rollback", rollback)},
           {"bad id", write_dir("bad_id", bad_id)},
           {"not a zip", write_dir("plain", {}) / "ID"},
       }) {
    const std::string error = import_of(repo, source);
    EXPECT_FALSE(error.empty()) << what;
    EXPECT_EQ(tree(m_root / "db"), before) << what << ": " << error;
  }
}

TEST_F(RepositoryTest, MirrorSwapsOnlyWhenCurrentChanges) {
  Mirror mirror(Repository(m_root / "db"), k_limits);
  EXPECT_FALSE(mirror.refresh());
  EXPECT_EQ(mirror.current(), nullptr);
  ASSERT_EQ(import_of(mirror.repository(), write_dir("one", make_db({{.id = "GO-2026-0001"}}))),
            "");
  EXPECT_TRUE(mirror.refresh());
  const auto held = mirror.current();
  ASSERT_TRUE(held);
  EXPECT_FALSE(mirror.refresh());
  EXPECT_EQ(mirror.current(), held);
}

}  // namespace
}  // namespace stoa::vulndb
