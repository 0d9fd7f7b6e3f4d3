#include "stoa/store/keys.hpp"

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace stoa::store::keys {
namespace {

TEST(Keys, IsValid) {
  struct Case {
    std::string key;
    bool valid;
  };
  const Case cases[] = {
      {"example.com/a/@v/v1.0.0.info", true},
      {"example.com/a/@v/v1.0.0.mod", true},
      {"example.com/a/@v/v1.0.0.zip", true},
      {"example.com/a/@v/list", true},
      {"example.com/a/@latest", true},
      {"example.com/!a/b~c_d+e/@v/v1.0.0-!r!c1+incompatible.zip", true},
      {"a/@v/v.info", true},
      {"", false},
      {"example.com/a/@v/v1.0.0", false},
      {"example.com/a/@v/v1.0.0.info.tmp", false},
      {"example.com/a/@v/.info", false},
      {"example.com/a/@v/.mod", false},
      {"example.com/a/@v/list2", false},
      {"example.com/a/@v/list/", false},
      {"example.com/a/@v/x/list", false},
      {"example.com/a/@latest/", false},
      {"example.com/a@latest", false},
      {"/@latest", false},
      {"@v/list", false},
      {"/example.com/a/@v/list", false},
      {"./example.com/a/@v/list", false},
      {"example.com/./a/@v/list", false},
      {"example.com/../a/@v/list", false},
      {"example.com//a/@v/list", false},
      {".stoa-tmp/a/@v/list", false},
      {"example.com/.hidden/@v/list", false},
      {"example.com\\a/@v/list", false},
      {std::string("example.com/a\0/@v/list", 22), false},
      {"example.com/a\x7f/@v/list", false},
      {"example.com/a%2e/@v/list", false},
      {"example.com/a:b/@v/list", false},
      {"example.com/\xff/@v/list", false},
      {"example.com/a/@v/v1.0.0.ziphash", true},
      {"example.com/a/@v/v1.0.0.modhash", true},
      {"example.com/a/@v/.ziphash", false},
      {"sumdb/db.example/tile/8/0/x001/234", true},
      {"sumdb/db.example/tile/8/data/000", true},
      {"sumdb/db.example/tile/8/0/000.p/5", true},
      {"sumdb/db.example/tile/8/data/x001/002.p/255", true},
      {"sumdb/db.example/tile/8/0/000./5", false},
      {"sumdb/db.example/lookup/example.com/!m@v1.0.0", true},
      {"sumdb/db.example/lookup/x@v1.0.0", true},
      {"sumdb/db.example/lookup/@v1.0.0", false},
      {"sumdb/db.example/lookup/x@", false},
      {"sumdb/db.example/lookup/x@v1/y", false},
      {"sumdb/db.example/lookup/x/@v1.0.0", false},
      {"sumdb/db.example/lookup/x", false},
      {"sumdb/db.example/tile/8/", false},
      {"sumdb//tile/8/0/000", false},
      {"sumdb/db.example/tile/8/../x", false},
      {"sumdb/db.example/latest", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_valid(c.key), c.valid) << ::testing::PrintToString(c.key);
  }
}

TEST(Keys, IsValidModule) {
  EXPECT_TRUE(is_valid_module("example.com/a"));
  EXPECT_TRUE(is_valid_module("example.com"));
  EXPECT_FALSE(is_valid_module(""));
  EXPECT_FALSE(is_valid_module("example.com/"));
  EXPECT_FALSE(is_valid_module("/example.com"));
  EXPECT_FALSE(is_valid_module("example.com/.."));
  EXPECT_FALSE(is_valid_module(".stoa-tmp"));
}

TEST(Keys, ParseInfo) {
  const auto info = parse_info("example.com/a/@v/v1.0.0-!r!c1.info");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->module, "example.com/a");
  EXPECT_EQ(info->version, "v1.0.0-!r!c1");
  const auto nested = parse_info("example.com/a/@v/b/@v/v2.info");
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(nested->module, "example.com/a/@v/b");
  EXPECT_EQ(nested->version, "v2");
  EXPECT_FALSE(parse_info("example.com/a/@v/v1.0.0.mod"));
  EXPECT_FALSE(parse_info("example.com/a/@v/.info"));
  EXPECT_FALSE(parse_info("example.com/a/@v/list"));
  EXPECT_FALSE(parse_info("/@v/v1.info"));
  EXPECT_FALSE(parse_info("x.info"));
}

TEST(Keys, ListKey) { EXPECT_EQ(list_key("example.com/a"), "example.com/a/@v/list"); }

TEST(Keys, UnescapeVersion) {
  EXPECT_EQ(unescape_version("v1.0.0"), "v1.0.0");
  EXPECT_EQ(unescape_version("v1.0.0-!r!c1"), "v1.0.0-RC1");
  EXPECT_EQ(unescape_version("v1.0.0-!rc!"), std::nullopt);
  EXPECT_EQ(unescape_version("v1.0.0-!!r"), std::nullopt);
  EXPECT_EQ(unescape_version("v1.0.0-!1"), std::nullopt);
  EXPECT_EQ(unescape_version("v1.0.0-RC1"), std::nullopt);
}

TEST(Keys, IsPseudo) {
  struct Case {
    const char* version;
    bool pseudo;
  };
  const Case cases[] = {
      {"v0.0.0-20230102030405-abcdefabcdef", true},
      {"v2.0.0-20230102030405-abcdefabcdef", true},
      {"v2.0.0-20230102030405-abcdefabcdef+incompatible", true},
      {"v1.2.4-0.20230102030405-abcdefabcdef", true},
      {"v1.2.3-pre.0.20230102030405-abcdefabcdef", true},
      {"v1.2.3-rc.1.0.20230102030405-abcdefabcdef", true},
      {"v0.0.0-20230102030405-ABCDEF123456", true},
      {"v1.0.0", false},
      {"v1.0.0-rc.1", false},
      {"v1.0.0+incompatible", false},
      {"v1.2.3-20230102030405-abcdefabcdef", false},   // X.0.0 form needs .0.0
      {"v0.0.0-2023010203040-abcdefabcdef", false},    // 13 digits
      {"v0.0.0-020230102030405-abcdefabcdef", false},  // 15 digits
      {"v1.2.4-0.2023010203040-abcdefabcdef", false},
      {"v1.2.4-1.20230102030405-abcdefabcdef", false},  // needs "0." before the time
      {"v1.2.4-10.20230102030405-abcdefabcdef", false},
      {"v0.0.0-20230102030405-", false},
      {"v0.0.0-20230102030405", false},
      {"v0.0.0-20230102030405-abc.def", false},
      {"v0.0.0-20230102030405-abc_def", false},
      {"v01.0.0-20230102030405-abcdefabcdef", false},    // invalid semver
      {"v1.2.4-00.20230102030405-abcdefabcdef", false},  // leading zero numeric identifier
      {"v1.2.4-0..20230102030405-abcdefabcdef", false},
      {"v1.2-0.20230102030405-abcdefabcdef", false},
      {"v0.0.0-20230102030405-abcdefabcdef+", false},
      {"v0.0.0-20230102030405-abcdefabcdef+a..b", false},
      {"0.0.0-20230102030405-abcdefabcdef", false},
      {"v", false},
      {"", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_pseudo(c.version), c.pseudo) << c.version;
  }
}

TEST(Keys, RenderList) {
  EXPECT_EQ(render_list({}), "");
  EXPECT_EQ(render_list({"v1.1.0", "v1.0.0-!r!c1", "v0.0.0-20230102030405-abcdefabcdef", "v1.0.0",
                         "v1.0.0", "v1.0.0-!bad!", "v2.0.0+incompatible"}),
            "v1.0.0\nv1.0.0-RC1\nv1.1.0\nv2.0.0+incompatible\n");
}

TEST(Keys, EtagIsQuotedAndDependsOnEveryInput) {
  const std::string base = etag("example.com/a/@v/list", 10, 1'700'000'000'123'456'789);
  ASSERT_GE(base.size(), 3u);
  EXPECT_EQ(base.front(), '"');
  EXPECT_EQ(base.back(), '"');
  EXPECT_EQ(base.find('"', 1), base.size() - 1);
  EXPECT_EQ(base, etag("example.com/a/@v/list", 10, 1'700'000'000'123'456'789));
  EXPECT_NE(base, etag("example.com/b/@v/list", 10, 1'700'000'000'123'456'789));
  EXPECT_NE(base, etag("example.com/a/@v/list", 11, 1'700'000'000'123'456'789));
  EXPECT_NE(base, etag("example.com/a/@v/list", 10, 1'700'000'000'123'456'790));
  const std::regex shape(R"("[0-9a-f]+-[0-9a-f]+-[0-9a-f]{8}")");
  EXPECT_TRUE(std::regex_match(base, shape)) << base;
  EXPECT_TRUE(std::regex_match(etag("k", 0, 0), shape)) << etag("k", 0, 0);
  const std::string widest = etag(std::string(1000, 'k'), ~0ULL, INT64_MAX);
  EXPECT_TRUE(std::regex_match(widest, shape)) << widest;
}

// An object store's ETag: the server's validator (only its letters, digits and '-', so nothing
// can break the quoting), made per key; the size when the server gave none.
TEST(Keys, EtagOfServerIsPerKeyAndQuoted) {
  const std::string a = etag_of_server("m/@v/v1.0.0.zip", "\"0x8DBC2A1B3C4D5E6\"", 10);
  EXPECT_TRUE(a.starts_with("\"0x8DBC2A1B3C4D5E6-")) << a;
  EXPECT_TRUE(a.ends_with("\"")) << a;
  EXPECT_EQ(a, etag_of_server("m/@v/v1.0.0.zip", "\"0x8DBC2A1B3C4D5E6\"", 10));
  EXPECT_NE(a, etag_of_server("m/@v/v1.0.1.zip", "\"0x8DBC2A1B3C4D5E6\"", 10));
  EXPECT_NE(a, etag_of_server("m/@v/v1.0.0.zip", "\"0x8DBC2A1B3C4D5E7\"", 10));
  EXPECT_TRUE(etag_of_server("k", "", 42).starts_with("\"42-"));
  EXPECT_EQ(etag_of_server("k", "\"\\\r\n\"", 7).find_first_of("\\\r\n"), std::string::npos);
}

TEST(Keys, Printable) {
  EXPECT_EQ(printable("a\nb\0c"), "a?b");
  EXPECT_EQ(printable(std::string("a\0b", 3)), "a?b");
  EXPECT_EQ(printable(std::string(300, 'x')), std::string(200, 'x') + "...");
}

}  // namespace
}  // namespace stoa::store::keys
