#include "stoa/modzip/unicode.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace stoa::modzip::detail {
namespace {

struct RuneRange {
  char32_t lo;
  char32_t hi;
};

struct FoldPair {
  char32_t rune;
  char32_t min;
};

#include "stoa/modzip/unicode_tables.inc"

constexpr char32_t k_rune_error = 0xFFFD;
constexpr char32_t k_max_rune = 0x10FFFF;

bool is_surrogate(char32_t r) { return r >= 0xD800 && r <= 0xDFFF; }

// Decodes one sequence at s[i]; returns the rune and its length, or length 0 when invalid.
std::pair<char32_t, std::size_t> decode(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  char32_t r = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, r = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, r = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, r = b0 & 0x07, min = 0x10000;
  } else {
    return {k_rune_error, 0};
  }
  if (s.size() - i < len) return {k_rune_error, 0};
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return {k_rune_error, 0};
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > k_max_rune || is_surrogate(r)) return {k_rune_error, 0};
  return {r, len};
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto [r, len] = decode(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

char32_t decode_rune(std::string_view s, std::size_t& i) {
  const auto [r, len] = decode(s, i);
  i += len == 0 ? 1 : len;
  return r;
}

void append_rune(std::string& out, char32_t r) {
  if (r > k_max_rune || is_surrogate(r)) r = k_rune_error;
  const auto put = [&](unsigned v) { out.push_back(static_cast<char>(v)); };
  if (r < 0x80) {
    put(r);
  } else if (r < 0x800) {
    put(0xC0 | (r >> 6));
    put(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    put(0xE0 | (r >> 12));
    put(0x80 | ((r >> 6) & 0x3F));
    put(0x80 | (r & 0x3F));
  } else {
    put(0xF0 | (r >> 18));
    put(0x80 | ((r >> 12) & 0x3F));
    put(0x80 | ((r >> 6) & 0x3F));
    put(0x80 | (r & 0x3F));
  }
}

bool is_letter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  const auto* end = std::end(k_letter_ranges);
  const auto* it =
      std::upper_bound(std::begin(k_letter_ranges), end, r,
                       [](char32_t v, const RuneRange& range) { return v < range.lo; });
  return it != std::begin(k_letter_ranges) && r <= std::prev(it)->hi;
}

char32_t fold_min(char32_t r) {
  const auto* end = std::end(k_fold_min);
  const auto* it = std::lower_bound(std::begin(k_fold_min), end, r,
                                    [](const FoldPair& p, char32_t v) { return p.rune < v; });
  return it != end && it->rune == r ? it->min : r;
}

std::string str_to_fold(std::string_view s) {
  const bool fast = std::none_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 0x80 || (b >= 'A' && b <= 'Z');
  });
  if (fast) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t r = fold_min(decode_rune(s, i));
    if (r >= 'A' && r <= 'Z') r += 'a' - 'A';
    append_rune(out, r);
  }
  return out;
}

}  // namespace stoa::modzip::detail
