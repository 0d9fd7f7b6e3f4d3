// stoa index rebuild: records every stored version in the index.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/core.hpp"
#include "stoa/cli/go_defaults.hpp"
#include "stoa/cli/index_rebuild.hpp"

namespace stoa::cli {

int index_rebuild_command(RawConfig cfg) {
  const StoreConfig store = store_config(cfg);
  if (store.kind == StoreKind::memory) {
    throw ConfigError("index rebuild: the memory store is empty");
  }
  const auto idx = make_index(index_config(cfg));
  if (!idx) throw ConfigError("index rebuild: index = none");
  fill_go_defaults(cfg);  // no_sumdb from `go env GONOSUMDB` unless set
  const auto st = make_store(store);
  rebuild_index(*st, not_verified(cfg), *idx, std::cout);
  return 0;
}

}  // namespace stoa::cli
