#pragma once
// Azure Storage Shared Key authorization (Blob service, version 2015-02-21 and later) as pure
// functions: the canonicalized headers and resource, the string to sign, and the signature.
// No clock, no I/O: x-ms-date is one of the headers the caller passes. Thread-safe; nothing
// throws but std::bad_alloc and std::runtime_error when OpenSSL fails.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stoa::store::azure::shared_key {

struct Request {
  std::string method;  // "GET"
  // The path as sent, from the endpoint's root, e.g. "/mycontainer/x/@v/list", or
  // "/devstoreaccount1/mycontainer/x" for an endpoint with the account in its path (Azurite).
  std::string path;
  // Query parameters, decoded; a name may repeat (its values are joined by ',', sorted).
  std::vector<std::pair<std::string, std::string>> query;
  // Every request header, names in any case. The standard ones are looked up by name; every
  // "x-ms-*" one is canonicalized.
  std::vector<std::pair<std::string, std::string>> headers;
};

// "x-ms-date:...\nx-ms-version:...\n": the x-ms-* headers, names lowercased, sorted, each once,
// values with runs of white space squeezed to one space and trimmed.
std::string canonicalized_headers(const Request& request);

// "/<account><path>" then "\n<name>:<v1,v2>" for each query parameter, names lowercased and
// sorted, values sorted.
std::string canonicalized_resource(std::string_view account, const Request& request);

// VERB, Content-Encoding, Content-Language, Content-Length ("" when zero), Content-MD5,
// Content-Type, Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range,
// one per line, then the canonicalized headers and resource.
std::string string_to_sign(std::string_view account, const Request& request);

// Base64 of HMAC-SHA256(base64-decoded `account_key`, `string_to_sign`); nullopt when the key
// is not base64.
std::optional<std::string> signature(std::string_view account_key, std::string_view string_to_sign);

// "SharedKey <account>:<signature>"; nullopt when the key is not base64.
std::optional<std::string> authorization(std::string_view account, std::string_view account_key,
                                         const Request& request);

// Standard base64 with padding; decode refuses anything else (nullopt).
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace stoa::store::azure::shared_key
