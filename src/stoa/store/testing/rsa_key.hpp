#pragma once
// Tests only: a fresh RSA key pair (OpenSSL), and a service-account key file around it.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <string>

#include "stoa/text/json.hpp"

namespace stoa::store::testing {

struct RsaKey {
  std::string private_pem;  // PKCS#8, as key files hold it
  std::string public_pem;   // SubjectPublicKeyInfo

  static RsaKey generate() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    if (key == nullptr) throw std::runtime_error("EVP_RSA_gen");
    RsaKey out;
    out.private_pem = pem(key, true);
    out.public_pem = pem(key, false);
    EVP_PKEY_free(key);
    return out;
  }

  // A JSON key file of this key for `email`, naming `token_uri`.
  std::string key_file(const std::string& email, const std::string& token_uri) const {
    std::string out =
        R"({"type":"service_account","project_id":"stoa-test","private_key_id":"k1",)";
    out += R"("private_key":)" + text::json_string(private_pem);
    out += R"(,"client_email":)" + text::json_string(email);
    out += R"(,"token_uri":)" + text::json_string(token_uri) + "}";
    return out;
  }

 private:
  static std::string pem(EVP_PKEY* key, bool private_half) {
    BIO* bio = BIO_new(BIO_s_mem());
    const int ok = private_half ? PEM_write_bio_PKCS8PrivateKey(bio, key, nullptr, nullptr, 0,
                                                                nullptr, nullptr)
                                : PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out = ok == 1 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
    BIO_free(bio);
    if (out.empty()) throw std::runtime_error("PEM_write_bio");
    return out;
  }
};

}  // namespace stoa::store::testing
