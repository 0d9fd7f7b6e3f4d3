#pragma once
// A fixed set of threads running blocking work (upstream fetches, hashing, commits) off the
// serving threads, with a bounded queue so that a flood of misses is refused fast instead of
// piling up. Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stoa::fetch {

// Tasks own their error handling (a fetch task reports failure to its waiters): an exception
// escaping a task ends the process through std::terminate, as for any std::thread.
class WorkerPool {
 public:
  // Starts `threads` threads (at least 1, else std::invalid_argument).
  WorkerPool(std::size_t threads, std::size_t max_queued);
  ~WorkerPool();  // shutdown()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task`; false (task dropped, not run) when max_queued tasks are already waiting or
  // the pool is shutting down.
  bool try_submit(std::function<void()> task);

  // Stops accepting work, runs every queued task to completion, joins the threads. Idempotent;
  // every caller returns once the threads are joined. Must not be called from a task.
  void shutdown();

  std::size_t queued() const;  // tasks waiting for a thread
  std::size_t active() const;  // tasks running now

 private:
  void run();

  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_queue;
  std::vector<std::thread> m_threads;
  std::size_t m_max_queued;
  std::size_t m_active = 0;
  bool m_stopping = false;
  bool m_joined = false;                // the threads of a shutdown have been joined
  std::condition_variable m_joined_cv;  // signals m_joined to concurrent shutdown() callers
};

}  // namespace stoa::fetch
