// stoa config: the effective configuration, with where each value came from.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/go_defaults.hpp"
#include "stoa/cli/options.hpp"

namespace stoa::cli {

int config_command(RawConfig cfg) {
  fill_go_defaults(cfg);
  upstream_config(cfg);  // an upstream that names nothing is an error here too
  std::cout << render_config(cfg);
  return 0;
}

}  // namespace stoa::cli
