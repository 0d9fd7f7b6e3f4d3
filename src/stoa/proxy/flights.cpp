#include "stoa/proxy/flights.hpp"

#include <utility>

namespace stoa::proxy {

void Flights::run(const std::string& key, Waiter waiter, Work work,
                  const std::shared_ptr<bool>& leader, fetch::WorkerPool* pool) {
  fetch::WorkerPool& on = pool != nullptr ? *pool : m_pool;
  // The start function runs only for the first waiter, before the work is queued.
  m_flights.join(key, std::move(waiter), [&] {
    if (leader) *leader = true;
    const bool queued =
        on.try_submit([this, key, work = std::move(work)] { m_flights.complete(key, work()); });
    if (!queued) m_flights.complete(key, {FetchResult::Status::busy, {}, {}, {}});
  });
}

}  // namespace stoa::proxy
