#include "stoa/store/s3/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

#include "stoa/text/ascii.hpp"

namespace stoa::store::s3::sigv4 {

namespace {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// Trimmed, inner runs of blanks squeezed to one space.
std::string canonical_value(std::string_view v) {
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

std::vector<std::pair<std::string, std::string>> canonical_headers(const Request& r) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(r.headers.size());
  for (const auto& [name, value] : r.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    out.emplace_back(std::move(lower), canonical_value(value));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 8);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 0xf];
    }
  }
  return out;
}

std::string canonical_query(const std::map<std::string, std::string>& params) {
  // Sorted by the encoded name: encoding keeps the order of unreserved characters but not of
  // the others, so sort again after encoding.
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(params.size());
  for (const auto& [k, v] : params)
    encoded.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char stamp[17];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return stamp;
}

std::string Scope::text() const { return date + "/" + region + "/" + service + "/aws4_request"; }

std::string signed_headers(const Request& request) {
  std::string out;
  for (const auto& [name, value] : canonical_headers(request)) {
    if (!out.empty()) out += ';';
    out += name;
  }
  return out;
}

std::string canonical_request(const Request& request) {
  std::string out = request.method + "\n" + request.path + "\n" + request.query + "\n";
  for (const auto& [name, value] : canonical_headers(request)) out += name + ":" + value + "\n";
  out += "\n" + signed_headers(request) + "\n" + request.payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                           std::string_view canonical_request) {
  std::string out = "AWS4-HMAC-SHA256\n";
  out += amz_date;
  out += "\n" + scope.text() + "\n" + sha256_hex(canonical_request);
  return out;
}

std::string signing_key(std::string_view secret_key, const Scope& scope) {
  std::string k = hmac_sha256("AWS4" + std::string(secret_key), scope.date);
  k = hmac_sha256(k, scope.region);
  k = hmac_sha256(k, scope.service);
  return hmac_sha256(k, "aws4_request");
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  const std::string mac = hmac_sha256(signing_key, string_to_sign);
  return text::to_hex(mac);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return text::to_hex(std::span<const std::uint8_t>(md, sizeof md));
}

std::string presigned_query(const Credentials& credentials, const Scope& scope,
                            std::string_view amz_date, std::string_view method,
                            std::string_view host, std::string_view path,
                            std::chrono::seconds expires) {
  std::map<std::string, std::string> params = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", credentials.access_key + "/" + scope.text()},
      {"X-Amz-Date", std::string(amz_date)},
      {"X-Amz-Expires", std::to_string(std::clamp<std::int64_t>(expires.count(), 1, 604800))},
      {"X-Amz-SignedHeaders", "host"},
  };
  if (!credentials.session_token.empty()) {
    params["X-Amz-Security-Token"] = credentials.session_token;
  }
  Request request;
  request.method = std::string(method);
  request.path = std::string(path);
  request.query = canonical_query(params);
  request.headers = {{"host", std::string(host)}};
  request.payload_hash = "UNSIGNED-PAYLOAD";
  const std::string to_sign = string_to_sign(amz_date, scope, canonical_request(request));
  return request.query +
         "&X-Amz-Signature=" + signature(signing_key(credentials.secret_key, scope), to_sign);
}

}  // namespace stoa::store::s3::sigv4
