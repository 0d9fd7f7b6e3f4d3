#include "stoa/module/path.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::module {
namespace {

// Which of x/mod's three element rule sets applies. Versions are checked as file names.
enum class Kind : std::uint8_t { module_path, import_path, file_name };

using text::is_alnum;
using text::is_digit;
using text::is_lower;
using text::is_upper;

// x/mod also accepts non-ASCII letters in file names, but every caller of the file-name rules
// (escape_version, unescape_version) rejects non-ASCII anyway, so only ASCII is ever allowed here.
bool char_ok(char c, Kind kind) {
  switch (kind) {
    case Kind::module_path:
      return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
    case Kind::import_path:
      return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+';
    case Kind::file_name:
      return is_alnum(c) ||
             std::string_view("!#$%&()+,-.=@[]^_{}~ ").find(c) != std::string_view::npos;
  }
  return false;
}

bool first_element_char_ok(char c) { return is_lower(c) || is_digit(c) || c == '-' || c == '.'; }

using text::iequals;

bool is_windows_reserved(std::string_view name) {
  static constexpr std::array<std::string_view, 22> k_reserved = {
      "CON",  "PRN",  "AUX",  "NUL",  "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
      "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"};
  return std::any_of(k_reserved.begin(), k_reserved.end(),
                     [&](std::string_view r) { return iequals(r, name); });
}

std::string char_reason(char c) {
  return "invalid char '" + excerpt(std::string_view(&c, 1)) + "'";
}

std::optional<std::string> check_element(std::string_view elem, Kind kind) {
  if (elem.empty()) return "empty path element";
  if (elem.find_first_not_of('.') == std::string_view::npos) {
    return "invalid path element \"" + excerpt(elem, 16) + "\"";
  }
  if (elem.front() == '.' && kind == Kind::module_path) return "leading dot in path element";
  if (elem.back() == '.') return "trailing dot in path element";
  for (char c : elem) {
    if (!char_ok(c, kind)) return char_reason(c);
  }

  // Windows ignores everything from the first dot when it looks for device names.
  std::string_view stem = elem.substr(0, elem.find('.'));
  if (is_windows_reserved(stem)) {
    return "\"" + std::string(stem) + "\" disallowed as path element component on Windows";
  }
  if (kind == Kind::file_name) return std::nullopt;

  // "~" and digits at the end of the stem look like a Windows short (8.3) name.
  std::size_t tilde = stem.rfind('~');
  if (tilde != std::string_view::npos && tilde + 1 < stem.size() &&
      std::all_of(stem.begin() + static_cast<std::ptrdiff_t>(tilde) + 1, stem.end(), is_digit)) {
    return "trailing tilde and digits in path element";
  }
  return std::nullopt;
}

std::optional<std::string> check_elements(std::string_view path, Kind kind) {
  if (path.empty()) return "empty string";
  if (path.front() == '-') return "leading dash";
  if (path.find("//") != std::string_view::npos) return "double slash";
  if (path.back() == '/') return "trailing slash";
  while (true) {
    std::size_t slash = path.find('/');
    if (auto reason = check_element(path.substr(0, slash), kind)) return reason;
    if (slash == std::string_view::npos) return std::nullopt;
    path.remove_prefix(slash + 1);
  }
}

std::optional<PathMajor> split_gopkg_in(std::string_view path) {
  // gopkg.in/name.vN, gopkg.in/user/name.vN, optionally followed by "-unstable".
  std::size_t i = path.size();
  constexpr std::string_view k_unstable = "-unstable";
  if (path.ends_with(k_unstable)) i -= k_unstable.size();
  while (i > 0 && is_digit(path[i - 1])) --i;
  if (i <= 1 || path[i - 1] != 'v' || path[i - 2] != '.') return std::nullopt;
  std::string_view major = path.substr(i - 2);
  if (major.size() <= 2 || (major[2] == '0' && major != ".v0")) return std::nullopt;
  return PathMajor{std::string(path.substr(0, i - 2)), std::string(major)};
}

// `s` with every uppercase letter written as '!' and its lowercase form.
std::string encode_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_upper(c)) {
      out += '!';
      out += text::to_lower(c);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> check_path(std::string_view path) {
  if (path.size() > k_max_path_bytes) {
    return "longer than " + std::to_string(k_max_path_bytes) + " bytes";
  }
  if (auto reason = check_elements(path, Kind::module_path)) return reason;
  for (std::string_view rest = path;;) {
    std::size_t slash = rest.find('/');
    if (rest.substr(0, slash).size() > k_max_element_bytes) {
      return "path element longer than " + std::to_string(k_max_element_bytes) + " bytes";
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }

  std::string_view first = path.substr(0, path.find('/'));
  if (first.find('.') == std::string_view::npos) return "missing dot in first path element";
  if (first.front() == '-') return "leading dash in first path element";
  for (char c : first) {
    if (!first_element_char_ok(c)) return char_reason(c) + " in first path element";
  }
  if (!split_path_version(path)) return "invalid version";
  return std::nullopt;
}

std::optional<std::string> check_import_path(std::string_view path) {
  return check_elements(path, Kind::import_path);
}

std::optional<std::string> escape_path(std::string_view path) {
  if (check_path(path)) return std::nullopt;
  return encode_case(path);
}

std::optional<std::string> unescape_path(std::string_view escaped) {
  auto path = decode_case(escaped);
  if (!path || check_path(*path)) return std::nullopt;
  return path;
}

std::optional<std::string> decode_case(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (static_cast<unsigned char>(c) >= 0x80 || is_upper(c)) return std::nullopt;
    if (c == '!') {
      if (i + 1 == escaped.size() || !is_lower(escaped[i + 1])) return std::nullopt;
      c = static_cast<char>(escaped[++i] - 'a' + 'A');
    }
    out += c;
  }
  return out;
}

std::optional<std::string> escape_version(std::string_view version) {
  if (check_element(version, Kind::file_name) || version.find('!') != std::string_view::npos) {
    return std::nullopt;
  }
  return encode_case(version);
}

std::optional<std::string> unescape_version(std::string_view escaped) {
  auto version = decode_case(escaped);
  if (!version || check_element(*version, Kind::file_name)) return std::nullopt;
  return version;
}

std::optional<PathMajor> split_path_version(std::string_view path) {
  if (path.starts_with("gopkg.in/")) return split_gopkg_in(path);

  std::size_t i = path.size();
  bool dot = false;
  while (i > 0 && (is_digit(path[i - 1]) || path[i - 1] == '.')) {
    dot = dot || path[i - 1] == '.';
    --i;
  }
  // No "/v<digits>" at the end: the whole path is the prefix.
  if (i <= 1 || i == path.size() || path[i - 1] != 'v' || path[i - 2] != '/') {
    return PathMajor{std::string(path), ""};
  }
  std::string_view major = path.substr(i - 2);
  if (dot || major.size() <= 2 || major[2] == '0' || major == "/v1") return std::nullopt;
  return PathMajor{std::string(path.substr(0, i - 2)), std::string(major)};
}

std::optional<std::string> check_path_major(std::string_view version, std::string_view path_major) {
  if (path_major.starts_with(".v") && path_major.ends_with("-unstable")) {
    path_major.remove_suffix(std::string_view("-unstable").size());
  }
  // gopkg.in's .v1 also covers v0 pseudo-versions.
  if (version.starts_with("v0.0.0-") && path_major == ".v1") return std::nullopt;

  std::string major = semver::major(version);
  std::string want;
  if (path_major.empty()) {
    if (major == "v0" || major == "v1" || semver::build(version) == "+incompatible") {
      return std::nullopt;
    }
    want = "v0 or v1";
  } else if (path_major.front() == '/' || path_major.front() == '.') {
    if (major == path_major.substr(1)) return std::nullopt;
    want = excerpt(path_major.substr(1), 32);
  } else {
    want = excerpt(path_major, 32);
  }
  return "should be " + want + ", not " + excerpt(major, 32);
}

std::string excerpt(std::string_view s, std::size_t max_bytes) {
  constexpr std::string_view k_hex = "0123456789abcdef";
  std::string out;
  std::size_t used = 0;  // input bytes shown
  for (; used < s.size(); ++used) {
    char c = s[used];
    auto b = static_cast<unsigned char>(c);
    std::size_t width = (b >= 0x20 && b < 0x7f) ? (c == '\\' || c == '"' ? 2 : 1) : 4;
    if (out.size() + width > max_bytes) break;
    if (width == 2) {
      out += '\\';
      out += c;
    } else if (width == 1) {
      out += c;
    } else {
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    }
  }
  if (used < s.size()) out += "...";
  return out;
}

}  // namespace stoa::module
