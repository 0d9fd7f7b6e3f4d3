#pragma once
// Reads a vulnerability database in its published layout (index/db.json, index/modules.json,
// index/vulns.json, ID/<id>.json; each may come as .json, .json.gz or both) from a directory or
// a zip file, into Documents (snapshot.hpp), within Limits. Untrusted input: what it refuses
// comes back as an error text, never a crash or an unbounded read. Stateless, thread-safe.
//
// Refused: a name in index/ or ID/ that is not <name>.json or <name>.json.gz, a subdirectory,
// symlink or other non-regular file there, a zip entry deeper than index/ and ID/, a name given
// twice, a .json.gz that is not gzip, is over its limit decompressed (gzip bombs stop there) or
// differs from the .json beside it, and anything over Limits. Other top-level names (a README)
// are ignored. The documents themselves are checked by build_snapshot().

#include <filesystem>
#include <optional>
#include <string>

#include "stoa/vulndb/snapshot.hpp"

namespace stoa::vulndb {

struct ReadResult {
  std::optional<Documents> docs;
  std::string error;  // set when docs is nullopt
};

// `path` is a directory or a zip file. Throws std::system_error when it cannot be read at all
// (missing, permissions, an I/O error).
ReadResult read_database(const std::filesystem::path& path, const Limits& limits);

// The same rules over entries already in memory (name -> raw bytes of the file), as a zip or a
// directory would yield them; what read_database() does after reading. Pure.
ReadResult collect_documents(const std::map<std::string, std::string, std::less<>>& files,
                             const Limits& limits);

}  // namespace stoa::vulndb
