#pragma once
// The defaults stoa takes from the go command installed beside it: one `go env` run at startup
// (never on a request path).

#include <string>

#include "stoa/cli/checksum_db.hpp"
#include "stoa/cli/config.hpp"

namespace stoa::cli {

// Fills in upstream, sumdb and no_sumdb from `go env GOPROXY GOSUMDB GONOSUMDB` where they were
// left unset (marked Source::derived, so that `stoa config` says where they came from); runs the
// go command only when one of them needs it. Returns GOROOT ("" when it did not run, or when
// there is no go command).
std::string fill_go_defaults(RawConfig& cfg);

// The checksum database keys the go command of `goroot` knows; none for "".
KnownKeys go_known_keys(const std::string& goroot);

}  // namespace stoa::cli
