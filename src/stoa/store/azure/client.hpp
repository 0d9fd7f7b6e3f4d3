#pragma once
// The Blob service transport: one request over curl/ (a pool of handles, one transfer each),
// authorized by Shared Key (shared_key.hpp), a SAS token or a managed identity's bearer token
// (identity.hpp), retried on transient failures, bodies kept in memory or spooled to an
// unlinked file. Knows the endpoint, the container and the credentials; knows nothing of the
// Store contract (store.cpp). Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "stoa/curl/pool.hpp"
#include "stoa/curl/transfer.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/store/azure/azure.hpp"
#include "stoa/store/azure/identity.hpp"

namespace stoa::store::azure {

// Throws StoreError("azure store: <message>").
[[noreturn]] void fail(std::string message);

// The REST API version stoa speaks (x-ms-version).
inline constexpr const char* k_api_version = "2021-12-02";

// What one request sends.
struct Request {
  std::string method;  // GET PUT DELETE
  std::string blob;    // the blob's full name (prefix included); "" for the container itself
  std::vector<std::pair<std::string, std::string>> query;    // decoded; encoded here
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the ones the client adds
  // Body: `bytes` if set, else `length` bytes of `fd` from `offset` (fd < 0: no body).
  const std::string* bytes = nullptr;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // GET: a 200 body bigger than this (or of unknown length) goes to an unlinked file in the spool
  // directory; 0: always in memory (capped at 16 MiB).
  std::uint64_t spool_over = 0;
  std::string what;  // for error messages: "Get Blob <key>"
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
  // The service's error code: the x-ms-error-code header, else the error document's <Code>;
  // "" when neither is there.
  std::string error_code() const;
};

// "HTTP <status> [<Code>][: <Message>]" of an answer.
std::string describe(const Response& r);

class Client {
 public:
  // Checks the endpoint, account, container, prefix and credentials of `o` (normalized: the
  // endpoint derived from the account when empty, no trailing '/' on it, a trailing '/' on a
  // non-empty prefix). Throws StoreError.
  explicit Client(AzureOptions o);

  const AzureOptions& options() const { return m_o; }
  // The blob name of a store key: the prefix, then the key.
  std::string blob_of(std::string_view key) const { return m_o.prefix + std::string(key); }

  // One request, retried (exponential backoff, max_attempts) on transport failures, 5xx and
  // 429. Returns the last answer, whatever its status; throws StoreError when there was none,
  // and what writing a spool file throws.
  Response perform(const Request& q);

 private:
  // false with `error` set on a transport failure.
  bool attempt(const Request& q, Response& r, std::string& error);

  AzureOptions m_o;
  std::string m_origin;                         // scheme://host[:port]
  std::string m_base_path;                      // "" or the endpoint's path ("/devstoreaccount1")
  std::unique_ptr<ManagedIdentity> m_identity;  // with managed_identity
  curl::Pool m_pool;
};

}  // namespace stoa::store::azure
