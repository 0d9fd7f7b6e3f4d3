#include "stoa/store/azure/shared_key.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "stoa/text/ascii.hpp"

namespace stoa::store::azure::shared_key {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = text::to_lower(c);
  return out;
}

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Trimmed, inner runs of white space as one space.
std::string squeezed(std::string_view v) {
  std::string out;
  bool pending = false;
  for (const char c : v) {
    if (blank(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out += ' ';
    pending = false;
    out += c;
  }
  return out;
}

// The value of the header `name` (lowercase), "" when absent.
std::string header(const Request& r, std::string_view name) {
  for (const auto& [n, v] : r.headers) {
    if (lower(n) == name) return squeezed(v);
  }
  return {};
}

}  // namespace

std::string canonicalized_headers(const Request& request) {
  std::map<std::string, std::string> ms;
  for (const auto& [n, v] : request.headers) {
    std::string name = lower(squeezed(n));
    if (!name.starts_with("x-ms-")) continue;
    ms.try_emplace(std::move(name), squeezed(v));
  }
  std::string out;
  for (const auto& [n, v] : ms) out += n + ":" + v + "\n";
  return out;
}

std::string canonicalized_resource(std::string_view account, const Request& request) {
  std::string out = "/" + std::string(account) + request.path;
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [n, v] : request.query) params[lower(n)].push_back(v);
  for (auto& [n, values] : params) {
    std::sort(values.begin(), values.end());
    out += "\n" + n + ":";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += values[i];
    }
  }
  return out;
}

std::string string_to_sign(std::string_view account, const Request& request) {
  std::string length = header(request, "content-length");
  if (length == "0") length.clear();
  std::string out = request.method + "\n";
  for (const std::string& part :
       {header(request, "content-encoding"), header(request, "content-language"), length,
        header(request, "content-md5"), header(request, "content-type"), header(request, "date"),
        header(request, "if-modified-since"), header(request, "if-match"),
        header(request, "if-none-match"), header(request, "if-unmodified-since"),
        header(request, "range")}) {
    out += part + "\n";
  }
  out += canonicalized_headers(request);
  out += canonicalized_resource(account, request);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;  // only the last two may be padding
      ++pad;
      continue;
    }
    if (pad > 0) return std::nullopt;
    if (!text::is_alnum(c) && c != '+' && c != '/') return std::nullopt;
  }
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<std::string> signature(std::string_view account_key,
                                     std::string_view string_to_sign) {
  const std::optional<std::string> key = base64_decode(account_key);
  if (!key || key->empty()) return std::nullopt;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(string_to_sign.data()), string_to_sign.size(),
           mac.data(), &len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), len));
}

std::optional<std::string> authorization(std::string_view account, std::string_view account_key,
                                         const Request& request) {
  const std::optional<std::string> sig = signature(account_key, string_to_sign(account, request));
  if (!sig) return std::nullopt;
  return "SharedKey " + std::string(account) + ":" + *sig;
}

}  // namespace stoa::store::azure::shared_key
