#pragma once
// A graceful stop's bookkeeping: whether the server is draining, and how many requests are in
// progress. Thread-safe. Counting a request is two atomic operations; `on_drained` runs only
// once a drain has begun and the last request in progress finishes.

#include <atomic>
#include <functional>
#include <utility>

namespace stoa::http {

class Drain {
 public:
  // `on_drained` runs on the thread of the last request to finish after begin().
  explicit Drain(std::function<void()> on_drained) : m_on_drained(std::move(on_drained)) {}
  Drain(const Drain&) = delete;
  Drain& operator=(const Drain&) = delete;

  bool draining() const { return m_draining.load(); }
  // Starts draining; false when a drain had begun already.
  bool begin() { return !m_draining.exchange(true); }
  int active() const { return m_active.load(); }

  // One request in progress, for its lifetime.
  class Request {
   public:
    explicit Request(Drain& drain) : m_drain(drain) { m_drain.m_active.fetch_add(1); }
    ~Request() {
      if (m_drain.m_active.fetch_sub(1) == 1 && m_drain.draining()) m_drain.m_on_drained();
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

   private:
    Drain& m_drain;
  };

 private:
  std::function<void()> m_on_drained;
  std::atomic<bool> m_draining{false};
  std::atomic<int> m_active{0};
};

}  // namespace stoa::http
