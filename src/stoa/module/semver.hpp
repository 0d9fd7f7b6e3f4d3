#pragma once
// Semantic versions as the go command understands them (golang.org/x/mod/semver and
// golang.org/x/mod/module pseudo-version helpers). Pure, thread-safe.

#include <string>
#include <string_view>

namespace stoa::module::semver {

// semver.IsValid: "v1", "v1.2", "v1.2.3-pre+build" are valid; "1.2.3" is not.
bool is_valid(std::string_view v);

// module.CanonicalVersion, i.e. semver.Canonical except that "+incompatible" is kept:
// "v1.2" -> "v1.2.0", "v1.2.3+meta" -> "v1.2.3", "v2.0.0+incompatible" stays; "" when invalid.
std::string canonical(std::string_view v);

// semver.Compare: -1, 0, +1. An invalid version is less than any valid one; two invalid are equal.
int compare(std::string_view a, std::string_view b);

// semver.Major ("v2"), semver.Prerelease ("-pre"), semver.Build ("+meta"): "" when invalid/absent.
std::string major(std::string_view v);
std::string prerelease(std::string_view v);
std::string build(std::string_view v);

// module.IsPseudoVersion: vX.0.0-yyyymmddhhmmss-abcdefabcdef and its two other forms.
bool is_pseudo(std::string_view v);

// True when `v` is valid and equal to its canonical form (what .mod/.zip requests require).
inline bool is_canonical(std::string_view v) { return !v.empty() && canonical(v) == v; }

}  // namespace stoa::module::semver
