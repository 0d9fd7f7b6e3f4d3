#pragma once
// A minimal OTLP/HTTP receiver on 127.0.0.1 for tests of the exporter: records every request
// (method, target, headers, Content-Length body) and answers with a configurable status; can hold
// its answers to stand for a slow collector. Raw POSIX sockets, one thread per connection,
// keep-alive. Test-only. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace stoa::trace::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

class OtlpReceiver {
 public:
  OtlpReceiver();   // listens on 127.0.0.1:<ephemeral port>; throws std::system_error
  ~OtlpReceiver();  // stop()
  OtlpReceiver(const OtlpReceiver&) = delete;
  OtlpReceiver& operator=(const OtlpReceiver&) = delete;

  std::string url() const;  // "http://127.0.0.1:<port>"

  // The status of later answers (default 200, with body "{}").
  void set_status(int status);
  // From now on each request is recorded, then left unanswered until release() or stop(), or
  // until `limit` has passed (a safety net: a broken test fails instead of hanging).
  void hold(std::chrono::milliseconds limit = std::chrono::seconds(10));
  void release();

  std::vector<ReceivedRequest> requests() const;
  // Waits until at least `n` requests were recorded; false if `timeout` passed first.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

  // Ends every connection and joins all threads. Idempotent.
  void stop();

 private:
  void accept_loop();
  void serve_connection(int fd);

  int m_listen_fd = -1;
  std::uint16_t m_port = 0;
  std::thread m_acceptor;

  mutable std::mutex m_mutex;
  mutable std::condition_variable m_cv;
  bool m_stopping = false;
  int m_status = 200;
  bool m_holding = false;
  std::chrono::steady_clock::time_point m_hold_until{};
  std::vector<ReceivedRequest> m_requests;
  std::set<int> m_open_fds;
  std::vector<std::thread> m_workers;
};

// A port on 127.0.0.1 that refuses connections: bound but not listening, reserved while alive.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  std::string url() const;

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace stoa::trace::testing
