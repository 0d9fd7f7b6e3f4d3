#include <gtest/gtest.h>

#include "stoa/fetch/proxy_list.hpp"

namespace stoa::fetch {
namespace {

struct Entry {
  std::string base_url;
  bool fall_through_on_error;
  bool operator==(const Entry&) const = default;
};

struct Good {
  const char* value;
  std::vector<Entry> entries;
  bool direct;
  bool off;
};

std::ostream& operator<<(std::ostream& os, const Entry& e) {
  return os << e.base_url << (e.fall_through_on_error ? " |" : " ,");
}

TEST(ParseProxyList, Valid) {
  const std::vector<Good> cases = {
      {"https://proxy.example.com,direct", {{"https://proxy.example.com", false}}, true, false},
      {"https://a.example,https://b.example|https://c.example,direct",
       {{"https://a.example", false}, {"https://b.example", true}, {"https://c.example", false}},
       true,
       false},
      {"https://a.example|https://b.example|",
       {{"https://a.example", true}, {"https://b.example", true}},
       false,
       false},
      {"off", {}, false, true},
      {"direct", {}, true, false},
      {"https://a.example,off,https://b.example", {{"https://a.example", false}}, false, true},
      {"https://a.example|direct|https://b.example", {{"https://a.example", true}}, true, false},
      // Empty entries and blanks around entries are skipped; the separator after an entry counts.
      {",, https://a.example ,|", {{"https://a.example", false}}, false, false},
      {" https://a.example |, https://b.example",
       {{"https://a.example", true}, {"https://b.example", false}},
       false,
       false},
      // Trailing slashes go, paths stay.
      {"https://a.example/", {{"https://a.example", false}}, false, false},
      {"http://127.0.0.1:9000/x/y//", {{"http://127.0.0.1:9000/x/y", false}}, false, false},
      // Scheme lowercased; the go command's implicit https:// for bare host names.
      {"HTTPS://Proxy.Example", {{"https://Proxy.Example", false}}, false, false},
      {"proxy.example.com,direct", {{"https://proxy.example.com", false}}, true, false},
      {"goproxy.example:8443/sub", {{"https://goproxy.example:8443/sub", false}}, false, false},
      // Userinfo, IPv6 literals, ports.
      {"https://user:pw@a.example/p", {{"https://user:pw@a.example/p", false}}, false, false},
      {"http://[::1]:8080", {{"http://[::1]:8080", false}}, false, false},
      {"http://[::1]", {{"http://[::1]", false}}, false, false},
      {"http://a.example:65535", {{"http://a.example:65535", false}}, false, false},
      // Percent-escapes in the path are kept as written.
      {"https://a.example/%7Euser/", {{"https://a.example/%7Euser", false}}, false, false},
  };
  for (const auto& c : cases) {
    std::string error;
    const auto list = parse_proxy_list(c.value, &error);
    ASSERT_TRUE(list.has_value()) << c.value << ": " << error;
    std::vector<Entry> got;
    for (const auto& e : list->entries) got.push_back({e.base_url, e.fall_through_on_error});
    EXPECT_EQ(got, c.entries) << c.value;
    EXPECT_EQ(list->direct, c.direct) << c.value;
    EXPECT_EQ(list->off, c.off) << c.value;
  }
}

TEST(ParseProxyList, Invalid) {
  const std::vector<const char*> cases = {
      "",
      ",",
      " | , ",
      "noproxy",  // a single word is reserved by the go command
      "ftp://a.example",
      "file:///var/goproxy",
      "/var/goproxy",
      "https://",
      "https:///path",
      "https://a.example?token=x",
      "https://a.example/p#frag",
      "https://a b.example",
      "https://a.example/p q",
      "https://a.example/\x01",
      "https://caf\xc3\xa9.example",
      "https://a.example:0",
      "https://a.example:65536",
      "https://a.example:x",
      "https://a.example:",
      "https://[::1",
      "https://[zz]",
      "https://a.example,ftp://b.example",  // a bad entry anywhere before direct/off
  };
  for (const char* c : cases) {
    std::string error;
    EXPECT_FALSE(parse_proxy_list(c, &error).has_value()) << c;
    EXPECT_FALSE(error.empty()) << c;
  }
  EXPECT_FALSE(parse_proxy_list("ftp://x").has_value());  // error is optional
  // Entries after direct/off are not looked at, as in the go command.
  EXPECT_TRUE(parse_proxy_list("direct,ftp://b.example").has_value());
}

TEST(ParseProxyList, ErrorsNeverRepeatCredentials) {
  for (const char* c :
       {"ftp://alice:s3cr3t@a.example", "https://alice:s3cr3t@a.example:99999", "alice:s3cr3t",
        "https://alice:s3cr3t@a.example?x", "https://alice:s3cr3t@"}) {
    std::string error;
    EXPECT_FALSE(parse_proxy_list(c, &error).has_value()) << c;
    EXPECT_EQ(error.find("s3cr3t"), std::string::npos) << error;
    EXPECT_EQ(error.find("alice"), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(parse_proxy_list("https://a.example,ftp://b.example", &error).has_value());
  EXPECT_NE(error.find("#2"), std::string::npos) << error;
}

}  // namespace
}  // namespace stoa::fetch
