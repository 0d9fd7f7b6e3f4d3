// The service-account JWT: base64url, and an RS256 signature that OpenSSL verifies with the
// public half of the key it was signed with, over the claims the token endpoint reads.

#include "stoa/store/gcs/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "stoa/store/testing/rsa_key.hpp"

namespace stoa::store::gcs {
namespace {

TEST(Base64Url, RoundTripsEveryLengthAndUsesTheUrlAlphabet) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("\xfb\xff\xfe"), "-__-");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 7) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url(part)), part) << n;
  }
}

TEST(Base64Url, DecodeRefusesWhatIsNotCanonical) {
  for (const std::string bad : {"Z", "Zg==", "Zm9v+", "Zm/v", "Zh", "a b"}) {
    EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
  }
}

bool verify_rs256(const std::string& jwt, const std::string& public_pem) {
  const auto last_dot = jwt.rfind('.');
  const std::string input = jwt.substr(0, last_dot);
  const auto signature = base64url_decode(jwt.substr(last_dot + 1));
  if (!signature) return false;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

boost::json::object part(const std::string& jwt, int index) {
  std::size_t start = 0;
  for (int i = 0; i < index; ++i) start = jwt.find('.', start) + 1;
  const std::size_t end = jwt.find('.', start);
  const auto decoded = base64url_decode(jwt.substr(start, end - start));
  EXPECT_TRUE(decoded.has_value());
  return boost::json::parse(decoded.value_or("{}")).as_object();
}

TEST(Jwt, SignatureVerifiesWithThePublicKeyAndClaimsAreThoseAsked) {
  const store::testing::RsaKey key = store::testing::RsaKey::generate();
  JwtClaims claims{"stoa@project.iam.gserviceaccount.com",
                   "https://www.googleapis.com/auth/devstorage.read_write",
                   "http://127.0.0.1:1/token", 1700000000, 3600};
  std::string error;
  const auto jwt = sign_jwt(claims, key.private_pem, "key-id-1", error);
  ASSERT_TRUE(jwt.has_value()) << error;
  EXPECT_TRUE(verify_rs256(*jwt, key.public_pem));

  const boost::json::object header = part(*jwt, 0);
  EXPECT_EQ(std::string(header.at("alg").as_string()), "RS256");
  EXPECT_EQ(std::string(header.at("typ").as_string()), "JWT");
  EXPECT_EQ(std::string(header.at("kid").as_string()), "key-id-1");
  const boost::json::object body = part(*jwt, 1);
  EXPECT_EQ(std::string(body.at("iss").as_string()), claims.issuer);
  EXPECT_EQ(std::string(body.at("scope").as_string()), claims.scope);
  EXPECT_EQ(std::string(body.at("aud").as_string()), claims.audience);
  EXPECT_EQ(body.at("iat").as_int64(), 1700000000);
  EXPECT_EQ(body.at("exp").as_int64(), 1700003600);

  // Another key's public half, or one changed byte, does not verify.
  const store::testing::RsaKey other = store::testing::RsaKey::generate();
  EXPECT_FALSE(verify_rs256(*jwt, other.public_pem));
  std::string tampered = *jwt;
  tampered[tampered.find('.') + 3] ^= 1;
  EXPECT_FALSE(verify_rs256(tampered, key.public_pem));
}

TEST(Jwt, ABadKeyIsAnErrorThatDoesNotQuoteIt) {
  std::string error;
  const JwtClaims claims{"a@b", "s", "http://x/token", 1, 3600};
  const std::string garbage =
      "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n";
  EXPECT_FALSE(sign_jwt(claims, garbage, "", error).has_value());
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(error.find("c2VjcmV0"), std::string::npos) << error;
  EXPECT_FALSE(sign_jwt(claims, "", "", error).has_value());
}

}  // namespace
}  // namespace stoa::store::gcs
