#include "stoa/http/watchdog.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace stoa::http {

std::chrono::milliseconds watchdog_period(std::chrono::milliseconds shortest_timeout) {
  return std::clamp(shortest_timeout / 10, std::chrono::milliseconds(10),
                    std::chrono::milliseconds(250));
}

Watchdog::Watchdog(boost::asio::io_context& ioc, std::chrono::milliseconds period)
    : m_timer(ioc), m_period(period) {}

void Watchdog::start() { tick(); }

void Watchdog::stop() { m_timer.cancel(); }

void Watchdog::tick() {
  m_timer.expires_after(m_period);
  m_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    {
      std::lock_guard lock(m_mutex);
      for (Watch* w : m_watches) {
        const std::int64_t d = w->deadline_ns.load(std::memory_order_relaxed);
        if (d != 0 && d <= now && !w->fired.exchange(true)) ::shutdown(w->fd, SHUT_RDWR);
      }
    }
    tick();
  });
}

Watchdog::Guard::Guard(Watchdog& dog, Watch& watch) : m_dog(dog), m_watch(watch) {
  std::lock_guard lock(m_dog.m_mutex);
  m_dog.m_watches.insert(&m_watch);
}

Watchdog::Guard::~Guard() {
  std::lock_guard lock(m_dog.m_mutex);
  m_dog.m_watches.erase(&m_watch);
}

}  // namespace stoa::http
