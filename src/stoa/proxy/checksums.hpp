#pragma once
// Glue between the checksum database client (sumdb/) and stoa's own parts: database paths are
// fetched through an upstream (the proxies' /sumdb/<name>/ endpoint, or the database's own URL),
// and authenticated tiles and verified lookup answers are kept in the store under
// "sumdb/<name>/tile/..." and "sumdb/<name>/lookup/...", so the data directory stays a GOPROXY
// tree the go command can also verify against, with the database unreachable.

#include <memory>
#include <string>

#include "stoa/fetch/upstream.hpp"
#include "stoa/store/store.hpp"
#include "stoa/sumdb/client.hpp"

namespace stoa::proxy {

// Where a database's paths come from: `upstream` with `prefix` prepended to every path
// ("sumdb/<name>/" through GOPROXY servers, "" for the database's own URL).
struct DatabaseSource {
  fetch::Upstream* upstream = nullptr;
  std::string prefix;
};

// A sumdb::Fetcher over an upstream: 404/410 are absence; any other failure throws.
std::unique_ptr<sumdb::Fetcher> make_upstream_fetcher(DatabaseSource source);

// A sumdb::TileCache keeping tiles (full, and partial ones of verified heads) in `store` under
// "sumdb/<name>/<tile path>" (write-once: a put for a tile already stored is ignored; a damaged
// stored tile is then re-fetched each time and reported by `stoa verify`).
std::unique_ptr<sumdb::TileCache> make_store_tile_cache(store::Store& store, std::string name);

// A sumdb::LookupCache keeping verified lookup answers in `store` under
// "sumdb/<name>/<lookup path>" (write-once, like the tiles).
std::unique_ptr<sumdb::LookupCache> make_store_lookup_cache(store::Store& store, std::string name);

// Reads a stored object whole (small objects only: .info, hashes, tiles). nullopt when absent.
std::optional<std::string> read_object(store::Store& store, const std::string& key);

// Commits `bytes` under `key` in `store` if absent (write-once). Throws StoreError.
void put_bytes(store::Store& store, const std::string& key, std::string_view bytes);

}  // namespace stoa::proxy
