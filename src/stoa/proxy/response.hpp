#pragma once
// The protocol's request and response, in std types only (no Beast/Asio): http/ translates.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stoa/store/store.hpp"
#include "stoa/trace/context.hpp"
#include "stoa/trace/log_context.hpp"

namespace stoa::proxy {

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string target;  // raw request-target as received
  std::string if_none_match;
  std::string range;
  std::string if_range;
  // For log lines about this request (trace::ScopedLogContext): its id, unique in the process,
  // and a trace id: that of `trace` when valid, else one made up for the logs (not propagated).
  trace::LogContext log;
  trace::SpanContext trace;  // the request's server span (or the caller's context); may be invalid
  std::string tracestate;    // passed on to upstreams with the trace context
  std::string remote_address;     // the client's IP address ("" when unknown)
  std::uint16_t remote_port = 0;  // and its port (for the direct fetcher's loop guard)
  // The Authorization header, for the policy's credential check. Never logged.
  std::string authorization;
  // A client's minimum release age, from a /cooldown/<age>/ prefix that Service stripped from
  // `target` (0: none).
  std::chrono::seconds min_age{0};
};

// Which way a request was answered; for the access log and metrics.
enum class Outcome : std::uint8_t {
  hit,        // served from the store or a fresh cache entry
  miss,       // fetched from upstream by this request
  coalesced,  // waited for a fetch another request started
  stale,      // upstream failed; served the last good copy or stored versions
  not_found,  // true absence
  rejected,   // bad input, method, policy
  failed,     // upstream or store failure
  internal,   // stoa's own endpoints (health, identity)
};
std::string_view to_string(Outcome o);

struct Response {
  int status = 200;
  std::string content_type;
  std::string cache_control;
  std::string etag;
  std::vector<std::pair<std::string, std::string>> headers;  // any others (Content-Range, ...)
  std::string body;                                          // used when `object` is empty
  std::optional<store::Object> object;                       // stored object to send bytes from
  std::uint64_t offset = 0;                                  // byte range of `object` to send
  std::uint64_t length = 0;
  bool head = false;  // HEAD: send headers (with Content-Length) only
  // Header lines already serialized ("Name: value\r\n"...), sent after `headers`; set for
  // answers from the in-memory cache of small files (proxy/hot_cache.hpp).
  std::shared_ptr<const std::string> head_lines;
  Outcome outcome = Outcome::hit;
  // What was asked for, as a metrics label: list, info, mod, zip, latest, query (a non-canonical
  // .info), internal, other (anything that did not parse as a module request).
  std::string_view endpoint = "other";

  std::uint64_t content_length() const { return object ? length : body.size(); }
};

// What a listener serves: `respond_now` answers what needs no waiting (nullopt otherwise);
// `handle` answers anything, calling `done` exactly once, possibly on another thread.
// A value type (two functions), so a listener can serve the proxy or the admin endpoints alike.
struct Handler {
  std::function<std::optional<Response>(const HttpRequest&)> respond_now;
  std::function<void(const HttpRequest&, std::function<void(Response)>)> handle;
};

// A text/plain error in the form the go command shows to its user (one line).
Response error_response(int status, std::string message, Outcome outcome);

}  // namespace stoa::proxy
