#pragma once
// Tests only: a real S3 server (versitygw, posix backend in a scratch directory) on 127.0.0.1,
// started once per test binary (put a FaultProxy, fault_proxy.hpp, in front of it).
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
#include "stoa/store/testing/fault_proxy.hpp"

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

}  // namespace stoa::store::testing
