#include "stoa/sumdb/text.hpp"

#include <array>
#include <limits>

namespace stoa::sumdb::detail {
namespace {

constexpr std::string_view k_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = 0xFF;
  for (std::size_t i = 0; i < k_alphabet.size(); ++i) {
    t[static_cast<unsigned char>(k_alphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> k_decode = make_decode_table();

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

std::optional<std::string> decode_base64(std::string_view s) {
  // Go skips '\r' and '\n' wherever they appear, so dropping them first and then requiring the
  // strict padded layout accepts exactly what StdEncoding.DecodeString accepts.
  std::string in;
  in.reserve(s.size());
  for (const char c : s) {
    if (c != '\r' && c != '\n') in += c;
  }
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::array<std::uint8_t, 4> v{};
    std::size_t data = 4;  // sextets before padding in this quantum
    for (std::size_t j = 0; j < 4; ++j) {
      const auto c = static_cast<unsigned char>(in[i + j]);
      if (c == '=') {
        // Padding: only in the last quantum, only at positions 2 or 3, and "=" at 2 needs a
        // second "=" at 3.
        if (!last || j < 2) return std::nullopt;
        if (j == 2 && in[i + 3] != '=') return std::nullopt;
        data = j;
        break;
      }
      if (k_decode[c] == 0xFF) return std::nullopt;
      v[j] = k_decode[c];
    }
    const std::uint32_t bits = (std::uint32_t{v[0]} << 18) | (std::uint32_t{v[1]} << 12) |
                               (std::uint32_t{v[2]} << 6) | std::uint32_t{v[3]};
    out += static_cast<char>((bits >> 16) & 0xFF);
    if (data >= 3) out += static_cast<char>((bits >> 8) & 0xFF);
    if (data == 4) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return std::uint32_t{static_cast<unsigned char>(bytes[k])}; };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += k_alphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += rest == 2 ? k_alphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Rune decode_rune(std::string_view s, std::size_t pos) {
  const Rune bad{k_rune_error, 1};
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[pos + k]); };
  const std::size_t avail = s.size() - pos;
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return {b0, 1};
  if (b0 < 0xC2 || b0 > 0xF4) return bad;
  if (b0 < 0xE0) {
    if (avail < 2 || !is_continuation(at(1))) return bad;
    return {static_cast<char32_t>(((b0 & 0x1F) << 6) | (at(1) & 0x3F)), 2};
  }
  // The second byte's range depends on the first (no overlong forms, no surrogates, <= U+10FFFF).
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 == 0xE0) lo = 0xA0;
  if (b0 == 0xED) hi = 0x9F;
  if (b0 == 0xF0) lo = 0x90;
  if (b0 == 0xF4) hi = 0x8F;
  if (avail < 2 || at(1) < lo || at(1) > hi) return bad;
  if (b0 < 0xF0) {
    if (avail < 3 || !is_continuation(at(2))) return bad;
    return {static_cast<char32_t>(((b0 & 0x0F) << 12) | ((at(1) & 0x3F) << 6) | (at(2) & 0x3F)), 3};
  }
  if (avail < 4 || !is_continuation(at(2)) || !is_continuation(at(3))) return bad;
  return {static_cast<char32_t>(((b0 & 0x07) << 18) | ((at(1) & 0x3F) << 12) |
                                ((at(2) & 0x3F) << 6) | (at(3) & 0x3F)),
          4};
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Rune r = decode_rune(s, i);
    if (r.value == k_rune_error && r.size == 1) return false;
    i += r.size;
  }
  return true;
}

bool is_space(char32_t r) {
  switch (r) {
    case U'\t':
    case U'\n':
    case U'\v':
    case U'\f':
    case U'\r':
    case U' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  // Accumulate the magnitude as unsigned; the limit is 2^63 for a negative value.
  const std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (limit - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (negative) {
    // -2^63 has no positive counterpart: negate in unsigned arithmetic.
    return v == 0 ? 0 : -static_cast<std::int64_t>(v - 1) - 1;
  }
  return static_cast<std::int64_t>(v);
}

std::optional<std::int64_t> parse_canonical_uint(std::string_view s) {
  if (s.empty() || s[0] == '+' || s[0] == '-' || (s[0] == '0' && s.size() > 1)) {
    return std::nullopt;
  }
  return parse_int64(s);
}

}  // namespace stoa::sumdb::detail
