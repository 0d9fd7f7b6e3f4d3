#pragma once
// Tests only: a real MongoDB-wire-compatible server (FerretDB 1.x over SQLite, in a scratch
// directory) on 127.0.0.1, started once per test binary.
//
// ferretdb is found through $STOA_FERRETDB, then $PATH, then /usr/local/bin; it is installed by
// scripts/install-deps.sh. When it is missing, shared() throws: a MongoDB test fails, it does not
// skip (CI installs it).

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/mongodb/mongodb.hpp"

namespace stoa::store::testing {

class MongoServer {
 public:
  // The process-wide server, started on first use; stopped at exit. Throws std::runtime_error
  // when ferretdb cannot be found or does not come up.
  static MongoServer& shared();

  MongoServer();
  ~MongoServer();
  MongoServer(const MongoServer&) = delete;
  MongoServer& operator=(const MongoServer&) = delete;

  std::uint16_t port() const { return m_port; }
  std::string uri() const { return "mongodb://127.0.0.1:" + std::to_string(m_port) + "/"; }
  // A database name not used before in this process (databases are created on first write).
  std::string make_database();
  // Options for a store in `database` of this server, spooling under `spool`.
  MongoOptions options(const std::string& database, const std::filesystem::path& spool) const;

 private:
  fsio::testing::ScratchDir m_dir;
  std::uint16_t m_port = 0;
  int m_pid = -1;
  std::atomic<int> m_databases{0};
};

}  // namespace stoa::store::testing
