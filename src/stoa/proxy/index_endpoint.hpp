#pragma once
// /index and /catalog: the index of stored versions as a feed (entries since a time) and as a
// catalog (pages by module path), each listing to a client only what it could read
// (index_access.hpp) and what the version filter lets through. The query is parsed here, before
// anything is read (parse_index_query, pure); the index is read on the worker pool; credentials
// that need a bcrypt check are checked there first (logins.hpp).
//
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <variant>

#include "stoa/fetch/worker_pool.hpp"
#include "stoa/index/feed.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/logins.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/proxy/version_filter.hpp"

namespace spdlog {
class logger;
}
namespace stoa::index {
class Index;
}

namespace stoa::proxy {

// A checked /index or /catalog request.
struct IndexQuery {
  bool catalog = false;
  std::int64_t since_ns = 0;  // /index: the feed starts there
  std::size_t limit = 0;
  index::Cursor from;  // /catalog: where the page starts
};

inline constexpr std::size_t k_feed_max = 2000;
inline constexpr std::size_t k_catalog_default = 100;
inline constexpr std::size_t k_catalog_max = 1000;

// True for "/index" and "/catalog", with or without a query.
bool is_index_target(std::string_view target);

// Parses the query of an index target ("/index?since=...&limit=...",
// "/catalog?cursor=...&limit=..."): the query, or the 400 to answer (unknown parameter, a limit
// out of 1..max, a malformed time, cursor or escape). Pure; never throws.
std::variant<IndexQuery, Response> parse_index_query(std::string_view target);

class IndexEndpoint {
 public:
  using Done = std::function<void(Response)>;

  // `policy` and `filter` may be null. Everything must outlive this.
  IndexEndpoint(index::Index& index, policy::Policy* policy, const VersionFilter* filter,
                Logins& logins, fetch::WorkerPool& pool, std::shared_ptr<spdlog::logger> log);

  // Answers `q` for the client of `req` on a worker; `done` gets the page, a 429/503, or a 503
  // when the index fails.
  void fetch(const HttpRequest& req, const IndexQuery& q, Done done);

 private:
  Response read(const IndexQuery& q, std::string_view authorization);

  index::Index& m_index;
  policy::Policy* m_policy;
  const VersionFilter* m_filter;
  Logins& m_logins;
  fetch::WorkerPool& m_pool;
  std::shared_ptr<spdlog::logger> m_log;
};

}  // namespace stoa::proxy
