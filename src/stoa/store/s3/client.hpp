#pragma once
// The S3 transport: one request, SigV4-signed by libcurl, over curl/ (a pool of handles, one
// transfer each), with retries of transient failures and bodies kept in memory or spooled to an
// unlinked file. Knows the endpoint, the bucket and the addressing style; knows nothing of the
// Store contract (store.cpp) or of presigning (presign.cpp). Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/curl/pool.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/store/s3/s3.hpp"

namespace stoa::store::s3 {

// Throws StoreError("s3 store: <message>").
[[noreturn]] void fail(std::string message);

// What one request sends.
struct Request {
  std::string method;  // GET HEAD PUT POST DELETE
  std::string path;    // encoded, from the endpoint root, e.g. "/bucket/pre/x/%40v/list"
  std::string query;   // canonical (sigv4::canonical_query)
  std::vector<std::string> headers;
  // Body: `bytes` if set, else `length` bytes of `fd` from `offset` (fd < 0: no body).
  const std::string* bytes = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // GET: a 200 body bigger than this (or of unknown length) goes to an unlinked file in the spool
  // directory; 0: always in memory (capped at 16 MiB).
  std::uint64_t spool_over = 0;
  std::string what;  // for error messages: "GET <key>"
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

// "HTTP <status> [<Code>][: <Message>]" of an answer.
std::string describe(const Response& r);

class Client {
 public:
  // Checks the endpoint, bucket, prefix and credentials of `o` (normalized: no trailing '/' on
  // the endpoint, a trailing '/' on a non-empty prefix). Throws StoreError.
  explicit Client(S3Options o);

  const S3Options& options() const { return m_o; }
  // scheme://host[:port][/base path], with the bucket as a subdomain for virtual hosts.
  const std::string& base() const { return m_base; }
  // "/<bucket>" (path style) or "" (virtual host).
  const std::string& bucket_path() const { return m_bucket_path; }
  // The encoded path of `key` under the prefix.
  std::string object_path(std::string_view key) const;

  // One request, retried (exponential backoff, max_attempts) on transport failures, 5xx, 429 and
  // AWS's 409 ConditionalRequestConflict. Returns the last answer, whatever its status; throws
  // StoreError when there was none, and what writing a spool file throws.
  Response perform(const Request& q);

  // HEAD of `key`: true on 200, false on 404; throws StoreError otherwise.
  bool exists(const std::string& key);

 private:
  // false with `error` set on a transport failure.
  bool attempt(const Request& q, Response& r, std::string& error);

  S3Options m_o;
  std::string m_base;
  std::string m_bucket_path;
  std::string m_sigv4;  // "aws:amz:<region>:s3"
  curl::Pool m_pool;
};

}  // namespace stoa::store::s3
