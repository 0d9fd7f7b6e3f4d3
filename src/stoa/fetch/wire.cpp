#include "stoa/fetch/wire.hpp"

#include <cstdint>

namespace stoa::fetch {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// Decodes one UTF-8 sequence at the start of `s` (non-empty). Returns its length and sets `cp`,
// or returns 0 when the bytes are not a valid, shortest-form encoding of a scalar value.
std::size_t decode_utf8(std::string_view s, char32_t& cp) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const std::uint8_t b = byte(i);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return len;
}

bool is_disguising_format_char(char32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

}  // namespace

std::string path_escape(std::string_view path) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (const char c : path) {
    switch (c) {
      case '-':
      case '.':
      case '_':
      case '~':
      case '$':
      case '&':
      case '+':
      case ':':
      case '=':
      case '@':
      case '/':
        out += c;
        continue;
      default:
        break;
    }
    if (is_alnum(c)) {
      out += c;
      continue;
    }
    const auto b = static_cast<std::uint8_t>(c);
    out += '%';
    out += k_hex[b >> 4];
    out += k_hex[b & 0x0F];
  }
  return out;
}

std::string redact_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const auto authority_begin = scheme_end + 3;
  auto authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  const auto at = url.substr(authority_begin, authority_end - authority_begin).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, authority_begin));
  out += url.substr(authority_begin + at + 1);
  return out;
}

std::string_view redirect_protocols(std::string_view url) {
  const auto scheme_end = url.find(':');
  if (scheme_end != std::string_view::npos && iequals(url.substr(0, scheme_end), "https")) {
    return "https";
  }
  return "http,https";
}

bool is_plain_text(std::string_view content_type) {
  auto semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "text/plain")) return false;
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    const auto param = trim(content_type.substr(0, semi));
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq)), "charset")) continue;
    auto value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!iequals(value, "utf-8") && !iequals(value, "us-ascii")) return false;
  }
  return true;
}

std::string sanitize_line(std::string_view text, std::size_t max_bytes) {
  text = trim(text.substr(0, text.find('\n')));
  std::string out;
  while (!text.empty()) {
    char32_t cp = 0;
    std::size_t len = decode_utf8(text, cp);
    std::string_view piece = text.substr(0, len);
    if (len == 0) {
      len = 1;
      piece = "?";
    } else if (cp == '\t') {
      piece = " ";
    } else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || is_disguising_format_char(cp)) {
      piece = "?";
    }
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    text.remove_prefix(len);
  }
  return out;
}

std::optional<std::string> error_detail(std::string_view content_type, std::string_view body,
                                        std::size_t max_bytes) {
  if (!is_plain_text(content_type)) return std::nullopt;
  std::string line = sanitize_line(body, max_bytes);
  if (line.empty()) return std::nullopt;
  return line;
}

}  // namespace stoa::fetch
