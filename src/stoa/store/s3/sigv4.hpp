#pragma once
// AWS Signature Version 4 as pure functions: the canonical request, the string to sign, the
// signing key, the signature, and the query of a presigned URL (query-string authentication).
// No clock, no I/O: the time is an argument. Thread-safe; nothing throws but std::bad_alloc and
// std::runtime_error when OpenSSL fails.
//
// stoa's requests to S3 are signed by libcurl (CURLOPT_AWS_SIGV4); the presigned URLs stoa hands
// to clients are signed here.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::store::s3::sigv4 {

// SigV4 URI encoding: A-Z a-z 0-9 - . _ ~ stay, every other byte is %XX with uppercase hex;
// '/' stays too when `keep_slash` (object paths).
std::string uri_encode(std::string_view s, bool keep_slash);

// The canonical query string of `params` (names and values not yet encoded): each encoded, sorted
// by name, joined as "name=value" with '&' (an empty value keeps its '=').
std::string canonical_query(const std::map<std::string, std::string>& params);

// "20150830T123600Z" for `t` (UTC).
std::string amz_date(std::chrono::system_clock::time_point t);

// "<yyyymmdd>/<region>/<service>/aws4_request".
struct Scope {
  std::string date;  // the first 8 characters of the request's amz_date
  std::string region;
  std::string service;
  std::string text() const;
};

struct Request {
  std::string method;  // "GET"
  std::string path;    // already URI-encoded, e.g. "/bucket/x/%40v/list"
  std::string query;   // canonical_query(...)
  // The signed headers: names in any case (lowercased here), values trimmed and inner runs of
  // blanks squeezed here; sorted by name here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// "<method>\n<path>\n<query>\n<name:value\n>...\n<signed headers>\n<payload hash>".
std::string canonical_request(const Request& request);

// "host;x-amz-date": the request's header names, lowercased, sorted, ';'-joined.
std::string signed_headers(const Request& request);

// "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex SHA-256 of the canonical request>".
std::string string_to_sign(std::string_view amz_date, const Scope& scope,
                           std::string_view canonical_request);

// HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request" (32 raw bytes).
std::string signing_key(std::string_view secret_key, const Scope& scope);

// Hex HMAC-SHA256 of `string_to_sign` under `signing_key`.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// Hex SHA-256.
std::string sha256_hex(std::string_view data);

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty: none
};

// The query string of a presigned request: method `method` of `path` (URI-encoded) at `host`
// ("host[:port]", the only signed header), valid for `expires` (clamped to 1 s .. 7 days) from
// `amz_date`, the payload unsigned; its parameters in canonical order, then X-Amz-Signature.
std::string presigned_query(const Credentials& credentials, const Scope& scope,
                            std::string_view amz_date, std::string_view method,
                            std::string_view host, std::string_view path,
                            std::chrono::seconds expires);

}  // namespace stoa::store::s3::sigv4
