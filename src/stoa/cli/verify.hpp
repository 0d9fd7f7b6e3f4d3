#pragma once
// `stoa verify`: re-hashes every stored .zip and .mod of a disk store, compares each with the h1:
// recorded beside it when it was stored and with the checksum database, and reports what is
// wrong. With `quarantine`, the files of a bad version are moved (never deleted) to
// <data_dir>/.stoa-quarantine/<UTC time>/<same path>, and the version is taken out of its list.
// Run it while stoa is stopped, or accept that versions stored meanwhile may be missed.

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>

namespace stoa::sumdb {
class Client;
}

namespace stoa::cli {

struct VerifyOptions {
  std::filesystem::path data_dir;
  sumdb::Client* checksum_db = nullptr;  // nullptr: compare with recorded hashes only
  std::string no_sumdb;  // patterns not looked up in the database (matched in any letter case)
  bool quarantine = false;
};

struct VerifyReport {
  std::size_t files = 0;        // .zip and .mod files checked
  std::size_t bad = 0;          // files that failed a check
  std::size_t unverified = 0;   // files the checksum database could not answer for now
  std::size_t quarantined = 0;  // versions moved aside
};

// Writes one line per problem ("BAD <module>@<version> <file>: <why>") and a summary to `out`.
// Throws std::filesystem::filesystem_error when the data directory cannot be read.
VerifyReport verify_store(const VerifyOptions& options, std::ostream& out);

}  // namespace stoa::cli
