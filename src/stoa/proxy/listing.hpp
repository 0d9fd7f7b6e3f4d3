#pragma once
// Pure helpers for the mutable endpoints (list, @latest) and .info bodies. Thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::proxy {

struct InfoFields {
  std::string version;
  std::string time;  // RFC 3339 as given, may be empty
};

// Parses a .info / @latest body exactly as the go command decodes it (decode_rev_info in
// info_json.hpp): Version and the raw text of Time as Go's case-insensitive, last-wins decoding
// sees them; Version is empty when the body has none. nullopt when the go command would refuse
// the body.
std::optional<InfoFields> parse_info(std::string_view json);

// A date-time the go command reads from a list line's second field (module::parse_rfc3339).
bool is_rfc3339(std::string_view s);

// The list body served to clients: the canonical semver first fields of `upstream`'s lines,
// pseudo-versions included (a line's optional second field is kept when it is a time), plus the
// decoded `stored` versions that are canonical and not pseudo-versions; one per line,
// de-duplicated, sorted by semver. The go command computes @latest from the pseudo-versions and
// times of a list when the upstream has no @latest, so they are passed on.
std::string merge_list(std::string_view upstream, const std::vector<std::string>& stored);

// The version the go command would call latest among `versions` (decoded): the highest
// release, else the highest pre-release; pseudo-versions only when nothing else is there.
// nullopt when none is valid.
std::optional<std::string> pick_latest(const std::vector<std::string>& versions);

}  // namespace stoa::proxy
