#pragma once
// Private to the object-store backends (s3/, azure/): simultaneous gets of one key share one
// read. A zip that 100 clients ask for at once is transferred (and spooled) once, not 100 times;
// each caller gets its own Object over the same bytes (a dup of the spool file's descriptor, or
// the shared string). Nothing is kept after the read: a later get is a new read. Thread-safe.

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "stoa/store/store.hpp"

namespace stoa::store {

class ReadFlights {
 public:
  using Read = std::function<std::optional<Object>(const std::string& key)>;

  // `read(key)` once for the callers of `key` that overlap. Only a found object is shared: a
  // caller that joined a read which found nothing, or failed, reads again itself, so that a get
  // started after a put returned always sees it, and one caller's failure is not another's.
  // Throws what `read` throws (StoreError).
  std::optional<Object> get(const std::string& key, const Read& read);

 private:
  struct Flight {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;  // under `mutex`; `object` and `error` are written before it is set
    std::optional<Object> object;
    std::exception_ptr error;
  };
  std::mutex m_mutex;
  std::unordered_map<std::string, std::shared_ptr<Flight>> m_flights;  // under m_mutex
};

// Another Object over the same bytes: a dup of the file descriptor, or the same shared string.
// Throws StoreError when the descriptor cannot be duplicated.
Object copy_of(const Object& o);

}  // namespace stoa::store
