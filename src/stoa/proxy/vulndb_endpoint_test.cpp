#include "stoa/proxy/vulndb_endpoint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "stoa/vulndb/gzip.hpp"
#include "stoa/vulndb/mirror.hpp"

namespace stoa::proxy {
namespace {

namespace fs = std::filesystem;

const char* const k_entry =
    R"({"id":"GO-2026-0001","modified":"2026-01-02T03:04:05Z",)"
    R"("database_specific":{"url":"https://vulns.example/GO-2026-0001"},"affected":[{"package":)"
    R"({"name":"example.com/m","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":)"
    R"([{"introduced":"0"},{"fixed":"1.2.0"}]}]}]})";

class VulndbEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_root = fs::temp_directory_path() / ("stoa-vulndb-endpoint-" + std::to_string(::getpid()));
    fs::remove_all(m_root);
    const fs::path src = m_root / "src";
    fs::create_directories(src / "index");
    fs::create_directories(src / "ID");
    std::ofstream(src / "ID" / "GO-2026-0001.json") << k_entry;
    std::ofstream(src / "index" / "db.json") << R"({"modified":"2026-02-01T00:00:00Z"})";
    std::ofstream(src / "index" / "vulns.json")
        << R"([{"id":"GO-2026-0001","modified":"2026-01-02T03:04:05Z"}])";
    std::ofstream(src / "index" / "modules.json")
        << R"([{"path":"example.com/m","vulns":[{"id":"GO-2026-0001","modified":)"
           R"("2026-01-02T03:04:05Z","fixed":"1.2.0"}]}])";
    m_mirror =
        std::make_unique<vulndb::Mirror>(vulndb::Repository(m_root / "db"), vulndb::Limits{});
    std::string error;
    ASSERT_NE(m_mirror->repository().import(src, vulndb::Limits{}, error), nullptr) << error;
    ASSERT_TRUE(m_mirror->refresh());
  }
  void TearDown() override { fs::remove_all(m_root); }

  Response get(std::string target, std::string inm = "") const {
    HttpRequest req;
    req.method = "GET";
    req.target = std::move(target);
    req.if_none_match = std::move(inm);
    return VulndbEndpoint(m_mirror.get()).respond(req);
  }

  fs::path m_root;
  std::unique_ptr<vulndb::Mirror> m_mirror;
};

TEST_F(VulndbEndpointTest, ServesJsonAndGzipForms) {
  const Response json = get("/vulndb/ID/GO-2026-0001.json");
  EXPECT_EQ(json.status, 200);
  EXPECT_EQ(json.body, k_entry);
  EXPECT_EQ(json.content_type, "application/json");
  const Response gz = get("/vulndb/ID/GO-2026-0001.json.gz");
  EXPECT_EQ(gz.status, 200);
  std::string error;
  EXPECT_EQ(vulndb::gunzip(gz.body, 1 << 20, error).value_or(error), k_entry);
  EXPECT_NE(gz.etag, json.etag);
  EXPECT_EQ(get("/vulndb/index/modules.json.gz").status, 200);
  EXPECT_EQ(get("/vulndb/ID/GO-2026-0001.json", json.etag).status, 304);
}

TEST_F(VulndbEndpointTest, AnythingElseIsNotFound) {
  for (const char* t : {"/vulndb", "/vulndb/", "/vulndb/index/db", "/vulndb/index/db.json.gz.gz",
                        "/vulndb/ID/../index/db.json", "/vulndb/ID/GO-2026-0002.json",
                        "/vulndb/ID/GO-2026-0001.JSON", "/vulndb//index/db.json",
                        "/vulndb/snapshots/current/index/db.json", "/vulndb/lock.json"}) {
    EXPECT_EQ(get(t).status, 404) << t;
  }
  HttpRequest req;
  req.target = "/vulndb/index/db.json";
  EXPECT_EQ(VulndbEndpoint(nullptr).respond(req).status, 404);
}

}  // namespace
}  // namespace stoa::proxy
