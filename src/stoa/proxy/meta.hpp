#pragma once
// The mutable answers: a module's list, its @latest and version queries (a non-canonical .info).
// They are fetched from the module's sources into memory, checked (an @latest or query answer
// must name a canonical version of the path's major), merged with the stored versions (list),
// kept in the answer cache, and answered through the version filter. When the sources fail, the
// last answer kept, else the stored versions, answer instead.
//
// Thread-safe. fetch() blocks (run it on a worker); the others read the store on the calling
// thread and throw StoreError.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stoa/module/request.hpp"
#include "stoa/proxy/answer_cache.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/flights.hpp"
#include "stoa/proxy/service_metrics.hpp"
#include "stoa/proxy/source.hpp"
#include "stoa/proxy/version_filter.hpp"
#include "stoa/store/store.hpp"
#include "stoa/trace/tracer.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

class MetaAnswers {
 public:
  // `filter` may be null (nothing hidden). Everything must outlive this.
  MetaAnswers(store::Store& store, Answers& answers, const VersionFilter* filter,
              const trace::Tracer& tracer, ServiceMetrics& metrics,
              std::shared_ptr<spdlog::logger> log, std::string short_cache);

  // `body` (a list, or the .info an @latest or query resolved to) as the answer for `r`, through
  // the version filter: hidden list lines are left out; a hidden @latest is a 404 (the go command
  // then computes latest from the list), a hidden query answer a 403.
  Response answer(const module::Request& r, std::string body, Outcome outcome) const;
  // The fresh answer kept for `r`; nullopt when none.
  std::optional<Response> fresh(const module::Request& r);
  // The answer kept for `r`, fresh or not; nullopt when none.
  std::optional<Response> kept(const module::Request& r, Outcome outcome);
  // list or @latest from the stored versions (queries need a source); nullopt when none stored.
  std::optional<Response> from_store(const module::Request& r, Outcome outcome);
  // The answer once a fetch of `r` came to `res`: its body, else the last answer kept, else the
  // stored versions, else the failure.
  Response on_result(const module::Request& r, const FetchResult& res, Outcome outcome);
  // Fetches `r` from `sources`, checks and keeps it. Blocking.
  FetchResult fetch(const module::Request& r, const FetchContext& ctx, const SourceChain& sources);
  // Brings the module's stored list in line with its stored versions (a crash or a full disk
  // between a commit and its list rewrite leaves it stale). A failure is logged and counted,
  // never fails the request: the answer is computed from the stored versions anyway.
  void converge_list(const std::string& escaped_module);

 private:
  std::vector<std::string> stored_versions(const std::string& escaped_module);

  store::Store& m_store;
  Answers& m_answers;
  const VersionFilter* m_filter;
  const trace::Tracer& m_tracer;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
  std::string m_short_cache;
};

}  // namespace stoa::proxy
