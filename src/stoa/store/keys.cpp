#include "stoa/store/keys.hpp"

#include "stoa/store/store.hpp"
#include "stoa/text/ascii.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace stoa::store::keys {
namespace {

constexpr std::string_view k_versions_dir = "/@v/";
constexpr std::string_view k_latest = "/@latest";

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '!' || c == '@' || c == '/';
}

// Relative path of allowed characters whose segments are non-empty and do not start with '.'.
bool is_safe_path(std::string_view p) {
  if (p.empty()) return false;
  bool segment_start = true;
  for (const char c : p) {
    if (!is_key_char(c)) return false;
    if (segment_start && (c == '/' || c == '.')) return false;
    segment_start = c == '/';
  }
  return !segment_start;  // no trailing '/'
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

using text::is_alnum;
using text::is_digit;

bool is_numeric_no_leading_zero(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), is_digit)) return false;
  return s.size() == 1 || s[0] != '0';
}

// Dot-separated identifiers of [0-9A-Za-z-]; numeric ones without leading zeros when `strict`.
bool is_identifiers(std::string_view s, bool strict) {
  while (true) {
    const std::size_t dot = s.find('.');
    const std::string_view id = s.substr(0, dot);
    if (id.empty()) return false;
    if (!std::all_of(id.begin(), id.end(), [](char c) { return is_alnum(c) || c == '-'; })) {
      return false;
    }
    if (strict && std::all_of(id.begin(), id.end(), is_digit) && !is_numeric_no_leading_zero(id)) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// "sumdb/<name>/tile/8/<L>/<N...>[.p/<W>]", "sumdb/<name>/tile/8/data/<N...>[.p/<W>]" (a
// checksum database tile, full or partial: both never change) or
// "sumdb/<name>/lookup/<module>@<version>" (a verified lookup answer).
bool is_sumdb_key(std::string_view key) {
  constexpr std::string_view prefix = "sumdb/";
  if (!key.starts_with(prefix)) return false;
  key.remove_prefix(prefix.size());
  const auto slash = key.find('/');
  if (slash == 0 || slash == std::string_view::npos) return false;
  key.remove_prefix(slash + 1);
  constexpr std::string_view tile = "tile/8/";
  constexpr std::string_view lookup = "lookup/";
  if (key.starts_with(lookup)) {
    key.remove_prefix(lookup.size());
    const auto at = key.rfind('@');
    return at != std::string_view::npos && at > 0 && at + 1 < key.size() &&
           key.find('/', at) == std::string_view::npos && key[at - 1] != '/';
  }
  if (!key.starts_with(tile)) return false;
  key.remove_prefix(tile.size());
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (c == '.' && key.substr(i, 3) != ".p/") return false;  // only a partial tile's ".p/<W>"
    if (!(is_alnum(c) || c == '/' || c == '.')) return false;
  }
  return true;
}

}  // namespace

bool is_valid(std::string_view key) {
  if (!is_safe_path(key)) return false;
  if (is_sumdb_key(key)) return true;
  if (ends_with(key, k_latest)) return key.size() > k_latest.size();
  const std::size_t at = key.rfind(k_versions_dir);
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view file = key.substr(at + k_versions_dir.size());
  if (file.find('/') != std::string_view::npos) return false;
  if (file == "list") return true;
  for (const std::string_view ext : {".info", ".mod", ".zip", ".ziphash", ".modhash"}) {
    if (ends_with(file, ext)) return file.size() > ext.size();
  }
  return false;
}

bool is_valid_module(std::string_view escaped_module) { return is_safe_path(escaped_module); }

std::optional<InfoKey> parse_info(std::string_view key) {
  constexpr std::string_view ext = ".info";
  if (!ends_with(key, ext)) return std::nullopt;
  const std::size_t at = key.rfind(k_versions_dir);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  const std::size_t vstart = at + k_versions_dir.size();
  if (key.size() <= vstart + ext.size()) return std::nullopt;
  const std::string_view version = key.substr(vstart, key.size() - ext.size() - vstart);
  if (version.find('/') != std::string_view::npos) return std::nullopt;
  return InfoKey{key.substr(0, at), version};
}

std::string list_key(std::string_view escaped_module) {
  std::string key(escaped_module);
  key += "/@v/list";
  return key;
}

std::optional<std::string> unescape_version(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    const char c = escaped[i];
    if (c >= 'A' && c <= 'Z') return std::nullopt;
    if (c != '!') {
      out += c;
      continue;
    }
    if (i + 1 == escaped.size() || escaped[i + 1] < 'a' || escaped[i + 1] > 'z') {
      return std::nullopt;
    }
    out += static_cast<char>(escaped[++i] - 'a' + 'A');
  }
  return out;
}

bool is_pseudo(std::string_view v) {
  // x/mod: semver.IsValid(v) && strings.Count(v, "-") >= 2 && pseudoVersionRE.MatchString(v), with
  // ^v[0-9]+\.(0\.0-|\d+\.\d+-([^+]*\.)?0\.)\d{14}-[A-Za-z0-9]+(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$
  if (v.size() < 2 || v[0] != 'v') return false;
  v.remove_prefix(1);
  const std::size_t plus = v.find('+');
  if (plus != std::string_view::npos) {
    if (!is_identifiers(v.substr(plus + 1), false)) return false;
    v = v.substr(0, plus);
  }
  const std::size_t dash = v.find('-');
  if (dash == std::string_view::npos) return false;
  const std::string_view core = v.substr(0, dash);
  const std::string_view pre = v.substr(dash + 1);
  std::array<std::string_view, 3> parts{};
  std::string_view rest = core;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::size_t dot = rest.find('.');
    if ((i < 2) == (dot == std::string_view::npos)) return false;
    parts[i] = rest.substr(0, dot);
    if (!is_numeric_no_leading_zero(parts[i])) return false;
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  if (!is_identifiers(pre, true)) return false;

  const std::size_t rev_dash = pre.rfind('-');
  if (rev_dash == std::string_view::npos) return false;
  const std::string_view rev = pre.substr(rev_dash + 1);
  if (rev.empty() || !std::all_of(rev.begin(), rev.end(), is_alnum)) return false;
  const std::string_view before = pre.substr(0, rev_dash);
  constexpr std::size_t k_stamp = 14;
  if (before.size() < k_stamp) return false;
  const std::string_view stamp = before.substr(before.size() - k_stamp);
  if (!std::all_of(stamp.begin(), stamp.end(), is_digit)) return false;
  const std::string_view head = before.substr(0, before.size() - k_stamp);
  if (head.empty()) return parts[1] == "0" && parts[2] == "0";  // vX.0.0-yyyymmddhhmmss-rev
  return head == "0." || ends_with(head, ".0.");                // vX.Y.Z-[pre.]0.yyyy...-rev
}

std::string render_list(const std::vector<std::string>& escaped_versions) {
  std::vector<std::string> lines;
  lines.reserve(escaped_versions.size());
  for (const std::string& escaped : escaped_versions) {
    std::optional<std::string> v = unescape_version(escaped);
    if (v && !is_pseudo(*v)) lines.push_back(std::move(*v));
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  std::string body;
  for (const std::string& line : lines) {
    body += line;
    body += '\n';
  }
  return body;
}

std::string etag_of_server(std::string_view key, std::string_view server_etag, std::uint64_t size) {
  std::string out = "\"";
  for (const char c : server_etag) {
    if (text::is_alnum(c) || c == '-') out += c;
  }
  if (out.size() == 1) out += std::to_string(size);
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (const char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  out += '-';
  for (int shift = 60; shift >= 0; shift -= 4) out += "0123456789abcdef"[(hash >> shift) & 0xf];
  out += '"';
  return out;
}

std::string etag(std::string_view key, std::uint64_t size, std::int64_t mtime_ns) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (const char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  // '"' size '-' mtime '-' hash '"': at most 1 + 16 + 1 + 16 + 1 + 8 + 1 characters.
  std::array<char, 48> buf{};
  char* p = buf.data();
  char* const end = buf.data() + buf.size();
  *p++ = '"';
  p = std::to_chars(p, end, size, 16).ptr;
  *p++ = '-';
  p = std::to_chars(p, end, static_cast<std::uint64_t>(mtime_ns), 16).ptr;
  *p++ = '-';
  const auto short_hash = static_cast<std::uint32_t>(hash ^ (hash >> 32));
  for (int shift = 28; shift >= 0; shift -= 4)
    *p++ = "0123456789abcdef"[(short_hash >> shift) & 0xf];
  *p++ = '"';
  return std::string(buf.data(), p);
}

std::string printable(std::string_view key) {
  constexpr std::size_t k_max = 200;
  std::string out;
  for (const char c : key.substr(0, k_max)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (key.size() > k_max) out += "...";
  return out;
}

}  // namespace stoa::store::keys

namespace stoa::store {

std::string list_body(const std::vector<std::string>& escaped_versions) {
  return keys::render_list(escaped_versions);
}

}  // namespace stoa::store
