#pragma once
// Tests only: a fault-injecting TCP proxy on 127.0.0.1 to put between a store and its server
// (versitygw, fake-gcs-server): faults a real server cannot be made to produce on demand.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace stoa::store::testing {

// A TCP proxy on 127.0.0.1 relaying to a target port, with switchable faults. Changing the
// mode cuts every open connection, so a client's pooled connections see the new mode.
class FaultProxy {
 public:
  enum class Mode {
    pass,              // relay bytes both ways
    error_500,         // read a request head, answer 500 InternalError, close
    reset,             // accept and close at once
    not_found_bucket,  // answer 404 NoSuchBucket (a 404 that is not "no such key")
    late,              // relay, but only after 1.5 s of silence (a server slow to answer)
    throttle_429,      // read a request head, answer 429 Too Many Requests, close
  };
  static constexpr std::chrono::milliseconds k_late{1500};

  explicit FaultProxy(std::uint16_t target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // The next `count` connections get `mode`, later ones pass (count < 0: all of them).
  void set(Mode mode, int count = -1);
  int faults_served() const { return m_faults.load(); }
  // Bytes relayed from the server to clients so far.
  std::uint64_t bytes_down() const { return m_bytes_down.load(); }

 private:
  void accept_loop();
  void serve(int client);
  void relay(int client);
  void cut_all();

  std::uint16_t m_target;
  std::uint16_t m_port = 0;
  int m_listen = -1;
  std::atomic<bool> m_stop{false};
  std::mutex m_mutex;
  Mode m_mode = Mode::pass;
  int m_count = -1;
  std::atomic<int> m_faults{0};
  std::atomic<std::uint64_t> m_bytes_down{0};
  std::vector<int> m_open;  // relayed sockets, shut down on a mode change
  std::vector<std::thread> m_threads;
  std::thread m_acceptor;
};

}  // namespace stoa::store::testing
