#pragma once
// One HTTP transfer over a prepared easy handle: the part every libcurl client of stoa shares.
//
// The caller sets what is its own on the handle (URL, method, request headers, upload, redirects,
// SigV4, egress callbacks); perform() sets the rest and runs the transfer:
// - timeouts: connect, whole transfer, and stall (below);
// - the response's status line and headers, kept per response (a redirect or a 100 Continue
//   starts a new one; trailers are ignored);
// - the body of an accepted status (Options::accept) goes to a Sink, at most Options::max_body
//   bytes (a larger Content-Length is refused before the first body byte);
// - the body of any other status is read into Response::error_body, bounded: its first
//   `error_capture` bytes are kept, and after `error_read_limit` bytes the transfer is cut (small
//   error bodies are read to the end so that the connection is reused).
//
// Stall detection, the one meaning of the `stall_timeout` setting: a transfer fails when no byte
// moved for `stall_timeout`, in either direction (request body sent, response headers or body
// received), waiting for the response included. libcurl calls the check at least about once a
// second, so it fires within about a second after the timeout; zero disables it. (libcurl's own
// CURLOPT_LOW_SPEED_LIMIT/TIME averages over whole seconds and notices a transfer that stopped
// after a burst seconds late; it is not used.)

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stoa/curl/easy.hpp"

namespace stoa::curl {

struct Limits {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{0};  // the whole transfer; zero: none
  std::chrono::milliseconds stall_timeout{0};  // no byte moved for this long; zero: none
};

// The last response of a transfer (after redirects and interim responses).
struct Response {
  long status = 0;            // 0 when no status line arrived
  bool http1 = false;         // HTTP/1.0 or HTTP/1.1
  bool headers_done = false;  // the header block ended (the blank line arrived)
  // Header fields in arrival order: names lowercased, values trimmed of blanks. A line without
  // a ':' is skipped.
  std::vector<std::pair<std::string, std::string>> headers;
  std::uint64_t body_bytes = 0;        // handed to the sink
  std::string error_body;              // the first Options::error_capture bytes of a refused body
  std::uint64_t error_body_bytes = 0;  // all bytes of that body that were read

  // The value of the last field named `lowercase_name`, nullptr when there is none.
  const std::string* header(std::string_view lowercase_name) const;
};

// Where the body of an accepted response goes. Used by one transfer at a time.
class Sink {
 public:
  virtual ~Sink() = default;
  // The headers of an accepted response are complete, before any of its body. A reason refuses
  // the body: the transfer stops with Stop::refused and Result::error set to it.
  virtual std::optional<std::string> start(const Response& response) = 0;
  virtual void append(std::string_view bytes) = 0;
  // The bytes appended so far are void (a new response followed them); called before the new
  // response's start().
  virtual void clear() = 0;
};

// Bodies into a string (the caller's; cleared by clear()).
class StringSink final : public Sink {
 public:
  explicit StringSink(std::string& out) : m_out(out) {}
  std::optional<std::string> start(const Response&) override { return std::nullopt; }
  void append(std::string_view bytes) override { m_out.append(bytes); }
  void clear() override { m_out.clear(); }

 private:
  std::string& m_out;
};

// Bodies read and dropped.
class DiscardSink final : public Sink {
 public:
  std::optional<std::string> start(const Response&) override { return std::nullopt; }
  void append(std::string_view) override {}
  void clear() override {}
};

inline bool only_200(long status) { return status == 200; }
inline bool any_2xx(long status) { return status >= 200 && status <= 299; }

struct Options {
  Limits limits;
  bool (*accept)(long status) = &only_200;  // whose bodies go to the sink
  std::uint64_t max_body = std::numeric_limits<std::uint64_t>::max();
  std::size_t error_capture = 1024;
  std::uint64_t error_read_limit = std::uint64_t{64} * 1024;
  // Polled with the progress (at least about once a second); true ends the transfer with
  // Stop::aborted. Empty: never.
  std::function<bool()> abort;
};

enum class Stop : std::uint8_t {
  none,
  too_large,       // an accepted body (or its Content-Length) exceeded max_body
  refused,         // the sink's start() refused the body
  stalled,         // no byte moved for stall_timeout
  aborted,         // Options::abort said so
  error_body_cut,  // a refused body passed error_read_limit: the response is complete but for it
};

struct Result {
  CURLcode code = CURLE_OK;
  Stop stop = Stop::none;
  // Why the transfer failed, one line: the sink's reason (refused), "body larger than N bytes",
  // "stalled: no data for N ms", else libcurl's error text (which may name the host: callers
  // that put credentials in URLs scrub it). Empty when code is CURLE_OK.
  std::string error;
  Response response;

  bool ok() const { return code == CURLE_OK; }
  // The status line and headers of the last response are all known (the body may have been cut
  // by error_read_limit).
  bool answered() const {
    return response.headers_done && (code == CURLE_OK || stop == Stop::error_body_cut);
  }
  // The connect, whole-transfer or stall timeout ended it.
  bool timed_out() const { return stop == Stop::stalled || code == CURLE_OPERATION_TIMEDOUT; }
};

// Runs the transfer `h` is prepared for. Sets on `h`: NOSIGNAL, http/https only, the timeouts,
// TCP keep-alive, and its header, body and progress callbacks (the caller must not set those).
// Rethrows what the sink throws, after the transfer ended; throws std::runtime_error when an
// option cannot be set.
Result perform(CURL* h, Sink& sink, const Options& options);

}  // namespace stoa::curl
