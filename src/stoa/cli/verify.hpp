#pragma once
// `stoa verify`: re-hashes every stored .zip and .mod of a store (any backend, read through the
// Store interface), compares each with the h1: recorded beside it when it was stored and with the
// checksum database, and reports what is wrong. With `quarantine` (a disk store only: the other
// backends are write-once, with no way to move an object), the files of a bad version are moved
// (never deleted) to <data_dir>/.stoa-quarantine/<UTC time>/<same path>, and the version is
// taken out of its list.
// It also checks the files derived from the stored versions, which a crash or a full disk
// between two commits can leave behind: a module's list that does not name exactly its stored
// non-pseudo versions, and a good .zip or .mod without its recorded hash. With `repair`, these
// are rewritten (through the store, with its own locking, so safe while stoa serves); the primary
// files never are.
// Run it while stoa is stopped, or accept that versions stored meanwhile may be missed.

#include <cstddef>
#include <filesystem>
#include <ostream>
#include <string>

#include "stoa/store/store.hpp"

namespace stoa::sumdb {
class Client;
}

namespace stoa::cli {

struct VerifyOptions {
  store::Store* store = nullptr;         // the stored files (required)
  std::filesystem::path data_dir;        // the disk store's root: used by `quarantine` only
  sumdb::Client* checksum_db = nullptr;  // nullptr: compare with recorded hashes only
  std::string no_sumdb;  // patterns not looked up in the database (matched in any letter case)
  bool quarantine = false;
  bool repair = false;  // rewrite stale lists and missing .ziphash/.modhash files
};

struct VerifyReport {
  std::size_t files = 0;        // .zip and .mod files checked
  std::size_t bad = 0;          // files that failed a check
  std::size_t unverified = 0;   // files the checksum database could not answer for now
  std::size_t quarantined = 0;  // versions moved aside
  std::size_t stale = 0;        // derived files missing or out of date (lists, recorded hashes)
  std::size_t repaired = 0;     // of those, rewritten (with `repair`)
};

// Writes one line per problem ("BAD <module>@<version> <file>: <why>", "STALE <module> list: ...",
// "STALE <module>@<version> <file>: ...", "REPAIRED ...") and a summary to `out`.
// Throws store::StoreError when the store cannot be read or a repair cannot be written, and
// std::filesystem::filesystem_error when a quarantine move fails.
VerifyReport verify_store(const VerifyOptions& options, std::ostream& out);

}  // namespace stoa::cli
