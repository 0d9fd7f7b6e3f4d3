#include "stoa/proxy/validate.hpp"

#include <gtest/gtest.h>

#include <string>

#include "stoa/proxy/gomod.hpp"
#include "stoa/proxy/info_json.hpp"

namespace stoa::proxy {
namespace {

using namespace std::string_literals;

TEST(InfoProblem, AcceptsWhatTheGoCommandAccepts) {
  for (const std::string& body : {
           R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})"s, R"({"Version":"v1.0.0"})"s,
           R"(  {"version":"v1.0.0"}  )"s,                 // case-insensitive key
           R"({"Version":"v9.9.9","VERSION":"v1.0.0"})"s,  // last one wins
           R"({"Version":"v1.0.0","version":null})"s,      // null leaves it as it was
           R"({"Ver\u017Fion":"v1.0.0"})"s,                // long s folds to S
           R"({"Version":"\u00761.0.0"})"s,                // escapes are decoded
           R"({"Version":"v1.0.0","Time":"2020-01-01T1:00:00,5+24:60"})"s,  // time.Parse's slack
           R"({"Version":"v1.0.0","Origin":{"VCS":"git","hash":null,"X":[1,{}]}})"s,
           R"({"Version":"v1.0.0","Origin":null,"Extra":{"a":[true,false,-1.5e3]}})"s,
           "{\"Version\":\"v1.0.0\",\"Other\":\"\xff\"}"s,  // bad UTF-8 inside a string
       }) {
    EXPECT_EQ(info_problem(body, "v1.0.0"), std::nullopt) << body;
  }
}

TEST(InfoProblem, RefusesWhatTheGoCommandRefuses) {
  for (const std::string& body : {
           R"({"Version":"v1.0.0","VERSION":"v9.9.9"})"s,  // the go command sees v9.9.9
           R"({"Version":"v1.0.0","time":"not a time"})"s,
           R"({"Version":"v1.0.0","Origin":5})"s,
           R"({"Version":"v1.0.0","Origin":{"URL":1}})"s,
           R"({"Version":"v1.0.0","Time":"\u0032020-01-01T00:00:00Z"})"s,  // raw text is parsed
           R"({"Version":"v1.0.0","Time":"2020-02-30T00:00:00Z"})"s,
           R"({"Version":["v1.0.0"]})"s,
           R"({"Version":"v1.0.0",})"s,
           R"({"Version":"v1.0.0"} x)"s,
           "\xef\xbb\xbf{\"Version\":\"v1.0.0\"}"s,  // a BOM is not JSON
           "{\"Version\":\"v1.0.0\",\"X\":\"\x01\"}"s,
           R"(null)"s,  // decodes to an empty Version
           R"(<html><body>Not found</body></html>)"s,
           ""s,
       }) {
    EXPECT_NE(info_problem(body, "v1.0.0"), std::nullopt) << body;
  }
}

TEST(InfoJson, NestingLimitIsEncodingJsons) {
  const auto nested = [](std::size_t depth) {
    return R"({"Version":"v1.0.0","X":)" + std::string(depth - 1, '[') +
           std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(decode_rev_info(nested(10000)));
  EXPECT_FALSE(decode_rev_info(nested(10001)));
}

TEST(GoModProblem, AcceptsWhatTheGoCommandAccepts) {
  for (const std::string& body : {
           "module example.com/m\n"s,
           "module example.com/m"s,                         // no final newline
           "module \"example.com/m\"\r\n\r\ngo 1.21\r\n"s,  // quotes, CRLF
           "// comment\nmodule example.com/m // suffix\n"s, "module (\n\texample.com/m\n)\n"s,
           "module other.example/fork\n"s,  // a fork kept its module line (replace target)
           "module example.com/m\ngo 1.21.x\nfrobnicate (\n\ta b c\n)\nexclude bad\n"s,
           "module example.com/m\nretract [nonsense\nrequire example.com/a/v2 v2.0.0\n"s,
           "module example.com/m\nrequire example.com/a v2.0.0+incompatible\n"s,
           "module example.com/m\nrequire example.com/a v1\n"s,  // CanonicalVersion: v1.0.0
       }) {
    EXPECT_EQ(go_mod_problem(body), std::nullopt) << body;
  }
}

TEST(GoModProblem, RefusesWhatTheGoCommandRefuses) {
  for (const std::string& body : {
           ""s,               // missing module line
           "go 1.21\n"s,      // missing module line
           "module \"\"\n"s,  // empty path
           "<!DOCTYPE html>\n<html><body>404</body></html>\n"s,
           "\xef\xbb\xbfmodule example.com/m\n"s,            // BOM: unexpected input character
           "module example.com/m\nmodule example.com/m\n"s,  // repeated module statement
           "module `example.com/m`\n"s,                      // backquotes are not unquoted
           "module example.com/m /* x */\n"s,
           "module \"example.com/m\n"s,  // unterminated string
           "module example.com/m\ngo 1.21 1.22\n"s,
           "module example.com/m\nrequire example.com/a 1.0.0\n"s,
           "module example.com/m\nrequire example.com/a/v2 v1.0.0\n"s,
           "module example.com/m\nrequire (\n\texample.com/a v1.0.0\n"s,  // unterminated block
           "module example.com/m\x00\n"s,
       }) {
    EXPECT_NE(go_mod_problem(body), std::nullopt) << body;
  }
}

TEST(GoModLax, ModulePathIsUnquoted) {
  EXPECT_EQ(parse_go_mod_lax("module \"example.com/\\x6d\"\n")->module_path, "example.com/m");
  EXPECT_EQ(parse_go_mod_lax("module example.com/m//x\n")->module_path, "example.com/m");
  EXPECT_FALSE(parse_go_mod_lax("go 1.21\n")->has_module);
}

TEST(ResolvedInfoProblem, CanonicalVersionOfTheRightMajorOnly) {
  struct Case {
    const char* body;
    const char* module;
    bool ok;
  };
  const Case cases[] = {
      {R"({"Version":"v1.2.3","Time":"2020-01-01T00:00:00Z"})", "example.com/m", true},
      {R"({"Version":"v2.0.0"})", "example.com/m/v2", true},
      {R"({"Version":"v2.0.0"})", "example.com/m", false},  // major disagrees with the path
      {R"({"Version":"v1.2"})", "example.com/m", false},    // not canonical
      {R"({"Time":"2020-01-01T00:00:00Z"})", "example.com/m", false},
      {"not json", "example.com/m", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(!resolved_info_problem(c.body, c.module), c.ok) << c.body << " for " << c.module;
  }
}

}  // namespace
}  // namespace stoa::proxy
