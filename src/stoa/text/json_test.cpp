#include "stoa/text/json.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "stoa/text/utf8.hpp"

namespace stoa::text {
namespace {

std::string parse(const std::string& literal) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(literal, ec);
  EXPECT_FALSE(ec) << literal;
  if (ec || !v.is_string()) return "<not a JSON string>";
  return std::string(v.as_string());
}

TEST(JsonString, Table) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", R"("")"},
      {"plain text", R"("plain text")"},
      {"q\"b\\s/", R"("q\"b\\s/")"},
      {"\b\f\n\r\t", R"("\b\f\n\r\t")"},
      {std::string("\x00\x01\x1f\x7f", 4), R"("\u0000\u0001\u001f\u007f")"},
      {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
      // Invalid UTF-8: U+FFFD per byte.
      {"a\xffz", "\"a\xef\xbf\xbdz\""},
      {"\xc3", "\"\xef\xbf\xbd\""},                                                  // truncated
      {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},                                  // overlong '/'
      {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},                  // surrogate
      {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},  // > U+10FFFF
      {"\x80", "\"\xef\xbf\xbd\""},  // stray continuation
      {"\xe2\x82\n", "\"\xef\xbf\xbd\xef\xbf\xbd\\n\""},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(json_string(in), want) << in;
    std::string out = "x";
    append_json_string(out, in);
    EXPECT_EQ(out, "x" + want);
  }
}

TEST(JsonString, AsciiMode) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"caf\xc3\xa9", R"("caf\u00e9")"},
      {"\xe2\x80\xae", R"("\u202e")"},  // right-to-left override: visible in a log
      {"\xf0\x9f\x98\x80", R"("\ud83d\ude00")"},
      {"\xff", R"("\ufffd")"},
      {"a\"\n\x01", R"("a\"\n\u0001")"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(json_string(in, Json::ascii), want) << in;
}

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    char32_t cp = 0;
    const std::size_t n = decode_utf8(s, cp);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

// Every string of up to 2 bytes, and of 3 bytes from a set of interesting ones, parses back,
// and equals the input when the input is valid UTF-8.
TEST(JsonString, ParsesBackOnEveryShortInput) {
  std::vector<std::string> inputs;
  for (int a = 0; a < 256; ++a) {
    inputs.emplace_back(1, static_cast<char>(a));
    for (int b = 0; b < 256; ++b) inputs.push_back({static_cast<char>(a), static_cast<char>(b)});
  }
  const std::string picks =
      std::string("\x00\x22\x5c\x7f\x80\xbf\xc2\xe0\xed\xef\xf0\xf4\xff a", 15);
  for (const char a : picks)
    for (const char b : picks)
      for (const char c : picks) inputs.push_back({a, b, c});
  for (const auto& in : inputs) {
    for (const Json mode : {Json::utf8, Json::ascii}) {
      const std::string out = json_string(in, mode);
      const std::string back = parse(out);
      if (valid_utf8(in)) {
        EXPECT_EQ(back, in) << out;
      }
      EXPECT_TRUE(valid_utf8(out)) << out;
      if (mode == Json::ascii) {
        for (const char c : out) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << out;
      }
    }
  }
}

TEST(Utf8, Decode) {
  char32_t cp = 0;
  EXPECT_EQ(decode_utf8("", cp), 0u);
  EXPECT_EQ(decode_utf8("a", cp), 1u);
  EXPECT_EQ(cp, U'a');
  EXPECT_EQ(decode_utf8("\xc3\xa9x", cp), 2u);
  EXPECT_EQ(cp, U'\u00e9');
  EXPECT_EQ(decode_utf8("\xf0\x9f\x98\x80", cp), 4u);
  EXPECT_EQ(cp, U'\U0001F600');
  EXPECT_EQ(decode_utf8("\xe0\x80\x80", cp), 0u);
  EXPECT_EQ(decode_utf8("\xf4\x8f\xbf\xbf", cp), 4u);
  EXPECT_EQ(cp, U'\U0010FFFF');
  EXPECT_EQ(decode_utf8("\xf0\x9f\x98", cp), 0u);
}

}  // namespace
}  // namespace stoa::text
