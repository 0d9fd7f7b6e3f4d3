#pragma once
// Fetches shared by every request that wants the same thing: the first request to join a key
// queues the work on a worker pool, every request joined meanwhile gets its one result
// (fetch::SingleFlight). A fetch belongs to none of its requests: it runs to completion when
// they have all gone. A full queue completes the flight at once as busy.
// Thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stoa/fetch/single_flight.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/proxy/failure.hpp"
#include "stoa/proxy/response.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::proxy {

// How a fetch treats what it gets: store it (cache), serve it without storing (passthrough), or
// store it without asking the checksum database (private).
enum class Mode : std::uint8_t { cache, passthrough, private_ };

// What a fetch job carries of the request that started it: its trace context, and its log
// context, which the job sets on its worker thread (trace::ScopedLogContext).
struct FetchContext {
  trace::SpanContext trace;
  std::string tracestate;
  trace::LogContext log;

  static FetchContext of(const HttpRequest& req) { return {req.trace, req.tracestate, req.log}; }
  // The headers that pass the trace context on to a source (traceparent, tracestate) while
  // `span` runs; none when it has no valid context.
  fetch::Upstream::Headers headers(const trace::Span& span) const {
    fetch::Upstream::Headers h;
    if (span.context().valid()) {
      h.push_back("traceparent: " + trace::format_traceparent(span.context()));
      if (!tracestate.empty()) h.push_back("tracestate: " + tracestate);
    }
    return h;
  }
};

class Flights {
 public:
  using Waiter = fetch::SingleFlight<FetchResult>::Callback;
  using Work = std::function<FetchResult()>;

  // `pool`: where work runs unless run() names another; must outlive this.
  explicit Flights(fetch::WorkerPool& pool) : m_pool(pool) {}

  // Joins the flight for `key` with `waiter`; the first joiner queues `work` on `pool` (null:
  // the default pool). `leader`, when given, is set to true before the work is queued, only
  // for the joiner that started the flight: so it happens-before any completion that reads it.
  void run(const std::string& key, Waiter waiter, Work work,
           const std::shared_ptr<bool>& leader = nullptr, fetch::WorkerPool* pool = nullptr);

  std::size_t in_flight() const { return m_flights.in_flight(); }
  std::vector<std::string> keys() const { return m_flights.keys(); }
  std::size_t queued() const { return m_pool.queued(); }  // of the default pool

 private:
  fetch::WorkerPool& m_pool;
  fetch::SingleFlight<FetchResult> m_flights;
};

}  // namespace stoa::proxy
