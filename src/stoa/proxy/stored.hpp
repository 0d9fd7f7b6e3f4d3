#pragma once
// Serving a version's stored files (.info, .mod, .zip of canonical versions): from the memory
// cache of small files when there (hot_cache.hpp), else from the store, else, for a zip with a
// redirector, as a 302 to where the object store serves it; with conditionals (If-None-Match)
// and byte ranges (conditional.hpp). Stored files are immutable: answered as such, to any cache
// or, for a module whose answers a shared cache must never keep, to the client's own only
// (Audience).
//
// Thread-safe. file() reads the store on the calling thread (see Store::reads_may_block).

#include <memory>
#include <optional>
#include <string_view>

#include "stoa/metrics/metrics.hpp"
#include "stoa/module/request.hpp"
#include "stoa/proxy/hot_cache.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/store/store.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::proxy {

inline constexpr std::string_view k_immutable = "public, max-age=31536000, immutable";
inline constexpr std::string_view k_immutable_private = "private, max-age=31536000, immutable";

// The Cache-Control of a stored (immutable) file for `a`.
std::string_view immutable_cache(Audience a);

// The Content-Type of a module file or answer of kind `k`.
std::string_view content_type_of(module::Kind k);

// `obj` as the answer to `req`: 304 when If-None-Match matches, 416/206 for a Range, else 200;
// immutable (for `audience`), with ETag and Last-Modified. Pure.
Response serve_object(const HttpRequest& req, store::Object obj, std::string_view content_type,
                      Outcome outcome, Audience audience = Audience::shared);

class StoredFiles {
 public:
  // `zip_redirector` may be null (zips are sent from here). Everything must outlive this.
  StoredFiles(store::Store& store, HotCache& hot, store::Redirector* zip_redirector,
              const trace::Tracer& tracer, metrics::Histogram& get_seconds);

  // From memory only: no parsing, no store access. nullopt on a miss and for ranges. The
  // answer is for the audience its entry was made for (file()); the caller asks only where that
  // cannot have changed (no rules).
  std::optional<Response> hot(const HttpRequest& req) const;
  // The stored file `r` names (canonical .info, .mod or .zip) as the answer to `req` for
  // `audience`; nullopt when it is not stored. Throws StoreError.
  std::optional<Response> file(const HttpRequest& req, const module::Request& r,
                               Audience audience = Audience::shared);

 private:
  // A small stored file for the memory cache; nullptr when unreadable.
  std::shared_ptr<const HotEntry> make_hot(const module::Request& r, store::Object& obj,
                                           Audience audience) const;

  store::Store& m_store;
  HotCache& m_hot;
  store::Redirector* m_redirector;
  const trace::Tracer& m_tracer;
  metrics::Histogram& m_get_seconds;
};

}  // namespace stoa::proxy
