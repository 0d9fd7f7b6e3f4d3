#pragma once
// UTF-8 decoding as RFC 3629 defines it (and Go's utf8.DecodeRuneInString accepts): shortest
// form only, no surrogates, nothing above U+10FFFF. Pure, thread-safe.

#include <cstddef>
#include <string_view>

namespace stoa::text {

// Decodes the one sequence at the start of `s`. Returns its length (1 to 4) and sets `cp`, or
// returns 0 (cp unspecified) when `s` is empty or does not start with a valid sequence.
std::size_t decode_utf8(std::string_view s, char32_t& cp);

}  // namespace stoa::text
