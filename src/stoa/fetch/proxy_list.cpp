#include "stoa/fetch/proxy_list.hpp"

#include <utility>

#include "stoa/text/ascii.hpp"

namespace stoa::fetch {

namespace {

// Each check returns why `url` is refused, or nullptr. A reason never repeats the authority,
// which may hold credentials.
using Refusal = const char*;

Refusal check_characters(std::string_view rest) {
  for (const char c : rest) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7F || c == '\\') {
      return "the URL contains a blank, a control or a non-ASCII character";
    }
    if (c == '?' || c == '#') return "query strings and fragments are not supported";
  }
  return nullptr;
}

// "[v6]" or "[v6]:port": splits off the port.
Refusal split_ipv6(std::string_view host_port, std::string_view& host,
                   std::optional<std::string_view>& port) {
  const auto close = host_port.find(']');
  if (close == std::string_view::npos || close == 1) return "invalid IPv6 address";
  for (const char c : host_port.substr(1, close - 1)) {
    if (text::hex_value(c) < 0 && c != ':' && c != '.') return "invalid IPv6 address";
  }
  host = host_port.substr(0, close + 1);
  const std::string_view after = host_port.substr(close + 1);
  if (!after.empty()) {
    if (after.front() != ':') return "invalid host";
    port = after.substr(1);
  }
  return nullptr;
}

// "name" or "name:port", where a name is letters, digits, '-', '.' and '_'.
Refusal split_name(std::string_view host_port, std::string_view& host,
                   std::optional<std::string_view>& port) {
  host = host_port;
  if (const auto colon = host_port.find(':'); colon != std::string_view::npos) {
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
  }
  for (const char c : host) {
    if (!text::is_alnum(c) && c != '-' && c != '.' && c != '_') return "invalid host";
  }
  return nullptr;
}

// The authority: [userinfo@]host[:port], userinfo unchecked (it is the credentials).
Refusal check_authority(std::string_view authority) {
  std::string_view host_port = authority;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    host_port = authority.substr(at + 1);
  }
  std::string_view host;
  std::optional<std::string_view> port;
  const bool v6 = !host_port.empty() && host_port.front() == '[';
  if (const Refusal why =
          v6 ? split_ipv6(host_port, host, port) : split_name(host_port, host, port)) {
    return why;
  }
  if (host.empty()) return "the URL has no host";
  if (port) {
    const auto value = text::parse_u64(*port);
    if (!value || *value == 0 || *value > 65535) return "invalid port";
  }
  return nullptr;
}

// Validates one http(s) URL and returns its normalized form (lowercase scheme, no trailing '/'),
// or sets `why`.
std::optional<std::string> normalize_proxy_url(std::string_view url, std::string& why) {
  const auto scheme_end = url.find("://");
  Refusal refusal = nullptr;
  std::string_view scheme;
  std::string_view rest;
  if (scheme_end == std::string_view::npos) {
    refusal = "not an http:// or https:// URL";
  } else {
    scheme = url.substr(0, scheme_end);
    rest = url.substr(scheme_end + 3);
    if (!text::iequals(scheme, "http") && !text::iequals(scheme, "https")) {
      refusal = "the scheme must be http or https";
    } else if ((refusal = check_characters(rest)) == nullptr) {
      refusal = check_authority(rest.substr(0, rest.find('/')));
    }
  }
  if (refusal != nullptr) {
    why = refusal;
    return std::nullopt;
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string out = text::to_lower(scheme);
  out += "://";
  out += rest;
  return out;
}

}  // namespace

std::optional<ProxyList> parse_proxy_list(std::string_view value, std::string* error) {
  const auto fail = [&](std::string message) -> std::optional<ProxyList> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  ProxyList list;
  std::size_t index = 0;
  while (!value.empty()) {
    std::string_view item = value;
    bool fall_through = false;
    if (const auto sep = value.find_first_of(",|"); sep != std::string_view::npos) {
      item = value.substr(0, sep);
      fall_through = value[sep] == '|';
      value.remove_prefix(sep + 1);
    } else {
      value = {};
    }
    item = text::trim_space(item);
    if (item.empty()) continue;
    ++index;
    if (item == "off") {
      list.off = true;
      break;
    }
    if (item == "direct") {
      list.direct = true;
      break;
    }
    std::string url(item);
    // The go command: single words are reserved, anything else without a scheme is https.
    if (url.find_first_of(".:/") != std::string::npos && url.find(":/") == std::string::npos &&
        url.front() != '/') {
      url = "https://" + url;
    }
    std::string why;
    auto normalized = normalize_proxy_url(url, why);
    if (!normalized) {
      return fail("invalid GOPROXY entry #" + std::to_string(index) + ": " + why);
    }
    list.entries.push_back(ProxyEntry{std::move(*normalized), fall_through});
  }
  if (list.entries.empty() && !list.direct && !list.off) {
    return fail("GOPROXY list contains no entries");
  }
  return list;
}

}  // namespace stoa::fetch
