#include "stoa/index/feed.hpp"

#include <gtest/gtest.h>

namespace stoa::index {
namespace {

TEST(Rfc3339, ParsesAndFormats) {
  struct Case {
    const char* in;
    std::optional<std::int64_t> ns;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"2019-04-10T19:08:52.997264Z", 1554923332997264000},
      {"2019-04-10T21:08:52.997264+02:00", 1554923332997264000},
      {"2019-04-10T19:08:52.9972641234Z", 1554923332997264123},
      {"2024-02-29T00:00:00Z", 1709164800LL * 1000000000},
      {"2023-02-29T00:00:00Z", std::nullopt},
      {"2019-04-10 19:08:52Z", std::nullopt},
      {"2019-04-10T19:08:52", std::nullopt},
      {"2019-04-10T19:08:52.Z", std::nullopt},
      {"2019-04-10T24:00:00Z", std::nullopt},
      {"2019-13-10T19:08:52Z", std::nullopt},
      {"1969-12-31T23:59:59Z", std::nullopt},
      {"2262-04-11T23:47:15Z", 9223372035000000000},
      {"9999-12-31T23:59:59Z", std::nullopt},  // beyond int64 nanoseconds
      {"2019-04-10T19:08:52Zjunk", std::nullopt},
      {"", std::nullopt},
      {"yesterday", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_rfc3339(c.in), c.ns) << c.in;
  EXPECT_EQ(format_rfc3339(1554923332997264000), "2019-04-10T19:08:52.997264Z");
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1709164800LL * 1000000000 + 1), "2024-02-29T00:00:00.000000001Z");
  for (const std::int64_t ns : {0LL, 1LL, 1554923332997264000LL, 4102444799999999999LL}) {
    EXPECT_EQ(parse_rfc3339(format_rfc3339(ns)), ns);
  }
}

TEST(Feed, RendersThePublicIndexShape) {
  EXPECT_EQ(render_feed({{"example.com/a\"b", "v1.0.0", "", "", -1, 1554923332997264000, ""}}),
            "{\"Path\":\"example.com/a\\\"b\",\"Version\":\"v1.0.0\",\"Timestamp\":"
            "\"2019-04-10T19:08:52.997264Z\"}\n");
  EXPECT_EQ(render_feed({}), "");
}

TEST(Catalog, OriginWithInvalidUtf8StaysValidJson) {
  // An origin is operator text (a GOPROXY value); its bytes must not break the JSON line.
  const std::string line =
      render_catalog({{"example.com/m", "v1.0.0", "", "", 1, 0, "http://h/\xff\x01"}}, "");
  EXPECT_NE(line.find("\"Origin\":\"http://h/\xef\xbf\xbd\\u0001\""), std::string::npos) << line;
}

TEST(Catalog, CursorsRoundTripAndRejectGarbage) {
  const auto c = encode_cursor({"example.com/m", "v1.0.0"});
  EXPECT_EQ(c, "6578616d706c652e636f6d2f6d0a76312e302e30");  // as before skips existed
  EXPECT_EQ(decode_cursor(c), (Cursor{"example.com/m", "v1.0.0", 0}));
  const Cursor skipping{"example.com/m", "v1.0.0", 100000};
  EXPECT_EQ(decode_cursor(encode_cursor(skipping)), skipping);
  EXPECT_EQ(decode_cursor(encode_cursor({"", "", 7})), (Cursor{"", "", 7}));
  EXPECT_EQ(decode_cursor("zz"), std::nullopt);
  EXPECT_EQ(decode_cursor("abc"), std::nullopt);
  EXPECT_EQ(decode_cursor("6162"), std::nullopt);  // no separator
  auto hex = [](std::string_view raw) {
    std::string out;
    for (const char ch : raw) {
      out += "0123456789abcdef"[static_cast<unsigned char>(ch) >> 4];
      out += "0123456789abcdef"[static_cast<unsigned char>(ch) & 15];
    }
    return out;
  };
  EXPECT_EQ(decode_cursor(hex("m\nv\n12")), (Cursor{"m", "v", 12}));
  for (const auto* bad : {"m\nv\n", "m\nv\n0", "m\nv\n012", "m\nv\n-1", "m\nv\n1x", "m\nv\n1\n2",
                          "m\nv\n1000000000001", "m\nv\n99999999999999999999999"}) {
    EXPECT_EQ(decode_cursor(hex(bad)), std::nullopt) << bad;
  }
  EXPECT_NE(render_catalog({{"m", "v1", "h1:z", "h1:m", 5, 0, "o"}}, c).find("\"Next\":\"" + c),
            std::string::npos);
  EXPECT_EQ(render_catalog({}, ""), "{\"Versions\":[]}\n");
}

}  // namespace
}  // namespace stoa::index
