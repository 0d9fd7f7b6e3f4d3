#pragma once
// Connection deadlines, checked by one periodic tick per server instead of a timer per
// operation: arming a deadline is one atomic store, so reading a request and writing its answer
// cost no timer-queue work. When a deadline passes, the tick shuts the socket down (safe from any
// thread: the kernel wakes whatever operation is pending with EOF or EPIPE) and sets `fired`.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_set>

namespace stoa::http {

// One connection's deadline. Armed and read by the connection's coroutine, fired by the tick.
struct Watch {
  explicit Watch(int socket_fd) : fd(socket_fd) {}
  const int fd;
  std::atomic<std::int64_t> deadline_ns{0};  // steady clock; 0: none
  std::atomic<bool> fired{false};

  void arm(std::chrono::milliseconds timeout) {
    const auto at = std::chrono::steady_clock::now() + timeout;
    deadline_ns.store(
        std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count(),
        std::memory_order_relaxed);
  }
  void disarm() { deadline_ns.store(0, std::memory_order_relaxed); }
};

// How often deadlines are checked: a tenth of the shortest timeout, between 10 ms and 250 ms,
// so a timeout fires at most that much late.
std::chrono::milliseconds watchdog_period(std::chrono::milliseconds shortest_timeout);

// The tick over every registered Watch, on `ioc`'s threads. Register and unregister are
// thread-safe (one mutex, taken once per connection and once per tick, never per request).
class Watchdog {
 public:
  Watchdog(boost::asio::io_context& ioc, std::chrono::milliseconds period);
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts ticking; the tick runs until stop().
  void start();
  // Cancels the tick. Call on one of the io_context's threads.
  void stop();

  // Registers `watch` for the guard's lifetime (a connection's).
  class Guard {
   public:
    Guard(Watchdog& dog, Watch& watch);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Watchdog& m_dog;
    Watch& m_watch;
  };

 private:
  void tick();

  boost::asio::steady_timer m_timer;
  const std::chrono::milliseconds m_period;
  std::mutex m_mutex;
  std::unordered_set<Watch*> m_watches;  // one per open connection; guarded by m_mutex
};

}  // namespace stoa::http
