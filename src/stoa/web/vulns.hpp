#pragma once
// What the module page says about an entry of the vulnerability database: whether an OSV
// SEMVER range of it affects a version, and its ranges in words. Pure; thread-safe.

#include <string>
#include <string_view>

#include "stoa/vulndb/osv.hpp"

namespace stoa::web {

// Whether `r` covers `version` (a Go version, "v1.2.3"): its events, in the order OSV sorts
// them, open the range at `introduced` (from the first version for "0") and close it at
// `fixed` (that version excluded) or after `last_affected` (that version included).
bool affects(const vulndb::Range& r, std::string_view version);

// "introduced in v1.1.0, fixed in v1.2.3", or "all versions" when nothing bounds it.
std::string describe(const vulndb::Affected& a);

}  // namespace stoa::web
