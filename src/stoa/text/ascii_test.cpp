#include "stoa/text/ascii.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

namespace stoa::text {
namespace {

TEST(Ascii, ClassesAreAsciiOnly) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    EXPECT_EQ(is_digit(c), b >= '0' && b <= '9') << b;
    EXPECT_EQ(is_alpha(c), (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) << b;
    EXPECT_EQ(is_alnum(c), is_alpha(c) || is_digit(c)) << b;
    EXPECT_EQ(is_space(c),
              b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r')
        << b;
    EXPECT_EQ(is_ows(c), b == ' ' || b == '\t') << b;
    if (b >= 0x80) {
      EXPECT_EQ(to_lower(c), c) << b;
      EXPECT_EQ(to_upper(c), c) << b;
    }
  }
  EXPECT_EQ(to_lower('Q'), 'q');
  EXPECT_EQ(to_upper('q'), 'Q');
  EXPECT_EQ(to_lower('['), '[');
}

TEST(Ascii, HexValue) {
  const std::vector<std::pair<char, int>> cases = {
      {'0', 0},  {'9', 9},  {'a', 10}, {'f', 15}, {'A', 10},  {'F', 15},
      {'g', -1}, {'G', -1}, {'/', -1}, {':', -1}, {'\0', -1}, {'\xff', -1},
  };
  for (const auto& [c, want] : cases) EXPECT_EQ(hex_value(c), want) << c;
  EXPECT_EQ(lower_hex_value('a'), 10);
  EXPECT_EQ(lower_hex_value('A'), -1);
  EXPECT_EQ(lower_hex_value('7'), 7);
}

TEST(Ascii, ParseU64) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("65535"), 65535u);
  EXPECT_EQ(parse_u64("9999999999999999999"), 9999999999999999999u);  // 19 digits
  for (const char* bad : {"", "+1", "-1", " 1", "1 ", "1a", "0x10", "10000000000000000000"}) {
    EXPECT_EQ(parse_u64(bad), std::nullopt) << bad;
  }
}

TEST(Ascii, CaseInsensitiveCompare) {
  EXPECT_TRUE(iequals("Content-Type", "content-TYPE"));
  EXPECT_FALSE(iequals("Content-Type", "content-type "));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // É and é: ASCII only
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(istarts_with("Bearer abc", "bearer "));
  EXPECT_FALSE(istarts_with("Bear", "bearer"));
  EXPECT_EQ(to_lower(std::string_view("MiXeD-\xc3\x89")), "mixed-\xc3\x89");
}

TEST(Ascii, Trim) {
  const std::vector<std::pair<std::string, std::string>> ows = {
      {" \ta b\t ", "a b"}, {"\r\nx\r\n", "\r\nx\r\n"}, {"", ""}, {" \t ", ""}};
  for (const auto& [in, want] : ows) EXPECT_EQ(trim_ows(in), want) << in;
  const std::vector<std::pair<std::string, std::string>> space = {
      {" \t\r\n\v\fa b\f\v\n\r\t ", "a b"},
      {"x", "x"},
      {"", ""},
      {"\n", ""},
      {"\xa0x\xa0", "\xa0x\xa0"}};
  for (const auto& [in, want] : space) EXPECT_EQ(trim_space(in), want) << in;
}

TEST(Ascii, PercentDecode) {
  const std::vector<std::pair<std::string, std::optional<std::string>>> cases = {
      {"a%2Fb%2fc", "a/b/c"}, {"a+b", "a+b"},       {"%00", std::string(1, '\0')},
      {"%ff", "\xff"},        {"%", std::nullopt},  {"%4", std::nullopt},
      {"%4g", std::nullopt},  {"x%", std::nullopt}, {"", ""},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(percent_decode(in), want) << in;
}

TEST(Ascii, ToHex) {
  EXPECT_EQ(to_hex(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(to_hex(""), "");
  const std::array<std::uint8_t, 3> bytes = {0x00, 0x7f, 0xfe};
  EXPECT_EQ(to_hex(bytes), "007ffe");
  std::string out = "x";
  append_hex(out, bytes);
  EXPECT_EQ(out, "x007ffe");
}

}  // namespace
}  // namespace stoa::text
