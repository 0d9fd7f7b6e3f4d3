#include "stoa/proxy/listing.hpp"

#include <gtest/gtest.h>

namespace stoa::proxy {
namespace {

TEST(ParseInfo, Table) {
  EXPECT_EQ(parse_info(R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})")->version, "v1.0.0");
  EXPECT_EQ(parse_info(R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})")->time,
            "2020-01-01T00:00:00Z");
  EXPECT_EQ(parse_info(R"({"Version":"v1.0.0"})")->time, "");
  EXPECT_EQ(parse_info(R"({"Version":"v1.0.0","Origin":{"VCS":"git"}})")->version, "v1.0.0");
  // As the go command decodes it: no Version member is an empty Version, not an error.
  EXPECT_EQ(parse_info(R"({"Time":"2020-01-01T00:00:00Z"})")->version, "");
  EXPECT_FALSE(parse_info(R"({"Version":1})"));
  EXPECT_FALSE(parse_info(R"({"Version":"v1.0.0","Time":5})"));
  EXPECT_FALSE(parse_info(R"(["v1.0.0"])"));
  EXPECT_FALSE(parse_info("not json"));
  EXPECT_FALSE(parse_info(R"({"Version":"v1.0.0","Time":"yesterday"})"));
  EXPECT_EQ(parse_info(R"({"Version":"v1.0.0","Time":null})")->time, "");
  EXPECT_FALSE(parse_info(""));
}

TEST(MergeList, KeepsValidUpstreamLinesInOrderAddsStoredSorted) {
  const std::string upstream =
      "v1.10.0\nv1.2.0 2020-01-01T00:00:00Z\r\nnot-a-version\nv1.0.0-20200101000000-abcdefabcdef\n"
      "v2.0.0+incompatible\nv1.2\n\nv1.2.0\n";
  const std::string got = merge_list(
      upstream, {"v1.4.0", "v1.3.0", "v1.2.0", "v0.0.0-20200101000000-abcdefabcdef", "bogus"});
  // The upstream's lines in its order (the go command sorts; among equal times it takes the
  // first line), its pseudo-version passed on; "v1.2" is a valid version the go command lists
  // (and asks v1.2.info for): it stays. Then the stored versions it did not list, sorted; the
  // stored pseudo-version, which it did not list, is not added.
  EXPECT_EQ(got,
            "v1.10.0\nv1.2.0 2020-01-01T00:00:00Z\nv1.0.0-20200101000000-abcdefabcdef\n"
            "v2.0.0+incompatible\nv1.2\nv1.2.0\nv1.3.0\nv1.4.0\n");
  EXPECT_EQ(merge_list(got, {}), got);
  EXPECT_EQ(merge_list("v0.0.0-20240102030405-abcdefabcdef 2024-01-02T03:04:05Z\n", {}),
            "v0.0.0-20240102030405-abcdefabcdef 2024-01-02T03:04:05Z\n");
}

TEST(MergeList, SecondFieldIsATimeOrNothing) {
  // Regressions from fuzz/info_json: a blank or control-byte second field used to throw.
  EXPECT_EQ(merge_list("v1.0.0 \n", {}), "v1.0.0\n");
  EXPECT_EQ(merge_list("v1.0.0\t\r\t\n", {}), "v1.0.0\n");
  EXPECT_EQ(merge_list("v1.0.0 yesterday\n", {}), "v1.0.0\n");
  EXPECT_EQ(merge_list("v1.0.0 \t 2020-01-01T00:00:00Z extra\n", {}),
            "v1.0.0 2020-01-01T00:00:00Z\n");
  EXPECT_EQ(merge_list(merge_list("v1.0.0\t\r\t", {}), {}), "v1.0.0\n");
}

TEST(MergeList, LinesAsTheGoCommandReadsThem) {
  // Valid but not canonical versions are kept verbatim; stored ones only when canonical.
  EXPECT_EQ(merge_list("v1.3\nv1\nv1.4.0+meta\n", {"v1.3", "v1.5.0"}),
            "v1.3\nv1\nv1.4.0+meta\nv1.5.0\n");
  // Fields are split on any white space, leading too (strings.Fields).
  EXPECT_EQ(merge_list("  v1.0.0\n\tv1.1.0\v2020-01-01T00:00:00Z\fx\n\xc2\xa0v1.2.0\n", {}),
            "v1.0.0\nv1.1.0 2020-01-01T00:00:00Z\nv1.2.0\n");
  EXPECT_EQ(merge_list("v1.0.0\xe2\x80\x83"
                       "2020-01-01T00:00:00Z\n",
                       {}),
            "v1.0.0 2020-01-01T00:00:00Z\n");
  // Not white space: a no-break space's bytes out of order, an invalid sequence.
  EXPECT_EQ(merge_list("\xa0\xc2v1.0.0\nv1.1.0\xe2\x80\n", {}), "");
  // A pseudo-version whose time is malformed is never the go command's latest: left out (with
  // no time it would count at the time in the version). A release only loses the bad time.
  EXPECT_EQ(merge_list("v0.0.0-20240101000000-abcdefabcdef yesterday\nv1.0.0 yesterday\n", {}),
            "v1.0.0\n");
  // The same version with two times: both lines (the go command takes the newer).
  EXPECT_EQ(merge_list("v1.0.0 2021-01-01T00:00:00Z\nv1.0.0 2020-01-01T00:00:00Z\nv1.0.0 "
                       "2020-01-01T00:00:00Z\n",
                       {"v1.0.0"}),
            "v1.0.0 2021-01-01T00:00:00Z\nv1.0.0 2020-01-01T00:00:00Z\n");
}

TEST(MergeList, ATimeGoParsesIsPassedOnAsItIs) {
  // Forms Go's time.Parse(RFC3339) accepts beyond the strict one (module::parse_rfc3339 reads
  // exactly what it reads): passed on as they are.
  for (const char* t : {"2024-01-01T1:00:00Z", "2024-01-01T00:00:00,5Z",
                        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00.1234567890123Z"}) {
    const std::string line = std::string("v0.0.0-20240101000000-abcdefabcdef ") + t + "\n";
    EXPECT_EQ(merge_list(line, {}), line) << t;
  }
  // Anything else is no time to Go: a pseudo-version with it goes, a release keeps no time.
  for (const char* t : {"yesterday", "2024-01-01t00:00:00z", "2024-01-01T00:00:00Z\x01",
                        "\xef\xbc\x91", "2024-13-01T00:00:00Z", "1"}) {
    EXPECT_EQ(merge_list(std::string("v0.0.0-20240101000000-abcdefabcdef ") + t + "\n", {}), "")
        << t;
    EXPECT_EQ(merge_list(std::string("v1.0.0 ") + t + "\n", {}), "v1.0.0\n") << t;
  }
}

TEST(MergeList, Empty) {
  EXPECT_EQ(merge_list("", {}), "");
  EXPECT_EQ(merge_list("", {"v0.1.0"}), "v0.1.0\n");
}

TEST(PickLatest, Table) {
  EXPECT_EQ(pick_latest({"v1.0.0", "v1.1.0-rc1", "v0.9.0"}), "v1.0.0");
  EXPECT_EQ(pick_latest({"v1.1.0-rc1", "v1.1.0-rc2"}), "v1.1.0-rc2");
  EXPECT_EQ(
      pick_latest({"v0.0.0-20200101000000-abcdefabcdef", "v0.0.0-20210101000000-abcdefabcdef"}),
      "v0.0.0-20210101000000-abcdefabcdef");
  EXPECT_EQ(pick_latest({"v0.0.0-20200101000000-abcdefabcdef", "v0.1.0-pre"}), "v0.1.0-pre");
  EXPECT_FALSE(pick_latest({}));
  EXPECT_FALSE(pick_latest({"x"}));
}

}  // namespace
}  // namespace stoa::proxy
