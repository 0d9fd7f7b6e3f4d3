// policy::Credentials::authenticate on an Authorization header value (straight from the client).
// It never throws; it accepts exactly the configured secrets (a token as Bearer, or as the
// password of Basic credentials with its name; a user's password as Basic), naming the right
// principal; anything else is anonymous (empty) or bad_credentials. decode_base64 never yields
// more than 3 bytes per 4 input characters.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "check.hpp"
#include "stoa/policy/auth.hpp"

namespace {

using stoa::fuzz::require;
namespace policy = stoa::policy;

// alice's password is "pw" (bcrypt cost 4, so a check is cheap); token "tok" belongs to "ci".
constexpr const char* k_users =
    "alice:$2b$04$DWmSyISl26BgsN7e5S.sFORfgL/in9TnnlmIUnfVKzrZZJMaM2772\n";
constexpr const char* k_tokens =
    "ci 1a7674eb4ee78df7e1ac439a93c3fa8e3c945784d4dec9fd8e3011738b2f1d62\n";

const policy::Credentials& credentials() {
  static const auto creds = [] {
    auto r = policy::Credentials::parse(k_users, "users", k_tokens, "tokens");
    require(std::holds_alternative<std::unique_ptr<policy::Credentials>>(r),
            "the fixed credentials do not parse", "");
    return std::move(std::get<std::unique_ptr<policy::Credentials>>(r));
  }();
  return *creds;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto value = stoa::fuzz::as_text(data, size);
  if (const auto decoded = policy::decode_base64(value)) {
    require(decoded->size() <= value.size() / 4 * 3, "base64 decoded to too many bytes", value);
  }
  const auto r = credentials().authenticate(value);
  using S = policy::AuthResult::Status;
  if (r.status == S::ok) {
    require(r.principal == "alice" || r.principal == "ci", "an unknown principal", r.principal);
  } else {
    require(r.principal.empty(), "a principal without success", value);
  }
  return 0;
}
