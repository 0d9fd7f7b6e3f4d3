#include "stoa/modzip/names.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "stoa/modzip/unicode.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::modzip::detail {
namespace {

// fileNameOK in x/mod module.go: letters and digits, the punctuation "!#$%&()+,-.=@[]^_{}~"
// and space; beyond ASCII, any Unicode letter.
bool file_name_rune_ok(char32_t r) {
  if (r < 0x80) {
    if ((r >= '0' && r <= '9') || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')) return true;
    constexpr std::string_view k_allowed = "!#$%&()+,-.=@[]^_{}~ ";
    return k_allowed.find(static_cast<char>(r)) != std::string_view::npos;
  }
  return is_letter(r);
}

std::string quote_rune(char32_t r) {
  std::string s = "'";
  if (r == '\'' || r == '\\') {
    s += '\\';
    s += static_cast<char>(r);
  } else if (r >= 0x20 && r < 0x7F) {
    s += static_cast<char>(r);
  } else if (r == '\t') {
    s += "\\t";
  } else if (r == '\n') {
    s += "\\n";
  } else if (r >= 0x80 && is_letter(r)) {
    append_rune(s, r);
  } else {
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), r < 0x10000 ? "\\u%04x" : "\\U%08x",
                  static_cast<unsigned>(r));
    s += buf.data();
  }
  return s + "'";
}

constexpr std::array<std::string_view, 22> k_bad_windows_names = {
    "CON",  "PRN",  "AUX",  "NUL",  "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"};

// checkElem(elem, filePath).
std::optional<std::string> check_elem(std::string_view elem) {
  if (elem.empty()) return "empty path element";
  if (std::all_of(elem.begin(), elem.end(), [](char c) { return c == '.'; })) {
    return "invalid path element " + quote(elem);
  }
  if (elem.back() == '.') return "trailing dot in path element";
  for (std::size_t i = 0; i < elem.size();) {
    const char32_t r = decode_rune(elem, i);
    if (!file_name_rune_ok(r)) return "invalid char " + quote_rune(r);
  }
  // strings.EqualFold against ASCII names: no non-ASCII rune folds to these letters and
  // digits, so an ASCII case-insensitive comparison is the same test.
  std::string_view short_name = elem.substr(0, elem.find('.'));
  for (std::string_view bad : k_bad_windows_names) {
    // strings.EqualFold: text::iequals is exact when one side has ASCII letters but 'k' and 's'
    // (no non-ASCII rune folds to any other), as every reserved name does.
    if (text::iequals(bad, short_name)) {
      return quote(short_name) + " disallowed as path element component on Windows";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_path_kind_file(std::string_view path) {
  if (!is_valid_utf8(path)) return "invalid UTF-8";
  if (path.empty()) return "empty string";
  if (path.find("//") != std::string_view::npos) return "double slash";
  if (path.back() == '/') return "trailing slash";
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (auto err = check_elem(path.substr(start, slash - start))) return err;
    if (slash == std::string_view::npos) return std::nullopt;
    start = slash + 1;
  }
}

// path.Dir of a clean path: everything before the last slash, or ".".
std::string_view parent_dir(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view(".") : path.substr(0, slash);
}

}  // namespace

std::string clean_path(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path.front() == '/';
  const std::size_t n = path.size();
  std::string out;
  std::size_t r = 0;
  std::size_t dotdot = 0;  // out[:dotdot] cannot be backtracked over
  if (rooted) {
    out = "/";
    r = 1;
    dotdot = 1;
  }
  const auto sep_at = [&](std::size_t i) { return i == n || path[i] == '/'; };
  while (r < n) {
    if (path[r] == '/' || (path[r] == '.' && sep_at(r + 1))) {
      ++r;  // an empty element or "."
    } else if (path[r] == '.' && path[r + 1] == '.' && sep_at(r + 2)) {
      r += 2;
      if (out.size() > dotdot) {
        std::size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out += '/';
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out += '/';
      for (; r < n && path[r] != '/'; ++r) out += path[r];
    }
  }
  return out.empty() ? "." : out;
}

std::optional<std::string> check_file_path(std::string_view path) {
  if (auto err = check_path_kind_file(path)) {
    return "malformed file path " + quote(path) + ": " + *err;
  }
  return std::nullopt;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t start = i;
    const char32_t r = decode_rune(s, i);
    const bool invalid = r == 0xFFFD && i - start == 1;
    if (invalid) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", static_cast<unsigned char>(s[start]));
      out += buf.data();
    } else if (r == '"' || r == '\\') {
      out += '\\';
      out += static_cast<char>(r);
    } else if (r >= 0x20 && r != 0x7F) {
      out.append(s.substr(start, i - start));
    } else if (r == '\t') {
      out += "\\t";
    } else if (r == '\n') {
      out += "\\n";
    } else {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", static_cast<unsigned>(r));
      out += buf.data();
    }
  }
  return out + "\"";
}

std::optional<std::string> CollisionChecker::check(std::string_view path, bool is_dir) {
  for (;;) {
    std::string fold = str_to_fold(path);
    if (auto it = m_by_fold.find(fold); it != m_by_fold.end()) {
      const Seen& other = it->second;
      if (path != other.path) {
        return "case-insensitive file name collision: " + quote(other.path) + " and " + quote(path);
      }
      if (is_dir != other.is_dir) return "entry " + quote(path) + " is both a file and a directory";
      if (!is_dir) return "multiple entries for file " + quote(path);
      // The same directory again (every file re-checks its parents): fine.
    } else {
      m_by_fold.emplace(std::move(fold), Seen{std::string(path), is_dir});
    }
    path = parent_dir(path);
    if (path == ".") return std::nullopt;
    is_dir = true;
  }
}

}  // namespace stoa::modzip::detail
