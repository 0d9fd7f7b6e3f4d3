#pragma once
// Who sees what in /index and /catalog, and which source an index entry names as its Origin.
//
// An entry is listed to a client only when the policy would hand that client the version's files
// (policy::serves_files): the decision the client gets asking for module@version itself, with
// its own credentials, so restricted modules (private, or with readers) are listed to their
// readers only, in every spelling the rules cover (restricted rules match whatever the case).
//
// Thread-safe; the predicate holds the policy snapshot it was made with.

#include <string>
#include <string_view>

#include "stoa/index/visible.hpp"
#include "stoa/policy/policy.hpp"

namespace stoa::proxy {

// The predicate for one client; `authorization` is its Authorization header ("" for none). Its
// credentials are checked here, once (a first bcrypt check is slow: call it on a worker
// thread). Without a policy or rules, every entry is visible.
index::Visible visible_to(const policy::Policy* policy, std::string_view authorization);

// The Origin recorded for a version fetched under `d`: the rule's own `upstream` when it has one
// (its proxy URLs joined by their ',' or '|', credentials redacted by text::redact_credentials),
// "direct" for a private module fetched by the go command (`private_source`), else `global` (the
// global upstream, redacted the same way by the caller).
std::string origin_of(const policy::Decision& d, const std::string& global);

}  // namespace stoa::proxy
