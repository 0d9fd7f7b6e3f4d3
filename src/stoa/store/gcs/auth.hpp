#pragma once
// Access tokens for the JSON API: none (an emulator), a service-account key (a JWT signed with
// its private key, exchanged at its token_uri: RFC 7523), or the metadata server of the machine
// ("Metadata-Flavor: Google"). A token is cached and fetched again before it expires: when less
// than a margin is left (five minutes, or half of a shorter lifetime). A failed refresh keeps a
// token that is still valid (and waits ten seconds before the next try); without one it throws.
// Thread-safe: one fetch at a time, the others wait for it. Tokens and keys never appear in
// errors.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "stoa/store/gcs/gcs.hpp"

namespace stoa::store::gcs {

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string token_uri;  // the key's own; Google's OAuth endpoint when the key names none
};

// The fields of a JSON key file ("type": "service_account"). nullopt with `error` set (naming
// the missing field, never quoting the key) when it is not one. Never throws.
std::optional<ServiceAccountKey> parse_service_account_key(std::string_view json,
                                                           std::string& error);

struct AccessToken {
  std::string value;
  std::chrono::seconds lifetime{0};
};

// A token endpoint's or the metadata server's answer ({"access_token": ..., "expires_in": ...});
// nullopt when it is not one. Never throws.
std::optional<AccessToken> parse_token_response(std::string_view json);

class TokenSource {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // Checks the credentials of `o` (a service-account key must parse). Does not fetch a token.
  // Throws StoreError.
  explicit TokenSource(const GcsOptions& o, Clock now = &std::chrono::system_clock::now);

  // "Authorization: Bearer <token>", or "" with GcsAuth::none. Throws StoreError when no valid
  // token can be had.
  std::string authorization();

  // The server refused `authorization` (401): forget that token unless it was replaced already.
  void invalidate(const std::string& authorization);

  // Tokens fetched so far (for tests).
  int fetches() const;

 private:
  AccessToken fetch();
  AccessToken fetch_with_key();
  AccessToken fetch_from_metadata();

  GcsOptions m_o;
  Clock m_now;
  std::optional<ServiceAccountKey> m_key;
  mutable std::mutex m_mutex;
  std::string m_header;  // under m_mutex; empty: none cached
  std::chrono::system_clock::time_point m_expires;
  std::chrono::system_clock::time_point m_refresh_at;
  std::chrono::system_clock::time_point m_retry_after;
  int m_fetches = 0;
};

}  // namespace stoa::store::gcs
