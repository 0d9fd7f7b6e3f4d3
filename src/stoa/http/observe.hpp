#pragma once
// What the server records about its connections and requests: the open and accepted
// connection counts, and for each answered request the server span's attributes and end, the
// request metrics and one access-log line. Thread-safe; no lock once a metric series exists.

#include <memory>
#include <string_view>

#include "stoa/http/exchange.hpp"
#include "stoa/http/request_metrics.hpp"
#include "stoa/http/server.hpp"

namespace spdlog {
class logger;
}

namespace stoa::http {

class Observer {
 public:
  // `access_log` receives one preformatted line per request (nullptr: none).
  Observer(metrics::Registry& registry, std::shared_ptr<spdlog::logger> access_log,
           LogFormat format);

  // One connection counted as open (and accepted) for the guard's lifetime.
  class Connection {
   public:
    explicit Connection(Observer& observer);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

   private:
    metrics::Gauge& m_open;
  };

  // After the answer was sent (or sending failed): ends `x.span` with the request's attributes,
  // gives a request refused before it was parsed a trace id for the logs, records the metrics
  // and writes the access line. `remote` is the peer for the log (Peer::remote).
  void observe(Exchange& x, std::string_view remote);

 private:
  RequestMetrics m_metrics;
  std::shared_ptr<spdlog::logger> m_access;
  LogFormat m_format;
};

}  // namespace stoa::http
