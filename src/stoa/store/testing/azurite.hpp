#pragma once
// Tests only: a real Azure Blob Storage emulator (Azurite's blob service, azurite-blob, with its
// data in a scratch directory) on 127.0.0.1, started once per test binary, with the emulator's
// published development account.
//
// azurite-blob is found through $STOA_AZURITE, then $PATH, then /usr/local/bin
// (server_process.hpp); it is installed by scripts/install-deps.sh (npm package azurite, pinned).
// When it is missing, shared() throws: an Azure test fails, it does not skip (CI installs it).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/azure/azure.hpp"

namespace stoa::store::testing {

class Azurite {
 public:
  // The emulator's well-known development account (not a secret).
  static constexpr const char* k_account = "devstoreaccount1";
  static constexpr const char* k_key =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

  // The process-wide server, started on first use; stopped at exit. Throws std::runtime_error
  // when azurite-blob cannot be found or does not come up.
  static Azurite& shared();

  Azurite();
  ~Azurite();
  Azurite(const Azurite&) = delete;
  Azurite& operator=(const Azurite&) = delete;

  std::uint16_t port() const { return m_port; }
  // "http://127.0.0.1:<port>/devstoreaccount1": the account is in the path (path-style).
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(m_port) + "/" + k_account;
  }
  // Creates a new, empty container with a unique name and returns the name.
  std::string make_container();
  // Options for a store on `container` of this server (Shared Key), spooling under `spool`.
  AzureOptions options(const std::string& container, const std::filesystem::path& spool) const;

 private:
  fsio::testing::ScratchDir m_dir;
  std::uint16_t m_port = 0;
  int m_pid = -1;
  std::atomic<int> m_containers{0};
};

}  // namespace stoa::store::testing
