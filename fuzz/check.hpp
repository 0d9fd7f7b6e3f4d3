#pragma once
// What every fuzz target shares: invariant checks that abort (libFuzzer then saves the input as a
// crash) and the splitting of one input into newline-separated fields, which keeps the seed
// corpora readable. Header-only; each target is a single translation unit.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::fuzz {

// The input as text (any bytes, NULs included).
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Prints the broken invariant and the value involved (escaped), then aborts.
[[noreturn]] inline void fail(const char* invariant, std::string_view value = {}) {
  std::fprintf(stderr, "\ninvariant violated: %s\nvalue (%zu bytes): \"", invariant, value.size());
  for (const char c : value.substr(0, 512)) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && c != '"' && c != '\\') {
      std::fputc(c, stderr);
    } else {
      std::fprintf(stderr, "\\x%02x", b);
    }
  }
  std::fprintf(stderr, "\"%s\n", value.size() > 512 ? "..." : "");
  std::abort();
}

inline void require(bool ok, const char* invariant, std::string_view value = {}) {
  if (!ok) fail(invariant, value);
}

// One line of printable ASCII: what every message shown to a client or written to a log must be.
inline bool printable_line(std::string_view s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) return false;
  }
  return true;
}

// What error_response guarantees: one line without control characters, ending in '\n'.
inline bool one_line(std::string_view body) {
  if (body.empty() || body.back() != '\n') return false;
  body.remove_suffix(1);
  for (const char c : body) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7f) return false;
  }
  return true;
}

// Splits `s` at '\n' into exactly `n` fields: the last one takes the rest (newlines included),
// missing ones are empty.
inline std::vector<std::string_view> fields(std::string_view s, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const auto nl = s.find('\n');
    if (nl == std::string_view::npos) break;
    out.push_back(s.substr(0, nl));
    s.remove_prefix(nl + 1);
  }
  out.push_back(s);
  out.resize(n);
  return out;
}

}  // namespace stoa::fuzz
