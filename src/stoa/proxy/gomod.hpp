#pragma once
// A dependency's go.mod (a .mod body) read the way the go command reads it: modfile.ParseLax
// with no version fixer, which is how cmd/go's modload parses the go.mod of every module it
// loads. Pure, thread-safe, never throws.
//
// ParseLax accepts what its lexer and parser accept (tokens, quoted strings, // comments,
// parenthesized blocks) and then checks only the go, module, require and ignore statements
// (retract errors are dropped in lax mode, every other statement is ignored):
// - go: one argument matching GoVersionRE, or its lax form ("1.21.x", "v1.21rc"), at most once;
// - module: one argument, a string (bare, or "double-quoted" as strconv.Unquote reads it; never
//   `backquoted`), at most once;
// - require: a path string and a version that module.CanonicalVersion accepts, compatible with
//   the path's major-version suffix;
// - ignore: one string.
// Everything else stoa decides (a missing or empty module line) is in validate.hpp.

#include <optional>
#include <string>
#include <string_view>

namespace stoa::proxy {

struct GoModHead {
  bool has_module = false;  // a module statement was present
  std::string module_path;  // its path, unquoted (may be empty: `module ""`)
};

// nullopt when ParseLax fails; then `problem` (when given) says why.
std::optional<GoModHead> parse_go_mod_lax(std::string_view body, std::string* problem = nullptr);

}  // namespace stoa::proxy
