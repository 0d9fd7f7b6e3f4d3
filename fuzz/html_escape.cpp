// The html component's escaper (html/html.hpp), whose output is put inside HTML elements and
// double-quoted attribute values. For any input:
// - escape_text's output is valid UTF-8 without '<', '>', '"', '\'' or a control character other
//   than tab and newline, every '&' starts one of the five entities it writes, and no
//   bidirectional formatting character is left; decoding the entities gives back the input
//   when the input is valid UTF-8 without such characters.
// - percent_encode's output is unreserved characters and "%XX" only.
// - Url::external accepts only "http://" or "https://" (any case) followed by a host, and what
//   it accepts holds no byte that could end an attribute value or start a tag.

#include <cstddef>
#include <cstdint>
#include <string>

#include "check.hpp"
#include "stoa/html/html.hpp"
#include "stoa/text/utf8.hpp"

namespace {

using stoa::fuzz::require;
namespace text = stoa::text;
namespace html = stoa::html;

bool hidden(char32_t cp) {
  if (cp == U'\t' || cp == U'\n') return false;
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// True when `s` is valid UTF-8; `shown` is set when it also holds no hidden code point.
bool valid_utf8(std::string_view s, bool& shown) {
  shown = true;
  while (!s.empty()) {
    char32_t cp = 0;
    const std::size_t n = text::decode_utf8(s, cp);
    if (n == 0) return false;
    if (hidden(cp)) shown = false;
    s.remove_prefix(n);
  }
  return true;
}

std::string unescape(std::string_view s) {
  static constexpr std::pair<std::string_view, char> k_entities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
  std::string out;
  while (!s.empty()) {
    bool matched = false;
    if (s.front() == '&') {
      for (const auto& [entity, c] : k_entities) {
        if (s.starts_with(entity)) {
          out += c;
          s.remove_prefix(entity.size());
          matched = true;
          break;
        }
      }
      require(matched, "an '&' that starts no entity", s);
      continue;
    }
    out += s.front();
    s.remove_prefix(1);
  }
  return out;
}

void check_escape(std::string_view in) {
  const std::string out = html::escape_text(in);
  bool shown = false;
  require(valid_utf8(out, shown), "escape_text output is not valid UTF-8", out);
  require(shown, "escape_text output holds a control or bidi character", out);
  for (const char c : out) {
    require(c != '<' && c != '>' && c != '"' && c != '\'', "escape_text left markup", out);
  }
  const std::string back = unescape(out);
  bool in_shown = false;
  if (valid_utf8(in, in_shown) && in_shown) {
    require(back == in, "escape_text does not round-trip", out);
  }
}

void check_percent(std::string_view in) {
  const std::string out = html::percent_encode(in, "/");
  const auto upper_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (c == '%') {
      require(i + 2 < out.size() && upper_hex(out[i + 1]) && upper_hex(out[i + 2]),
              "percent_encode wrote a '%' without two hex digits", out);
      i += 2;
      continue;
    }
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    require(ok, "percent_encode left a reserved byte", out);
  }
}

void check_external(std::string_view in) {
  const auto url = html::Url::external(in);
  if (!url) return;
  const std::string& s = url->str();
  const std::string lower = [&] {
    std::string l;
    for (const char c : s.substr(0, 8)) l += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return l;
  }();
  require(lower.starts_with("https://") || lower.starts_with("http://"),
          "Url::external accepted another scheme", s);
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    require(b > 0x20 && b < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' && c != '\\' &&
                c != '`',
            "Url::external accepted a byte that can break out", s);
  }
  html::Html h;
  h.element("a", in, {{"href", *url}});
  require(
      h.str().find("href=\"" + s + "\"") != std::string::npos || s.find('&') != std::string::npos,
      "an accepted URL changed in its attribute", h.str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto s = stoa::fuzz::as_text(data, size);
  check_escape(s);
  check_percent(s);
  check_external(s);
  return 0;
}
