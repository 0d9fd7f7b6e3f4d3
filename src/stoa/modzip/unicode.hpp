#pragma once
// The few pieces of Go's unicode and unicode/utf8 packages that module file-path checks and
// x/mod's case-fold collision check depend on. Tables are generated from Go (unicode_tables.inc).
// Pure, thread-safe.

#include <string>
#include <string_view>

namespace stoa::modzip::detail {

// utf8.ValidString: rejects truncated and overlong sequences, surrogates and runes > U+10FFFF.
bool is_valid_utf8(std::string_view s);

// Decodes the rune at s[i], advancing i. An invalid byte decodes to U+FFFD and advances by one,
// as Go's `for _, r := range s` does. Precondition: i < s.size().
char32_t decode_rune(std::string_view s, std::size_t& i);

// Appends the UTF-8 encoding of r (U+FFFD for surrogates and values > U+10FFFF).
void append_rune(std::string& out, char32_t r);

// unicode.IsLetter.
bool is_letter(char32_t r);

// The smallest rune of r's unicode.SimpleFold orbit (r itself when it has no case variants).
char32_t fold_min(char32_t r);

// x/mod zip's strToFold: fold_min of every rune, then A-Z to a-z; strings.EqualFold(s, t) iff
// str_to_fold(s) == str_to_fold(t).
std::string str_to_fold(std::string_view s);

}  // namespace stoa::modzip::detail
