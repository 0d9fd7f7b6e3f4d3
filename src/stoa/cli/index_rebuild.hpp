#pragma once
// `stoa index rebuild`: records every version in a disk store's data directory in the index
// (hashes from the .ziphash/.modhash files, zip size, the .info's modification time as the time
// stored). Safe to run while replicas serve: recording is an upsert that keeps what is known.

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "stoa/index/index.hpp"

namespace stoa::cli {

struct RebuildReport {
  std::size_t versions = 0;          // recorded
  std::size_t skipped = 0;           // names that are not a valid escaped module path or version
  std::size_t private_versions = 0;  // modules matching no_sumdb: never indexed
};

// Versions of modules matching `no_sumdb` (GONOSUMDB syntax, in any letter case) are left out,
// as serve does; the CLI passes the no_sumdb and private_modules settings, as serve uses them.
// Throws index::IndexError when the index fails.
RebuildReport rebuild_index(const std::filesystem::path& data_dir, const std::string& no_sumdb,
                            index::Index& idx, std::ostream& out);

}  // namespace stoa::cli
