#pragma once
// Glob matching as the go command does it for GOPRIVATE, GONOPROXY and GONOSUMDB.
// Pure functions over caller-owned bytes: no I/O, no allocation, never throw, thread-safe.
// Semantics match Go's path.Match and golang.org/x/mod's module.MatchPrefixPatterns exactly
// (differentially tested against them), including their treatment of invalid UTF-8.

#include <optional>
#include <string_view>

namespace stoa::module {

// path.Match: whether all of `name` matches the shell pattern. `*` matches any run of bytes
// other than '/', `?` one UTF-8 rune other than '/' (a byte that is not valid UTF-8 counts as a
// rune), `[...]` or `[^...]` one rune against characters and `lo-hi` ranges, and `\c` the byte c,
// inside a class too. Anything else matches itself, byte for byte.
// nullopt when the pattern is malformed (Go's ErrBadPattern): an unclosed or empty class, an
// unescaped '-' or ']' where a class character is expected, invalid UTF-8 inside a class, or a
// trailing '\'. Like Go, this is reported whatever `name` is, even when the match fails early.
std::optional<bool> match_glob(std::string_view pattern, std::string_view name) noexcept;

// module.MatchPrefixPatterns: whether some glob in the comma-separated list `globs` matches a
// prefix of `target`, element by element: a glob with N slashes is matched against the first
// N + 1 '/'-separated elements of target (so "example.com/*" matches "example.com/a/b/c" but not
// "example.com"). One trailing '/' is trimmed from each glob; empty globs are skipped; malformed
// globs never match. Empty `globs` matches nothing.
// Case-sensitive, as the go command: never use it to decide whether a path is private (that is
// match_prefix_patterns_folded's job, the only matcher of private paths).
bool match_prefix_patterns(std::string_view globs, std::string_view target) noexcept;

// Deliberately broader than the go command, to keep private module paths private whatever the
// case of their letters: true when match_prefix_patterns(globs, target) is, and also when the two
// match after lower-casing the ASCII letters of both (so the glob "corp.example.com" matches
// "Corp.Example.COM/x"). For globs without character classes, every ASCII-case variant of a
// target the go command matches therefore matches. Never false where the go command says true.
bool match_prefix_patterns_folded(std::string_view globs, std::string_view target) noexcept;

}  // namespace stoa::module
