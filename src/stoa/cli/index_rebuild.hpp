#pragma once
// `stoa index rebuild`: records every version of a store in the index (hashes from the
// .ziphash/.modhash objects, zip size, the .info's commit time as the time stored), on any
// backend (disk, S3, memory). Safe to run while replicas serve: recording is an upsert that keeps
// what is known. On an object store it reads every zip once (for its size).

#include <cstddef>
#include <iosfwd>
#include <string>

#include "stoa/index/index.hpp"
#include "stoa/store/store.hpp"

namespace stoa::cli {

struct RebuildReport {
  std::size_t versions = 0;          // recorded
  std::size_t skipped = 0;           // names that are not a valid escaped module path or version
  std::size_t private_versions = 0;  // modules matching no_sumdb: never indexed
};

// Versions of modules matching `no_sumdb` (GONOSUMDB syntax, in any letter case) are left out,
// as serve does; the CLI passes the no_sumdb and private_modules settings, as serve uses them.
// Throws index::IndexError when the index fails, store::StoreError when the store does.
RebuildReport rebuild_index(store::Store& store, const std::string& no_sumdb, index::Index& idx,
                            std::ostream& out);

}  // namespace stoa::cli
