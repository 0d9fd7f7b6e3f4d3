#include "stoa/proxy/first_seen.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace stoa::proxy {
namespace {

std::int64_t ns_of(FirstSeen::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

FirstSeen::TimePoint at(std::int64_t ns) {
  return FirstSeen::TimePoint(
      std::chrono::duration_cast<FirstSeen::TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

FirstSeen::FirstSeen(index::Index* index, std::shared_ptr<spdlog::logger> log, Clock now,
                     bool record)
    : m_index(index), m_now(std::move(now)), m_log(std::move(log)), m_record(record) {
  if (!m_now) m_now = [] { return std::chrono::system_clock::now(); };
}

FirstSeen::Module FirstSeen::load(const std::string& module) {
  Module m;
  if (m_index == nullptr) return m;
  try {
    for (auto& s : m_index->seen(module)) m.versions.emplace(std::move(s.version), s.seen_ns);
  } catch (const index::IndexError& e) {
    m_log->error("cannot read when the versions of {} were first seen: {}", module, e.what());
  }
  return m;
}

FirstSeen::Shard& FirstSeen::loaded(const std::string& module) {
  Shard& shard = m_shards[std::hash<std::string>{}(module) % k_shards];
  {
    const std::lock_guard lock(shard.mu);
    if (shard.modules.contains(module)) return shard;
  }
  // Read without the lock: two threads may both read; the first to store its reading wins, and
  // both readings hold the index's earliest times.
  Module m = load(module);
  const std::lock_guard lock(shard.mu);
  if (!shard.modules.contains(module)) {
    if (shard.modules.size() >= k_max_modules) shard.modules.clear();
    shard.modules.emplace(module, std::move(m));
  }
  return shard;
}

void FirstSeen::persist(const std::string& module, const std::vector<std::string>& versions,
                        std::int64_t now_ns) {
  if (!m_record || m_index == nullptr || versions.empty()) return;
  try {
    m_index->record_seen(module, versions, now_ns);
  } catch (const index::IndexError& e) {
    m_log->error("cannot record that {} version(s) of {} were first seen now: {}", versions.size(),
                 module, e.what());
  }
}

FirstSeen::TimePoint FirstSeen::seen(std::string_view module, std::string_view version) {
  const std::string key(module);
  const std::int64_t now_ns = ns_of(m_now());
  Shard& shard = loaded(key);
  {
    const std::lock_guard lock(shard.mu);
    // (Emptied by another module meanwhile: then it counts as seen now, which only holds longer.)
    auto& versions = shard.modules[key].versions;
    if (auto v = versions.find(std::string(version)); v != versions.end()) return at(v->second);
    if (m_record) versions.emplace(std::string(version), now_ns);
  }
  persist(key, {std::string(version)}, now_ns);
  return at(now_ns);
}

bool FirstSeen::ready(std::string_view module, std::string_view version) {
  if (m_index == nullptr) return true;
  const std::string key(module);
  Shard& shard = m_shards[std::hash<std::string>{}(key) % k_shards];
  const std::lock_guard lock(shard.mu);
  const auto m = shard.modules.find(key);
  if (m == shard.modules.end()) return false;
  // A version never seen is recorded by seen(), a write to the index (unless nothing is).
  return version.empty() || !m_record || m->second.versions.contains(std::string(version));
}

void FirstSeen::saw(std::string_view module, const std::vector<std::string>& versions) {
  if (!m_record || versions.empty()) return;
  const std::string key(module);
  const std::int64_t now_ns = ns_of(m_now());
  Shard& shard = loaded(key);
  std::vector<std::string> fresh;
  {
    const std::lock_guard lock(shard.mu);
    auto& known = shard.modules[key].versions;
    for (const auto& v : versions) {
      if (known.emplace(v, now_ns).second) fresh.push_back(v);
    }
  }
  persist(key, fresh, now_ns);
}

}  // namespace stoa::proxy
