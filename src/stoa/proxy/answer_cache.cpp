#include "stoa/proxy/answer_cache.hpp"

#include <utility>

namespace stoa::proxy {

AnswerCache::AnswerCache(std::size_t max_bytes, Clock::duration max_age)
    : m_max_bytes(max_bytes), m_max_age(max_age) {}

std::optional<AnswerCache::Entry> AnswerCache::get(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(m_mutex);
  const auto it = m_index.find(key);
  if (it == m_index.end()) return std::nullopt;
  if (now - it->second->entry.fetched > m_max_age) {
    erase(it->second);
    return std::nullopt;
  }
  m_lru.splice(m_lru.begin(), m_lru, it->second);
  return it->second->entry;
}

void AnswerCache::put(const std::string& key, std::string body, Clock::time_point now) {
  const std::size_t c = cost(key, body);
  auto shared = std::make_shared<const std::string>(std::move(body));
  std::lock_guard lock(m_mutex);
  if (const auto it = m_index.find(key); it != m_index.end()) erase(it->second);
  if (c > m_max_bytes / 8) return;
  m_lru.push_front(Node{key, Entry{std::move(shared), now}});
  m_index.emplace(key, m_lru.begin());
  m_bytes += c;
  while (m_bytes > m_max_bytes && !m_lru.empty()) erase(std::prev(m_lru.end()));
}

void AnswerCache::erase(List::iterator it) {
  m_bytes -= cost(it->key, *it->entry.body);
  m_index.erase(it->key);
  m_lru.erase(it);
}

std::size_t AnswerCache::bytes() const {
  std::lock_guard lock(m_mutex);
  return m_bytes;
}

std::size_t AnswerCache::size() const {
  std::lock_guard lock(m_mutex);
  return m_index.size();
}

}  // namespace stoa::proxy
