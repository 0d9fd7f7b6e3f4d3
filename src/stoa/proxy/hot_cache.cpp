#include "stoa/proxy/hot_cache.hpp"

namespace stoa::proxy {

HotCache::HotCache(std::size_t max_bytes, std::size_t max_object_bytes)
    : m_shard_budget(max_bytes / k_shards), m_max_object(max_object_bytes), m_shards(k_shards) {}

std::size_t HotCache::cost(std::string_view target, const HotEntry& e) {
  // Bodies, header lines, the key twice (map and clock) and a fixed allowance for the nodes.
  return (e.body ? e.body->size() : 0) + e.head_lines.size() + e.etag.size() + 2 * target.size() +
         128;
}

HotCache::Shard& HotCache::shard_of(std::string_view target) const {
  // The map hashes the same string; the shard takes the high bits so the two choices differ.
  const std::size_t h = std::hash<std::string_view>{}(target);
  return m_shards[(h >> 56) % k_shards];
}

std::shared_ptr<const HotEntry> HotCache::find(std::string_view target) const {
  if (m_shard_budget == 0) return nullptr;
  Shard& s = shard_of(target);
  std::lock_guard lock(s.mutex);
  const auto it = s.map.find(target);
  if (it == s.map.end()) return nullptr;
  it->second->referenced.store(true, std::memory_order_relaxed);
  return it->second;
}

void HotCache::insert(std::string_view target, std::shared_ptr<const HotEntry> entry) {
  if (m_shard_budget == 0 || !entry || !entry->body || entry->body->size() > m_max_object) return;
  const std::size_t c = cost(target, *entry);
  if (c > m_shard_budget) return;
  Shard& s = shard_of(target);
  std::lock_guard lock(s.mutex);
  if (s.map.contains(target)) return;
  // CLOCK: the hand passes over referenced entries once (clearing the flag) and evicts the
  // first unreferenced one, until the new entry fits.
  while (s.bytes + c > m_shard_budget && !s.clock.empty()) {
    std::string victim = std::move(s.clock.front());
    s.clock.pop_front();
    const auto it = s.map.find(victim);
    if (it == s.map.end()) continue;
    if (it->second->referenced.exchange(false, std::memory_order_relaxed)) {
      s.clock.push_back(std::move(victim));
      continue;
    }
    s.bytes -= cost(victim, *it->second);
    s.map.erase(it);
  }
  s.bytes += c;
  s.map.emplace(std::string(target), std::move(entry));
  s.clock.emplace_back(target);
}

HotCache::Stats HotCache::stats() const {
  Stats st;
  for (const Shard& s : m_shards) {
    std::lock_guard lock(s.mutex);
    st.entries += s.map.size();
    st.bytes += s.bytes;
  }
  return st;
}

}  // namespace stoa::proxy
