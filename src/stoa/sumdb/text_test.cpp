#include "stoa/sumdb/text.hpp"
#include "stoa/text/ascii.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace stoa::sumdb::detail {
namespace {

TEST(Base64, DecodesLikeGoStdEncoding) {
  struct Case {
    std::string_view in;
    std::optional<std::string_view> out;
  };
  const Case cases[] = {
      {"", ""},
      {"AA==", std::string_view("\0", 1)},
      {"AB==", std::string_view("\0", 1)},  // non-zero trailing bits: Go's StdEncoding accepts
      {"AAA=", std::string_view("\0\0", 2)},
      {"YWJj", "abc"},
      {"YWJjZA==", "abcd"},
      {"YW\nJj\r\n", "abc"},  // '\r' and '\n' are skipped anywhere
      {"YWJjZA=\n=", "abcd"},
      {"\n", ""},
      {"YWJ", std::nullopt},       // unpadded
      {"YWJjZA", std::nullopt},    // unpadded
      {"YWJjZA=", std::nullopt},   // half padded
      {"YWJjZ===", std::nullopt},  // padding at position 1
      {"====", std::nullopt},
      {"YW=j", std::nullopt},          // '=' then data
      {"YWJjZA==YWJj", std::nullopt},  // data after padding
      {"YWJj ", std::nullopt},         // space
      {"YWJj\t", std::nullopt},
      {"YWJ-", std::nullopt},  // URL alphabet
      {"YWJ_", std::nullopt},
      {"YW\x80j", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(decode_base64(c.in), c.out) << "input: " << c.in;
  }
}

TEST(Base64, EncodeRoundTrips) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    const std::string enc = encode_base64(bytes);
    EXPECT_EQ(enc.size() % 4, 0u);
    EXPECT_EQ(decode_base64(enc), bytes);
    bytes += static_cast<char>(i * 37 + 11);
  }
  EXPECT_EQ(encode_base64("abcd"), "YWJjZA==");
  EXPECT_EQ(encode_base64("ab"), "YWI=");
}

TEST(Utf8, DecodeRuneLikeGo) {
  struct Case {
    std::string_view in;
    char32_t rune;
    std::size_t size;
  };
  const Case cases[] = {
      {"a", U'a', 1},
      {"\xC3\xA9", 0xE9, 2},
      {"\xE2\x80\x94", 0x2014, 3},
      {"\xF0\x9F\x98\x80", 0x1F600, 4},
      {"\xEF\xBF\xBD", 0xFFFD, 3},    // a real U+FFFD is valid
      {"\xC0\x80", k_rune_error, 1},  // overlong
      {"\xC1\xBF", k_rune_error, 1},
      {"\xE0\x80\x80", k_rune_error, 1},
      {"\xED\xA0\x80", k_rune_error, 1},      // surrogate
      {"\xF4\x90\x80\x80", k_rune_error, 1},  // > U+10FFFF
      {"\xF5\x80\x80\x80", k_rune_error, 1},
      {"\xE2\x80", k_rune_error, 1},  // truncated
      {"\x80", k_rune_error, 1},
      {"\xFF", k_rune_error, 1},
  };
  for (const auto& c : cases) {
    const auto r = decode_rune(c.in, 0);
    EXPECT_EQ(r.value, c.rune) << stoa::text::to_hex(c.in);
    EXPECT_EQ(r.size, c.size) << stoa::text::to_hex(c.in);
  }
  EXPECT_TRUE(valid_utf8("h\xC3\xA9llo \xE2\x80\x94"));
  EXPECT_FALSE(valid_utf8("h\xC3"));
}

TEST(Unicode, IsSpace) {
  for (const char32_t r :
       {U' ', U'\t', U'\n', U'\v', U'\f', U'\r', char32_t{0x85}, char32_t{0xA0}, char32_t{0x1680},
        char32_t{0x2000}, char32_t{0x200A}, char32_t{0x2028}, char32_t{0x2029}, char32_t{0x202F},
        char32_t{0x205F}, char32_t{0x3000}}) {
    EXPECT_TRUE(is_space(r)) << static_cast<unsigned>(r);
  }
  for (const char32_t r :
       {U'a', U'+', char32_t{0x200B}, char32_t{0x180E}, char32_t{0xFEFF}, char32_t{0x1F}}) {
    EXPECT_FALSE(is_space(r)) << static_cast<unsigned>(r);
  }
}

TEST(ParseInt, LikeStrconvParseInt) {
  constexpr auto k_max = std::numeric_limits<std::int64_t>::max();
  constexpr auto k_min = std::numeric_limits<std::int64_t>::min();
  struct Case {
    std::string_view in;
    std::optional<std::int64_t> out;
  };
  const Case cases[] = {
      {"0", 0},
      {"007", 7},
      {"+5", 5},
      {"-5", -5},
      {"-0", 0},
      {"9223372036854775807", k_max},
      {"9223372036854775808", std::nullopt},
      {"-9223372036854775808", k_min},
      {"-9223372036854775809", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"+", std::nullopt},
      {"-", std::nullopt},
      {"1_000", std::nullopt},
      {"0x10", std::nullopt},
      {" 1", std::nullopt},
      {"1 ", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_int64(c.in), c.out) << c.in;
  EXPECT_EQ(parse_canonical_uint("0"), 0);
  EXPECT_EQ(parse_canonical_uint("10"), 10);
  EXPECT_EQ(parse_canonical_uint("010"), std::nullopt);
  EXPECT_EQ(parse_canonical_uint("+1"), std::nullopt);
  EXPECT_EQ(parse_canonical_uint("-1"), std::nullopt);
  EXPECT_EQ(parse_canonical_uint("-0"), std::nullopt);
  EXPECT_EQ(parse_canonical_uint("9223372036854775807"), k_max);
  EXPECT_EQ(parse_canonical_uint("9223372036854775808"), std::nullopt);
}

}  // namespace
}  // namespace stoa::sumdb::detail
