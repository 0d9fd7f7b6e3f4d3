#pragma once
// ASCII character classes, case folding, trimming and hex digits: the byte-level text helpers
// every parser of HTTP, configuration and module text needs. Bytes >= 0x80 belong to no class
// and are never case-folded (unlike <cctype>, which follows the C locale). Pure, thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stoa::text {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_alpha(char c) { return is_lower(c) || is_upper(c); }
constexpr bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

// HTTP's optional whitespace (RFC 9110 OWS): space and horizontal tab.
constexpr bool is_ows(char c) { return c == ' ' || c == '\t'; }

// The six ASCII whitespace bytes: space, \t, \n, \v, \f, \r.
constexpr bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

constexpr char to_lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char to_upper(char c) { return is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// The value of a hex digit of either case, -1 for any other byte.
constexpr int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a lowercase hex digit, -1 for anything else (uppercase included): for formats
// that define lowercase hex only (W3C trace context).
constexpr int lower_hex_value(char c) { return is_upper(c) ? -1 : hex_value(c); }

// `s` with A-Z mapped to a-z.
std::string to_lower(std::string_view s);

// Equal but for the case of A-Z.
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

// `s` without leading and trailing OWS (space, tab).
std::string_view trim_ows(std::string_view s);

// `s` without leading and trailing ASCII whitespace (is_space), like Go's strings.TrimSpace on
// ASCII text.
std::string_view trim_space(std::string_view s);

// A decimal number of 1 to 19 digits and nothing else (no sign, no blanks): Content-Length
// values, ports. nullopt otherwise (19 digits always fit in 64 bits).
std::optional<std::uint64_t> parse_u64(std::string_view s);

// Decodes every "%XX" (either case); nullopt when a '%' is not followed by two hex digits.
// Every other byte, '+' included, stays as it is.
std::optional<std::string> percent_decode(std::string_view s);

// Lowercase hex of every byte: "\x01\xab" -> "01ab".
std::string to_hex(std::string_view bytes);
std::string to_hex(std::span<const std::uint8_t> bytes);
void append_hex(std::string& out, std::span<const std::uint8_t> bytes);

}  // namespace stoa::text
