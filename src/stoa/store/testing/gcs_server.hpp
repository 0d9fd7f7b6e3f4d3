#pragma once
// Tests only: a GCS emulator (fake-gcs-server, filesystem backend in a scratch directory, plain
// http) on 127.0.0.1, started once per test binary; put a FaultProxy (fault_proxy.hpp) in front
// of it for faults.
//
// fake-gcs-server is found through $STOA_FAKE_GCS_SERVER, then $PATH, then /usr/local/bin; it is
// installed by scripts/install-deps.sh. When it is missing, shared() throws: a GCS test fails,
// it does not skip.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/gcs/gcs.hpp"

namespace stoa::store::testing {

class GcsServer {
 public:
  // The process-wide server, started on first use; stopped at exit. Throws std::runtime_error
  // when fake-gcs-server cannot be found or does not come up.
  static GcsServer& shared();

  GcsServer();
  ~GcsServer();
  GcsServer(const GcsServer&) = delete;
  GcsServer& operator=(const GcsServer&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  // Creates a new, empty bucket with a unique name and returns the name.
  std::string make_bucket();
  // Options for a store on `bucket` of this server (no credentials), spooling under `spool`.
  GcsOptions options(const std::string& bucket, const std::filesystem::path& spool) const;

 private:
  fsio::testing::ScratchDir m_dir;
  std::uint16_t m_port = 0;
  int m_pid = -1;
  std::atomic<int> m_buckets{0};
};

}  // namespace stoa::store::testing
