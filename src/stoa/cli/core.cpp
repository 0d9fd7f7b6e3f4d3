#include "stoa/cli/core.hpp"

#include <fmt/format.h>
#include <random>

#include "stoa/store/azure/azure.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/gcs/gcs.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/mongodb/mongodb.hpp"
#include "stoa/store/s3/s3.hpp"

namespace stoa::cli {

std::string random_instance_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

std::unique_ptr<store::Store> make_store(const StoreConfig& store) {
  switch (store.kind) {
    case StoreKind::s3:
      return store::make_s3_store(*store.s3);
    case StoreKind::azure:
      return store::make_azure_store(*store.azure);
    case StoreKind::gcs:
      return store::make_gcs_store(*store.gcs);
    case StoreKind::mongodb:
      return store::make_mongodb_store(*store.mongodb);
    case StoreKind::memory: {
      const auto staging =
          std::filesystem::temp_directory_path() / ("stoa-" + random_instance_id());
      std::filesystem::create_directories(staging);
      return store::make_memory_store(staging);
    }
    case StoreKind::disk:
      break;
  }
  return store::make_disk_store(store.data_dir);
}

std::unique_ptr<index::Index> make_index(const IndexConfig& index) {
  switch (index.kind) {
    case IndexKind::none:
      return nullptr;
    case IndexKind::postgres:
      return index::make_postgres_index(index.target);
    case IndexKind::sqlite:
      break;
  }
  if (index.target == ":memory:") return index::make_sqlite_index(index.target);
  std::filesystem::create_directories(std::filesystem::path(index.target).parent_path());
  try {
    return index::make_sqlite_index(index.target);
  } catch (const index::IndexError& e) {
    throw ConfigError(std::string("index: ") + e.what());
  }
}

std::unique_ptr<policy::Policy> make_policy(const policy::PolicyFiles& files,
                                            const fetch::UpstreamOptions& base) {
  auto factory = [base](const std::string& list) {
    std::string error;
    auto parsed = fetch::parse_proxy_list(list, &error);
    if (!parsed) throw std::runtime_error(error);
    if (parsed->entries.empty())
      throw std::runtime_error("names no proxy (direct fetching is not supported yet)");
    fetch::UpstreamOptions o = base;
    o.proxies = *parsed;
    return fetch::make_http_upstream(o);
  };
  try {
    return std::make_unique<policy::Policy>(files, factory);
  } catch (const policy::LoadError& e) {
    throw ConfigError(e.what());
  }
}

Core make_core(const StoreConfig& store, const UpstreamConfig& upstream,
               const ChecksumConfig& checksum) {
  Core c;
  c.store = make_store(store);
  if (store.kind == StoreKind::s3 && store.presign_ttl.count() > 0) {
    c.zip_redirector = store::make_s3_redirector(*store.s3, store.presign_ttl);
  }
  c.upstream = fetch::make_http_upstream(upstream.options);
  const auto& db = checksum.db;
  if (!db) return c;
  if (checksum.own_proxies) {
    fetch::UpstreamOptions dbo = upstream.options;
    dbo.proxies = *checksum.own_proxies;
    c.sumdb_upstream = fetch::make_http_upstream(dbo);
    c.sumdb_source = {c.sumdb_upstream.get(), ""};
  } else {
    c.sumdb_source = {c.upstream.get(), "sumdb/" + db->name + "/"};
  }
  c.sumdb_fetcher = proxy::make_upstream_fetcher(c.sumdb_source);
  c.sumdb_tiles = proxy::make_store_tile_cache(*c.store, db->name);
  c.sumdb_lookups = proxy::make_store_lookup_cache(*c.store, db->name);
  if (checksum.state_file.empty()) {
    c.sumdb_state = sumdb::make_memory_tree_state();
  } else {
    std::filesystem::create_directories(checksum.state_file.parent_path());
    c.sumdb_state = sumdb::make_file_tree_state(checksum.state_file);
  }
  c.sumdb_client =
      std::make_unique<sumdb::Client>(sumdb::ClientOptions{db->name, db->key}, *c.sumdb_fetcher,
                                      *c.sumdb_tiles, *c.sumdb_state, c.sumdb_lookups.get());
  return c;
}

}  // namespace stoa::cli
