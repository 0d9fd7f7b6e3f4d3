#pragma once
// A dependency that just failed is left alone for a while, so that an unreachable service does
// not add its connect timeout to every request: the cross-replica lock service and the index
// both use one. Thread-safe (one atomic); no clock of its own, the caller passes `now`.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace stoa::proxy {

class Backoff {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Backoff(std::chrono::milliseconds pause) : m_pause(pause) {}

  // True while the pause after the latest failure lasts: skip the dependency.
  bool resting(Clock::time_point now) const {
    return now.time_since_epoch().count() < m_until.load();
  }
  // The dependency failed at `now`: rest until now + pause.
  void failed(Clock::time_point now) { m_until.store((now + m_pause).time_since_epoch().count()); }
  std::chrono::milliseconds pause() const { return m_pause; }

 private:
  const std::chrono::milliseconds m_pause;
  std::atomic<Clock::rep> m_until{0};
};

}  // namespace stoa::proxy
