#pragma once
// Locks as PostgreSQL session advisory locks (libpq): pg_try_advisory_lock on a 64-bit hash of
// the key, then pg_advisory_lock under a statement_timeout to wait. Each held lock keeps its own
// session (connection); the server ends the lock when the session ends, so a holder that dies
// frees its locks at once and there is no lease to renew.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "stoa/coord/lock.hpp"

namespace stoa::coord {

struct PostgresOptions {
  std::string url;  // a libpq connection URI or key=value string
  std::chrono::milliseconds connect_timeout{2'000};
  std::size_t max_idle = 8;  // idle sessions kept for reuse
};

// Connects lazily: an unreachable server shows up as LockError from acquire().
std::unique_ptr<Locks> make_postgres_locks(const PostgresOptions& options);

// The advisory lock id of `key`: FNV-1a 64, stable across processes and builds.
std::int64_t advisory_key(std::string_view key);

}  // namespace stoa::coord
