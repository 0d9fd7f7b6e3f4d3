#pragma once
// Module zip rules (golang.org/x/mod/zip CheckZip + the go command's extraction limits) and
// go.sum `h1:` hashes (golang.org/x/mod/sumdb/dirhash Hash1). Pure except for reading the
// file it is given; memory stays bounded whatever the zip size (entries are streamed).
// Thread-safe: no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::modzip {

inline constexpr std::uint64_t k_max_zip_bytes = 500ull << 20;        // zip file size
inline constexpr std::uint64_t k_max_unzipped_bytes = 500ull << 20;   // sum of uncompressed sizes
inline constexpr std::uint64_t k_max_go_mod_bytes = 16ull << 20;      // go.mod (and .mod files)
inline constexpr std::uint64_t k_max_license_bytes = 16ull << 20;     // LICENSE

struct ZipCheck {
  std::string h1;                          // "h1:..." over the zip's files, valid when ok()
  std::vector<std::string> problems;       // empty when the zip is acceptable
  bool ok() const { return problems.empty(); }
};

// Validates the zip at `zip_path` for module `module_path` at `version` (decoded forms):
// every entry named "<module>@<version>/...", clean names, no case-fold collisions, no symlinks
// or other non-regular files, go.mod only at the root, size limits above, declared sizes equal
// to real sizes (checked while decompressing), and computes its h1: hash in the same pass.
// Never throws for bad zip content (a problem is reported); throws std::system_error if the file
// cannot be read at all.
ZipCheck check_zip(const std::string& zip_path, std::string_view module_path,
                   std::string_view version);

// The h1: hash of a go.mod file's bytes (dirhash over the single file "go.mod").
std::string hash_go_mod(std::string_view go_mod_bytes);

// The h1: hash of a .mod file on disk, streamed.
std::string hash_go_mod_file(const std::string& path);

}  // namespace stoa::modzip
