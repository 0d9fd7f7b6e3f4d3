#include "stoa/fetch/worker_pool.hpp"

#include <stdexcept>
#include <utility>

namespace stoa::fetch {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued) : m_max_queued(max_queued) {
  if (threads == 0) throw std::invalid_argument("a worker pool needs at least one thread");
  m_threads.reserve(threads);
  try {
    for (std::size_t i = 0; i < threads; ++i) m_threads.emplace_back([this] { run(); });
  } catch (...) {
    shutdown();
    throw;
  }
}

WorkerPool::~WorkerPool() { shutdown(); }

bool WorkerPool::try_submit(std::function<void()> task) {
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping || m_queue.size() >= m_max_queued) return false;
    m_queue.push_back(std::move(task));
  }
  m_cv.notify_one();
  return true;
}

void WorkerPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(m_mutex);
    if (m_stopping) {
      m_joined_cv.wait(lock, [this] { return m_joined; });
      return;
    }
    m_stopping = true;
    threads = std::move(m_threads);
    m_threads.clear();
  }
  m_cv.notify_all();
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(m_mutex);
    m_joined = true;
  }
  m_joined_cv.notify_all();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(m_mutex);
  return m_queue.size();
}

std::size_t WorkerPool::active() const {
  std::lock_guard lock(m_mutex);
  return m_active;
}

void WorkerPool::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_cv.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
    if (m_queue.empty()) return;  // stopping, and everything queued has been taken
    std::function<void()> task = std::move(m_queue.front());
    m_queue.pop_front();
    ++m_active;
    lock.unlock();
    task();  // an exception escaping a task ends the process (std::terminate), see the header
    task = nullptr;  // destroy captures outside the lock, before the task counts as done
    lock.lock();
    --m_active;
  }
}

}  // namespace stoa::fetch
