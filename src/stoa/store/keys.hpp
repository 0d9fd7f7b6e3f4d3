#pragma once
// Private to store backends: the shape of a store key, version-list rendering and ETags.
// Keys are GOPROXY-relative paths in case-encoded form (see store.hpp). Pure, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::store::keys {

// A key a store may hold: relative; segments non-empty, none starting with '.' (so no "."/"..",
// and no collision with a backend's dot-directories such as ".stoa-tmp"); only the characters
// of case-encoded module paths and versions (A-Z a-z 0-9 - . _ ~ + ! @ /); ending in
// "/@v/<v>.info", "/@v/<v>.mod", "/@v/<v>.zip", "/@v/<v>.ziphash", "/@v/<v>.modhash" (the h1:
// hashes recorded beside a version), "/@v/list" or "/@latest" after a non-empty module path; or
// a checksum database tile "sumdb/<name>/tile/8/..." (full, or partial "<N>.p/<W>") or a verified
// lookup answer "sumdb/<name>/lookup/<module>@<version>". The caller
// has validated the module path and version; this check only keeps a backend inside its root.
bool is_valid(std::string_view key);

// A module prefix for versions(): non-empty, same segment and character rules as keys.
bool is_valid_module(std::string_view escaped_module);

// "<m>/@v/<v>.info" split into its parts; nullopt for any other key.
struct InfoKey {
  std::string_view module;
  std::string_view version;  // escaped, as in the key
};
std::optional<InfoKey> parse_info(std::string_view key);

// The list key of a module: "<m>/@v/list".
std::string list_key(std::string_view escaped_module);

// Case-decodes a version ("v1.0.0-!r!c1" -> "v1.0.0-RC1"); nullopt on a bad escape.
std::optional<std::string> unescape_version(std::string_view escaped);

// golang.org/x/mod module.IsPseudoVersion of the case-decoded version:
// vX.0.0-yyyymmddhhmmss-abcdefabcdef, vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef and
// vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdefabcdef, each with optional build metadata.
bool is_pseudo(std::string_view version);

// The body of "<m>/@v/list" for these versions (escaped, as versions() returns them): the
// case-decoded non-pseudo versions, sorted bytewise, one per line with a trailing newline.
// Versions with a bad escape are left out (the go command ignores non-semver lines anyway).
std::string render_list(const std::vector<std::string>& escaped_versions);

// Strong quoted ETag from the object's size, its modification time in nanoseconds and the key:
// stable for the life of an immutable object, different when a list is replaced.
std::string etag(std::string_view key, std::uint64_t size, std::int64_t mtime_ns);

// Strong quoted ETag of an object store's object from the server's own ETag (an MD5, a
// "0x8D..." version), made distinct per key since two keys may hold the same bytes:
// '"' <the server ETag's letters, digits and '-'> '-' <hash of the key> '"'; the size stands in
// for a server ETag without any of those.
std::string etag_of_server(std::string_view key, std::string_view server_etag, std::uint64_t size);

// `key` made safe to quote in an error message: non-printable bytes become '?', cut at 200.
std::string printable(std::string_view key);

}  // namespace stoa::store::keys
