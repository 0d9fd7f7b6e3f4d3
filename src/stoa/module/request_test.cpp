#include "stoa/module/request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stoa::module {
namespace {

using namespace std::string_literals;

struct GoodCase {
  std::string target;
  Kind kind;
  std::string_view module;
  std::string version;
  bool canonical;
  std::string key;
};

TEST(ParseRequest, Accepted) {
  const GoodCase cases[] = {
      {"/example.com/m/@v/list", Kind::list, "example.com/m", "", false, "example.com/m/@v/list"},
      {"/example.com/m/@latest", Kind::latest, "example.com/m", "", false, "example.com/m/@latest"},
      {"/example.com/m/@v/v1.2.3.info", Kind::info, "example.com/m", "v1.2.3", true,
       "example.com/m/@v/v1.2.3.info"},
      {"/example.com/m/@v/v1.2.3.mod", Kind::mod, "example.com/m", "v1.2.3", true,
       "example.com/m/@v/v1.2.3.mod"},
      {"/example.com/m/@v/v1.2.3.zip", Kind::zip, "example.com/m", "v1.2.3", true,
       "example.com/m/@v/v1.2.3.zip"},
      // `!` arrives percent-encoded; the key keeps the case-encoding.
      {"/github.com/%21azure/azure-sdk/@v/list", Kind::list, "github.com/Azure/azure-sdk", "",
       false, "github.com/!azure/azure-sdk/@v/list"},
      {"/github.com/!azure/x/@v/v1.0.0-%21r%21c1.mod", Kind::mod, "github.com/Azure/x",
       "v1.0.0-RC1", true, "github.com/!azure/x/@v/v1.0.0-!r!c1.mod"},
      {"/github.com/%21azure/x/@latest", Kind::latest, "github.com/Azure/x", "", false,
       "github.com/!azure/x/@latest"},
      // Percent-escapes of unreserved characters decode; '+' is never a space.
      {"/example.com/%6d/@v/v2.0.0%2Bincompatible.zip", Kind::zip, "example.com/m",
       "v2.0.0+incompatible", true, "example.com/m/@v/v2.0.0+incompatible.zip"},
      {"/example.com/m/@v/v2.0.0+incompatible.info", Kind::info, "example.com/m",
       "v2.0.0+incompatible", true, "example.com/m/@v/v2.0.0+incompatible.info"},
      {"/example.com/m/v2/@v/v2.1.0.mod", Kind::mod, "example.com/m/v2", "v2.1.0", true,
       "example.com/m/v2/@v/v2.1.0.mod"},
      {"/gopkg.in/yaml.v2/@v/v2.4.0.zip", Kind::zip, "gopkg.in/yaml.v2", "v2.4.0", true,
       "gopkg.in/yaml.v2/@v/v2.4.0.zip"},
      {"/gopkg.in/check.v1/@v/v0.0.0-20161208181325-20d25e280405.mod", Kind::mod,
       "gopkg.in/check.v1", "v0.0.0-20161208181325-20d25e280405", true,
       "gopkg.in/check.v1/@v/v0.0.0-20161208181325-20d25e280405.mod"},
      {"/example.com/m/@v/v0.0.0-20191109021931-daa7c04131f5.info", Kind::info, "example.com/m",
       "v0.0.0-20191109021931-daa7c04131f5", true,
       "example.com/m/@v/v0.0.0-20191109021931-daa7c04131f5.info"},
      // .info queries: branches, tags, commit prefixes, short versions.
      {"/example.com/m/@v/master.info", Kind::info, "example.com/m", "master", false,
       "example.com/m/@v/master.info"},
      {"/example.com/m/@v/v1.2.info", Kind::info, "example.com/m", "v1.2", false,
       "example.com/m/@v/v1.2.info"},
      {"/example.com/m/@v/abc123.info", Kind::info, "example.com/m", "abc123", false,
       "example.com/m/@v/abc123.info"},
      {"/example.com/m/@v/%21main.info", Kind::info, "example.com/m", "Main", false,
       "example.com/m/@v/!main.info"},
      {"/example.com/m/@v/release_1.x~2+b.info", Kind::info, "example.com/m", "release_1.x~2+b",
       false, "example.com/m/@v/release_1.x~2+b.info"},
      {"/example.com/m/@v/" + std::string(128, 'a') + ".info", Kind::info, "example.com/m",
       std::string(128, 'a'), false, "example.com/m/@v/" + std::string(128, 'a') + ".info"},
      // "list" and "@latest" are only special in their own positions.
      {"/example.com/list/@v/list.info", Kind::info, "example.com/list", "list", false,
       "example.com/list/@v/list.info"},
  };
  for (const auto& c : cases) {
    auto result = parse_request(c.target);
    const auto* r = std::get_if<Request>(&result);
    ASSERT_NE(r, nullptr) << c.target << ": " << std::get<BadRequest>(result).message;
    EXPECT_EQ(r->kind, c.kind) << c.target;
    EXPECT_EQ(r->module, c.module) << c.target;
    EXPECT_EQ(r->version, c.version) << c.target;
    EXPECT_EQ(r->canonical, c.canonical) << c.target;
    EXPECT_EQ(key_of(*r), c.key) << c.target;
  }
}

struct BadCase {
  std::string target;
  int status;
  std::string_view message;  // substring of the message
};

TEST(ParseRequest, Rejected) {
  const BadCase cases[] = {
      // Not endpoints: well-formed, so 404.
      {"/", 404, "not found: unknown endpoint"},
      {"/example.com/m", 404, "not found: unknown endpoint \"/example.com/m\""},
      {"/example.com/m/@v", 404, "not found"},
      {"/example.com/m/@v/v1.0.0", 404, "not found"},
      {"/example.com/m/@v/v1.0.0.tar", 404, "not found"},
      {"/example.com/m/@v/list/x", 404, "not found"},
      {"/example.com/m/@latest/x", 404, "not found"},
      {"/@v/list", 404, "not found"},
      {"/@latest", 404, "not found"},
      {"/sumdb/sum.example.org/supported", 404, "not found"},
      // Major version disagreement: well-formed, cannot exist, 404.
      {"/example.com/m/@v/v2.0.0.mod", 404,
       "not found: example.com/m@v2.0.0: invalid version: should be v0 or v1, not v2"},
      {"/example.com/m/v2/@v/v1.0.0.zip", 404, "should be v2, not v1"},
      {"/example.com/m/v2/@v/v3.0.0.info", 404, "should be v2, not v3"},
      {"/gopkg.in/yaml.v2/@v/v3.0.0.mod", 404, "should be v2, not v3"},
      {"/example.com/m/@v/v2.0.0.info", 404, "should be v0 or v1, not v2"},
      // Malformed targets.
      {"/example.com/m/@v/list?x=1", 400, "query"},
      {"/example.com/m/@v/list?", 400, "query"},
      {"example.com/m/@v/list", 400, "must start with '/'"},
      {"", 400, "must start with '/'"},
      {"/example.com/m/@v/v1.0.0%00.info", 400, "control, non-ASCII or backslash"},
      {"/example.com/m\0/@v/list"s, 400, "control, non-ASCII or backslash"},
      {"/example.com/m/@v/v1.0.0\n.info", 400, "control"},
      {"/example.com/m/@v/v1.0.0\x7f.info", 400, "control"},
      {"/example.com/m/@v/v1.0.0%7f.info", 400, "control"},
      {"/example.com/m/@v/v1.0.0%09.info", 400, "control"},
      {"/example.com/caf\xc3\xa9/@v/list", 400, "non-ASCII"},
      {"/example.com/caf%C3%A9/@v/list", 400, "non-ASCII"},
      {"/example.com\\m/@v/list", 400, "backslash"},
      {"/example.com%5cm/@v/list", 400, "encoded slash or backslash"},
      {"/example.com%5Cm/@v/list", 400, "encoded slash or backslash"},
      {"/example.com%2fm/@v/list", 400, "encoded slash"},
      {"/example.com/m/@v/v1.0.0%2F..%2F..%2Fx.info", 400, "encoded slash"},
      {"/example.com/m/@v%2Flist", 400, "encoded slash"},
      {"/example.com/m/@v/list%", 400, "malformed percent-escape"},
      {"/example.com/m/@v/list%2", 400, "malformed percent-escape"},
      {"/example.com/m/@v/list%zz", 400, "malformed percent-escape"},
      {"/example.com/m/@v/list%g0", 400, "malformed percent-escape"},
      {"/example.com//m/@v/list", 400, "segment"},
      {"/example.com/m/@v/list/", 400, "segment"},
      {"//example.com/m/@v/list", 400, "segment"},
      {"/example.com/./m/@v/list", 400, "segment"},
      {"/example.com/../m/@v/list", 400, "segment"},
      {"/example.com/%2e%2e/m/@v/list", 400, "segment"},
      {"/example.com/m/..", 400, "segment"},
      {"/" + std::string(4096, 'a'), 400, "longer than 4096"},
      // Invalid module paths behind a real endpoint.
      {"/github.com/Azure/x/@v/list", 400, "invalid escaped module path \"github.com/Azure/x\""},
      {"/example.com/%21/@v/list", 400, "invalid case-encoding"},
      {"/example.com/!!a/@v/list", 400, "invalid case-encoding"},
      {"/example/m/@v/list", 400, "missing dot in first path element"},
      {"/example.com/m/v1/@latest", 400, "invalid version"},
      {"/example.com/m/v0/@v/list", 400, "invalid version"},
      {"/example.com/m/v02/@v/list", 400, "invalid version"},
      {"/example.com/CON/@v/list", 400, "invalid escaped module path"},
      {"/example.com/a~1/@v/list", 400, "trailing tilde"},
      {"/example.com/a+b/@v/list", 400, "invalid char '+'"},
      {"/example.com/a%20b/@v/list", 400, "invalid char ' '"},
      {"/example.com/a%22b/@v/list", 400, "\"example.com/a\\\"b\""},
      {"/example.com/" + std::string(600, 'a') + "/@v/list", 400, "longer than"},
      // Invalid versions.
      {"/example.com/m/@v/.info", 400, "invalid escaped version"},
      {"/example.com/m/@v/-x.info", 400, "must not start with '-'"},
      {"/example.com/m/@v/--upload-pack=x.info", 400, "must not start with '-'"},
      {"/example.com/m/@v/%2Dx.info", 400, "must not start with '-'"},
      {"/example.com/m/@v/v1.0.0-RC1.zip", 400, "invalid escaped version"},
      {"/example.com/m/@v/v1.0.0-!.zip", 400, "invalid escaped version"},
      {"/example.com/m/@v/v1.0.0!.zip", 400, "invalid escaped version"},
      {"/example.com/m/@v/aux.info", 400, "invalid escaped version"},
      {"/example.com/m/@v/v1.2.mod", 400, "not canonical"},
      {"/example.com/m/@v/v1.2.3+meta.zip", 400, "not canonical"},
      {"/example.com/m/@v/master.mod", 400, "not canonical"},
      {"/example.com/m/@v/v1.0.0-%21r%21c1+x.zip", 400, "not canonical"},
      {"/example.com/m/@v/.hidden.info", 400, "invalid version query"},
      {"/example.com/m/@v/a..b.info", 400, "invalid version query"},
      {"/example.com/m/@v/a%20b.info", 400, "invalid version query"},
      {"/example.com/m/@v/a#b.info", 400, "invalid version query"},
      {"/example.com/m/@v/a@b.info", 400, "invalid version query"},
      {"/example.com/m/@v/a%25b.info", 400, "invalid version query"},
      {"/example.com/m/@v/" + std::string(129, 'a') + ".info", 400, "invalid version query"},
  };
  for (const auto& c : cases) {
    auto result = parse_request(c.target);
    const auto* bad = std::get_if<BadRequest>(&result);
    ASSERT_NE(bad, nullptr) << c.target << " accepted";
    EXPECT_EQ(bad->status, c.status) << c.target << ": " << bad->message;
    EXPECT_NE(bad->message.find(c.message), std::string::npos)
        << c.target << ": \"" << bad->message << "\" lacks \"" << c.message << "\"";
  }
}

// Every message is one line of printable ASCII that echoes a bounded amount of the input.
TEST(ParseRequest, MessagesAreSafeAndShort) {
  std::vector<std::string> targets = {
      "/" + std::string(4096, '\n'),
      "/" + std::string(4000, '\n') + "?",
      "/" + std::string(4000, '%'),
      "/" + std::string(3000, 'a') + "%2F",
      "/" + std::string(3000, '\xff'),
      "/example.com/" + std::string(3000, '"') + "/@v/list",
      "/example.com/" + std::string(3000, 'A') + "/@v/list",
      "/example.com/m/@v/" + std::string(3000, '!') + ".info",
      "/example.com/m/@v/" + std::string(3000, 'a') + ".info",
      "/example.com/m/@v/" + std::string(3000, 'a') + ".zip",
      "/example.com/m/@v/-" + std::string(3000, 'a') + ".zip",
      "/example.com/" + std::string(3000, 'a') + "/x",
      "/example.com/" + std::string(254, 'x') + "/v2/@v/v3.0.0-" + std::string(2000, 'a') + ".zip",
  };
  for (std::size_t i = 0; i < 256; ++i) {
    targets.push_back("/example.com/m/@v/v1.0.0" + std::string(1, static_cast<char>(i)) + ".info");
  }
  for (const auto& t : targets) {
    auto result = parse_request(t);
    const auto* bad = std::get_if<BadRequest>(&result);
    if (bad == nullptr) continue;  // a few single bytes are legal in a query
    EXPECT_LE(bad->message.size(), 600u) << bad->message;
    for (char c : bad->message) {
      ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int{c} << " in " << bad->message;
    }
  }
}

TEST(ParseRequest, LengthLimitIsExact) {
  // A 4096-byte target is parsed (and is a non-endpoint, 404); one more byte is a 400.
  std::string target = "/example.com/" + std::string(4096 - 13, 'x');
  ASSERT_EQ(target.size(), 4096u);
  EXPECT_EQ(std::get<BadRequest>(parse_request(target)).status, 404);
  EXPECT_EQ(std::get<BadRequest>(parse_request(target + "x")).status, 400);
}

TEST(KeyOf, RoundTripsThroughParse) {
  const std::string_view keys[] = {
      "github.com/!azure/x/@v/list",
      "github.com/!azure/x/@latest",
      "github.com/!azure/x/@v/v1.0.0-!r!c1.info",
      "github.com/!azure/x/@v/!main.info",
      "github.com/!azure/x/v2/@v/v2.0.0.mod",
      "example.com/m/@v/v3.0.0+incompatible.zip",
  };
  for (auto key : keys) {
    auto result = parse_request("/" + std::string(key));
    const auto* r = std::get_if<Request>(&result);
    ASSERT_NE(r, nullptr) << key << ": " << std::get<BadRequest>(result).message;
    EXPECT_EQ(key_of(*r), key);
  }
}

}  // namespace
}  // namespace stoa::module
