#pragma once
// Reusable easy handles. Each handle keeps its own cache of live connections across
// curl_easy_reset, so a transfer that takes a recently used handle reuses its connection (and TLS
// session) to the server. libcurl does not support sharing one connection cache between threads
// (CURL_LOCK_DATA_CONNECT is documented as unsupported for concurrent threads), so connections are
// reused through handles, and a handle belongs to one transfer at a time. DNS answers and TLS
// sessions are shared by every handle of a pool (a share object with one mutex per kind of data).

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

#include "stoa/curl/easy.hpp"

namespace stoa::curl {

class Pool {
 public:
  // Keeps at most `max_idle` idle handles; any number may be leased at once. Throws
  // std::runtime_error when libcurl cannot be set up.
  explicit Pool(std::size_t max_idle);
  // Every Lease of a pool must end before the pool.
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // An idle handle (the most recently used: its connections are the warmest) or a new one,
  // attached to the pool's share and otherwise with default options. Thread-safe.
  Easy acquire();

  // curl_easy_reset (every option of the finished transfer is forgotten; they may point into
  // it) and keeps the handle with its connections when there is room. Thread-safe.
  void release(Easy h);

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void unlock(CURL*, curl_lock_data data, void* self);
  std::mutex& mutex_for(curl_lock_data data);

  // Destroyed in reverse: idle handles (attached to the share) before the share, the share
  // before its locks.
  std::array<std::mutex, CURL_LOCK_DATA_LAST> m_share_locks;
  Share m_share;
  std::mutex m_mutex;
  std::vector<Easy> m_idle;
  std::size_t m_max_idle;
};

// One handle of a pool for one transfer, returned on destruction (or closed, after discard()).
class Lease {
 public:
  explicit Lease(Pool& pool) : m_pool(pool), m_handle(pool.acquire()) {}
  ~Lease() {
    if (m_handle) m_pool.release(std::move(m_handle));
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  CURL* get() const { return m_handle.get(); }
  // Closes the handle and its connections instead of returning it (after a transport failure,
  // when a connection may be broken in a way libcurl did not notice).
  void discard() { m_handle.reset(); }

 private:
  Pool& m_pool;
  Easy m_handle;
};

}  // namespace stoa::curl
