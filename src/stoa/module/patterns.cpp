#include "stoa/module/patterns.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "stoa/text/ascii.hpp"

namespace stoa::module {
namespace {

// Case folding is threaded through the matcher instead of lower-casing copies of the inputs, so
// that nothing allocates. It is exact: ASCII letters are single-byte runes, never part of a
// multi-byte sequence, and none of the pattern's syntax characters is a letter.
enum class Fold : std::uint8_t { none, ascii };

char fold_byte(char c, Fold fold) { return fold == Fold::ascii ? text::to_lower(c) : c; }

char32_t fold_rune(char32_t r, Fold fold) {
  return fold == Fold::ascii && r >= U'A' && r <= U'Z' ? r - U'A' + U'a' : r;
}

constexpr char32_t k_rune_error = U'\uFFFD';

struct Rune {
  char32_t value = k_rune_error;
  std::size_t width = 0;  // bytes; 0 only for empty input
  bool valid() const { return width > 1 || value != k_rune_error; }
};

// Go's utf8.DecodeRuneInString: the first rune of s; a byte that does not start a well-formed
// (shortest-form, non-surrogate, <= U+10FFFF) sequence decodes as U+FFFD of width 1.
Rune decode_rune(std::string_view s) {
  if (s.empty()) return {};
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};

  std::size_t width = 0;
  unsigned char lo = 0x80;  // allowed range of the second byte
  unsigned char hi = 0xbf;
  char32_t value = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    width = 2;
    value = b0 & 0x1fU;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    width = 3;
    value = b0 & 0x0fU;
    if (b0 == 0xe0) lo = 0xa0;  // no overlong forms
    if (b0 == 0xed) hi = 0x9f;  // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    width = 4;
    value = b0 & 0x07U;
    if (b0 == 0xf0) lo = 0x90;  // no overlong forms
    if (b0 == 0xf4) hi = 0x8f;  // nothing above U+10FFFF
  } else {
    return {k_rune_error, 1};
  }
  if (s.size() < width) return {k_rune_error, 1};
  for (std::size_t i = 1; i < width; ++i) {
    const unsigned char b = byte(i);
    const bool ok = i == 1 ? b >= lo && b <= hi : b >= 0x80 && b <= 0xbf;
    if (!ok) return {k_rune_error, 1};
    value = (value << 6) | (b & 0x3fU);
  }
  return {value, width};
}

// One class character (Go's getEsc): a rune, possibly escaped by '\'. nullopt when the class is
// malformed here: end of pattern, an unescaped '-' or ']', invalid UTF-8, or nothing after it
// (a class must still be closed). Advances `pos` past the character.
std::optional<char32_t> read_class_char(std::string_view chunk, std::size_t& pos) {
  if (pos >= chunk.size() || chunk[pos] == '-' || chunk[pos] == ']') return std::nullopt;
  if (chunk[pos] == '\\' && ++pos == chunk.size()) return std::nullopt;
  const Rune r = decode_rune(chunk.substr(pos));
  if (!r.valid()) return std::nullopt;
  pos += r.width;
  if (pos == chunk.size()) return std::nullopt;
  return r.value;
}

struct ClassScan {
  std::size_t length = 0;  // bytes of the class after its '[', the closing ']' included
  bool matches = false;    // whether the rune is in the class, negation applied
};

// The class whose body starts at `chunk` (just after its '['), tested against rune `r`.
// nullopt when the class is malformed; the result does not depend on `r` otherwise.
std::optional<ClassScan> scan_class(std::string_view chunk, char32_t r, Fold fold) {
  std::size_t pos = 0;
  const bool negated = !chunk.empty() && chunk.front() == '^';
  if (negated) ++pos;
  bool in_class = false;
  for (std::size_t ranges = 0;; ++ranges) {
    if (ranges > 0 && pos < chunk.size() && chunk[pos] == ']') {
      return ClassScan{pos + 1, in_class != negated};
    }
    const auto lo = read_class_char(chunk, pos);
    if (!lo) return std::nullopt;
    auto hi = lo;
    if (chunk[pos] == '-') {  // in range: read_class_char never leaves pos at the end
      ++pos;
      hi = read_class_char(chunk, pos);
      if (!hi) return std::nullopt;
    }
    in_class = in_class || (fold_rune(*lo, fold) <= r && r <= fold_rune(*hi, fold));
  }
}

// Go's pattern chunks: a run of single-rune terms, preceded by any number of stars.
struct Chunk {
  bool star = false;
  std::string_view terms;
};

// Splits the next chunk off the front of `pattern`. A '*' inside a class or after '\' is part of
// the terms, the way Go's path.Match scans them.
Chunk next_chunk(std::string_view& pattern) {
  Chunk chunk;
  while (!pattern.empty() && pattern.front() == '*') {
    pattern.remove_prefix(1);
    chunk.star = true;
  }
  bool in_class = false;
  std::size_t end = 0;
  for (; end < pattern.size(); ++end) {
    const char c = pattern[end];
    if (c == '\\') {
      if (end + 1 < pattern.size()) ++end;
    } else if (c == '[') {
      in_class = true;
    } else if (c == ']') {
      in_class = false;
    } else if (c == '*' && !in_class) {
      break;
    }
  }
  chunk.terms = pattern.substr(0, end);
  pattern.remove_prefix(end);
  return chunk;
}

bool terms_well_formed(std::string_view terms) {
  for (std::size_t i = 0; i < terms.size();) {
    if (terms[i] == '[') {
      const auto scan = scan_class(terms.substr(i + 1), 0, Fold::none);
      if (!scan) return false;
      i += 1 + scan->length;
    } else if (terms[i] == '\\') {
      if (i + 1 == terms.size()) return false;
      i += 2;
    } else {
      ++i;
    }
  }
  return true;
}

// Go's path.Match checks the whole pattern, whatever the name, so this can be done up front.
bool pattern_well_formed(std::string_view pattern) {
  while (!pattern.empty()) {
    if (!terms_well_formed(next_chunk(pattern).terms)) return false;
  }
  return true;
}

// How many bytes at the start of `s` the terms of a well-formed chunk match; nullopt for none.
std::optional<std::size_t> match_terms(std::string_view terms, std::string_view s, Fold fold) {
  std::size_t at = 0;  // into s
  for (std::size_t i = 0; i < terms.size();) {
    if (at == s.size()) return std::nullopt;
    switch (terms[i]) {
      case '[': {
        const Rune r = decode_rune(s.substr(at));
        const auto scan = scan_class(terms.substr(i + 1), fold_rune(r.value, fold), fold);
        if (!scan || !scan->matches) return std::nullopt;
        i += 1 + scan->length;
        at += r.width;
        break;
      }
      case '?':
        if (s[at] == '/') return std::nullopt;
        at += decode_rune(s.substr(at)).width;
        ++i;
        break;
      case '\\':
        ++i;  // well-formed: a byte follows
        [[fallthrough]];
      default:
        if (fold_byte(terms[i], fold) != fold_byte(s[at], fold)) return std::nullopt;
        ++i;
        ++at;
        break;
    }
  }
  return at;
}

std::optional<bool> match(std::string_view pattern, std::string_view name, Fold fold) {
  if (!pattern_well_formed(pattern)) return std::nullopt;
  while (!pattern.empty()) {
    const Chunk chunk = next_chunk(pattern);
    if (chunk.star && chunk.terms.empty()) return name.find('/') == std::string_view::npos;
    // The last chunk must match all that is left of the name.
    auto match_at = [&](std::size_t skip) -> std::optional<std::size_t> {
      auto n = match_terms(chunk.terms, name.substr(skip), fold);
      if (n && pattern.empty() && skip + *n != name.size()) return std::nullopt;
      return n;
    };
    // Go takes the first place a chunk matches and never goes back to try a later one; a star
    // skips bytes (not runes), up to the next '/'.
    bool found = false;
    for (std::size_t skip = 0; skip <= name.size(); ++skip) {
      if (auto n = match_at(skip)) {
        name.remove_prefix(skip + *n);
        found = true;
        break;
      }
      if (!chunk.star || skip == name.size() || name[skip] == '/') break;
    }
    if (!found) return false;
  }
  return name.empty();
}

bool match_prefix(std::string_view globs, std::string_view target, Fold fold) {
  while (!globs.empty()) {
    const std::size_t comma = globs.find(',');
    std::string_view glob = globs.substr(0, comma);
    globs.remove_prefix(comma == std::string_view::npos ? globs.size() : comma + 1);
    if (!glob.empty() && glob.back() == '/') glob.remove_suffix(1);
    if (glob.empty()) continue;

    // The prefix of target with as many elements as the glob: up to its (N+1)th slash.
    const auto slashes = static_cast<std::size_t>(std::count(glob.begin(), glob.end(), '/'));
    std::size_t seen = 0;
    std::size_t end = target.size();
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (target[i] != '/') continue;
      if (seen == slashes) {
        end = i;
        break;
      }
      ++seen;
    }
    if (seen < slashes) continue;  // target has too few elements
    if (match(glob, target.substr(0, end), fold).value_or(false)) return true;
  }
  return false;
}

}  // namespace

std::optional<bool> match_glob(std::string_view pattern, std::string_view name) noexcept {
  return match(pattern, name, Fold::none);
}

bool match_prefix_patterns(std::string_view globs, std::string_view target) noexcept {
  return match_prefix(globs, target, Fold::none);
}

bool match_prefix_patterns_folded(std::string_view globs, std::string_view target) noexcept {
  return match_prefix(globs, target, Fold::none) || match_prefix(globs, target, Fold::ascii);
}

}  // namespace stoa::module
