#include "stoa/module/version_list.hpp"

#include <gtest/gtest.h>

namespace stoa::module {
namespace {

TEST(ParseRfc3339, InstantsAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), (Instant{0, 0}));
  EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:00+01:00"), (Instant{0, 0}));
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59.25Z"), (Instant{-1, 250'000'000}));
  EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00.1234567899Z"), (Instant{1709208000, 123456789}));
  EXPECT_EQ(parse_rfc3339("0001-01-01T00:00:00Z"), (Instant{-62135596800, 0}));
  // Go's looser spellings: a one-digit hour, a ',' fraction, an offset of 24 hours.
  EXPECT_EQ(parse_rfc3339("1970-01-01T1:00:00,5Z"), (Instant{3600, 500'000'000}));
  EXPECT_EQ(parse_rfc3339("1970-01-02T00:00:00+24:00"), (Instant{0, 0}));
  for (const char* bad : {"", "2021-02-29T00:00:00Z", "2020-01-01T00:00:00", "2020-01-01t00:00:00Z",
                          "2020-01-01T00:00:00+25:00", "2020-01-01T100:00:00Z",
                          "2020-01-01T00:00:00.Z", "2020-01-01T00:00:00Z "}) {
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
  }
}

TEST(PseudoVersionTime, ItsTimestampOrNothing) {
  EXPECT_EQ(pseudo_version_time("v0.0.0-19700101000001-abcdefabcdef"), (Instant{1, 0}));
  EXPECT_EQ(pseudo_version_time("v1.2.4-0.19700101000002-abcdefabcdef+incompatible"),
            (Instant{2, 0}));
  EXPECT_EQ(pseudo_version_time("v0.0.0-20211301000000-abcdefabcdef"), std::nullopt);
  EXPECT_EQ(pseudo_version_time("v1.0.0"), std::nullopt);
}

TEST(NextField, SplitsAsStringsFields) {
  std::string_view rest =
      " \tv1.0.0\xc2\xa0"
      "2020-01-01T00:00:00Z\xe2\x80\x8bx \r";
  EXPECT_EQ(next_field(rest), "v1.0.0");
  // U+200B is no space to unicode.IsSpace.
  EXPECT_EQ(next_field(rest), "2020-01-01T00:00:00Z\xe2\x80\x8bx");
  EXPECT_EQ(next_field(rest), "");
}

TEST(LatestFromList, TheNewestByTime) {
  // Semver order and time order disagree: time decides.
  EXPECT_EQ(latest_from_list("v0.0.0-20240101000000-aaaaaaaaaaaa\n"
                             "v0.0.1-0.20230101000000-bbbbbbbbbbbb\n"),
            "v0.0.0-20240101000000-aaaaaaaaaaaa");
  // A tag counts only with a time column; the column outranks a pseudo-version's own time.
  EXPECT_EQ(latest_from_list("v0.6.0\nv0.6.1-0.20250313105119-ba97887b0a25\n"),
            "v0.6.1-0.20250313105119-ba97887b0a25");
  EXPECT_EQ(latest_from_list("v0.6.0 2026-01-01T00:00:00Z\n"
                             "v0.6.1-0.20250313105119-ba97887b0a25\n"),
            "v0.6.0");
  EXPECT_EQ(latest_from_list("v0.0.0-20250101000000-aaaaaaaaaaaa 2019-01-01T00:00:00Z\n"
                             "v0.0.0-20200101000000-bbbbbbbbbbbb\n"),
            "v0.0.0-20200101000000-bbbbbbbbbbbb");
  // First of equal times wins; a malformed time never wins.
  EXPECT_EQ(latest_from_list("v1.0.0 2020-01-01T00:00:00Z\nv1.1.0 2020-01-01T00:00:00Z\n"),
            "v1.0.0");
  EXPECT_EQ(latest_from_list("v1.0.0 yesterday\n"), std::nullopt);
  // Only tags: the go command finds no commits and moves on to the next proxy.
  EXPECT_EQ(latest_from_list("v1.0.0\nv1.1.0\n"), std::nullopt);
  EXPECT_EQ(latest_from_list(""), std::nullopt);
}

}  // namespace
}  // namespace stoa::module
