#pragma once
// The JSON Web Token a service account signs to obtain an access token (RFC 7523, the OAuth 2.0
// JWT bearer grant): an RS256 signature over "<header>.<claims>" with the key's private half,
// through OpenSSL. Pure, apart from OpenSSL's key parsing; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::store::gcs {

// RFC 4648 section 5, no padding.
std::string base64url(std::string_view bytes);
// Its inverse; nullopt on a character outside the alphabet or an impossible length. Padding is
// not accepted.
std::optional<std::string> base64url_decode(std::string_view text);

struct JwtClaims {
  std::string issuer;                    // the service account's client_email
  std::string scope;                     // space-separated OAuth scopes
  std::string audience;                  // the token endpoint (the key's token_uri)
  std::int64_t issued_at = 0;            // unix seconds
  std::int64_t lifetime_seconds = 3600;  // at most an hour, the endpoint's limit
};

// "<header>.<claims>.<signature>", base64url each; the header names `key_id` (the key's
// private_key_id) when it is not empty. Returns nullopt with `error` set when `private_key_pem`
// is not an RSA private key in PEM (PKCS#8 or PKCS#1) or signing fails; `error` never quotes
// the key.
std::optional<std::string> sign_jwt(const JwtClaims& claims, std::string_view private_key_pem,
                                    std::string_view key_id, std::string& error);

}  // namespace stoa::store::gcs
