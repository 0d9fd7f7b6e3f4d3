#include "stoa/cli/checksum_db.hpp"

#include "stoa/text/ascii.hpp"

namespace stoa::cli {
namespace {

using text::trim_space;

// "<name>+<8 hex>+<base64>": the shape of a verifier key (its signature is checked later).
bool looks_like_key(std::string_view s) {
  const auto p1 = s.find('+');
  if (p1 == 0 || p1 == std::string_view::npos) return false;
  const auto p2 = s.find('+', p1 + 1);
  if (p2 == std::string_view::npos || p2 - p1 - 1 != 8) return false;
  for (std::size_t i = p1 + 1; i < p2; ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return p2 + 1 < s.size();
}

}  // namespace

ChecksumDbSetting parse_checksum_db(std::string_view value, const KnownKeys& known) {
  ChecksumDbSetting out;
  value = trim_space(value);
  if (value == "off") {
    out.off = true;
    return out;
  }
  if (value.empty()) {
    out.error = "empty (use \"off\" to verify nothing)";
    return out;
  }
  std::string_view key = value;
  std::string_view url;
  if (const auto sp = value.find_first_of(" \t"); sp != std::string_view::npos) {
    key = value.substr(0, sp);
    url = trim_space(value.substr(sp));
    if (url.find_first_of(" \t") != std::string_view::npos) {
      out.error = "expected \"<key>\" or \"<key> <url>\"";
      return out;
    }
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
      out.error = "the database URL must be http:// or https://";
      return out;
    }
    while (url.ends_with('/')) url.remove_suffix(1);
  }
  ChecksumDb db;
  if (looks_like_key(key)) {
    db.name = std::string(key.substr(0, key.find('+')));
    db.key = std::string(key);
  } else if (key.find('+') == std::string_view::npos) {
    const auto it = known.find(key);
    if (it == known.end()) {
      out.error = "no verifier key is known for checksum database " + std::string(key) +
                  "; give its full key (\"<name>+<hash>+<keydata>\")";
      return out;
    }
    db.name = std::string(key);
    db.key = it->second;
  } else {
    out.error = "malformed verifier key";
    return out;
  }
  db.url = std::string(url);
  out.db = std::move(db);
  return out;
}

KnownKeys known_keys_from_go_source(std::string_view key_go) {
  KnownKeys keys;
  while (!key_go.empty()) {
    const auto nl = key_go.find('\n');
    std::string_view line = trim_space(key_go.substr(0, nl));
    key_go = nl == std::string_view::npos ? std::string_view{} : key_go.substr(nl + 1);
    // "<name>": "<key>",
    if (!line.starts_with('"')) continue;
    const auto name_end = line.find('"', 1);
    if (name_end == std::string_view::npos) continue;
    const std::string_view name = line.substr(1, name_end - 1);
    std::string_view rest = trim_space(line.substr(name_end + 1));
    if (!rest.starts_with(':')) continue;
    rest = trim_space(rest.substr(1));
    if (!rest.starts_with('"')) continue;
    const auto key_end = rest.find('"', 1);
    if (key_end == std::string_view::npos) continue;
    const std::string_view key = rest.substr(1, key_end - 1);
    if (looks_like_key(key) && key.starts_with(name) && key.size() > name.size() &&
        key[name.size()] == '+') {
      keys.emplace(std::string(name), std::string(key));
    }
  }
  return keys;
}

}  // namespace stoa::cli
