#pragma once
// The vulnerability database a server serves: the snapshot in force, swapped atomically when the
// repository's `current` changes (a `stoa vulndb import`, a sync). Readers take the snapshot
// they start with (a shared_ptr, no lock) and keep it until they are done, so an answer is never
// made of two databases.
//
// Thread-safe: current() from any thread, lock-free for readers; refresh() from any thread
// (one at a time does the work; it reads and verifies the whole database, so call it off the
// serving threads).

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "stoa/vulndb/repository.hpp"

namespace stoa::vulndb {

class Mirror {
 public:
  Mirror(Repository repository, Limits limits)
      : m_repository(std::move(repository)), m_limits(limits) {}

  // The snapshot in force; null when none was ever loaded.
  std::shared_ptr<const Snapshot> current() const { return m_current.load(); }

  // Loads the repository's snapshot when `current` names another one than the one held (or
  // always, with `force`): true when it changed. On failure the snapshot held stays and the
  // exception propagates (std::runtime_error, std::system_error).
  bool refresh(bool force = false);
  // Whether refresh() would load another snapshot now: one readlink, never waits (false while
  // a refresh runs). For a periodic check on a serving thread that hands refresh() to a worker.
  bool stale() const;

  const Repository& repository() const { return m_repository; }
  const Limits& limits() const { return m_limits; }

 private:
  Repository m_repository;
  Limits m_limits;
  std::atomic<std::shared_ptr<const Snapshot>> m_current;
  mutable std::mutex m_refresh;  // one refresh at a time
  std::string m_name;            // under m_refresh
};

}  // namespace stoa::vulndb
