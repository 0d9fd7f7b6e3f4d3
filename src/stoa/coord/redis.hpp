#pragma once
// Locks in Redis (hiredis): SET key token NX PX lease; a background thread renews held locks
// every lease/3 with a compare-and-pexpire script; release is compare-and-delete plus a PUBLISH
// on the key's channel, which wakes waiters at once; a holder that dies stops renewing and its
// lock expires after at most `lease`, when waiters (who wait no longer than the key's remaining
// time to live) try again.

#include <chrono>
#include <memory>
#include <string>

#include "stoa/coord/lock.hpp"

namespace stoa::coord {

struct RedisOptions {
  // redis://[[user]:password@]host[:port][/db]; unix sockets are not supported.
  std::string url;
  std::chrono::milliseconds lease{30'000};
  std::chrono::milliseconds io_timeout{2'000};  // connect and each command
  std::string prefix = "stoa:lock:";
};

// Parses the URL; throws LockError naming the problem (the URL's password is never shown).
// Connects lazily: an unreachable server shows up as LockError from acquire().
std::unique_ptr<Locks> make_redis_locks(const RedisOptions& options);

}  // namespace stoa::coord
