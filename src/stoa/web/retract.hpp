#pragma once
// The `retract` directives of a go.mod, read leniently for display (a page marks retracted
// versions with the rationale): `retract v1.0.0`, `retract [v1.0.0, v1.2.0]`, and both forms in
// a `retract ( ... )` block, each with the `//` comment on its line (or on the lines just
// before it) as the rationale. A directive that does not read is skipped. Pure; never throws
// but std::bad_alloc.

#include <string>
#include <string_view>
#include <vector>

namespace stoa::web {

struct Retraction {
  std::string low;   // inclusive
  std::string high;  // inclusive (== low for a single version)
  std::string rationale;
};

std::vector<Retraction> parse_retractions(std::string_view gomod);

// The rationale of the first retraction covering `version` (semver order), or nullopt.
const Retraction* retracted(const std::vector<Retraction>& retractions, std::string_view version);

}  // namespace stoa::web
