#include "stoa/fetch/wire.hpp"

#include <cstdint>

#include "stoa/text/ascii.hpp"
#include "stoa/text/utf8.hpp"

namespace stoa::fetch {

namespace {

using text::decode_utf8;
using text::iequals;
using text::is_alnum;
using text::trim_space;

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

std::string_view redirect_protocols(std::string_view url) {
  const auto scheme_end = url.find(':');
  if (scheme_end != std::string_view::npos && iequals(url.substr(0, scheme_end), "https")) {
    return "https";
  }
  return "http,https";
}

bool is_plain_text(std::string_view content_type) {
  auto semi = content_type.find(';');
  if (!iequals(trim_space(content_type.substr(0, semi)), "text/plain")) return false;
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    const auto param = trim_space(content_type.substr(0, semi));
    const auto eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim_space(param.substr(0, eq)), "charset")) continue;
    auto value = trim_space(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!iequals(value, "utf-8") && !iequals(value, "us-ascii")) return false;
  }
  return true;
}

std::string sanitize_line(std::string_view text, std::size_t max_bytes) {
  text = trim_space(text.substr(0, text.find('\n')));
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
