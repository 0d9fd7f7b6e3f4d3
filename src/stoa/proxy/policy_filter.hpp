#pragma once
// The version filter of the policy's deny rules (version_filter.hpp). A version is hidden when
// the rule that decides module@version (RuleSet::match: the first matching rule, the same one
// that decides the files of that version) is a deny rule, typically one with a `versions`
// range; the reason is policy::deny_reason's, naming the rule.
//
// The current snapshot is read on every check, so a reload takes effect on the next answer:
// kept list and @latest answers are the upstream's, filtered when served, never stored
// filtered. Thread-safe; `policy` must outlive the filter.

#include <memory>

#include "stoa/policy/policy.hpp"
#include "stoa/proxy/version_filter.hpp"

namespace stoa::proxy {

std::unique_ptr<VersionFilter> make_policy_filter(const policy::Policy& policy);

}  // namespace stoa::proxy
