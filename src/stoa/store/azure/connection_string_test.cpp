// parse_connection_string: the forms of AZURE_STORAGE_CONNECTION_STRING (azure.hpp).

#include <gtest/gtest.h>

#include <string>

#include "stoa/store/azure/azure.hpp"

namespace stoa::store {
namespace {

TEST(AzureConnectionString, AccountAndKeyGiveThePublicCloudEndpoint) {
  std::string error;
  const auto o = parse_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=a2V5PT0=;"
      "EndpointSuffix=core.windows.net",
      &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->account, "myacct");
  EXPECT_EQ(o->account_key, "a2V5PT0=") << "a value keeps its '='";
  EXPECT_EQ(o->endpoint, "https://myacct.blob.core.windows.net");
  EXPECT_EQ(o->sas_token, "");
}

TEST(AzureConnectionString, ExplicitBlobEndpointAndSas) {
  std::string error;
  const auto o = parse_connection_string(
      " BlobEndpoint = http://127.0.0.1:10000/devstoreaccount1 ;"
      "SharedAccessSignature=?sv=2019-12-12&ss=b&sig=abc%3D;QueueEndpoint=http://x;",
      &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_EQ(o->sas_token, "sv=2019-12-12&ss=b&sig=abc%3D");
  EXPECT_EQ(o->account, "");
}

TEST(AzureConnectionString, OtherCloudsAndProtocol) {
  const auto o = parse_connection_string(
      "accountname=x1;accountkey=a2V5;endpointsuffix=core.chinacloudapi.cn;"
      "defaultendpointsprotocol=http",
      nullptr);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->endpoint, "http://x1.blob.core.chinacloudapi.cn");
}

TEST(AzureConnectionString, DevelopmentStorage) {
  const auto o = parse_connection_string("UseDevelopmentStorage=true", nullptr);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->account, "devstoreaccount1");
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_FALSE(o->account_key.empty());
}

TEST(AzureConnectionString, MalformedOnesAreRefusedWithoutEchoingSecrets) {
  for (const char* bad : {"AccountKey=c2VjcmV0", "just-a-secret-value", "AccountName=x",
                          "=v;AccountName=x;AccountKey=a2V5",
                          "AccountName=x;AccountKey=a2V5;DefaultEndpointsProtocol=ftp"}) {
    std::string error;
    EXPECT_FALSE(parse_connection_string(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find("secret"), std::string::npos) << error;
    EXPECT_EQ(error.find("c2VjcmV0"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace stoa::store
