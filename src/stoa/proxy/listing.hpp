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

// The list body served to clients, read line by line as the go command reads an upstream's list
// (modfetch/proxy.go Versions and latestFromList; fields split as strings.Fields does,
// module::next_field): every line whose first field is a valid semantic version, canonical or not
// ("v1.2"), pseudo-versions included, with its second field as it is when Go's time.Parse reads
// it as a time (module::parse_rfc3339); a pseudo-version whose second field is no time is left
// out (the go command would never pick it), a release only loses such a field. Then the decoded
// `stored` versions that are canonical, not pseudo-versions and not listed, sorted by semver.
// One "<version>[ <time>]" per line, identical lines once, the upstream's in its order. So the
// go command computes the same @latest from this list as from the upstream's
// (module::latest_from_list of both is equal; fuzz/info_json checks it).
std::string merge_list(std::string_view upstream, const std::vector<std::string>& stored);

// The version the go command would call latest among `versions` (decoded): the highest
// release, else the highest pre-release; pseudo-versions only when nothing else is there.
// nullopt when none is valid.
std::optional<std::string> pick_latest(const std::vector<std::string>& versions);

}  // namespace stoa::proxy
