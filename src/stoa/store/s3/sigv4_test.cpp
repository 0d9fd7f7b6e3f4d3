// SigV4 against the examples AWS publishes: the Signature Version 4 test suite (credential scope
// AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, its example secret key) and the Amazon S3
// API reference's examples (examplebucket, 20130524T000000Z) for header-based and query-string
// (presigned) authentication.

#include "stoa/store/s3/sigv4.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace stoa::store::s3::sigv4 {
namespace {

using namespace std::chrono_literals;

constexpr const char* k_suite_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* k_empty_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const Scope k_suite_scope{"20150830", "us-east-1", "service"};

// Test suite, get-vanilla-query-order-key-case: "GET /?Param2=value2&Param1=value1".
TEST(SigV4, TestSuiteGetWithQueryParametersOutOfOrder) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.query = canonical_query({{"Param2", "value2"}, {"Param1", "value1"}});
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = sha256_hex("");
  ASSERT_EQ(r.payload_hash, k_empty_sha256);
  const std::string creq = canonical_request(r);
  EXPECT_EQ(creq,
            "GET\n"
            "/\n"
            "Param1=value1&Param2=value2\n"
            "host:example.amazonaws.com\n"
            "x-amz-date:20150830T123600Z\n"
            "\n"
            "host;x-amz-date\n" +
                std::string(k_empty_sha256));
  EXPECT_EQ(signed_headers(r), "host;x-amz-date");
  const std::string sts = string_to_sign("20150830T123600Z", k_suite_scope, creq);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n"
            "20150830T123600Z\n"
            "20150830/us-east-1/service/aws4_request\n" +
                sha256_hex(creq));
  EXPECT_EQ(signature(signing_key(k_suite_secret, k_suite_scope), sts),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

// Test suite, get-vanilla: "GET /" with no query.
TEST(SigV4, TestSuiteGetVanilla) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = k_empty_sha256;
  const std::string sts = string_to_sign("20150830T123600Z", k_suite_scope, canonical_request(r));
  EXPECT_EQ(signature(signing_key(k_suite_secret, k_suite_scope), sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

// Amazon S3 API reference, header-based authentication, "GET Object" with a Range header.
TEST(SigV4, S3ExampleGetObject) {
  const Scope scope{"20130524", "us-east-1", "s3"};
  Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
               {"Range", "bytes=0-9"},
               {"x-amz-content-sha256", k_empty_sha256},
               {"x-amz-date", "20130524T000000Z"}};
  r.payload_hash = k_empty_sha256;
  EXPECT_EQ(signed_headers(r), "host;range;x-amz-content-sha256;x-amz-date");
  const std::string sts = string_to_sign("20130524T000000Z", scope, canonical_request(r));
  EXPECT_EQ(signature(signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", scope), sts),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Amazon S3 API reference, query-string authentication: a presigned GET of test.txt valid for
// 86400 seconds. This is the function stoa's presigned redirects use.
TEST(SigV4, S3ExamplePresignedGet) {
  const Scope scope{"20130524", "us-east-1", "s3"};
  const Credentials credentials{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                ""};
  const std::string query = presigned_query(credentials, scope, "20130524T000000Z", "GET",
                                            "examplebucket.s3.amazonaws.com", "/test.txt", 86400s);
  EXPECT_EQ(query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
}

// The signing key of the AWS General Reference's example (secret of the test suite, 20120215,
// us-east-1, iam).
TEST(SigV4, DocumentedSigningKey) {
  const std::string key = signing_key(k_suite_secret, Scope{"20120215", "us-east-1", "iam"});
  ASSERT_EQ(key.size(), 32u);
  // signature() is hex(HMAC(key, text)); the key itself in hex:
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string hex;
  for (const char c : key) {
    hex += k_hex[static_cast<unsigned char>(c) >> 4];
    hex += k_hex[static_cast<unsigned char>(c) & 0xf];
  }
  EXPECT_EQ(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, HeaderValuesAreTrimmedAndSqueezedNamesLoweredAndSorted) {
  Request r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"My-Header2", "  \"a   b   c\"  "},
               {"Host", "example.amazonaws.com"},
               {"My-Header1", "value1"}};
  r.payload_hash = "UNSIGNED-PAYLOAD";
  EXPECT_EQ(canonical_request(r),
            "GET\n/\n\n"
            "host:example.amazonaws.com\n"
            "my-header1:value1\n"
            "my-header2:\"a b c\"\n"
            "\n"
            "host;my-header1;my-header2\n"
            "UNSIGNED-PAYLOAD");
}

TEST(SigV4, UriEncoding) {
  struct Case {
    const char* in;
    bool keep_slash;
    const char* out;
  };
  const Case cases[] = {
      {"AZaz09-._~", false, "AZaz09-._~"},
      {"a b+c", false, "a%20b%2Bc"},
      {"x/@v/list", true, "x/%40v/list"},
      {"x/@v/list", false, "x%2F%40v%2Flist"},
      {"!tilde=~", false, "%21tilde%3D~"},
      {"\xc3\xa9", false, "%C3%A9"},
      {"", false, ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(uri_encode(c.in, c.keep_slash), c.out) << c.in;
  }
}

TEST(SigV4, CanonicalQuerySortsByEncodedNameAndKeepsEmptyValues) {
  EXPECT_EQ(canonical_query({}), "");
  EXPECT_EQ(canonical_query({{"uploads", ""}}), "uploads=");
  EXPECT_EQ(canonical_query({{"uploadId", "a/b c"}, {"partNumber", "2"}}),
            "partNumber=2&uploadId=a%2Fb%20c");
  EXPECT_EQ(canonical_query({{"list-type", "2"}, {"continuation-token", "x+y="}}),
            "continuation-token=x%2By%3D&list-type=2");
}

TEST(SigV4, AmzDateIsUtc) {
  // 2015-08-30T12:36:00Z
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
  EXPECT_EQ(amz_date(t), "20150830T123600Z");
}

TEST(SigV4, PresignedQueryClampsTheLifetimeAndCarriesASessionToken) {
  const Scope scope{"20130524", "us-east-1", "s3"};
  Credentials credentials{"AKID", "secret", ""};
  const auto week = presigned_query(credentials, scope, "20130524T000000Z", "GET", "h", "/k",
                                    std::chrono::hours(24 * 30));
  EXPECT_NE(week.find("X-Amz-Expires=604800&"), std::string::npos) << week;
  const auto second = presigned_query(credentials, scope, "20130524T000000Z", "GET", "h", "/k", 0s);
  EXPECT_NE(second.find("X-Amz-Expires=1&"), std::string::npos) << second;
  credentials.session_token = "tok/en";
  const auto token = presigned_query(credentials, scope, "20130524T000000Z", "GET", "h", "/k", 60s);
  EXPECT_NE(token.find("&X-Amz-Security-Token=tok%2Fen&"), std::string::npos) << token;
  EXPECT_NE(token.substr(token.find("X-Amz-Signature=")),
            second.substr(second.find("X-Amz-Signature=")));
}

}  // namespace
}  // namespace stoa::store::s3::sigv4
