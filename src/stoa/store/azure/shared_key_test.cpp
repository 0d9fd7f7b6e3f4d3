// Shared Key signing against Microsoft's documentation of the string to sign ("Authorize with
// Shared Key": the Get Container Metadata example's string to sign and the List Blobs example's
// canonicalized resource), and signatures derived independently (openssl dgst -sha256 -mac HMAC
// over the same strings with the storage emulator's published key). That the service accepts
// what is signed here is checked against Azurite in azure_test.cpp and the conformance suite.

#include "stoa/store/azure/shared_key.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stoa::store::azure::shared_key {
namespace {

constexpr const char* k_dev_key =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// The documentation's example: GET of a container's metadata with a timeout.
TEST(SharedKey, DocumentedGetContainerMetadataStringToSign) {
  Request r;
  r.method = "GET";
  r.path = "/mycontainer";
  r.query = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
  r.headers = {{"x-ms-version", "2015-02-21"}, {"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"}};
  const std::string sts = string_to_sign("myaccount", r);
  EXPECT_EQ(sts,
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\n"
            "x-ms-version:2015-02-21\n"
            "/myaccount/mycontainer\n"
            "comp:metadata\n"
            "restype:container\n"
            "timeout:20");
  EXPECT_EQ(signature(k_dev_key, sts), "1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
  EXPECT_EQ(authorization("myaccount", k_dev_key, r),
            "SharedKey myaccount:1u9lui2jDxj0+fpbHjQ5m5NnastJRSYM+PSmfi8TXx4=");
}

// The documentation's List Blobs example: a repeated parameter's values sorted and joined.
TEST(SharedKey, DocumentedListBlobsCanonicalizedResource) {
  Request r;
  r.method = "GET";
  r.path = "/mycontainer";
  r.query = {{"restype", "container"},
             {"comp", "list"},
             {"include", "snapshots"},
             {"include", "metadata"},
             {"include", "uncommittedblobs"}};
  EXPECT_EQ(canonicalized_resource("myaccount", r),
            "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
            "restype:container");
}

// A conditional Put Blob as stoa sends it to Azurite: the account twice in the resource (the
// endpoint's path holds it), the standard headers in their slots, x-ms-* headers lowercased,
// trimmed and sorted, unrelated headers left out.
TEST(SharedKey, ConditionalPutBlobOnAPathStyleEndpoint) {
  Request r;
  r.method = "PUT";
  r.path = "/devstoreaccount1/c1/a/@v/v1.0.0.mod";
  r.headers = {{"X-MS-Version", "2021-12-02"}, {"x-ms-date", "  Tue, 08 Dec 2026   01:00:00 GMT "},
               {"Content-Length", "11"},       {"Content-Type", "text/plain"},
               {"If-None-Match", "*"},         {"x-ms-blob-type", "BlockBlob"},
               {"User-Agent", "stoa"},         {"Accept", "*/*"}};
  const std::string sts = string_to_sign("devstoreaccount1", r);
  EXPECT_EQ(sts,
            "PUT\n\n\n11\n\ntext/plain\n\n\n\n*\n\n\n"
            "x-ms-blob-type:BlockBlob\n"
            "x-ms-date:Tue, 08 Dec 2026 01:00:00 GMT\n"
            "x-ms-version:2021-12-02\n"
            "/devstoreaccount1/devstoreaccount1/c1/a/@v/v1.0.0.mod");
  EXPECT_EQ(signature(k_dev_key, sts), "bVytRj9i9X9AM5NIgngK1S63hp6JPQzkww+GzNUehhE=");
}

TEST(SharedKey, ZeroContentLengthIsSignedAsEmpty) {
  Request r;
  r.method = "PUT";
  r.path = "/c/x";
  r.headers = {{"Content-Length", "0"}};
  EXPECT_EQ(string_to_sign("a", r), "PUT\n\n\n\n\n\n\n\n\n\n\n\n/a/c/x");
  r.headers = {{"Content-Length", "10"}};
  EXPECT_EQ(string_to_sign("a", r), "PUT\n\n\n10\n\n\n\n\n\n\n\n\n/a/c/x");
}

TEST(SharedKey, QueryNamesAreLowercasedAndSortedValuesKeptDecoded) {
  Request r;
  r.method = "GET";
  r.path = "/c";
  r.query = {
      {"restype", "container"}, {"Comp", "list"}, {"prefix", "a b/@v/"}, {"marker", "x=y+z"}};
  EXPECT_EQ(canonicalized_resource("acct", r),
            "/acct/c\ncomp:list\nmarker:x=y+z\nprefix:a b/@v/\nrestype:container");
}

TEST(SharedKey, AKeyThatIsNotBase64SignsNothing) {
  EXPECT_FALSE(signature("not base64!", "x").has_value());
  EXPECT_FALSE(signature("", "x").has_value());
  EXPECT_FALSE(authorization("a", "YQ=", Request{}).has_value());
}

TEST(SharedKey, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("a"), "YQ==");
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_decode("YQ=="), "a");
  EXPECT_EQ(base64_decode("YWI="), "ab");
  EXPECT_EQ(base64_decode("YWJj"), "abc");
  EXPECT_EQ(base64_decode(""), "");
  for (const char* bad : {"YQ=", "Y=Q=", "YQ!!", "=YQQ", "YW Jj", "YQ==YQ=="}) {
    EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace stoa::store::azure::shared_key
