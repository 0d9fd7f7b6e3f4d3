#pragma once
// The documents of the Go vulnerability database, read strictly: an OSV entry (`ID/<id>.json`)
// and the three indexes (`index/db.json`, `index/modules.json`, `index/vulns.json`). Pure,
// thread-safe; parsers of untrusted input: they never throw (but std::bad_alloc) and return
// nullopt with `error` set, in words fit for an operator.
//
// Strict where the readers differ: govulncheck decodes these with Go's encoding/json, which
// matches keys case-insensitively (with Unicode folding: "ſ" is "s", the Kelvin sign "k") and
// lets the last duplicate win. A document whose object has a key that folds to a field read
// here without being spelled exactly so is refused, so every key read here is read the same way
// by govulncheck. JSON nesting is limited (k_max_depth); bytes that are not UTF-8 are refused.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/module/version_list.hpp"

namespace stoa::vulndb {

constexpr std::size_t k_max_depth = 32;
constexpr std::size_t k_max_id_length = 64;

// An id usable as a file name: 1-64 of A-Z a-z 0-9 '-' '_' '.', starting with a letter or digit
// (so never "", ".", "..", or anything with '/' or '\\').
bool is_valid_id(std::string_view id);

// A range event of an affected package; versions in OSV's SEMVER form (no "v"; "0" introduces
// from the first version).
struct Event {
  enum class Kind { introduced, fixed, last_affected, limit };
  Kind kind = Kind::introduced;
  std::string version;
};

struct Range {
  std::string type;  // "SEMVER" for the Go database; the versions of other types are not read
  std::vector<Event> events;
};

struct Affected {
  std::string ecosystem;  // "Go"
  std::string name;       // module path, or "stdlib" / "toolchain"
  std::vector<Range> ranges;
};

struct Entry {
  std::string id;
  module::Instant modified;
  std::vector<std::string> aliases;
  std::vector<Affected> affected;
};

// An OSV entry: an object with a valid "id", an RFC 3339 "modified" (also "published" and
// "withdrawn" when present), "aliases" strings, "affected" packages with a "package" {"name",
// "ecosystem"} and "ranges" of {"type", "events"}, each event an object with exactly one of
// introduced, fixed, last_affected, limit; SEMVER versions valid semantic versions.
std::optional<Entry> parse_entry(std::string_view json, std::string& error);

// index/db.json: {"modified": RFC 3339}.
std::optional<module::Instant> parse_db_meta(std::string_view json, std::string& error);

struct ModuleVuln {
  std::string id;
  module::Instant modified;
  std::string fixed;  // the latest fixed version, SEMVER form; "" when none
};
struct ModuleMeta {
  std::string path;
  std::vector<ModuleVuln> vulns;
};
// index/modules.json: [{"path", "vulns": [{"id", "modified", "fixed"?}]}].
std::optional<std::vector<ModuleMeta>> parse_modules_index(std::string_view json,
                                                           std::string& error);

struct VulnMeta {
  std::string id;
  module::Instant modified;
};
// index/vulns.json: [{"id", "modified", "aliases"?}].
std::optional<std::vector<VulnMeta>> parse_vulns_index(std::string_view json, std::string& error);

}  // namespace stoa::vulndb
