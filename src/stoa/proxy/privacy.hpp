#pragma once
// Which module paths are private, for every decision that could leak a private path: a lookup
// forwarded at /sumdb/, the checksum verification of a download. One predicate for all of them,
// so that they cannot disagree. (The index records modules of private rules and lists them to
// their readers only: index_access.hpp.)
//
// Matching ignores ASCII letter case (module::match_prefix_patterns_folded): module paths are
// case-sensitive for the go command, but hosts and many code hosts are not, so a private
// repository is reachable under other spellings of its path, and none of them may reach a
// checksum database. Pure; thread-safe.

#include <string_view>

namespace stoa::proxy {

struct ServiceOptions;

// True when `module` (a decoded module path) matches a glob of `o.no_sumdb` (cli/ puts
// no_sumdb and private_modules there) or of a private rule of `o.policy`'s current snapshot,
// whatever the case of the letters of either.
bool is_private_module(const ServiceOptions& o, std::string_view module);

}  // namespace stoa::proxy
