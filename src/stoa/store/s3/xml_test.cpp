#include "stoa/store/s3/xml.hpp"

#include <gtest/gtest.h>

namespace stoa::store::s3::xml {
namespace {

TEST(S3Xml, ErrorDocument) {
  const auto e = parse_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>"
      "<Message>The specified key does not exist.</Message><Key>a</Key></Error>");
  EXPECT_EQ(e.code, "NoSuchKey");
  EXPECT_EQ(e.message, "The specified key does not exist.");
  for (const char* junk : {"", "not xml", "<Other/>", "<Error><Code>X"}) {
    const auto none = parse_error(junk);
    EXPECT_TRUE(none.code.empty()) << junk;
  }
}

TEST(S3Xml, UploadId) {
  EXPECT_EQ(parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>u-1"
                            "</UploadId></InitiateMultipartUploadResult>"),
            "u-1");
  EXPECT_EQ(parse_upload_id("<InitiateMultipartUploadResult/>"), "");
  EXPECT_EQ(parse_upload_id("<<<"), "");
}

TEST(S3Xml, ListPage) {
  const auto page = parse_list_page(
      "<ListBucketResult><Name>b</Name><Contents><Key>p/a.info</Key></Contents>"
      "<Contents><Key>p/b.mod</Key></Contents><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>t+1</NextContinuationToken></ListBucketResult>");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->keys, (std::vector<std::string>{"p/a.info", "p/b.mod"}));
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "t+1");
  const auto last = parse_list_page(
      "<ListBucketResult><IsTruncated>false</IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->keys.empty());
  EXPECT_FALSE(last->truncated);
  EXPECT_FALSE(parse_list_page("<Error><Code>AccessDenied</Code></Error>").has_value());
  EXPECT_FALSE(parse_list_page("").has_value());
}

TEST(S3Xml, CompleteMultipartUploadEscapesETags) {
  EXPECT_EQ(complete_multipart_upload({"\"e1\"", "a<b&c"}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;"
            "</ETag></Part><Part><PartNumber>2</PartNumber><ETag>a&lt;b&amp;c</ETag></Part>"
            "</CompleteMultipartUpload>");
}

}  // namespace
}  // namespace stoa::store::s3::xml
