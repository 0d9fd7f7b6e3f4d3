#pragma once
// Coalesces concurrent work for the same key: the first caller starts it, every caller gets
// the one result. The work belongs to none of the callers: it runs to completion even if the
// first caller goes away. Thread-safe.

#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace stoa::fetch {

template <class Result>
class SingleFlight {
 public:
  using Callback = std::function<void(const Result&)>;

  // Registers `callback` for `key`. If no flight for `key` is running, one is created and
  // `start()` is called (outside the lock) to begin the work, and true is returned; the work must
  // eventually call complete(key, result). `callback` runs exactly once, on the thread that calls
  // complete() (possibly inside start(), if the work finishes at once).
  // `start()` must not throw: other callers may already be waiting on the flight, and only
  // complete() releases them. Work that cannot even be started (a full WorkerPool) must call
  // complete(key, <failure>) itself.
  bool join(const std::string& key, Callback callback, const std::function<void()>& start) {
    {
      std::lock_guard lock(m_mutex);
      auto [it, inserted] = m_flights.try_emplace(key);
      it->second.push_back(std::move(callback));
      if (!inserted) return false;
    }
    start();
    return true;
  }

  // Ends the flight for `key`, calling every registered callback with `result`.
  void complete(const std::string& key, const Result& result) {
    std::vector<Callback> waiters;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_flights.find(key);
      if (it == m_flights.end()) return;
      waiters = std::move(it->second);
      m_flights.erase(it);
    }
    for (auto& w : waiters) w(result);
  }

  // The keys of the flights running now (a snapshot).
  std::vector<std::string> keys() const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    out.reserve(m_flights.size());
    for (const auto& kv : m_flights) out.push_back(kv.first);
    return out;
  }

  std::size_t in_flight() const {
    std::lock_guard lock(m_mutex);
    return m_flights.size();
  }

 private:
  mutable std::mutex m_mutex;
  std::unordered_map<std::string, std::vector<Callback>> m_flights;
};

}  // namespace stoa::fetch
