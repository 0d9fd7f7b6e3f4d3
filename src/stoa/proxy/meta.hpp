#pragma once
// The mutable answers: a module's list, its @latest and version queries (a non-canonical .info).
// They are fetched from the module's sources into memory, checked (an @latest or query answer
// must name a canonical version of the path's major), merged with the stored versions (list),
// kept in the answer cache, and answered through the version filter. When the sources fail, the
// last answer kept, else the stored versions, answer instead.
//
// The answer cache keeps what the sources said, unfiltered; the filter applies when an answer is
// served, so a policy reload changes the next answer, cached or not. An @latest whose version
// the filter hides is answered with the newest version it allows, chosen as the go command
// chooses latest from the filtered list (pick_latest: releases, then pre-releases, then
// pseudo-versions); that version's .info comes from the store or, fetched along with the
// @latest (fetch()), from the answer cache. When the filter allows no version, a 403 with the
// reason.
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
#include "stoa/proxy/first_seen.hpp"
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
  // `filter` may be null (nothing hidden), `seen` too (upstream answers' versions not recorded
  // as seen). Everything must outlive this.
  MetaAnswers(store::Store& store, Answers& answers, const VersionFilter* filter, FirstSeen* seen,
              const trace::Tracer& tracer, ServiceMetrics& metrics,
              std::shared_ptr<spdlog::logger> log, std::string short_cache);

  // `body` (a list, or the .info an @latest or query resolved to) as the answer for `r`, through
  // the version filter: hidden list lines are left out; a hidden @latest is replaced by the
  // newest allowed version (403 when none is allowed; 404 when its .info cannot be had, after
  // which the go command computes latest from the filtered list), a hidden query answer is a
  // 403. Hidden versions are counted and logged.
  Response answer(const module::Request& r, std::string body, Outcome outcome);
  // The fresh answer kept for `r`; nullopt when none.
  std::optional<Response> fresh(const module::Request& r);
  // The answer kept for `r`, fresh or not; nullopt when none.
  std::optional<Response> kept(const module::Request& r, Outcome outcome);
  // list or @latest from the stored versions (queries need a source); nullopt when none stored.
  std::optional<Response> from_store(const module::Request& r, Outcome outcome);
  // The answer once a fetch of `r` came to `res`: its body, else the last answer kept, else the
  // stored versions, else the failure.
  Response on_result(const module::Request& r, const FetchResult& res, Outcome outcome);
  // The fresh answer kept for `r`, else fetched from `sources`, checked and kept. For an @latest
  // the filter hides, also what answers it instead: the list, and the .info of the newest
  // allowed version when it is not stored. Blocking.
  // `fetched`: whether a source was asked (false: the answer was kept already).
  FetchResult fetch(const module::Request& r, const FetchContext& ctx, const SourceChain& sources,
                    bool& fetched);
  // Brings the module's stored list in line with its stored versions (a crash or a full disk
  // between a commit and its list rewrite leaves it stale). A failure is logged and counted,
  // never fails the request: the answer is computed from the stored versions anyway.
  void converge_list(const std::string& escaped_module);

 private:
  std::vector<std::string> stored_versions(const std::string& escaped_module);
  // `body` through the filter; nullopt when a hidden @latest's replacement needs a fetch first
  // (never when `settled`: then the best answer without one).
  std::optional<Response> shaped(const module::Request& r, std::string body, Outcome outcome,
                                 bool settled);
  // `body` as the answer for `r`, as it is.
  Response plain(const module::Request& r, std::string body, Outcome outcome) const;
  // The answer to an @latest whose version `hidden` the filter hides (see answer()).
  std::optional<Response> allowed_latest(const module::Request& r, const HiddenVersion& hidden,
                                         Outcome outcome, bool settled);
  // Gets `key` from `sources` (a list when `list`, else a .info that must name `version` when
  // that is not empty), checks it and keeps it in the answer cache.
  FetchResult fetch_key(const module::Request& r, const std::string& key, bool list,
                        std::string_view version, const FetchContext& ctx,
                        const SourceChain& sources);
  // Fetches what allowed_latest() needs when the filter hides `latest_body`'s version.
  void fetch_allowed_latest(const module::Request& r, std::string_view latest_body,
                            const FetchContext& ctx, const SourceChain& sources);
  // Counts and logs the versions hidden from the `answer` answer of `r`.
  void note(std::string_view answer, const module::Request& r,
            const std::vector<HiddenVersion>& hidden);
  static VersionFilter::Asked asked(const module::Request& r) { return {r.min_age, false}; }
  bool filtering(const module::Request& r) const {
    return m_filter != nullptr && m_filter->applies(asked(r));
  }

  store::Store& m_store;
  Answers& m_answers;
  const VersionFilter* m_filter;
  FirstSeen* m_seen;
  const trace::Tracer& m_tracer;
  ServiceMetrics& m_metrics;
  std::shared_ptr<spdlog::logger> m_log;
  std::string m_short_cache;
};

}  // namespace stoa::proxy
