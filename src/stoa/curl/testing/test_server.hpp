#pragma once
// A scripted HTTP/1.1 server on 127.0.0.1 for tests of HTTP clients: one reply per
// request-target, fault knobs (cut the body, lie about Content-Length, delay, never answer),
// hit and connection counters, recorded request headers. Raw POSIX sockets, one thread per
// connection, keep-alive. Test-only. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace stoa::curl::testing {

struct Reply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // sent after the status line
  std::string body;
  std::uint64_t generated_body = 0;  // > 0: the body is this many 'x' bytes, streamed
  bool content_length = true;        // false (and not chunked): no length, the body ends at close
  bool chunked = false;              // Transfer-Encoding: chunked, 16 KiB chunks
  std::uint64_t content_length_extra = 0;  // Content-Length claims this much more; then close
  std::optional<std::uint64_t> cut_after;  // send only this many body bytes, then close
  bool hang_after_cut = false;  // with cut_after: stay silent with the connection open instead
  std::chrono::milliseconds delay{0};  // before answering
  bool never_answer = false;           // read the request, then stay silent with it open
  std::string raw;  // non-empty: these exact bytes are the whole response (status line, headers,
                    // body, as hostile as a test needs); then the connection is closed
};

// Common replies.
Reply text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
Reply raw(std::string bytes);
Reply redirect(int status, std::string location);

struct Recorded {
  std::string method;
  std::string target;
  std::string body;  // the request body, when it came with a Content-Length
  std::vector<std::pair<std::string, std::string>> headers;
  // The first value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

class TestServer {
 public:
  TestServer();   // listens on 127.0.0.1:<ephemeral port>; throws std::system_error
  ~TestServer();  // stop()
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string url() const;  // "http://127.0.0.1:<port>"

  // Replies to GETs of exactly `target` (the raw request-target, e.g. "/x/%21a/@v/list").
  // Unrouted targets get 404 with an empty body.
  void route(const std::string& target, Reply reply);

  std::size_t hits(const std::string& target) const;
  std::size_t connections() const;        // accepted so far
  std::uint64_t body_bytes_sent() const;  // body bytes written to sockets, all replies
  std::vector<Recorded> requests() const;

  // Ends every connection (silent ones included) and joins all threads. Idempotent.
  void stop();

 private:
  void accept_loop();
  void serve_connection(int fd);
  bool serve_request(int fd, std::string& buffer);  // false: close the connection
  bool answer(int fd, const Reply& reply);          // false: close the connection
  bool send_all(int fd, std::string_view bytes, bool body);
  void wait_for_stop(std::chrono::milliseconds limit);

  int m_listen_fd = -1;
  std::uint16_t m_port = 0;
  std::thread m_acceptor;

  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stopping = false;
  std::map<std::string, Reply> m_routes;
  std::map<std::string, std::size_t> m_hits;
  std::vector<Recorded> m_requests;
  std::set<int> m_open_fds;
  std::vector<std::thread> m_workers;
  std::size_t m_connections = 0;
  std::uint64_t m_body_bytes_sent = 0;
};

// A port on 127.0.0.1 that refuses connections: bound but not listening, reserved while alive.
class ClosedPort {
 public:
  ClosedPort();
  ~ClosedPort();
  ClosedPort(const ClosedPort&) = delete;
  ClosedPort& operator=(const ClosedPort&) = delete;
  std::uint16_t port() const { return m_port; }
  std::string url() const;

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

// A port on 127.0.0.1 whose accept queue is full (listen backlog 0, one connection made and never
// accepted): Linux drops further SYNs, so connecting to it hangs until the client's connect
// timeout.
class Blackhole {
 public:
  Blackhole();
  ~Blackhole();
  Blackhole(const Blackhole&) = delete;
  Blackhole& operator=(const Blackhole&) = delete;
  std::uint16_t port() const { return m_port; }
  std::string url() const;

 private:
  int m_listen_fd = -1;
  int m_filler_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace stoa::curl::testing
