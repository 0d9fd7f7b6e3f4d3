#pragma once
// The GOPROXY list: which proxies to ask, in order, and how a failure of one falls through to the
// next (',' on 404/410 only, '|' on any error). Pure: no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::fetch {

struct ProxyEntry {
  std::string base_url;                // without trailing '/', e.g. "http://127.0.0.1:9000/x"
  bool fall_through_on_error = false;  // true when the separator after this entry is '|'
};

struct ProxyList {
  std::vector<ProxyEntry> entries;
  bool direct = false;  // the list contained "direct" (entries after it are dropped)
  bool off = false;     // the list contained "off" (entries after it are dropped)
};

// Parses a GOPROXY value ("https://a,https://b|https://c,direct") as the go command does: entries
// are separated by ',' or '|', trimmed of blanks, empty ones skipped; "direct" and "off" end the
// list; an entry with a '.', ':' or '/' but no ":/" gets "https://" prepended
// ("proxy.example.com" -> "https://proxy.example.com"). Every other entry must be an http:// or
// https:// URL with a host (scheme lowercased, trailing '/' removed, userinfo kept). Stricter than
// the go command: file:// URLs, query strings, fragments, blanks, control and non-ASCII bytes are
// refused. nullopt with `error` set (one line, credentials removed) when an entry is invalid or
// the value has no entry at all ("", ",").
std::optional<ProxyList> parse_proxy_list(std::string_view value, std::string* error = nullptr);

}  // namespace stoa::fetch
