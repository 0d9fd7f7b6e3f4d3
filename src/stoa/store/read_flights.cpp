#include "stoa/store/read_flights.hpp"

#include <fcntl.h>

#include <cerrno>
#include <system_error>
#include <utility>
#include <variant>

namespace stoa::store {

std::optional<Object> ReadFlights::get(const std::string& key, const Read& read) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    const std::lock_guard lock(m_mutex);
    auto [it, inserted] = m_flights.try_emplace(key);
    if (inserted) {
      it->second = std::make_shared<Flight>();
      leader = true;
    }
    flight = it->second;
  }
  if (leader) {
    try {
      flight->object = read(key);
    } catch (const StoreError&) {
      flight->error = std::current_exception();
    }
    {
      const std::lock_guard lock(m_mutex);
      m_flights.erase(key);
    }
    {
      const std::lock_guard lock(flight->mutex);
      flight->done = true;
    }
    flight->cv.notify_all();
  } else {
    std::unique_lock lock(flight->mutex);
    flight->cv.wait(lock, [&] { return flight->done; });
  }
  if (flight->error) {
    if (!leader) return read(key);  // the leader's failure is its own; try once more
    std::rethrow_exception(flight->error);
  }
  if (!flight->object) return leader ? std::nullopt : read(key);
  return copy_of(*flight->object);
}

Object copy_of(const Object& o) {
  Object c;
  c.size = o.size;
  c.mtime_unix = o.mtime_unix;
  c.etag = o.etag;
  if (const auto* fd = std::get_if<fsio::UniqueFd>(&o.body)) {
    fsio::UniqueFd dup(::fcntl(fd->get(), F_DUPFD_CLOEXEC, 0));
    if (!dup) {
      throw StoreError("dup of a shared read's spool file: " +
                       std::generic_category().message(errno));
    }
    c.body = std::move(dup);
  } else {
    c.body = std::get<std::shared_ptr<const std::string>>(o.body);
  }
  return c;
}

}  // namespace stoa::store
