#include "stoa/policy/auth.hpp"

#include <crypt.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <memory>

#include "stoa/text/ascii.hpp"

namespace stoa::policy {
namespace {

std::array<unsigned char, 32> sha256(std::string_view s) {
  std::array<unsigned char, 32> d{};
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
  return d;
}

std::optional<std::array<unsigned char, 32>> parse_hex32(std::string_view s) {
  if (s.size() != 64) return std::nullopt;
  std::array<unsigned char, 32> out{};
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = text::hex_value(s[2 * i]), lo = text::hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return out;
}

using text::trim_ows;
using text::trim_space;

template <typename F>
std::optional<std::string> for_each_line(std::string_view text, std::string_view origin, F f) {
  std::size_t n = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim_space(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++n;
    if (line.empty() || line.front() == '#') continue;
    if (auto e = f(line)) return fmt::format("{}:{}: {}", origin, n, *e);
  }
  return std::nullopt;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '@' || name == "*") return false;
  for (const char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == ':') return false;
  }
  return true;
}

bool bcrypt_matches(const std::string& hash, const std::string& password) {
  auto data = std::make_unique<crypt_data>();  // large; zeroed as crypt_rn requires
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return false;
  const std::string_view got(out);
  return got.size() == hash.size() && CRYPTO_memcmp(got.data(), hash.data(), hash.size()) == 0;
}

}  // namespace

std::optional<std::string> hash_password(const std::string& password, unsigned long cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof salt) == nullptr) return std::nullopt;
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), salt, data.get(), sizeof(crypt_data));
  if (out == nullptr || out[0] == '*') return std::nullopt;
  return std::string(out);
}

std::optional<std::string> decode_base64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(s.size() / 4 * 3);
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + j];
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        v[j] = 0;
        ++pad;
      } else if (pad > 0) {
        return std::nullopt;
      } else {
        v[j] = val(c);
        if (v[j] < 0) return std::nullopt;
      }
    }
    const unsigned n =
        (unsigned(v[0]) << 18) | (unsigned(v[1]) << 12) | (unsigned(v[2]) << 6) | unsigned(v[3]);
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::variant<std::unique_ptr<Credentials>, std::string> Credentials::parse(
    std::string_view users_text, std::string_view users_origin, std::string_view tokens_text,
    std::string_view tokens_origin) {
  auto c = std::make_unique<Credentials>();
  auto bad_users = for_each_line(users_text, users_origin, [&](std::string_view line) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return std::optional<std::string>("expected name:bcrypt-hash");
    const std::string_view name = line.substr(0, colon);
    const std::string_view hash = line.substr(colon + 1);
    if (!valid_name(name)) return std::optional<std::string>("bad user name");
    if (!(hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) ||
        hash.size() != 60) {
      return std::optional<std::string>(
          "only bcrypt hashes ($2y$, $2b$) are accepted (htpasswd -B)");
    }
    if (!c->m_users.emplace(std::string(name), std::string(hash)).second)
      return std::optional<std::string>(fmt::format("user {:?} appears twice", name));
    return std::optional<std::string>();
  });
  if (bad_users) return *bad_users;
  auto bad_tokens = for_each_line(tokens_text, tokens_origin, [&](std::string_view line) {
    const auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos)
      return std::optional<std::string>("expected: name sha256-hex-of-token");
    const std::string_view name = line.substr(0, sp);
    const auto digest = parse_hex32(trim_space(line.substr(sp)));
    if (!valid_name(name)) return std::optional<std::string>("bad token name");
    if (!digest) return std::optional<std::string>("the token digest must be 64 hex digits");
    c->m_tokens.push_back({std::string(name), *digest});
    return std::optional<std::string>();
  });
  if (bad_tokens) return *bad_tokens;
  return c;
}

bool Credentials::is_slow(std::string_view authorization) const {
  authorization = trim_ows(authorization);
  if (authorization.size() < 6) return false;
  if (!text::istarts_with(authorization, "basic ")) return false;
  const auto decoded = decode_base64(trim_ows(authorization.substr(6)));
  if (!decoded) return false;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos || !m_users.contains(decoded->substr(0, colon))) return false;
  const auto d = sha256(*decoded);
  const std::string key(reinterpret_cast<const char*>(d.data()), d.size());
  std::lock_guard lock(m_mutex);
  return !m_verified.contains(key) && !m_failed.contains(key);
}

AuthResult Credentials::authenticate(std::string_view authorization) const {
  using S = AuthResult::Status;
  authorization = trim_ows(authorization);
  if (authorization.empty()) return {S::anonymous, {}};
  const auto sp = authorization.find(' ');
  if (sp == std::string_view::npos) return {S::bad_credentials, {}};
  const std::string scheme = text::to_lower(authorization.substr(0, sp));
  const std::string_view value = trim_ows(authorization.substr(sp + 1));
  // The token's entry, or null.
  const auto find_token = [this](std::string_view token) {
    const auto d = sha256(token);
    const Token* found = nullptr;
    for (const auto& t : m_tokens) {  // every entry compared: the time does not depend on which
      if (CRYPTO_memcmp(t.digest.data(), d.data(), d.size()) == 0) found = &t;
    }
    return found;
  };
  if (scheme == "bearer") {
    const Token* found = find_token(value);
    if (found == nullptr) return {S::bad_credentials, {}};
    return {S::ok, found->name};
  }
  if (scheme != "basic") return {S::bad_credentials, {}};
  const auto decoded = decode_base64(value);
  if (!decoded) return {S::bad_credentials, {}};
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return {S::bad_credentials, {}};
  const std::string name = decoded->substr(0, colon);
  const std::string password = decoded->substr(colon + 1);
  const auto it = m_users.find(name);
  if (it == m_users.end()) {
    // A token may also be sent as the password of Basic credentials (netrc holds passwords).
    if (!password.empty()) {
      const Token* found = find_token(trim_ows(password));
      if (found != nullptr && found->name == name) return {S::ok, found->name};
    }
    return {S::bad_credentials, {}};
  }
  const auto key_digest = sha256(*decoded);
  const std::string key(reinterpret_cast<const char*>(key_digest.data()), key_digest.size());
  {
    std::lock_guard lock(m_mutex);
    if (auto v = m_verified.find(key); v != m_verified.end()) return {S::ok, v->second};
    if (m_failed.contains(key)) return {S::bad_credentials, {}};
  }
  if (!bcrypt_matches(it->second, password)) {
    std::lock_guard lock(m_mutex);
    if (m_failed.size() >= 4096) m_failed.clear();
    m_failed.emplace(key, true);
    return {S::bad_credentials, {}};
  }
  std::lock_guard lock(m_mutex);
  if (m_verified.size() >= 4096) m_verified.clear();
  m_verified.emplace(key, name);
  return {S::ok, name};
}

}  // namespace stoa::policy
