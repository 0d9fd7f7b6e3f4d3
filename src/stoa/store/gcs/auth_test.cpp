// Access tokens against a scripted token endpoint and metadata server (curl/testing): the
// service-account JWT exchange, the cache, the refresh before expiry on an injected clock, and
// failures that never leak a token.

#include "stoa/store/gcs/auth.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "stoa/curl/testing/test_server.hpp"
#include "stoa/store/gcs/jwt.hpp"
#include "stoa/store/testing/rsa_key.hpp"

namespace stoa::store::gcs {
namespace {

using curl::testing::TestServer;
using std::chrono::seconds;

const std::string k_email = "stoa@stoa-test.iam.gserviceaccount.com";
const std::string k_token_path = "/oauth/token";
const std::string k_metadata_path = "/computeMetadata/v1/instance/service-accounts/default/token";

std::string token_json(const std::string& token, int expires_in) {
  return R"({"access_token":")" + token + R"(","expires_in":)" + std::to_string(expires_in) +
         R"(,"token_type":"Bearer"})";
}

// A form field of an application/x-www-form-urlencoded body ("" when absent).
std::string form_field(const std::string& body, const std::string& name) {
  std::size_t start = 0;
  while (start <= body.size()) {
    const std::size_t end = std::min(body.find('&', start), body.size());
    const std::string field = body.substr(start, end - start);
    if (field.starts_with(name + "=")) return field.substr(name.size() + 1);
    start = end + 1;
  }
  return "";
}

bool verifies(const std::string& jwt, const std::string& public_pem) {
  const auto dot = jwt.rfind('.');
  const auto signature = base64url_decode(jwt.substr(dot + 1));
  if (!signature) return false;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = key != nullptr &&
                  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()),
                                   signature->size(),
                                   reinterpret_cast<const unsigned char*>(jwt.data()), dot) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

class TokenSourceTest : public ::testing::Test {
 protected:
  GcsOptions key_options() {
    GcsOptions o;
    o.auth = GcsAuth::service_account;
    o.key_json = m_key.key_file(k_email, m_server.url() + k_token_path);
    o.key_origin = "test-key.json";
    return o;
  }
  TokenSource::Clock clock() {
    return [this] { return m_now; };
  }

  const store::testing::RsaKey m_key = store::testing::RsaKey::generate();
  TestServer m_server;
  std::chrono::system_clock::time_point m_now{seconds(1'700'000'000)};
};

TEST_F(TokenSourceTest, ServiceAccountExchangesASignedJwtAtTheKeysTokenUri) {
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-1", 3600), "application/json"));
  TokenSource tokens(key_options(), clock());
  EXPECT_EQ(tokens.authorization(), "Authorization: Bearer tok-1");
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].header("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(form_field(requests[0].body, "grant_type"),
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  const std::string jwt = form_field(requests[0].body, "assertion");
  ASSERT_FALSE(jwt.empty()) << requests[0].body;
  EXPECT_TRUE(verifies(jwt, m_key.public_pem));
  const std::size_t first = jwt.find('.');
  const auto claims_text = base64url_decode(jwt.substr(first + 1, jwt.rfind('.') - first - 1));
  ASSERT_TRUE(claims_text.has_value());
  const boost::json::object claims = boost::json::parse(*claims_text).as_object();
  EXPECT_EQ(std::string(claims.at("iss").as_string()), k_email);
  EXPECT_EQ(std::string(claims.at("aud").as_string()), m_server.url() + k_token_path);
  EXPECT_EQ(std::string(claims.at("scope").as_string()),
            "https://www.googleapis.com/auth/devstorage.read_write");
  EXPECT_EQ(claims.at("iat").as_int64(), 1'700'000'000);
  EXPECT_EQ(claims.at("exp").as_int64(), 1'700'003'600);
}

TEST_F(TokenSourceTest, TokenIsCachedAndRefreshedFiveMinutesBeforeItExpires) {
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-1", 3600), "application/json"));
  TokenSource tokens(key_options(), clock());
  (void)tokens.authorization();
  for (int i = 0; i < 5; ++i) (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 1u) << "a valid token is reused";
  m_now += seconds(3600 - 301);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 1u) << "more than five minutes left: still cached";
  m_now += seconds(2);
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-2", 3600), "application/json"));
  EXPECT_EQ(tokens.authorization(), "Authorization: Bearer tok-2");
  EXPECT_EQ(m_server.hits(k_token_path), 2u);
  EXPECT_EQ(tokens.fetches(), 2);
  // A short-lived token is refreshed at half its life.
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-3", 60), "application/json"));
  m_now += seconds(3600);
  EXPECT_EQ(tokens.authorization(), "Authorization: Bearer tok-3");
  m_now += seconds(29);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 3u);
  m_now += seconds(2);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 4u);
}

TEST_F(TokenSourceTest, AFailedRefreshKeepsATokenThatStillWorksAndThrowsWithoutOne) {
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-1", 3600), "application/json"));
  TokenSource tokens(key_options(), clock());
  (void)tokens.authorization();
  m_server.route(k_token_path,
                 curl::testing::text(400, R"({"error":"invalid_grant","error_description":"no"})",
                                     "application/json"));
  m_now += seconds(3400);  // in the refresh margin, not expired
  EXPECT_EQ(tokens.authorization(), "Authorization: Bearer tok-1");
  EXPECT_EQ(m_server.hits(k_token_path), 2u);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 2u) << "a failed refresh is not retried at once";
  m_now += seconds(300);  // expired
  try {
    (void)tokens.authorization();
    ADD_FAILURE() << "an expired token without a new one must throw";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("invalid_grant"), std::string::npos) << what;
    EXPECT_EQ(what.find("tok-1"), std::string::npos) << what;
    EXPECT_EQ(what.find("PRIVATE KEY"), std::string::npos) << what;
  }
}

TEST_F(TokenSourceTest, InvalidateForgetsThatTokenOnly) {
  m_server.route(k_token_path,
                 curl::testing::text(200, token_json("tok-1", 3600), "application/json"));
  TokenSource tokens(key_options(), clock());
  const std::string first = tokens.authorization();
  tokens.invalidate("Authorization: Bearer some-older-token");
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 1u);
  tokens.invalidate(first);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_token_path), 2u);
}

TEST_F(TokenSourceTest, MetadataServerIsAskedWithItsFlavorHeader) {
  m_server.route(k_metadata_path,
                 curl::testing::text(200, token_json("meta-1", 3599), "application/json"));
  GcsOptions o;
  o.auth = GcsAuth::metadata;
  o.metadata_host = "127.0.0.1:" + std::to_string(m_server.port());
  TokenSource tokens(o, clock());
  EXPECT_EQ(tokens.authorization(), "Authorization: Bearer meta-1");
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].header("metadata-flavor"), "Google");
  m_now += seconds(3000);
  (void)tokens.authorization();
  EXPECT_EQ(m_server.hits(k_metadata_path), 1u);
}

TEST_F(TokenSourceTest, NoAuthSendsNoHeaderAndAsksNobody) {
  GcsOptions o;
  o.auth = GcsAuth::none;
  TokenSource tokens(o, clock());
  EXPECT_EQ(tokens.authorization(), "");
  EXPECT_TRUE(m_server.requests().empty());
}

TEST_F(TokenSourceTest, AnswersThatAreNotTokensAreRefused) {
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"expires_in":3600})"),
        std::string(R"({"access_token":"x"})"),
        std::string(R"({"access_token":"x","expires_in":0})"),
        std::string(R"({"access_token":"a\r\nX-Evil: 1","expires_in":60})")}) {
    SCOPED_TRACE(body);
    EXPECT_FALSE(parse_token_response(body).has_value());
  }
  EXPECT_TRUE(parse_token_response(token_json("ya29.abc", 3599)).has_value());
}

TEST_F(TokenSourceTest, BadKeyFilesStopWithAnErrorThatDoesNotQuoteThem) {
  std::string error;
  EXPECT_FALSE(parse_service_account_key("{", error));
  EXPECT_FALSE(parse_service_account_key(R"({"type":"authorized_user"})", error));
  EXPECT_FALSE(parse_service_account_key(R"({"type":"service_account","private_key":"x"})", error));
  EXPECT_NE(error.find("client_email"), std::string::npos) << error;
  GcsOptions o = key_options();
  const std::string pem_body = "MIIEsecretsecretsecret";
  o.key_json = R"({"type":"service_account","client_email":"a@b","private_key":"-----BEGIN )"
               R"(PRIVATE KEY-----\n)" +
               pem_body + R"(\n-----END PRIVATE KEY-----\n"})";
  try {
    TokenSource tokens(o, clock());
    ADD_FAILURE() << "an unusable key must stop";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find(pem_body), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test-key.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stoa::store::gcs
