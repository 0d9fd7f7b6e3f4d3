// Managed-identity tokens (identity.hpp) against the scripted HTTP server standing in for the
// instance metadata endpoint, which exists only inside Azure: the request it must see, the
// answer's forms, caching and refresh, failures; and the store sending the token as a bearer.

#include "stoa/store/azure/identity.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "stoa/curl/testing/test_server.hpp"
#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/azure/azure.hpp"
#include "stoa/store/azure/client.hpp"

namespace stoa::store::azure {
namespace {

using curl::testing::TestServer;
using std::chrono::seconds;
using std::chrono::system_clock;

const std::string k_target =
    "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure."
    "com%2F";

system_clock::time_point at(std::int64_t unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}

TEST(AzureManagedIdentity, ParsesTheAnswerForms) {
  const auto t = parse_token(
      R"({"access_token":"tok1","expires_on":"1700003600","expires_in":"3599","token_type":"Bearer"})",
      at(1700000000));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, "tok1");
  EXPECT_EQ(t->expires, at(1700003600));
  const auto in = parse_token(R"({"access_token":"tok2","expires_in":600})", at(1700000000));
  ASSERT_TRUE(in);
  EXPECT_EQ(in->expires, at(1700000600));
  for (const char* bad :
       {"", "[]", "{}", R"({"access_token":"x"})", R"({"access_token":"","expires_in":5})",
        R"({"access_token":7,"expires_in":5})", R"({"access_token":"x","expires_on":"soon"})",
        "{\"access_token\":"}) {
    EXPECT_FALSE(parse_token(bad, at(0)).has_value()) << bad;
  }
}

TEST(AzureManagedIdentity, AsksWithMetadataHeaderCachesAndRefreshesBeforeExpiry) {
  TestServer server;
  server.route(k_target,
               curl::testing::text(200, R"({"access_token":"first","expires_on":"1700003600"})",
                                   "application/json"));
  system_clock::time_point now = at(1700000000);
  ManagedIdentity identity(server.url() + "/metadata/identity/oauth2/token", "",
                           std::chrono::seconds(5), [&] { return now; });
  EXPECT_EQ(identity.token(), "first");
  now = at(1700003600) - ManagedIdentity::k_refresh_margin - seconds(1);
  EXPECT_EQ(identity.token(), "first");
  EXPECT_EQ(server.hits(k_target), 1u) << "a valid token is reused";
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].header("Metadata"), "true");

  server.route(k_target,
               curl::testing::text(200, R"({"access_token":"second","expires_on":"1700007200"})",
                                   "application/json"));
  now = at(1700003600) - ManagedIdentity::k_refresh_margin;
  EXPECT_EQ(identity.token(), "second") << "within the margin of its expiry a token is replaced";
  EXPECT_EQ(server.hits(k_target), 2u);
}

TEST(AzureManagedIdentity, AUserAssignedIdentityIsNamedByItsClientId) {
  TestServer server;
  const std::string target = k_target + "&client_id=1234-abcd";
  server.route(target, curl::testing::text(200, R"({"access_token":"t","expires_in":"3600"})"));
  ManagedIdentity identity(server.url() + "/metadata/identity/oauth2/token", "1234-abcd",
                           std::chrono::seconds(5), [] { return system_clock::now(); });
  EXPECT_EQ(identity.token(), "t");
  EXPECT_EQ(server.hits(target), 1u);
}

TEST(AzureManagedIdentity, FailuresAreStoreErrors) {
  TestServer server;
  ManagedIdentity identity(server.url() + "/metadata/identity/oauth2/token", "",
                           std::chrono::seconds(5), [] { return system_clock::now(); });
  server.route(k_target, curl::testing::text(400, R"({"error":"invalid_request"})"));
  try {
    (void)identity.token();
    ADD_FAILURE() << "a refused token request must throw";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 400"), std::string::npos) << e.what();
  }
  server.route(k_target, curl::testing::text(200, R"({"access_token":"x"})"));
  EXPECT_THROW((void)identity.token(), StoreError);
  curl::testing::ClosedPort closed;
  ManagedIdentity unreachable(closed.url() + "/token", "", std::chrono::seconds(5),
                              [] { return system_clock::now(); });
  EXPECT_THROW((void)unreachable.token(), StoreError);
}

// A store with managed identity sends the token as a bearer, with an API version that accepts
// one, and no other credential.
TEST(AzureManagedIdentity, TheStoreSendsTheTokenAsABearer) {
  TestServer server;
  server.route(
      "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2F"
      "storage.azure.com%2F",
      curl::testing::text(200, R"({"access_token":"bearer-token-value","expires_in":3600})"));
  server.route("/acct/box?restype=container", curl::testing::text(200, ""));
  fsio::testing::ScratchDir scratch;
  AzureOptions o;
  o.endpoint = server.url() + "/acct";
  o.container = "box";
  o.managed_identity = true;
  o.identity_endpoint = server.url() + "/metadata/identity/oauth2/token";
  o.spool_dir = scratch / "spool";
  ASSERT_NO_THROW((void)make_azure_store(o));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].target, "/acct/box?restype=container");
  EXPECT_EQ(requests[1].header("Authorization"), "Bearer bearer-token-value");
  EXPECT_EQ(requests[1].header("x-ms-version"), k_api_version);
  EXPECT_FALSE(requests[1].header("x-ms-date").empty());
}

}  // namespace
}  // namespace stoa::store::azure
