#pragma once
// Byte-level helpers with the exact semantics of the Go library functions x/mod's sumdb code
// relies on, so that stoa accepts and rejects the same inputs. Pure, thread-safe, never throw
// (except std::bad_alloc).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::sumdb::detail {

// encoding/base64 StdEncoding.DecodeString: padded standard alphabet; '\r' and '\n' anywhere are
// skipped; non-zero trailing bits are accepted (the encoding is not Strict). nullopt on any
// other byte, misplaced or missing padding.
std::optional<std::string> decode_base64(std::string_view s);

// StdEncoding.EncodeToString.
std::string encode_base64(std::string_view bytes);

// utf8.DecodeRune at s[pos]: the rune and its size; {0xFFFD, 1} for an invalid or truncated
// sequence (overlong forms, surrogates and values over U+10FFFF are invalid). pos < s.size().
struct Rune {
  char32_t value;
  std::size_t size;
};
Rune decode_rune(std::string_view s, std::size_t pos);
inline constexpr char32_t k_rune_error = 0xFFFD;

// utf8.ValidString.
bool valid_utf8(std::string_view s);

// unicode.IsSpace (the Unicode White_Space property).
bool is_space(char32_t r);

// strconv.ParseInt(s, 10, 64): an optional '+' or '-', then one or more ASCII digits (leading
// zeros allowed), within int64. nullopt otherwise.
std::optional<std::int64_t> parse_int64(std::string_view s);

// strconv.FormatInt(v, 10) == s for some v >= 0: "0" or a digit string without leading zeros,
// within int64.
std::optional<std::int64_t> parse_canonical_uint(std::string_view s);

}  // namespace stoa::sumdb::detail
