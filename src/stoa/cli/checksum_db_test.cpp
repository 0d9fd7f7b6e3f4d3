#include "stoa/cli/checksum_db.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace stoa::cli {
namespace {

const std::string k_key = "db.example+0123abcd+AYvkey0000000000000000000000000000000000000000";

TEST(ChecksumDb, Forms) {
  const KnownKeys known{{"db.example", k_key}};
  EXPECT_TRUE(parse_checksum_db("off", known).off);

  auto named = parse_checksum_db("db.example", known);
  ASSERT_TRUE(named.db) << named.error;
  EXPECT_EQ(named.db->name, "db.example");
  EXPECT_EQ(named.db->key, k_key);
  EXPECT_EQ(named.db->url, "");

  auto keyed = parse_checksum_db("other.example+89abcdef+AXkeydata", known);
  ASSERT_TRUE(keyed.db) << keyed.error;
  EXPECT_EQ(keyed.db->name, "other.example");
  EXPECT_EQ(keyed.db->url, "");

  auto with_url =
      parse_checksum_db("other.example+89abcdef+AXkeydata  http://127.0.0.1:9/db/", known);
  ASSERT_TRUE(with_url.db) << with_url.error;
  EXPECT_EQ(with_url.db->url, "http://127.0.0.1:9/db");

  for (const char* bad :
       {"", "unknown.example", "x+1234+AA", "db.example+0123abcg+AA", "db.example+0123abcd+",
        "k+0123abcd+AA ftp://x", "k+0123abcd+AA http://a http://b"}) {
    const auto r = parse_checksum_db(bad, known);
    EXPECT_FALSE(r.db) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
  }
}

TEST(ChecksumDb, KnownKeysFromGoSource) {
  const std::string src =
      "package modfetch\n\nvar knownGOSUMDB = map[string]string{\n"
      "\t\"db.example\": \"" +
      k_key +
      "\",\n"
      "\t\"bad.example\": \"other.example+0123abcd+AA\",\n"
      "\t// \"c.example\": \"c.example+0123abcd+AA\",\n}\n";
  const KnownKeys keys = known_keys_from_go_source(src);
  EXPECT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys.at("db.example"), k_key);
}

TEST(ChecksumDb, TheInstalledGoCommandKnowsItsDefaultDatabase) {
  // The default configuration depends on this file of the go toolchain beside stoa.
  FILE* p = ::popen("go env GOROOT GOSUMDB 2>/dev/null", "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  std::string out;
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  std::istringstream lines(out);
  std::string goroot, gosumdb;
  std::getline(lines, goroot);
  std::getline(lines, gosumdb);
  ASSERT_FALSE(goroot.empty()) << "the go command is needed";
  std::ifstream in(goroot + "/src/cmd/go/internal/modfetch/key.go");
  ASSERT_TRUE(in) << "no key.go in " << goroot;
  std::stringstream ss;
  ss << in.rdbuf();
  const KnownKeys keys = known_keys_from_go_source(ss.str());
  EXPECT_FALSE(keys.empty());
  if (gosumdb != "off") {
    const auto setting = parse_checksum_db(gosumdb, keys);
    EXPECT_TRUE(setting.db) << gosumdb << ": " << setting.error;
  }
}

}  // namespace
}  // namespace stoa::cli
