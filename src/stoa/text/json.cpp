#include "stoa/text/json.hpp"

#include "stoa/text/utf8.hpp"

namespace stoa::text {
namespace {

constexpr std::string_view k_hex = "0123456789abcdef";

void append_u_escape(std::string& out, char32_t unit) {
  out += "\\u";
  out += k_hex[(unit >> 12) & 0xf];
  out += k_hex[(unit >> 8) & 0xf];
  out += k_hex[(unit >> 4) & 0xf];
  out += k_hex[unit & 0xf];
}

// Bytes copied as they are: printable ASCII but '"' and '\'.
bool plain(unsigned char b) { return b >= 0x20 && b < 0x7f && b != '"' && b != '\\'; }

}  // namespace

void append_json_escaped(std::string& out, std::string_view s, Json mode) {
  std::size_t i = 0;
  while (i < s.size()) {
    // The common case: a run of plain bytes, appended at once.
    std::size_t run = i;
    while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      char32_t cp = 0;
      std::size_t n = decode_utf8(s.substr(i), cp);
      if (n == 0) {
        n = 1;
        cp = 0xFFFD;
      }
      if (mode == Json::ascii) {
        if (cp >= 0x10000) {
          const char32_t v = cp - 0x10000;
          append_u_escape(out, 0xD800 + (v >> 10));
          append_u_escape(out, 0xDC00 + (v & 0x3FF));
        } else {
          append_u_escape(out, cp);
        }
      } else if (cp == 0xFFFD && n == 1) {
        out += "\xef\xbf\xbd";
      } else {
        out.append(s.data() + i, n);
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        append_u_escape(out, c);  // other C0 controls and DEL
    }
    ++i;
  }
}

void append_json_string(std::string& out, std::string_view s, Json mode) {
  out += '"';
  append_json_escaped(out, s, mode);
  out += '"';
}

std::string json_string(std::string_view s, Json mode) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s, mode);
  return out;
}

}  // namespace stoa::text
