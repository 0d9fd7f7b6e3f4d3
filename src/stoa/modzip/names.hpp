#pragma once
// File-name rules of module zips: golang.org/x/mod/module.CheckFilePath, path.Clean, and
// x/mod zip's collisionChecker. Pure; CollisionChecker is a value with no shared state.

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stoa::modzip::detail {

// Go's path.Clean (lexical: collapses "//", drops ".", resolves ".." where possible; "" -> ".").
std::string clean_path(std::string_view path);

// module.CheckFilePath: nullopt when `path` is a valid file path inside a module, else the
// message x/mod reports ("malformed file path \"a:b\": invalid char ':'").
std::optional<std::string> check_file_path(std::string_view path);

// Go's %q for a string, close enough for messages: printable ASCII and valid non-ASCII UTF-8
// kept, other bytes escaped.
std::string quote(std::string_view s);

// x/mod zip's collisionChecker: case-fold collisions (strings.EqualFold), duplicate files, and
// paths used both as a file and as a directory. `path` must be clean and valid.
class CollisionChecker {
 public:
  // Records `path` (and, as directories, each of its parents); nullopt, or the first conflict.
  std::optional<std::string> check(std::string_view path, bool is_dir);

 private:
  struct Seen {
    std::string path;
    bool is_dir;
  };
  std::unordered_map<std::string, Seen> m_by_fold;
};

}  // namespace stoa::modzip::detail
