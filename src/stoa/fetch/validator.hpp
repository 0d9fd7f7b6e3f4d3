#pragma once
// The validator hook: an HTTP endpoint a team runs to allow or deny a new module version before
// stoa stores it (license or vulnerability policy). stoa POSTs a JSON description of the zip:
//   {"module":"example.com/m","version":"v1.2.3","kind":"zip","size":12345,"h1":"h1:..."}
// and reads the answer: 200 allows, 403 denies (the first line of a text/plain body is the reason
// shown to the go user), anything else (or no answer within the timeout) is an error, which the
// caller turns into allow or deny per its configured failure mode. Redirects are not followed: a
// 3xx is an error like any other status. Thread-safe; blocking.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace stoa::fetch {

struct ValidationRequest {
  std::string module;   // decoded module path
  std::string version;  // decoded version
  std::string kind;     // "zip"
  std::uint64_t size = 0;
  std::string h1;  // go.sum hash of the zip
};

struct ValidationVerdict {
  enum class Decision { allow, deny, error } decision = Decision::error;
  std::string reason;  // deny: the validator's words; error: what went wrong (no credentials)
};

class Validator {
 public:
  virtual ~Validator() = default;
  virtual ValidationVerdict check(const ValidationRequest& req) = 0;
};

std::unique_ptr<Validator> make_http_validator(std::string url, std::chrono::milliseconds timeout);

// The JSON body sent for `req` (exposed for tests).
std::string validation_body(const ValidationRequest& req);

}  // namespace stoa::fetch
