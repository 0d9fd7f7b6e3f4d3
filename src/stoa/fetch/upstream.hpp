#pragma once
// Fetching from upstream GOPROXY servers over HTTP(S) with libcurl (no subprocess).
//
// The proxy list follows the go command's GOPROXY rules: entries separated by ',' fall through
// to the next entry only when the previous one answered 404 or 410; entries separated by '|'
// fall through on any error (including timeouts and 5xx). If every entry answered 404/410 the
// outcome is not_found; otherwise it is failed (never reported as not_found).
//
// Which error is reported matches the go command's TryProxies (cmd/go/internal/modfetch/proxy.go):
// a failure outranks a 404/410, and among equals the later entry's answer is reported. So
// "a|b" with a=503 and b=404 is failed with a's 503, and "a,b" with a=404 and b=503 is failed
// with b's 503: a 404 is only ever passed on when nothing that was consulted failed, because a
// failing upstream might hold the module (a private one, say) and a 404 would send the client,
// and the module path, to the next proxy in its own list.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fetch/address.hpp"
#include "stoa/fetch/proxy_list.hpp"
#include "stoa/fsio/temp_file.hpp"

namespace stoa::fetch {

enum class Status : std::uint8_t { ok, not_found, failed };

struct Outcome {
  Status status = Status::failed;
  int http_status = 0;  // HTTP status of the reported attempt: 200 for ok, the 404/410 for
                        // not_found, the failing status for failed (0 when there was no response:
                        // connect error, timeout before the headers)
  bool timed_out = false;  // the reported attempt hit the connect, total or stall timeout
  std::string message;     // one printable line for the client, never credentials. not_found: the
                           // upstream's text/plain first line, or "not found: <url>: 404"; failed:
                           // "<url>: <what went wrong>" (URLs without userinfo). Empty for ok.
  bool exhausted = false;  // no entry stopped the walk: every entry was consulted without a 200
                           // (false for ok; true for not_found but one: a 404 for "@latest" from
                           // an entry whose @v/list names a latest version, from which the go
                           // command computes it instead of asking the next entry). The go
                           // command would go on to the next list item, so the caller runs
                           // "direct" (ProxyList::direct) exactly when this is true.
};

struct UpstreamOptions {
  ProxyList proxies;  // only the URL entries are used; "direct"/"off" are the caller's business
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{600'000};  // whole transfer, per entry
  std::chrono::milliseconds stall_timeout{60'000};   // no byte received for this long, waiting
                                                     // for the headers included (checked about
                                                     // once a second); zero disables it
  std::string user_agent = "stoa";
  std::vector<std::string> extra_headers;  // "Name: value", sent with every request,
                                           // redirects included (except Authorization
                                           // and Cookie to another host)
  std::vector<Network> redirect_allow;     // networks a redirect may lead to even though they
                                           // are loopback, private, link-local... (egress.hpp)
};

// Thread-safe; every call is blocking (run it on a worker thread).
class Upstream {
 public:
  virtual ~Upstream() = default;

  // GETs "<base_url>/<path_escape(suffix)>" per the proxy list rules, streaming the body into
  // `out` (cleared before each attempt). `suffix` is a case-encoded storage key
  // ("github.com/!azure/x/@v/v1.0.0.info", module::key_of), not yet percent-escaped: it is
  // escaped as the go command does ('!' goes out as "%21"). A body larger than `max_bytes`, a
  // transfer cut short (Content-Length mismatch, reset, missing last chunk), an unrequested
  // Content-Encoding, or a status other than 200/404/410 (other 2xx included) is Status::failed
  // and leaves `out` with undefined content. So is a 200 whose end is not proven by its framing:
  // Content-Length headers that disagree or are not a plain number, Content-Length together with
  // Transfer-Encoding, a Transfer-Encoding other than "chunked", or an HTTP/1.x body with neither
  // (delimited only by the connection closing). Redirects are followed (at most 10, never
  // https -> http), and every connection of a transfer is checked by the rule of egress.hpp: an
  // upstream cannot redirect stoa to loopback, private, link-local... addresses other than its
  // own origin (or UpstreamOptions::redirect_allow); such a redirect is Status::failed. With no
  // URL entry in the list the outcome is not_found (nothing consulted, nothing could be hidden)
  // with exhausted set.
  // Throws std::system_error when writing `out` fails (ENOSPC...): a local failure, not an
  // upstream outcome, and the walk stops.
  // `request_headers` ("Name: value", e.g. a traceparent) are sent with this call only, after
  // UpstreamOptions::extra_headers; lines with CR or LF are dropped.
  using Headers = std::vector<std::string>;
  virtual Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes,
                      const Headers& request_headers) = 0;

  // Same, into memory (for list, @latest, .info: small bodies).
  virtual Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes,
                      const Headers& request_headers) = 0;

  // Without per-call headers.
  Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t max_bytes) {
    return get(suffix, out, max_bytes, Headers{});
  }
  Outcome get(const std::string& suffix, std::string& out, std::uint64_t max_bytes) {
    return get(suffix, out, max_bytes, Headers{});
  }
};

// Throws std::invalid_argument when an extra header is not "Name: value" on one line, or an
// entry's base_url is not http(s) (use parse_proxy_list), and std::runtime_error when libcurl
// cannot be initialized.
std::unique_ptr<Upstream> make_http_upstream(UpstreamOptions options);

// One GET of an absolute http(s) URL into memory, `timeout` for connect and whole transfer, same
// redirect and framing rules (no redirect_allow); nullopt on any failure or non-200 status. Used at
// startup to detect an upstream that is this stoa itself.
std::optional<std::string> get_once(const std::string& url, std::chrono::milliseconds timeout,
                                    std::uint64_t max_bytes);

}  // namespace stoa::fetch
