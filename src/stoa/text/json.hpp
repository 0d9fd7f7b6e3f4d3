#pragma once
// The one JSON string escaper: every JSON (and log) writer in stoa quotes text through it.
// Pure, thread-safe.
//
// The output is always a valid JSON string literal (RFC 8259), whatever the input bytes:
// - '"' and '\' are escaped; \b \f \n \r \t use their short forms; every other C0 control byte
//   and DEL (0x7f) is written as \u00XX, so a value can never break a line or a terminal;
// - valid UTF-8 is copied (Json::utf8) or written as \uXXXX escapes, surrogate pairs above
//   U+FFFF (Json::ascii, for logs that must stay 7-bit);
// - each byte that does not start a valid UTF-8 sequence (truncated, overlong, surrogate, above
//   U+10FFFF, stray continuation) becomes U+FFFD, one per byte.
// Parsed back, the literal equals the input exactly when the input is valid UTF-8. Since DEL and
// every control byte but none of the printable ones are escaped, the literal is also a valid
// TOML basic string.

#include <string>
#include <string_view>

namespace stoa::text {

enum class Json {
  utf8,   // non-ASCII characters copied as UTF-8
  ascii,  // non-ASCII characters as \uXXXX: the output is printable ASCII
};

// Appends `s` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view s, Json mode = Json::utf8);

// Appends what goes between the quotes of that literal (for formats such as logfmt that put
// the quotes themselves, or none).
void append_json_escaped(std::string& out, std::string_view s, Json mode = Json::utf8);

// `s` as a JSON string literal, quotes included.
std::string json_string(std::string_view s, Json mode = Json::utf8);

}  // namespace stoa::text
