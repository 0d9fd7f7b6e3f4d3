#include "stoa/proxy/checksums.hpp"

#include <unistd.h>

#include <stdexcept>

namespace stoa::proxy {
namespace {

class UpstreamFetcher final : public sumdb::Fetcher {
 public:
  explicit UpstreamFetcher(DatabaseSource source) : m_source(std::move(source)) {}

  std::optional<std::string> get(const std::string& path) override {
    std::string body;
    const auto o = m_source.upstream->get(m_source.prefix + path, body, sumdb::k_max_fetch_bytes);
    switch (o.status) {
      case fetch::Status::ok:
        return body;
      case fetch::Status::not_found:
        return std::nullopt;
      case fetch::Status::failed:
        break;
    }
    throw std::runtime_error("checksum database: " + o.message);
  }

 private:
  DatabaseSource m_source;
};

// Database paths (tiles, lookups: immutable data) kept in the store under "sumdb/<name>/".
template <class Cache>
class StoreCache final : public Cache {
 public:
  StoreCache(store::Store& store, std::string name)
      : m_store(store), m_prefix("sumdb/" + std::move(name) + "/") {}

  std::optional<std::string> get(const std::string& path) override {
    return read_object(m_store, m_prefix + path);
  }

  void put(const std::string& path, std::string_view data) override {
    put_bytes(m_store, m_prefix + path, data);
  }

 private:
  store::Store& m_store;
  std::string m_prefix;
};

}  // namespace

std::unique_ptr<sumdb::Fetcher> make_upstream_fetcher(DatabaseSource source) {
  return std::make_unique<UpstreamFetcher>(std::move(source));
}

std::unique_ptr<sumdb::TileCache> make_store_tile_cache(store::Store& store, std::string name) {
  return std::make_unique<StoreCache<sumdb::TileCache>>(store, std::move(name));
}

std::unique_ptr<sumdb::LookupCache> make_store_lookup_cache(store::Store& store, std::string name) {
  return std::make_unique<StoreCache<sumdb::LookupCache>>(store, std::move(name));
}

std::optional<std::string> read_object(store::Store& store, const std::string& key) {
  auto obj = store.get(key);
  if (!obj) return std::nullopt;
  if (auto* bytes = std::get_if<std::shared_ptr<const std::string>>(&obj->body)) return **bytes;
  std::string out(obj->size, '\0');
  const int fd = std::get<fsio::UniqueFd>(obj->body).get();
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n <= 0) throw store::StoreError("short read of " + key);
    done += static_cast<std::size_t>(n);
  }
  return out;
}

void put_bytes(store::Store& store, const std::string& key, std::string_view bytes) {
  fsio::TempFile staged = store.stage();
  staged.write(bytes);
  store.put(key, std::move(staged));
}

}  // namespace stoa::proxy
