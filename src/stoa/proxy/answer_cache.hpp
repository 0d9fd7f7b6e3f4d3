#pragma once
// Recent answers to mutable requests (list, @latest, version queries, /sumdb/ lookups and
// latest): reused while fresh, and kept past that as the stale answer of last resort when the
// upstream fails. Bounded in bytes (keys and bodies plus a fixed overhead per entry): the least
// recently used entries go first, an entry older than `max_age` is dropped when next looked at,
// and a body over an eighth of the budget is never kept (one answer cannot empty the cache).
//
// Thread-safe: every method may be called from any thread (one mutex, held for a hash lookup and
// a list splice; bodies are shared, never copied under the lock).

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace stoa::proxy {

class AnswerCache {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    std::shared_ptr<const std::string> body;  // never null
    Clock::time_point fetched;
  };

  // Accounted per entry besides its key and body: the list node, the map slot, the shared body.
  static constexpr std::size_t k_entry_overhead = 160;

  AnswerCache(std::size_t max_bytes, Clock::duration max_age);

  // The entry for `key`, or nullopt when there is none or it is older than max_age at `now`
  // (then it is dropped). A hit becomes the most recently used entry.
  std::optional<Entry> get(const std::string& key, Clock::time_point now);
  // Keeps `body` for `key` as fetched at `now`, replacing any entry for `key`; evicts the least
  // recently used entries until the cache fits its budget. A body too big to keep removes any
  // older entry for `key` (it would be staler than what the client just got).
  void put(const std::string& key, std::string body, Clock::time_point now);

  std::size_t bytes() const;
  std::size_t size() const;

 private:
  struct Node {
    std::string key;
    Entry entry;
  };
  using List = std::list<Node>;

  static std::size_t cost(const std::string& key, const std::string& body) {
    return key.size() + body.size() + k_entry_overhead;
  }
  void erase(List::iterator it);  // with m_mutex held

  const std::size_t m_max_bytes;
  const Clock::duration m_max_age;
  mutable std::mutex m_mutex;
  List m_lru;  // most recently used first
  std::unordered_map<std::string, List::iterator> m_index;
  std::size_t m_bytes = 0;
};

// The answer cache as the protocol reads it: an answer is fresh while younger than `ttl` (reused
// without asking upstream), stale after that until `max_age` (answered while a refresh runs, or
// when the upstream fails). The clock is injected (tests). Thread-safe like AnswerCache.
class Answers {
 public:
  using Clock = AnswerCache::Clock;

  Answers(std::size_t max_bytes, Clock::duration max_age, Clock::duration ttl,
          std::function<Clock::time_point()> now)
      : m_cache(max_bytes, max_age), m_ttl(ttl), m_now(std::move(now)) {}

  // The body kept for `key` while it is younger than ttl; nullopt otherwise.
  std::optional<std::string> fresh(const std::string& key) { return find(key, true, nullptr); }
  // fresh(), and how much longer it stays fresh (in (0, ttl]): the lifetime a cache in front of
  // stoa may give it, so that it is asked again when stoa would ask upstream again.
  std::optional<std::string> fresh(const std::string& key, Clock::duration& fresh_for) {
    return find(key, true, &fresh_for);
  }
  // The body kept for `key`, fresh or stale; nullopt when none (or older than max_age).
  std::optional<std::string> any(const std::string& key) { return find(key, false, nullptr); }
  void remember(const std::string& key, std::string body) {
    m_cache.put(key, std::move(body), m_now());
  }
  std::size_t bytes() const { return m_cache.bytes(); }

 private:
  std::optional<std::string> find(const std::string& key, bool fresh_only,
                                  Clock::duration* fresh_for) {
    const auto now = m_now();
    auto e = m_cache.get(key, now);
    if (!e || (fresh_only && now - e->fetched >= m_ttl)) return std::nullopt;
    if (fresh_for != nullptr) *fresh_for = m_ttl - (now - e->fetched);
    return *e->body;
  }

  AnswerCache m_cache;
  const Clock::duration m_ttl;
  const std::function<Clock::time_point()> m_now;
};

}  // namespace stoa::proxy
