#pragma once
// Usage errors: one line on stderr and exit status 2 (as documented for every usage and
// configuration error); help and --version exit 0 as CLI11 prints them.

#include <CLI/CLI.hpp>

namespace stoa::cli {

// The exit status for a failed parse of argv by `app`, after printing its message. An unknown
// subcommand ("stoa servee") is named with the closest known one.
int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv);

}  // namespace stoa::cli
