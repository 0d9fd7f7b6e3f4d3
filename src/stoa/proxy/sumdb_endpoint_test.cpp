#include "stoa/proxy/sumdb_endpoint.hpp"

#include <gtest/gtest.h>

namespace stoa::proxy {
namespace {

std::variant<SumdbRequest, Response> parse(std::string_view target) {
  return parse_sumdb_target(
      target, [](std::string_view name) { return name == "sum.example"; },
      [](std::string_view module) { return module.starts_with("corp.example/"); });
}

TEST(ParseSumdbTarget, Table) {
  struct Case {
    const char* target;
    int status;  // 0: parsed
    const char* path;
    const char* store_key;
  };
  const Case cases[] = {
      {"/sumdb/sum.example/supported", 0, "", ""},
      {"/sumdb/sum.example/latest", 0, "latest", ""},
      {"/sumdb/sum.example/lookup/example.com/%21m@v1.0.0", 0, "lookup/example.com/!m@v1.0.0",
       "sumdb/sum.example/lookup/example.com/!m@v1.0.0"},
      {"/sumdb/sum.example/tile/8/0/001", 0, "tile/8/0/001", "sumdb/sum.example/tile/8/0/001"},
      {"/sumdb/sum.example/tile/8/1/002.p/5", 0, "tile/8/1/002.p/5",
       "sumdb/sum.example/tile/8/1/002.p/5"},
      {"/sumdb/other.example/latest", 404, "", ""},                      // not proxied here
      {"/sumdb/sum.example", 404, "", ""},                               // no path
      {"/sumdb/sum.example/nothing", 404, "", ""},                       // no such endpoint
      {"/sumdb/sum.example/tile/4/0/001", 404, "", ""},                  // height other than 8
      {"/sumdb/sum.example/tile/8/0/1", 400, "", ""},                    // not canonical
      {"/sumdb/sum.example/lookup/example.com/m", 400, "", ""},          // no version
      {"/sumdb/sum.example/lookup/example.com/m@1.0.0", 400, "", ""},    // not semver
      {"/sumdb/sum.example/lookup/example.com/m@v1.0.0%", 400, "", ""},  // bad escape
      {"/sumdb/sum.example/lookup/Example.com/m@v1.0.0", 400, "", ""},   // not case-encoded
      {"/sumdb/sum.example/lookup/corp.example/x@v1.0.0", 403, "", ""},  // private
  };
  for (const Case& c : cases) {
    auto got = parse(c.target);
    if (c.status == 0) {
      ASSERT_TRUE(std::holds_alternative<SumdbRequest>(got)) << c.target;
      const auto& s = std::get<SumdbRequest>(got);
      EXPECT_EQ(s.name, "sum.example") << c.target;
      EXPECT_EQ(s.path, c.path) << c.target;
      EXPECT_EQ(s.store_key, c.store_key) << c.target;
    } else {
      ASSERT_TRUE(std::holds_alternative<Response>(got)) << c.target;
      EXPECT_EQ(std::get<Response>(got).status, c.status) << c.target;
    }
  }
  const auto lookup =
      std::get<SumdbRequest>(parse("/sumdb/sum.example/lookup/example.com/%21m@v1.0.0"));
  EXPECT_EQ(lookup.module, "example.com/M");
  EXPECT_EQ(lookup.version, "v1.0.0");
  EXPECT_TRUE(std::get<SumdbRequest>(parse("/sumdb/sum.example/supported")).supported);
  EXPECT_TRUE(std::get<SumdbRequest>(parse("/sumdb/sum.example/tile/8/0/001")).tile);
}

}  // namespace
}  // namespace stoa::proxy
