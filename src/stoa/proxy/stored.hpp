#pragma once
// Serving a version's stored files (.info, .mod, .zip of canonical versions): from the memory
// cache of small files when there (hot_cache.hpp), else from the store, else, for a zip with a
// redirector, as a 302 to where the object store serves it; with conditionals (If-None-Match)
// and byte ranges (conditional.hpp). Stored files are immutable: answered as such.
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

// The Content-Type of a module file or answer of kind `k`.
std::string_view content_type_of(module::Kind k);

// `obj` as the answer to `req`: 304 when If-None-Match matches, 416/206 for a Range, else 200;
// immutable, with ETag and Last-Modified. Pure.
Response serve_object(const HttpRequest& req, store::Object obj, std::string_view content_type,
                      Outcome outcome);

class StoredFiles {
 public:
  // `zip_redirector` may be null (zips are sent from here). Everything must outlive this.
  StoredFiles(store::Store& store, HotCache& hot, store::Redirector* zip_redirector,
              const trace::Tracer& tracer, metrics::Histogram& get_seconds);

  // From memory only: no parsing, no store access. nullopt on a miss and for ranges.
  std::optional<Response> hot(const HttpRequest& req) const;
  // The stored file `r` names (canonical .info, .mod or .zip) as the answer to `req`; nullopt
  // when it is not stored. Throws StoreError.
  std::optional<Response> file(const HttpRequest& req, const module::Request& r);

 private:
  // A small stored file for the memory cache; nullptr when unreadable.
  std::shared_ptr<const HotEntry> make_hot(const module::Request& r, store::Object& obj) const;

  store::Store& m_store;
  HotCache& m_hot;
  store::Redirector* m_redirector;
  const trace::Tracer& m_tracer;
  metrics::Histogram& m_get_seconds;
};

}  // namespace stoa::proxy
