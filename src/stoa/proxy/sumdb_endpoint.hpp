#pragma once
// /sumdb/<name>/...: the checksum databases proxied for clients (GOSUMDB through GOPROXY).
// `supported` is answered here; tiles and lookups the verifying client authenticated are kept
// in the store and answered from there first, immutable, with the database reachable or not;
// other paths (latest, unverified lookups and tiles) are fetched from the database's source and
// kept in memory only (answer_cache.hpp), never stored: first bytes win forever, so only
// authenticated ones may. When the database is unreachable, `latest` is the latest tree head
// stoa verified, else the last answer kept. Lookups of private modules are refused (403): a
// private path never reaches a checksum database.
//
// Thread-safe. now() reads the store on the calling thread; fetch() answers from a worker.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "stoa/proxy/answer_cache.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/flights.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/store/store.hpp"
#include "stoa/sumdb/client.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

// A request under /sumdb/<name>/, checked: `path` is the database path to fetch (canonical
// form), `store_key` is set for tiles and lookups (the verifying client keeps the ones it
// authenticated there).
struct SumdbRequest {
  std::string name;
  std::string path;
  std::string store_key;
  std::string module, version;  // of a lookup, decoded
  bool supported = false;       // ".../supported"
  bool tile = false;
};

// Parses `target` ("/sumdb/<name>/<path>"); `known(name)` tells whether a database of that name
// is proxied, `is_private(module)` whether a lookup must be refused. The request, or the error
// to answer (404 unknown database or path, 400 malformed, 403 private). Pure; never throws.
std::variant<SumdbRequest, Response> parse_sumdb_target(
    std::string_view target, const std::function<bool(std::string_view)>& known,
    const std::function<bool(std::string_view)>& is_private);

struct SumdbEndpointOptions {
  std::map<std::string, DatabaseSource, std::less<>> sources;  // proxied databases, by name
  sumdb::Client* checksum_db = nullptr;  // the verifying client (nullptr: nothing verified)
  std::function<bool(std::string_view)> is_private;
  std::string short_cache;  // Cache-Control of what is passed on unauthenticated
};

class SumdbEndpoint {
 public:
  using Done = std::function<void(Response)>;

  // Everything must outlive this.
  SumdbEndpoint(SumdbEndpointOptions options, store::Store& store, Answers& answers,
                Flights& flights, std::shared_ptr<spdlog::logger> log);

  std::variant<SumdbRequest, Response> parse(std::string_view target) const;
  // The answer when it needs no fetch (supported, stored, fresh in memory); nullopt otherwise.
  // Throws StoreError.
  std::optional<Response> now(const HttpRequest& req, const SumdbRequest& s);
  // Fetches (one flight per path) and answers `done`, possibly on a worker thread.
  void fetch(const HttpRequest& req, const SumdbRequest& s, Done done);

 private:
  FetchResult fetch_job(const SumdbRequest& s, const std::string& key);
  Response on_result(const SumdbRequest& s, const std::string& key, const FetchResult& res);
  // A lookup verified with the checksum database client (and so kept in the store); its
  // result, or nullopt to pass the database's answer through unverified. Blocking.
  std::optional<FetchResult> verify_lookup(const SumdbRequest& s);
  // The latest tree head stoa verified, when the database is unreachable for `latest`.
  std::optional<std::string> verified_head(const SumdbRequest& s, FetchResult::Status failure);
  Response answer(const SumdbRequest& s, std::string body, Outcome outcome) const;

  SumdbEndpointOptions m_options;
  store::Store& m_store;
  Answers& m_answers;
  Flights& m_flights;
  std::shared_ptr<spdlog::logger> m_log;
};

}  // namespace stoa::proxy
