#include "stoa/html/html.hpp"

#include "stoa/text/ascii.hpp"
#include "stoa/text/utf8.hpp"

namespace stoa::html {
namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Shown as U+FFFD: controls but tab and newline, and the bidirectional formatting characters.
bool hidden_code_point(char32_t cp) {
  if (cp == U'\t' || cp == U'\n') return false;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (cp == 0x061c || cp == 0x200e || cp == 0x200f) return true;  // ALM, LRM, RLM
  if (cp >= 0x202a && cp <= 0x202e) return true;                  // LRE RLE PDF LRO RLO
  if (cp >= 0x2066 && cp <= 0x2069) return true;                  // LRI RLI FSI PDI
  return false;
}

bool unreserved(char c) {
  return text::is_alpha(c) || text::is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// The characters a configured, already-encoded path may hold.
bool path_char(char c) {
  return unreserved(c) || c == '/' || c == '%' || c == '!' || c == '$' || c == '*' || c == '+' ||
         c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

}  // namespace

void append_escaped(std::string& out, std::string_view s) {
  while (!s.empty()) {
    const char c = s.front();
    if (static_cast<unsigned char>(c) < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          if (hidden_code_point(static_cast<unsigned char>(c))) {
            out += k_replacement;
          } else {
            out += c;
          }
      }
      s.remove_prefix(1);
      continue;
    }
    char32_t cp = 0;
    const std::size_t n = text::decode_utf8(s, cp);
    if (n == 0) {  // one invalid byte, one replacement (as Go's range over a string)
      out += k_replacement;
      s.remove_prefix(1);
      continue;
    }
    if (hidden_code_point(cp)) {
      out += k_replacement;
    } else {
      out.append(s.substr(0, n));
    }
    s.remove_prefix(n);
  }
}

std::string escape_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  append_escaped(out, s);
  return out;
}

std::string percent_encode(std::string_view s, std::string_view keep) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    if (unreserved(c) || (c != '%' && keep.find(c) != std::string_view::npos)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    }
  }
  return out;
}

std::optional<Url> Url::local(std::string_view base) {
  if (base.empty() || base.front() != '/' || base.starts_with("//")) return std::nullopt;
  for (const char c : base) {
    if (!path_char(c)) return std::nullopt;
  }
  return Url(std::string(base));
}

std::optional<Url> Url::external(std::string_view s) {
  std::string_view rest;
  if (text::istarts_with(s, "https://")) {
    rest = s.substr(8);
  } else if (text::istarts_with(s, "http://")) {
    rest = s.substr(7);
  } else {
    return std::nullopt;
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#') {
    return std::nullopt;  // no host
  }
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' ||
        c == '`') {
      return std::nullopt;
    }
  }
  return Url(std::string(s));
}

Url& Url::segment(std::string_view segment, bool keep_slash) {
  if (m_s.empty() || m_s.back() != '/') m_s += '/';
  m_s += percent_encode(segment, keep_slash ? "/" : "");
  return *this;
}

Url& Url::query(std::string_view name, std::string_view value) {
  m_s += m_s.find('?') == std::string::npos ? '?' : '&';
  m_s += percent_encode(name);
  m_s += '=';
  m_s += percent_encode(value);
  return *this;
}

Url& Url::fragment(std::string_view id) {
  m_s += '#';
  m_s += percent_encode(id);
  return *this;
}

void Html::start_tag(Literal tag, std::initializer_list<Attr> attrs) {
  m_out += '<';
  m_out += tag.view();
  for (const Attr& a : attrs) {
    m_out += ' ';
    m_out += a.name;
    m_out += "=\"";
    append_escaped(m_out, a.value);
    m_out += '"';
  }
  m_out += '>';
}

Html& Html::open(Literal tag, std::initializer_list<Attr> attrs) {
  start_tag(tag, attrs);
  return *this;
}

Html& Html::close(Literal tag) {
  m_out += "</";
  m_out += tag.view();
  m_out += '>';
  return *this;
}

Html& Html::empty(Literal tag, std::initializer_list<Attr> attrs) {
  start_tag(tag, attrs);
  return *this;
}

Html& Html::element(Literal tag, std::string_view text, std::initializer_list<Attr> attrs) {
  start_tag(tag, attrs);
  append_escaped(m_out, text);
  return close(tag);
}

Html& Html::text(std::string_view s) {
  append_escaped(m_out, s);
  return *this;
}

Html& Html::markup(Literal fixed) {
  m_out += fixed.view();
  return *this;
}

Html& Html::append(const Html& other) {
  m_out += other.m_out;
  return *this;
}

}  // namespace stoa::html
