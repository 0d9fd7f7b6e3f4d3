#pragma once
// The failure table: what a fetch came to (FetchResult), the one mapping from its kinds to HTTP
// status codes (status_for), and every error answer a module request can get, in the words the
// go command shows its user. Pure; thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stoa/fetch/upstream.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/module/request.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::proxy {

// What an upstream fetch came to; shared by every request waiting on it.
struct FetchResult {
  enum class Status : std::uint8_t {
    ok,
    not_found,
    forbidden,
    failed,
    timed_out,
    invalid,
    busy,
    unavailable,
    store_error
  };
  Status status = Status::failed;
  std::string message;  // one line for the client (forbidden: upstream's own words)
  std::string body;     // small answers fetched into memory (list, @latest, queries)
  // A passthrough download, checked but not stored: an open descriptor of a file already
  // unlinked (nothing is left behind, even by a crash while it is served).
  struct PassedFile {
    fsio::UniqueFd fd;
    std::uint64_t size = 0;
  };
  std::shared_ptr<const PassedFile> file;
};

// The one table from failure kinds to HTTP status codes.
int status_for(FetchResult::Status s);

// An upstream's outcome as a FetchResult: a 403 is the upstream's policy (forbidden), not an
// outage; a timeout is timed_out; any other failure is failed.
FetchResult result_of(const fetch::Outcome& o);

// "module" or "module@version", for messages.
std::string describe(const module::Request& r);

// The metrics label of a module request: list, info, mod, zip, latest, query (non-canonical .info).
std::string_view endpoint_of(const module::Request& r);

// The metrics label of a result: ok, not_found, forbidden, ...
std::string_view result_label(FetchResult::Status s);

// The answer for a fetch of `r` that did not succeed (status_for's code, with Retry-After when
// retrying soon may help).
Response failure(const module::Request& r, const FetchResult& res);

// text/plain, no-store.
Response text_answer(int status, std::string body, Outcome outcome);

// "not found: <module@version>": also what a client gets for a module it may not see, so that
// the two cannot be told apart.
Response not_found_answer(const module::Request& r);

// 503 with Retry-After: 1 (a full queue, a store failure).
Response retry_answer(std::string message);
Response storage_error_answer();  // "storage error; retry shortly"

}  // namespace stoa::proxy
