#pragma once
// The parts every command that touches the store and the upstream needs (serve, verify):
// the store, the upstream proxies and the checksum database client, built from typed options.

#include <memory>
#include <string>

#include "stoa/cli/options.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/index/index.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/store/store.hpp"
#include "stoa/sumdb/client.hpp"
#include "stoa/sumdb/state.hpp"

namespace stoa::cli {

struct Core {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::Redirector> zip_redirector;  // s3 with presign_ttl > 0 only
  std::unique_ptr<fetch::Upstream> upstream;
  // The checksum database: reached through the upstream proxies' /sumdb/<name>/ unless it has
  // proxies of its own; tiles it authenticates and lookups it verifies are kept in the store
  // (and served from there when it is unreachable), its latest tree head on disk.
  std::unique_ptr<fetch::Upstream> sumdb_upstream;
  std::unique_ptr<sumdb::Fetcher> sumdb_fetcher;
  std::unique_ptr<sumdb::TileCache> sumdb_tiles;
  std::unique_ptr<sumdb::LookupCache> sumdb_lookups;
  std::unique_ptr<sumdb::TreeState> sumdb_state;
  std::unique_ptr<sumdb::Client> sumdb_client;  // nullptr: sumdb = off
  proxy::DatabaseSource sumdb_source;
};

// The store of `store` (a memory store stages in a new temporary directory). Throws
// store::StoreError when it cannot be used.
std::unique_ptr<store::Store> make_store(const StoreConfig& store);

Core make_core(const StoreConfig& store, const UpstreamConfig& upstream,
               const ChecksumConfig& checksum);

// The index of `index` (nullptr for none); a PostgreSQL index connects lazily. Creates the
// directory of a sqlite file; throws ConfigError when the file cannot be opened.
std::unique_ptr<index::Index> make_index(const IndexConfig& index);

// The policy of `files`; a rule's own `upstream` list gets an upstream like `base` with that
// list. Throws ConfigError naming the file and line of a bad rule.
std::unique_ptr<policy::Policy> make_policy(const policy::PolicyFiles& files,
                                            const fetch::UpstreamOptions& base);

// 128 random bits in hex: names this process (/_stoa/instance) and its temporary directories.
std::string random_instance_id();

}  // namespace stoa::cli
