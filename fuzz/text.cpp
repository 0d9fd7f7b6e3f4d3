// The text component's escaper and redactor. The input is four newline-separated fields:
// prefix, user, password, rest.
// - json_string of the whole input always parses (Boost.JSON, which rejects invalid UTF-8) as one
//   JSON string, equal to the input when the input is valid UTF-8; in ASCII mode it is printable
//   ASCII as well.
// - redact_credentials never lets the password (nor the user) through: in
//   "<prefix>https://<user>:<password>@<rest>" and in "<prefix> password=<password> <rest>", a
//   byte of the password that occurs nowhere else in the text never appears in the output.

#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"
#include "stoa/text/redact.hpp"
#include "stoa/text/utf8.hpp"

namespace {

using stoa::fuzz::require;
namespace text = stoa::text;

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    char32_t cp = 0;
    const std::size_t n = text::decode_utf8(s, cp);
    if (n == 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

void check_json(std::string_view s) {
  for (const text::Json mode : {text::Json::utf8, text::Json::ascii}) {
    const std::string out = text::json_string(s, mode);
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(out, ec);
    require(!ec && v.is_string(), "json_string is not a JSON string", out);
    if (valid_utf8(s)) require(v.as_string() == s, "json_string does not round-trip", out);
    if (mode == text::Json::ascii) {
      require(stoa::fuzz::printable_line(out), "ascii json_string is not printable ASCII", out);
    }
  }
}

// A byte of `secret` found nowhere in `elsewhere` nor in what redaction writes, plus one; 0 if
// none.
int witness(std::string_view secret, std::string_view elsewhere) {
  for (const char c : secret) {
    if (elsewhere.find(c) == std::string_view::npos &&
        std::string(text::k_redacted).find(c) == std::string::npos) {
      return static_cast<unsigned char>(c) + 1;
    }
  }
  return 0;
}

bool ends_authority(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b <= 0x20 || b == 0x7f || c == '/' || c == '"' || c == '<' || c == '>';
}

void check_userinfo(std::string_view prefix, std::string_view user, std::string_view password,
                    std::string_view rest) {
  for (const char c : std::string(user) + std::string(password)) {
    if (ends_authority(c)) return;  // not one URL's userinfo
  }
  const std::string in = std::string(prefix) + "https://" + std::string(user) + ":" +
                         std::string(password) + "@" + std::string(rest);
  const std::string out = text::redact_credentials(in);
  const std::string elsewhere = std::string(prefix) + "https://:@" + std::string(rest);
  if (const int w = witness(password, elsewhere + std::string(user))) {
    require(out.find(static_cast<char>(w - 1)) == std::string::npos, "a URL's password shows", out);
  }
  if (const int w = witness(user, elsewhere + std::string(password))) {
    require(out.find(static_cast<char>(w - 1)) == std::string::npos, "a URL's user shows", out);
  }
}

void check_parameter(std::string_view prefix, std::string_view password, std::string_view rest) {
  for (const char c : password) {
    if (text::is_space(c) || c == '&' || c == '\'' || c == '\\') return;
  }
  const std::string in =
      std::string(prefix) + " password=" + std::string(password) + " " + std::string(rest);
  const std::string out = text::redact_credentials(in);
  if (const int w = witness(password, std::string(prefix) + " password= " + std::string(rest))) {
    require(out.find(static_cast<char>(w - 1)) == std::string::npos, "a password= value shows",
            out);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = stoa::fuzz::as_text(data, size);
  check_json(s);
  const auto f = stoa::fuzz::fields(s, 4);
  check_userinfo(f[0], f[1], f[2], f[3]);
  check_parameter(f[0], f[2], f[3]);
  (void)text::redact_credentials(s);
  return 0;
}
