#pragma once
// The web pages for people, in front of the GOPROXY protocol: `wrap` makes a listener's Handler
// that answers the UI's targets here and passes every other one to the proxy's handler, so the
// protocol's paths are untouched. Under `ui_path` ("/" by default; the paths below are relative
// to it, after the server's path prefix):
//   ""                home: what this is, the GOPROXY line, search box, recent additions, totals,
//                     upstream state
//   search?q=&page=   modules by path prefix, then substring (the in-memory catalog only)
//   m/<module>[/@<version>]  a module: versions newest first, marked by the version filter and
//                     by retractions, the selected version's facts, go.mod and zip file list
//   setup             client configuration generated from the running configuration
//   status            hit ratio, requests and bytes, upstream fetches, store space, charts
//   -/style.css       the one stylesheet
// and, at the root: /version (build information, JSON) and /robots.txt (disallow all).
//
// Access: a module page follows the protocol's rule for the module (policy::Snapshot::decide
// with the client's credentials): a client that may not read it gets exactly the page of a
// module that does not exist (404). Search and recent additions list only modules the client
// may read.
//
// Never on the serving threads: pages are rendered on a pool of their own (`pool`, bounded; a
// full queue answers 503 at once), the stylesheet, /version and /robots.txt are constants.
// Searches read an in-memory catalog of the index (catalog.hpp): at most every `catalog_ttl`
// the versions recorded since are read from the index and merged in (one indexed query when
// there are none), and the whole index is read again at most every `catalog_reload` (to see
// versions completed with hashes or sizes later), on that pool; only a module page reads the store
// (its list, .info, .mod files and the selected zip's central directory). Every answer carries the
// security headers (a CSP that allows no script, nosniff, frame denial, no referrer) and
// Cache-Control no-store.
//
// Thread-safe.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fetch/worker_pool.hpp"
#include "stoa/index/index.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/proxy/version_filter.hpp"
#include "stoa/store/store.hpp"
#include "stoa/web/catalog.hpp"
#include "stoa/web/pages.hpp"
#include "stoa/web/status.hpp"

namespace spdlog {
class logger;
}
namespace stoa::vulndb {
class Mirror;
}

namespace stoa::web {

struct SiteOptions {
  std::string path_prefix;  // the server's ("" for none), e.g. "/goproxy"
  std::string ui_path = "/";
  // What clients put in GOPROXY, without the path prefix (e.g. "https://proxy.example.com");
  // "" until set_listen_url() gives the listener's.
  std::string external_url;
  std::string version;
  std::string private_globs;  // GONOSUMDB syntax ("" for none)
  std::string sumdb_name;     // the checksum database proxied at /sumdb/<name>/ ("" for none)
  std::string upstream;       // redacted, for the home page ("" for none)
  std::string data_dir;       // for the store's free space ("" when not a disk store)
  std::string lock;           // the lock service ("none", "redis", "postgres")
  std::chrono::seconds catalog_ttl{10};
  std::chrono::seconds catalog_reload{600};
  // The last warnings and errors logged, newest last (null: none kept).
  std::function<std::vector<std::string>()> last_errors;
};

class Site {
 public:
  using Done = std::function<void(proxy::Response)>;

  // `index`, `policy`, `filter` and `vulndb` may be null. Everything must outlive this.
  Site(SiteOptions options, store::Store& store, index::Index* index, policy::Policy* policy,
       const proxy::VersionFilter* filter, const vulndb::Mirror* vulndb,
       const metrics::Registry& registry, fetch::WorkerPool& pool,
       std::shared_ptr<spdlog::logger> log);

  // The listener's URL, used when no external URL is configured. Call before serving.
  void set_listen_url(std::string url);

  // Whether `target` (after the path prefix) is one of the UI's.
  bool owns(std::string_view target) const;

  // The answer now (constants, refusals), or nullopt when handle() must render it.
  std::optional<proxy::Response> respond_now(const proxy::HttpRequest& req);
  // Renders on the pool; `done` is called exactly once.
  void handle(const proxy::HttpRequest& req, Done done);

  // A handler answering the UI's targets here and the rest with `inner`.
  proxy::Handler wrap(const proxy::Handler& inner);

  // Records a point of the status charts' history; cheap, hands the work to the pool. Call it
  // on a timer.
  void sample();

  // The page for `req`, rendered on the calling thread (the pool's, or a test's).
  proxy::Response render(const proxy::HttpRequest& req);

 private:
  struct Who;
  Who who(std::string_view authorization) const;
  std::shared_ptr<const Catalog> catalog();
  std::string goproxy() const;

  proxy::Response home(const Who& w);
  proxy::Response search(const Who& w, std::string_view query, std::string_view page_param);
  proxy::Response module(const Who& w, std::string_view rest);
  proxy::Response setup();
  proxy::Response status(const Who& w);
  proxy::Response page(int status, std::string body) const;
  Frame frame() const;

  SiteOptions m_options;
  store::Store& m_store;
  index::Index* m_index;
  policy::Policy* m_policy;
  const proxy::VersionFilter* m_filter;
  const vulndb::Mirror* m_vulndb;
  const metrics::Registry& m_registry;
  fetch::WorkerPool& m_pool;
  std::shared_ptr<spdlog::logger> m_log;
  std::string m_ui;  // path prefix + ui_path, without a trailing '/' ("" for the root)

  mutable std::mutex m_mu;
  std::string m_listen_url;                                 // under m_mu
  std::shared_ptr<const Catalog> m_catalog;                 // under m_mu
  std::chrono::steady_clock::time_point m_catalog_at;       // last looked for new entries
  std::chrono::steady_clock::time_point m_catalog_full_at;  // last read whole
  std::mutex m_loading;                                     // one catalog load at a time
  History m_history;
};

// The security headers every page carries (CSP without script, nosniff, frame denial, no
// referrer). Exposed for tests.
void add_security_headers(proxy::Response& r);

}  // namespace stoa::web
