#pragma once
// The version filter of the policy (version_filter.hpp): deny rules and minimum release ages.
// The rule that decides module@version (RuleSet::match: the first matching rule, the same one
// that decides the files of that version) hides it when
// - it is a deny rule, typically one with a `versions` range; the reason is
//   policy::deny_reason's, naming the rule;
// - it has a `min_age` (or the client asked for one with a /cooldown/<age>/ prefix; the larger
//   counts) and the version is younger than that: "in cooldown until <RFC 3339 time> (rule
//   "<name>", min_age 7d)". Unless the rule says `min_age_pinned = "allow"` and the request is
//   for an exact version's files.
//
// A version's age counts from the later of its Time (the time of its list line or .info, when
// the answer carries one; a pseudo-version's own time otherwise) and when stoa first saw it
// (FirstSeen). Why both: a version's Time is the commit time its author chose, so a tag pushed
// today on a commit dated last year would pass a cooldown by Time alone; stoa's first sighting
// cannot be backdated. A Time in the future holds the version until that time plus the age.
// A version without a Time counts from its first sighting alone.
//
// The current snapshot is read on every check, so a reload takes effect on the next answer:
// kept list and @latest answers are the upstream's, filtered when served, never stored
// filtered. Thread-safe; `policy` and `seen` must outlive the filter.

#include <chrono>
#include <memory>

#include "stoa/policy/policy.hpp"
#include "stoa/proxy/first_seen.hpp"
#include "stoa/proxy/version_filter.hpp"

namespace stoa::proxy {

// `seen` null: minimum release ages are not applied (only deny rules). Ages are measured with
// the clock of `seen`.
std::unique_ptr<VersionFilter> make_policy_filter(const policy::Policy& policy,
                                                  FirstSeen* seen = nullptr);

}  // namespace stoa::proxy
