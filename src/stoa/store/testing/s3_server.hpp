#pragma once
// Tests only: a real S3 server (versitygw, posix backend in a scratch directory) on 127.0.0.1,
// started once per test binary, and a fault-injecting TCP proxy to put in front of it.
//
// versitygw is found through $STOA_VERSITYGW, then $PATH, then /usr/local/bin; it is installed
// by scripts/install-deps.sh. When it is missing, shared() throws: an S3 test fails, it does
// not skip (CI installs it).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/s3/s3.hpp"

namespace stoa::store::testing {

class S3Server {
 public:
  static constexpr const char* k_access = "stoa-test-access";
  static constexpr const char* k_secret = "stoa-test-secret-0123456789";

  // The process-wide server, started on first use; stopped at exit. Throws std::runtime_error
  // when versitygw cannot be found or does not come up.
  static S3Server& shared();

  S3Server();
  ~S3Server();
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // Creates a new, empty bucket with a unique name and returns the name.
  std::string make_bucket();
  // Options for a store on `bucket` of this server, spooling under `spool`.
  S3Options options(const std::string& bucket, const std::filesystem::path& spool) const;

 private:
  fsio::testing::ScratchDir m_dir;
  std::uint16_t m_port = 0;
  int m_pid = -1;
  std::atomic<int> m_buckets{0};
};

// A plain GET (no credentials): status (0 when unreachable) and body.
std::pair<long, std::string> plain_get(const std::string& url);

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
