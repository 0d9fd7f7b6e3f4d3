#pragma once
// Cross-replica locks: several stoa processes on one store take a lock per missing file so that
// only one of them fetches it from upstream.
//
// Contract for every backend:
// - acquire() blocks until the caller holds the lock or `deadline` passes (nullptr: not held,
//   someone else still has it). A waiter is woken when the holder releases the lock or its
//   hold ends (lease expiry, or the holder's session dying), without busy polling.
// - A held lock is kept (renewed) in the background until release() or destruction.
// - Any failure to talk to the lock service throws LockError; it is never reported as "not held".
// - Thread-safe: acquire() may be called concurrently from any thread. One Held is used by one
//   thread at a time. A Locks must outlive every Held it returned.
// A lock is advisory: losing it (lease expired while the holder was stalled, server restarted)
// costs at most a duplicate fetch, since the store is write-once.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace stoa::coord {

class LockError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Held {
 public:
  virtual ~Held() = default;  // releases if still held; never throws
  // Gives the lock up now. Throws LockError when the service cannot be told (the lock then ends
  // by itself: lease expiry or session end).
  virtual void release() = 0;
  // True once the backend knows the lock was lost while held (a renewal found another holder).
  virtual bool lost() const = 0;
};

class Locks {
 public:
  virtual ~Locks() = default;
  virtual std::unique_ptr<Held> acquire(const std::string& key,
                                        std::chrono::steady_clock::time_point deadline) = 0;
  // "redis" or "postgres", for logs and metrics.
  virtual std::string_view backend() const = 0;
};

}  // namespace stoa::coord
