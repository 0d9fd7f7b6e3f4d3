#pragma once
// Parsing of GOPROXY request paths, e.g. "/github.com/%21azure/x/@v/v1.0.0.zip".
// Pure, never throws, thread-safe.
//
// Order: reject NUL/backslash/control bytes and any percent-encoded '/', percent-decode once,
// split at "/@v/" or "/@latest", case-decode (!x) the module path and version, validate both
// (module::check_path, semver, check_path_major) before anything touches storage.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace stoa::module {

enum class Kind : std::uint8_t { list, info, mod, zip, latest };

struct Request {
  Kind kind;
  std::string module;           // decoded module path, valid per check_path
  std::string escaped_module;   // case-encoded (what storage keys and upstream URLs use)
  std::string version;          // decoded; empty for list and latest
  std::string escaped_version;  // case-encoded; empty for list and latest
  // True for info/mod/zip when `version` is canonical semver. A non-canonical .info
  // (a query such as "v1.2" or a branch name) has canonical == false; .mod/.zip never do.
  bool canonical = false;
  // A minimum release age the client asked for with a /cooldown/<age>/ prefix before the path
  // (not parsed here: proxy::Service strips the prefix and sets this). 0: none.
  std::chrono::seconds min_age{0};
};

struct BadRequest {
  int status;  // 400 for malformed input, 404 for well-formed paths that are not endpoints
  // One line of printable ASCII, shown to the go command user ("not found: ..." or
  // "bad request: ...").
  std::string message;
};

// `target` is the raw request-target, starting with '/', with any mount prefix already stripped
// by the caller. 400: a query string, over 4096 bytes, a control/non-ASCII/backslash byte (raw or
// percent-encoded), an encoded '/', a malformed %-escape, an empty, "." or ".." segment, an invalid
// module path or version, a non-canonical .mod/.zip version, an .info query outside
// [A-Za-z0-9._+~-]{1,128} (or starting with '-'/'.', or containing ".."). 404: a well-formed path
// that is not one of the five endpoints, or a canonical version whose major disagrees with the
// module path. Messages echo at most about k_max_echo_bytes of the input, escaped.
std::variant<Request, BadRequest> parse_request(std::string_view target);

// The storage key / upstream suffix for a request: "<escaped module>/@v/list",
// "<escaped module>/@v/<escaped version>.info|.mod|.zip", "<escaped module>/@latest".
std::string key_of(const Request& r);

}  // namespace stoa::module
