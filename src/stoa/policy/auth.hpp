#pragma once
// Client authentication: users from an htpasswd-style file (bcrypt, "$2y$"/"$2b$"/"$2a$",
// verified by libxcrypt's crypt_rn) and bearer tokens from a tokens file (a name and the SHA-256
// of the token, compared in constant time). Parsing never throws; verifying is thread-safe.
//
// Files:
//   users:  "name:$2y$10$..." per line; '#' comments and blank lines ignored
//   tokens: "name <64 hex digits of sha256(token)>" per line; same comments
//
// A successful bcrypt check is remembered (keyed by a SHA-256 of the name and password) so a
// client sending the same Basic credentials on every request costs one bcrypt run, not one per
// request. Neither passwords nor tokens are ever logged or kept in clear.

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace stoa::policy {

struct AuthResult {
  enum class Status : std::uint8_t { anonymous, ok, bad_credentials };
  Status status = Status::anonymous;
  std::string principal;  // the user or token name when ok
};

class Credentials {
 public:
  Credentials() = default;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // Parse the two files' contents ("" when not configured). An error names the file and line
  // (never the secret).
  static std::variant<std::unique_ptr<Credentials>, std::string> parse(
      std::string_view users_text, std::string_view users_origin, std::string_view tokens_text,
      std::string_view tokens_origin);

  // Checks an Authorization header value ("" when absent): anonymous when absent,
  // bad_credentials when malformed, unknown or wrong. Thread-safe; a first bcrypt check takes
  // tens of milliseconds.
  AuthResult authenticate(std::string_view authorization) const;

  // Whether authenticate(authorization) would run bcrypt (Basic credentials of a known user
  // not checked before): such a check belongs on a worker thread, not a serving one.
  bool is_slow(std::string_view authorization) const;

  bool empty() const { return m_users.empty() && m_tokens.empty(); }
  std::size_t users() const { return m_users.size(); }
  std::size_t tokens() const { return m_tokens.size(); }

 private:
  std::unordered_map<std::string, std::string> m_users;  // name -> bcrypt hash
  struct Token {
    std::string name;
    std::array<unsigned char, 32> digest{};
  };
  std::vector<Token> m_tokens;
  mutable std::mutex m_mutex;
  mutable std::unordered_map<std::string, std::string> m_verified;  // sha256(name:pw) -> name
  mutable std::unordered_map<std::string, bool> m_failed;           // sha256(name:pw) of wrong ones
};

// A bcrypt ("$2b$") hash of `password` with a random salt and 2^cost rounds, for a users file
// line ("name:<hash>"); nullopt when libcrypt cannot make one.
std::optional<std::string> hash_password(const std::string& password, unsigned long cost = 10);

// Decodes standard base64 (with padding); nullopt when malformed.
std::optional<std::string> decode_base64(std::string_view s);

}  // namespace stoa::policy
