#include "stoa/proxy/info_json.hpp"

#include <cstdint>
#include <vector>

#include "stoa/modzip/unicode.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::proxy {
namespace {

namespace uni = modzip::detail;

constexpr std::size_t k_max_depth = 10000;  // encoding/json's maxNestingDepth

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
using text::hex_value;
using text::is_digit;

// ---- syntax: encoding/json's checkValid ----------------------------------------------------

class Scanner {
 public:
  explicit Scanner(std::string_view s) : m_s(s) {}

  // The whole input is one value with blanks around it.
  bool valid(std::string* problem) {
    skip_blanks();
    if (!value()) return fail(problem);
    skip_blanks();
    if (m_pos != m_s.size()) {
      m_error = "invalid character after top-level value";
      return fail(problem);
    }
    return true;
  }

 private:
  bool fail(std::string* problem) const {
    if (problem != nullptr) *problem = m_error + " at offset " + std::to_string(m_pos);
    return false;
  }
  void skip_blanks() {
    while (m_pos < m_s.size() && is_blank(m_s[m_pos])) ++m_pos;
  }
  bool error(const char* what) {
    m_error = what;
    return false;
  }
  bool literal(std::string_view word) {
    if (m_s.substr(m_pos, word.size()) != word) return error("invalid literal");
    m_pos += word.size();
    return true;
  }
  bool digits() {
    if (m_pos >= m_s.size() || !is_digit(m_s[m_pos])) return error("invalid number");
    while (m_pos < m_s.size() && is_digit(m_s[m_pos])) ++m_pos;
    return true;
  }
  bool number() {
    if (m_s[m_pos] == '-') ++m_pos;
    if (m_pos >= m_s.size()) return error("invalid number");
    if (m_s[m_pos] == '0') {
      ++m_pos;
    } else if (!digits()) {
      return false;
    }
    if (m_pos < m_s.size() && m_s[m_pos] == '.') {
      ++m_pos;
      if (!digits()) return false;
    }
    if (m_pos < m_s.size() && (m_s[m_pos] == 'e' || m_s[m_pos] == 'E')) {
      ++m_pos;
      if (m_pos < m_s.size() && (m_s[m_pos] == '+' || m_s[m_pos] == '-')) ++m_pos;
      if (!digits()) return false;
    }
    return true;
  }
  bool string() {
    ++m_pos;  // opening quote
    while (m_pos < m_s.size()) {
      const auto c = static_cast<unsigned char>(m_s[m_pos]);
      if (c == '"') {
        ++m_pos;
        return true;
      }
      if (c < 0x20) return error("control character in string");
      if (c != '\\') {
        ++m_pos;
        continue;
      }
      if (++m_pos >= m_s.size()) break;
      const char e = m_s[m_pos++];
      if (e == 'u') {
        for (int i = 0; i < 4; ++i, ++m_pos) {
          if (m_pos >= m_s.size()) return error("unexpected end of input");
          if (hex_value(m_s[m_pos]) < 0) return error("invalid \\u escape");
        }
      } else if (std::string_view("bfnrt\\/\"").find(e) == std::string_view::npos) {
        return error("invalid escape in string");
      }
    }
    return error("unexpected end of input");
  }
  // One value, iteratively: `open` holds the containers entered, '{' or '['.
  bool value() {
    std::vector<char> open;
    for (;;) {
      // A value starts here.
      if (m_pos >= m_s.size()) return error("unexpected end of input");
      const char c = m_s[m_pos];
      bool scalar = true;
      if (c == '{' || c == '[') {
        open.push_back(c);
        if (open.size() > k_max_depth) return error("exceeded max depth");
        ++m_pos;
        skip_blanks();
        const char close = c == '{' ? '}' : ']';
        if (m_pos < m_s.size() && m_s[m_pos] == close) {
          ++m_pos;
          open.pop_back();
        } else {
          if (c == '{' && !member_name()) return false;
          scalar = false;
        }
      } else if (c == '"') {
        if (!string()) return false;
      } else if (c == '-' || is_digit(c)) {
        if (!number()) return false;
      } else if (c == 't') {
        if (!literal("true")) return false;
      } else if (c == 'f') {
        if (!literal("false")) return false;
      } else if (c == 'n') {
        if (!literal("null")) return false;
      } else {
        return error("invalid character looking for a value");
      }
      if (!scalar) continue;
      // A value ended: close containers or move to the next element.
      for (;;) {
        if (open.empty()) return true;
        skip_blanks();
        if (m_pos >= m_s.size()) return error("unexpected end of input");
        const char close = open.back() == '{' ? '}' : ']';
        if (m_s[m_pos] == close) {
          ++m_pos;
          open.pop_back();
          continue;
        }
        if (m_s[m_pos] != ',') return error("invalid character after value");
        ++m_pos;
        skip_blanks();
        if (open.back() == '{' && !member_name()) return false;
        break;
      }
    }
  }
  // `"name" :` and the blanks after it; m_pos is at the name.
  bool member_name() {
    if (m_pos >= m_s.size()) return error("unexpected end of input");
    if (m_s[m_pos] != '"') return error("invalid character looking for a member name");
    if (!string()) return false;
    skip_blanks();
    if (m_pos >= m_s.size()) return error("unexpected end of input");
    if (m_s[m_pos] != ':') return error("invalid character after member name");
    ++m_pos;
    skip_blanks();
    return true;
  }

  std::string_view m_s;
  std::size_t m_pos = 0;
  std::string m_error;
};

// ---- decoding a syntactically valid body ---------------------------------------------------

// encoding/json's unquote of the string literal `lit` (quotes included, already valid).
std::string unquote(std::string_view lit) {
  const std::string_view s = lit.substr(1, lit.size() - 2);
  std::string out;
  out.reserve(s.size());
  const auto u4 = [&](std::size_t at) -> long {  // the \uXXXX at s[at], or -1
    if (at + 6 > s.size() || s[at] != '\\' || s[at + 1] != 'u') return -1;
    long v = 0;
    for (std::size_t k = at + 2; k < at + 6; ++k) v = v * 16 + hex_value(s[k]);
    return v;
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c != '\\') {
      if (static_cast<unsigned char>(c) < 0x80) {
        out += c;
        ++i;
      } else {
        uni::append_rune(out, uni::decode_rune(s, i));
      }
      continue;
    }
    const char e = s[i + 1];
    if (e != 'u') {
      switch (e) {
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        default:
          out += e;
          break;  // " \ /
      }
      i += 2;
      continue;
    }
    auto r = static_cast<char32_t>(u4(i));
    i += 6;
    if (r >= 0xD800 && r < 0xE000) {
      const long low = u4(i);
      if (r < 0xDC00 && low >= 0xDC00 && low < 0xE000) {
        r = 0x10000 + ((r - 0xD800) << 10) + (static_cast<char32_t>(low) - 0xDC00);
        i += 6;
      } else {
        r = 0xFFFD;
      }
    }
    uni::append_rune(out, r);
  }
  return out;
}

// Whether the decoded key names `field` (given in upper case, ASCII) as encoding/json matches
// names: ASCII letters upper-cased, other runes folded to the smallest of their fold orbit.
bool names(std::string_view key, std::string_view field) {
  std::size_t k = 0;
  for (const char f : field) {
    if (k >= key.size()) return false;
    char32_t r = static_cast<unsigned char>(key[k]);
    if (r < 0x80) {
      ++k;
      if (r >= 'a' && r <= 'z') r -= 'a' - 'A';
    } else {
      r = uni::fold_min(uni::decode_rune(key, k));
    }
    if (r != static_cast<unsigned char>(f)) return false;
  }
  return k == key.size();
}

class Decoder {
 public:
  explicit Decoder(std::string_view s) : m_s(s) {}

  std::optional<GoRevInfo> rev_info(std::string* problem) {
    skip_blanks();
    GoRevInfo out;
    if (m_s[m_pos] == 'n') return out;  // null: a zero RevInfo
    if (m_s[m_pos] != '{') return fail(problem, "not a JSON object");
    std::string error;
    members([&](std::string_view key) {
      if (names(key, "VERSION")) {
        if (!string_or_null(&out.version)) error = "Version is not a string";
      } else if (names(key, "TIME")) {
        const std::string_view v = next_value();
        if (v == "null") return;
        if (v.front() != '"' || !is_go_json_time(v.substr(1, v.size() - 2))) {
          error = "Time is not an RFC 3339 date-time";
        } else {
          out.time = std::string(v.substr(1, v.size() - 2));
        }
      } else if (names(key, "ORIGIN")) {
        origin(error);
      } else {
        next_value();
      }
    });
    if (!error.empty()) return fail(problem, error);
    return out;
  }

 private:
  static std::optional<GoRevInfo> fail(std::string* problem, std::string_view why) {
    if (problem != nullptr) *problem = std::string(why);
    return std::nullopt;
  }
  void skip_blanks() {
    while (m_pos < m_s.size() && is_blank(m_s[m_pos])) ++m_pos;
  }
  // Skips the (valid) value at m_pos and the blanks after it; returns its text.
  std::string_view next_value() {
    skip_blanks();
    const std::size_t start = m_pos;
    std::size_t depth = 0;
    do {
      const char c = m_s[m_pos];
      if (c == '"') {
        ++m_pos;
        while (m_s[m_pos] != '"') m_pos += m_s[m_pos] == '\\' ? 2 : 1;
        ++m_pos;
      } else if (c == '{' || c == '[') {
        ++depth;
        ++m_pos;
      } else if (c == '}' || c == ']') {
        --depth;
        ++m_pos;
      } else if (depth > 0) {
        ++m_pos;
      } else {
        while (m_pos < m_s.size() && !is_blank(m_s[m_pos]) && m_s[m_pos] != ',' &&
               m_s[m_pos] != '}' && m_s[m_pos] != ']') {
          ++m_pos;
        }
      }
    } while (depth > 0);
    const std::string_view v = m_s.substr(start, m_pos - start);
    skip_blanks();
    return v;
  }
  // Calls on_member(decoded key) for each member of the object at m_pos, with m_pos at the
  // member's value; on_member must consume the value.
  template <typename F>
  void members(F&& on_member) {
    ++m_pos;  // {
    skip_blanks();
    while (m_s[m_pos] != '}') {
      const std::string_view lit = next_value();
      const std::string key = unquote(lit);
      ++m_pos;  // :
      skip_blanks();
      on_member(key);
      if (m_s[m_pos] == ',') {
        ++m_pos;
        skip_blanks();
      }
    }
    ++m_pos;  // }
    skip_blanks();
  }
  // A string (stored into *into, unless null) or null; false for any other type.
  bool string_or_null(std::string* into) {
    const std::string_view v = next_value();
    if (v == "null") return true;
    if (v.front() != '"') return false;
    if (into != nullptr) *into = unquote(v);
    return true;
  }
  void origin(std::string& error) {
    skip_blanks();
    if (m_s[m_pos] != '{') {
      if (next_value() != "null" && error.empty()) error = "Origin is not an object";
      return;
    }
    static constexpr std::string_view k_fields[] = {"VCS",       "URL",    "SUBDIR", "HASH",
                                                    "TAGPREFIX", "TAGSUM", "REF",    "REPOSUM"};
    members([&](std::string_view key) {
      for (const auto f : k_fields) {
        if (names(key, f)) {
          if (!string_or_null(nullptr) && error.empty()) error = "Origin member is not a string";
          return;
        }
      }
      next_value();
    });
  }

  std::string_view m_s;
  std::size_t m_pos = 0;
};

}  // namespace

std::optional<GoRevInfo> decode_rev_info(std::string_view body, std::string* problem) {
  std::string why;
  if (!Scanner(body).valid(&why)) {
    if (problem != nullptr) *problem = "invalid JSON: " + why;
    return std::nullopt;
  }
  return Decoder(body).rev_info(problem);
}

bool is_go_json_time(std::string_view s) {
  std::size_t pos = 0;
  // n digits exactly, as a number.
  const auto fixed = [&](std::size_t n, int& value) {
    if (pos + n > s.size()) return false;
    value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_digit(s[pos + i])) return false;
      value = value * 10 + (s[pos + i] - '0');
    }
    pos += n;
    return true;
  };
  const auto lit = [&](char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!fixed(4, year) || !lit('-') || !fixed(2, month) || month < 1 || month > 12 || !lit('-') ||
      !fixed(2, day) || !lit('T')) {
    return false;
  }
  // time.Parse's "15": one digit, or two when the second is a digit.
  if (pos >= s.size() || !is_digit(s[pos])) return false;
  hour = s[pos++] - '0';
  if (pos < s.size() && is_digit(s[pos])) hour = hour * 10 + (s[pos++] - '0');
  if (hour > 23 || !lit(':') || !fixed(2, minute) || minute > 59 || !lit(':') ||
      !fixed(2, second) || second > 59) {
    return false;
  }
  if (pos + 1 < s.size() && (s[pos] == '.' || s[pos] == ',') && is_digit(s[pos + 1])) {
    pos += 2;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
  }
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else {
    int oh = 0, om = 0;
    if (pos + 6 > s.size() || (s[pos] != '+' && s[pos] != '-') || s[pos + 3] != ':') return false;
    ++pos;
    if (!fixed(2, oh) || !lit(':') || !fixed(2, om) || oh > 24 || om > 60) return false;
  }
  if (pos != s.size()) return false;
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  return day >= 1 && day <= k_days[month - 1] + (month == 2 && leap ? 1 : 0);
}

}  // namespace stoa::proxy
