#pragma once
// The subcommands of stoa, one file each. `cfg` is the raw key table after derive_defaults().
// Each returns the exit status; a ConfigError (exit 2) or another exception (exit 1) propagates
// to main().

#include <string>

#include "stoa/cli/config.hpp"

namespace stoa::cli {

int serve_command(RawConfig cfg);                                 // serve.cpp
int config_command(RawConfig cfg);                                // config_command.cpp
int verify_command(RawConfig cfg, bool quarantine, bool repair);  // verify_command.cpp
int index_rebuild_command(RawConfig cfg);                         // index_rebuild_command.cpp
int rules_test_command(const RawConfig& cfg, const std::string& target);     // rules_command.cpp
int passwd_command(const std::string& name);                                 // passwd_command.cpp
int vulndb_import_command(const RawConfig& cfg, const std::string& source);  // vulndb_command.cpp

}  // namespace stoa::cli
