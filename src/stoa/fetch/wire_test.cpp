#include "stoa/fetch/wire.hpp"

#include <gtest/gtest.h>

namespace stoa::fetch {
namespace {

TEST(PathEscape, MatchesTheGoCommand) {
  // Expected values from Go: strings.ReplaceAll(url.PathEscape(s), "%2F", "/").
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"golang.org/x/text/@v/list", "golang.org/x/text/@v/list"},
      {"github.com/!azure/go-autorest/@v/v1.0.0-!r!c1.info",
       "github.com/%21azure/go-autorest/@v/v1.0.0-%21r%21c1.info"},
      {"m.example/@v/v2.0.0+incompatible.zip", "m.example/@v/v2.0.0+incompatible.zip"},
      {"a-b_c.d~e/$&+:=@", "a-b_c.d~e/$&+:=@"},
      {"a,b;c?d#e f%g", "a%2Cb%3Bc%3Fd%23e%20f%25g"},
      {"!\"'()*<>[]\\^`{|}", "%21%22%27%28%29%2A%3C%3E%5B%5D%5C%5E%60%7B%7C%7D"},
      {"\x7f\x80\xff", "%7F%80%FF"},
      {"sumdb/sum.example.org/lookup/m.example@v1.0.0",
       "sumdb/sum.example.org/lookup/m.example@v1.0.0"},
      {"", ""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(path_escape(in), want) << in;
}

TEST(RedirectProtocols, NeverFromHttpsToHttp) {
  EXPECT_EQ(redirect_protocols("https://a.example/x"), "https");
  EXPECT_EQ(redirect_protocols("HTTPS://a.example/x"), "https");
  EXPECT_EQ(redirect_protocols("http://a.example/x"), "http,https");
  EXPECT_EQ(redirect_protocols("http://https.example/x"), "http,https");
}

TEST(IsPlainText, GoCommandRules) {
  for (const char* yes : {"text/plain", "text/plain; charset=utf-8", "TEXT/PLAIN;CHARSET=UTF-8",
                          "text/plain; charset=\"us-ascii\"", " text/plain ; format=flowed"}) {
    EXPECT_TRUE(is_plain_text(yes)) << yes;
  }
  for (const char* no : {"", "text/html", "text/plain-ish", "text/plain; charset=iso-8859-1",
                         "application/json", "text/plainx; charset=utf-8"}) {
    EXPECT_FALSE(is_plain_text(no)) << no;
  }
}

TEST(SanitizeLine, Table) {
  struct Case {
    std::string in;
    std::size_t max;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"first\nsecond", 100, "first"},
      {"  padded \r\n", 100, "padded"},
      {"tab\there", 100, "tab here"},
      {"bell\a nul" + std::string(1, '\0') + "x", 100, "bell? nul?x"},
      {"del\x7f", 100, "del?"},
      {"c1 \xc2\x85 \xc2\x9b", 100, "c1 ? ?"},
      {"caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", 100,
       "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80"},
      {"overlong \xc0\x80 \xe0\x80\x80", 100, "overlong ?? ???"},
      {"surrogate \xed\xa0\x80", 100, "surrogate ???"},
      {"truncated \xe2\x9c", 100, "truncated ??"},
      {"bidi \xe2\x80\xae \xe2\x81\xa6 \xe2\x80\xa8", 100, "bidi ? ? ?"},
      {"abcdef", 3, "abc"},
      {"ab\xc3\xa9", 3, "ab"},  // never cut inside a code point
  };
  for (const auto& c : cases) EXPECT_EQ(sanitize_line(c.in, c.max), c.want) << c.in;
}

TEST(ErrorDetail, OnlyPlainTextFirstLine) {
  EXPECT_EQ(error_detail("text/plain", "not found: x\n\nmore"), "not found: x");
  EXPECT_EQ(error_detail("text/html", "not found: x"), std::nullopt);
  EXPECT_EQ(error_detail("text/plain", "   \nx"), std::nullopt);
  EXPECT_EQ(error_detail("text/plain", std::string(600, 'a'))->size(), 512u);
  EXPECT_EQ(error_detail("text/plain", std::string(600, 'a'), 10)->size(), 10u);
}

}  // namespace
}  // namespace stoa::fetch
