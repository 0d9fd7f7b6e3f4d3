#pragma once
// Module zip rules and go.sum `h1:` hashes, as the go command applies them to a downloaded zip:
// golang.org/x/mod/zip CheckZip, then dirhash.HashZip and zip.Unzip reading every entry through
// Go's archive/zip (which enforces declared sizes and CRCs), here through archive.hpp's reader.
// Differentially tested against x/mod (tests/oracle/ziporacle). Pure except for reading the file
// it is given; memory stays bounded whatever the entry sizes: content is streamed in 64 KiB
// chunks, and only the central directory's entries and one digest per name are kept.
// Thread-safe: no shared state.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::modzip {

inline constexpr std::uint64_t k_max_zip_bytes = 500ull << 20;       // zip file size
inline constexpr std::uint64_t k_max_unzipped_bytes = 500ull << 20;  // sum of uncompressed sizes
inline constexpr std::uint64_t k_max_go_mod_bytes = 16ull << 20;     // go.mod (and .mod files)
inline constexpr std::uint64_t k_max_license_bytes = 16ull << 20;    // LICENSE

struct ZipCheck {
  std::string h1;                     // "h1:..." over the zip's files, valid when ok()
  std::vector<std::string> problems;  // empty when the zip is acceptable
  bool ok() const { return problems.empty(); }
};

// Validates the zip at `zip_path` for module `module_path` at `version` and computes its h1: hash
// in the same pass. `module_path` and `version` are the decoded forms (entry names are never
// case-encoded) and must already be valid: a module path, a canonical version, and a major
// version that matches the path (module::check_path, semver::is_canonical, check_path_major);
// unlike x/mod's CheckZip this function does not re-check them.
//
// Rejected, as x/mod and the go command reject them:
// - a zip file over k_max_zip_bytes (before parsing), or one that is not a zip;
// - an entry not named "<module_path>@<version>/..."; a rest that is not clean (path.Clean) or
//   not a valid module.CheckFilePath; two names equal under Unicode case folding; duplicate
//   files; a path used both as a file and as a directory;
// - a file named go.mod (any case) outside the module root, or not spelled "go.mod";
// - declared sizes: total of files over k_max_unzipped_bytes, go.mod over k_max_go_mod_bytes,
//   root LICENSE over k_max_license_bytes;
// - content: a compression method other than store/deflate; content longer or shorter than its
//   declared size (reading stops as soon as it passes it); a CRC mismatch (a CRC field of 0 is
//   not checked unless a data descriptor follows); a data descriptor that is cut short or whose
//   CRC differs from the central directory's; a directory entry ("name/") declaring content; a
//   local header without its signature.
// Accepted, as x/mod accepts them: symlink, FIFO and other non-regular modes (x/mod's CheckZip
// ignores modes; Unzip writes every entry as a regular file); files under vendor/ (only
// zip.Create omits them; a vendor/.../go.mod is still "not in module root"); directory entries,
// which count in the hash (one line each, with the SHA-256 of no bytes); the "encrypted" flag
// (Go ignores it and reads the bytes as they are).
//
// The zip is read by detail::ZipArchive (archive.hpp), which sees what Go's archive/zip sees: the
// raw central-directory names (an Info-ZIP Unicode Path field is ignored, a NUL kept), the same
// entry set (duplicates, prepended bytes, the end record Go finds), the same sizes (ZIP64 only
// where Go reads it) and the same data (located through the local header, data descriptors and
// CRCs checked as File.Open checks them). `h1` is dirhash.HashZip's: every entry name, each with
// the content of the last entry of that name, as the go command computes it; a zip accepted here
// is one the go command accepts, with the same hash (differential_test.cpp, fuzz/zip_differential).
// Left out: zip.Unzip's file-system failures (a name too long for the disk it extracts to).
//
// `problems` holds "<entry name>: <reason>" lines in x/mod's wording where x/mod has one; a
// declared-size limit comes first. Content is read only when the names and declared sizes pass,
// and reading stops at the first content problem. `h1` is set only when ok().
// Never throws for bad zip content. Throws std::system_error if the file cannot be opened or
// read (missing, a directory, an I/O error), std::bad_alloc when memory runs out.
ZipCheck check_zip(const std::string& zip_path, std::string_view module_path,
                   std::string_view version);

// The h1: hash of a go.mod file's bytes: dirhash Hash1 over the single file "go.mod" (the go.sum
// line "<module> <version>/go.mod h1:...").
std::string hash_go_mod(std::string_view go_mod_bytes);

// The h1: hash of a .mod file on disk, streamed (no size limit is applied). Throws
// std::system_error if it cannot be opened or read.
std::string hash_go_mod_file(const std::string& path);

}  // namespace stoa::modzip
