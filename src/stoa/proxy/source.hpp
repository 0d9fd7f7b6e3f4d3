#pragma once
// The source seam: what answers list, .info, .mod and .zip for a module when the store does not
// hold them. Today's sources are upstreams (GOPROXY servers, a rule's own upstream, the go
// command for direct and private modules: fetch::Upstream, wrapped by UpstreamSource). Modules
// published to stoa itself, a peer stoa being mirrored or an imported offline bundle are new
// Source implementations, placed in front (ServiceOptions::sources).
//
// The sources of one module form a chain, in order, like a virtual repository: the first source
// that has the file answers; a source that does not have it passes the request on, unless it
// owns the module (then its answer is final: a module published here shadows any upstream of
// the same path, so no upstream can add a version to it). A failure ends the walk (it might hide
// the file: as the go command's ',' rule, nothing after a failure is asked).
//
// Thread-safe: get() may be called concurrently from any worker thread; it blocks.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/fetch/upstream.hpp"
#include "stoa/fsio/temp_file.hpp"

namespace stoa::proxy {

class Source {
 public:
  virtual ~Source() = default;

  // What the index records as the origin of what this source serves (index_access.hpp): URLs
  // without userinfo, "direct", ...
  virtual std::string origin() const = 0;
  // True when this source is the authority for `module` (decoded path): its answer is final.
  virtual bool owns(std::string_view module) const = 0;
  // As fetch::Upstream::get: `key` is a case-encoded storage key ("m/@v/v1.0.0.zip",
  // module::key_of), `out` is cleared first, a body over `max_bytes` is a failure; not_found
  // means this source does not have it. Throws only on a local failure (writing `out`).
  virtual fetch::Outcome get(const std::string& key, fsio::TempFile& out, std::uint64_t max_bytes,
                             const fetch::Upstream::Headers& headers) = 0;
  virtual fetch::Outcome get(const std::string& key, std::string& out, std::uint64_t max_bytes,
                             const fetch::Upstream::Headers& headers) = 0;
};

// An upstream as a source: it owns no module. `up` must outlive it.
std::shared_ptr<Source> upstream_source(fetch::Upstream& up, std::string origin);

// The sources of one module, in order. A value; the sources are shared.
class SourceChain {
 public:
  SourceChain() = default;
  explicit SourceChain(std::vector<std::shared_ptr<Source>> sources)
      : m_sources(std::move(sources)) {}

  bool empty() const { return m_sources.empty(); }
  void push_back(std::shared_ptr<Source> s) { m_sources.push_back(std::move(s)); }

  struct Answer {
    fetch::Outcome outcome;
    std::string origin;  // of the source that answered last
  };
  // Walks the chain for `key` of `module` (see the top of this file). An empty chain answers
  // not_found.
  template <class Out>
  Answer get(std::string_view module, const std::string& key, Out& out, std::uint64_t max_bytes,
             const fetch::Upstream::Headers& headers) const {
    Answer a{{fetch::Status::not_found, 404, false, "no source for this module", true}, {}};
    for (const auto& s : m_sources) {
      a.outcome = s->get(key, out, max_bytes, headers);
      a.origin = s->origin();
      if (a.outcome.status != fetch::Status::not_found || s->owns(module)) break;
    }
    return a;
  }

 private:
  std::vector<std::shared_ptr<Source>> m_sources;
};

}  // namespace stoa::proxy
