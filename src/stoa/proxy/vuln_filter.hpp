#pragma once
// The version filter of known vulnerabilities (version_filter.hpp): a version of a module that
// an entry of the mirrored vulnerability database (vulndb/mirror.hpp) affects is hidden when the
// first rule with `vulnerable` set that matches module@version says "deny" (ids in its `allow`
// waived), with a reason naming the ids and the first version that fixes them; "warn" serves it
// and logs it (once per module@version and rule). Affected: OSV SEMVER ranges of the entries'
// Go packages named by the module path; stdlib and toolchain entries never match a module.
//
// Re-evaluated when the database changes, without a restart: the per-module index of the
// snapshot in force is rebuilt on the first check after a switch and then shared (an atomically
// swapped shared_ptr; checks take no lock). Thread-safe; `policy` and `mirror` must outlive it.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/policy/policy.hpp"
#include "stoa/proxy/version_filter.hpp"

namespace spdlog {
class logger;
}
namespace stoa::vulndb {
class Mirror;
class Snapshot;
}  // namespace stoa::vulndb

namespace stoa::proxy {

std::unique_ptr<VersionFilter> make_vuln_filter(const policy::Policy& policy,
                                                const vulndb::Mirror& mirror,
                                                std::shared_ptr<spdlog::logger> log);

// What the filter sees for module@version in `snapshot`, for an explanation (`stoa rules test`):
// "GO-2024-0001 (fixed in v1.2.3), ..." for each entry affecting it, in database order; ids in
// `waived` (a rule's `allow`) are left out and, when `waived_hit` is not null, appended to it.
// "" when nothing affects it. Pure.
std::string vulnerabilities_of(const vulndb::Snapshot& snapshot, std::string_view module,
                               std::string_view version, const std::vector<std::string>& waived,
                               std::vector<std::string>* waived_hit = nullptr);

// Asks each filter in order; the first that hides a version decides. Active when one is.
std::unique_ptr<VersionFilter> chain_filters(std::vector<std::unique_ptr<VersionFilter>> filters);

}  // namespace stoa::proxy
