#pragma once
// Module paths: validation and the go command's `!` case-encoding.
// Pure functions, no I/O, thread-safe. Semantics match golang.org/x/mod/module exactly
// (differentially tested against it), plus stoa's own length limits.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::module {

// Length limits stoa adds on top of x/mod (which has none).
inline constexpr std::size_t k_max_path_bytes = 512;
inline constexpr std::size_t k_max_element_bytes = 255;

// module.CheckPath: nullopt when `path` is a valid module path, else the reason.
// Also rejects paths over k_max_path_bytes or with an element over k_max_element_bytes.
// Reasons are one line of printable ASCII and do not repeat the path (callers add it).
std::optional<std::string> check_path(std::string_view path);

// module.CheckImportPath: nullopt when valid, else the reason. No length limits (x/mod has none).
std::optional<std::string> check_import_path(std::string_view path);

// module.EscapePath: the case-encoded form of a valid module path; nullopt if check_path fails.
std::optional<std::string> escape_path(std::string_view path);

// module.UnescapePath: decodes `!x` to `X`, then requires check_path to pass; nullopt otherwise
// (uppercase in the escaped form, `!` not followed by a-z, trailing `!`, non-ASCII, invalid path).
std::optional<std::string> unescape_path(std::string_view escaped);

// Case-decoding alone (the first half of unescape_path/unescape_version): `!x` becomes `X`.
// nullopt on uppercase, a byte >= 0x80, `!` not followed by a-z, or a trailing `!`.
// The result is not validated otherwise.
std::optional<std::string> decode_case(std::string_view escaped);

// module.EscapeVersion / module.UnescapeVersion (the latter also enforces x/mod's checkElem rules
// on the decoded version). nullopt when invalid.
std::optional<std::string> escape_version(std::string_view version);
std::optional<std::string> unescape_version(std::string_view escaped);

// module.SplitPathVersion: splits "a.b/c/v2" into ("a.b/c", "/v2"); gopkg.in/x.v1 into
// ("gopkg.in/x", ".v1"). nullopt when the trailing major suffix is malformed.
struct PathMajor {
  std::string prefix;
  std::string major;  // "", "/vN", or ".vN" / ".vN-unstable" for gopkg.in
};
std::optional<PathMajor> split_path_version(std::string_view path);

// module.CheckPathMajor: nullopt when `version` is compatible with the path's major suffix
// (`path_major` as returned by split_path_version), else the reason.
// The reason reads like x/mod's, e.g. "should be v2, not v1".
std::optional<std::string> check_path_major(std::string_view version, std::string_view path_major);

// Untrusted text made safe to put in an error message the go command shows its user: printable
// ASCII is kept, `\` and `"` are backslash-escaped, any other byte becomes `\xNN`; the escaped text
// is cut at `max_bytes` (never inside an escape) and a cut is marked with "...". The result is one
// line of printable ASCII, at most max_bytes + 3 bytes, fit to be put between double quotes
// (which it does not add).
inline constexpr std::size_t k_max_echo_bytes = 200;
std::string excerpt(std::string_view s, std::size_t max_bytes = k_max_echo_bytes);

}  // namespace stoa::module
