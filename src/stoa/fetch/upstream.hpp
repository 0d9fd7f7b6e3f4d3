#pragma once
// Fetching from upstream GOPROXY servers over HTTP(S) with libcurl (no subprocess).
//
// The proxy list follows the go command's GOPROXY rules: entries separated by ',' fall through
// to the next entry only when the previous one answered 404 or 410; entries separated by '|'
// fall through on any error (including timeouts and 5xx). If every entry answered 404/410 the
// outcome is not_found; otherwise it is failed (never reported as not_found).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fsio/temp_file.hpp"

namespace stoa::fetch {

struct ProxyEntry {
  std::string base_url;               // without trailing '/', e.g. "http://127.0.0.1:9000/x"
  bool fall_through_on_error = false; // true when the separator after this entry is '|'
};

struct ProxyList {
  std::vector<ProxyEntry> entries;
  bool direct = false;  // the list contained "direct" (entries after it are dropped)
  bool off = false;     // the list contained "off" (entries after it are dropped)
};

// Parses a GOPROXY value ("https://a,https://b|https://c,direct"). Entries must be http:// or
// https:// URLs (or "direct"/"off"); nullopt with `error` set otherwise. Empty entries are skipped
// as the go command does.
std::optional<ProxyList> parse_proxy_list(std::string_view value, std::string* error = nullptr);

enum class Status : std::uint8_t { ok, not_found, failed };

struct Outcome {
  Status status = Status::failed;
  int http_status = 0;   // last HTTP status seen (0 when no response: connect error, timeout)
  bool timed_out = false;
  std::string message;   // one line for the client: upstream's text/plain first line for
                         // not_found; a description of the failure (without credentials) otherwise
};

struct UpstreamOptions {
  ProxyList proxies;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{600'000};      // whole transfer, per entry
  std::chrono::milliseconds stall_timeout{60'000};       // no progress (below 1 byte/s) for this long
  std::string user_agent = "stoa";
  std::vector<std::string> extra_headers;                // "Name: value", sent with every request
};

// Thread-safe; every call is blocking (run it on a worker thread).
class Upstream {
 public:
  virtual ~Upstream() = default;

  // GETs "<base_url>/<suffix>" per the proxy list rules, streaming the body into `out`
  // (cleared before each attempt). A body larger than `max_bytes`, a transfer cut short
  // (Content-Length mismatch, reset) or a 2xx other than 200 is Status::failed and leaves `out`
  // with undefined content. Redirects are followed (at most 10, never https -> http).
  virtual Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes) = 0;

  // Same, into memory (for list, @latest, .info: small bodies).
  virtual Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes) = 0;
};

std::unique_ptr<Upstream> make_http_upstream(UpstreamOptions options);

// One GET of an absolute URL into memory with a short timeout; nullopt on any failure or
// non-200 status. Used at startup to detect an upstream that is this stoa itself.
std::optional<std::string> get_once(const std::string& url, std::chrono::milliseconds timeout,
                                    std::uint64_t max_bytes);

}  // namespace stoa::fetch
