#pragma once
// Small stored files (.info, .mod, small .zip) kept in memory with their response header lines
// already serialized, keyed by the exact request target. A hit skips request parsing, the
// store's open/fstat/close and header formatting: the answer is one write of two buffers.
//
// Only immutable objects go in (a version's files: first bytes win forever), so an entry never
// goes stale and nothing is ever invalidated; the mutable list object never enters.
//
// Bounded by bytes (bodies plus header lines plus keys): a full shard evicts with the CLOCK
// (second chance) policy, so a hit only sets a flag and never reorders anything.
// Thread-safe. Sharded by the target's hash, one mutex per shard, held for a hash lookup and a
// shared_ptr copy; never across I/O.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace stoa::proxy {

struct HotEntry {
  std::shared_ptr<const std::string> body;
  std::string etag;        // quoted, as in the ETag header
  std::string head_lines;  // "Content-Type: ...\r\nCache-Control: ...\r\n..." (not Content-Length)
  std::int64_t mtime_unix = 0;
  std::string_view endpoint;  // metrics label: "info", "mod" or "zip" (static storage)
  bool shared = true;         // head_lines say "public" (any cache may keep it), else "private"
  mutable std::atomic<bool> referenced{false};
};

class HotCache {
 public:
  // `max_bytes` 0 disables the cache (find() always misses, insert() does nothing).
  HotCache(std::size_t max_bytes, std::size_t max_object_bytes);

  std::shared_ptr<const HotEntry> find(std::string_view target) const;

  // Ignored when the body is larger than max_object_bytes() or the target is already present
  // (the first entry stays: both came from the same immutable object).
  void insert(std::string_view target, std::shared_ptr<const HotEntry> entry);

  std::size_t max_object_bytes() const { return m_max_object; }
  bool enabled() const { return m_shard_budget > 0; }

  struct Stats {
    std::size_t entries = 0;
    std::size_t bytes = 0;
  };
  Stats stats() const;

 private:
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<const HotEntry>, StringHash, std::equal_to<>>
        map;
    std::deque<std::string> clock;  // insertion order; the eviction hand is its front
    std::size_t bytes = 0;
  };
  static std::size_t cost(std::string_view target, const HotEntry& e);
  Shard& shard_of(std::string_view target) const;

  static constexpr std::size_t k_shards = 16;
  std::size_t m_shard_budget;
  std::size_t m_max_object;
  mutable std::vector<Shard> m_shards;
};

}  // namespace stoa::proxy
