#pragma once
// The GCS transport: one JSON API request with an access token (auth.hpp), over curl/ (a pool of
// handles, one transfer each), with retries of transient failures and bodies kept in memory or
// spooled to an unlinked file. Knows the endpoint and the bucket; knows nothing of the Store
// contract (store.cpp) or of uploads (upload.cpp). Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/curl/pool.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/store/gcs/auth.hpp"
#include "stoa/store/gcs/gcs.hpp"

namespace stoa::store::gcs {

// Throws StoreError("gcs store: <message>").
[[noreturn]] void fail(std::string message);

// Percent-encodes every byte but the unreserved ones (A-Z a-z 0-9 - . _ ~): an object name as
// one path segment, or a query value.
std::string encode(std::string_view s);

// What one request sends.
struct Request {
  std::string method;  // GET POST PUT DELETE
  // From the endpoint root, encoded ("/storage/v1/b/<bucket>/o/<name>"), or an absolute URL
  // (a resumable session) that must start with the endpoint.
  std::string target;
  std::string query;  // encoded, without '?'
  std::vector<std::string> headers;
  // Body: `head`, then `length` bytes of `fd` from `offset` (fd < 0: none), then `tail`.
  std::string head;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string tail;
  // GET: a 200 body bigger than this (or of unknown length) goes to an unlinked file in the spool
  // directory; 0: always in memory (capped at 16 MiB).
  std::uint64_t spool_over = 0;
  bool retry = true;  // false: one attempt (a resumable chunk is never resent by the transport)
  std::string what;   // for error messages: "GET <key>"
};

struct Response {
  long status = 0;
  curl::Response http;  // status line and headers
  std::string body;     // a success body kept in memory, or the (bounded) error document
  fsio::UniqueFd file;  // the success body, when it was spooled
  std::uint64_t file_size = 0;
  const std::string* header(std::string_view lowercase_name) const {
    return http.header(lowercase_name);
  }
};

// "HTTP <status>[: <message>]" of an answer (the JSON error's message, or the start of a text
// body).
std::string describe(const Response& r);

// Whether a 404 says that the object is missing (and not the bucket): GCS names it ("No such
// object: <bucket>/<name>", as text or inside a JSON error). fake-gcs-server answers a bare
// "Not Found" for both; that is read as a missing object too (buckets are checked at start).
bool is_no_such_object(const Response& r);

class Client {
 public:
  // Checks the endpoint, bucket, prefix and credentials of `o` (normalized: no trailing '/' on
  // the endpoint, a trailing '/' on a non-empty prefix). Throws StoreError.
  explicit Client(GcsOptions o);

  const GcsOptions& options() const { return m_o; }
  TokenSource& tokens() { return m_tokens; }
  // "/storage/v1/b/<bucket>/o": objects.list, and objects.get with the encoded name appended.
  const std::string& objects_path() const { return m_objects; }
  // "/upload/storage/v1/b/<bucket>/o": objects.insert.
  const std::string& upload_path() const { return m_upload; }
  // The encoded objects.get path of `key` under the prefix.
  std::string object_path(std::string_view key) const;

  // One request, retried (exponential backoff, max_attempts) on transport failures, 5xx and 429,
  // and once on a 401 with a fresh token. Returns the last answer, whatever its status; throws
  // StoreError when there was none, and what writing a spool file or getting a token throws.
  Response perform(const Request& q);

 private:
  // false with `error` set on a transport failure.
  bool attempt(const Request& q, const std::string& authorization, Response& r, std::string& error);

  GcsOptions m_o;
  TokenSource m_tokens;
  std::string m_objects;
  std::string m_upload;
  curl::Pool m_pool;
};

}  // namespace stoa::store::gcs
