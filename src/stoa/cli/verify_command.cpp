// stoa verify: every stored file against its recorded hash and the checksum database.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/core.hpp"
#include "stoa/cli/go_defaults.hpp"
#include "stoa/cli/verify.hpp"

namespace stoa::cli {

int verify_command(RawConfig cfg, bool quarantine, bool repair) {
  const StoreConfig store = store_config(cfg);
  if (store.kind == StoreKind::memory) throw ConfigError("verify: the memory store is empty");
  if (quarantine && store.kind != StoreKind::disk) {
    throw ConfigError(
        "verify --quarantine: works on the disk store only (stoa never moves or deletes an "
        "object in a bucket; remove what verify reports BAD with the bucket's own tools)");
  }
  const std::string goroot = fill_go_defaults(cfg);
  const UpstreamConfig upstream = upstream_config(cfg);
  const ChecksumConfig checksum =
      checksum_config(cfg, go_known_keys(goroot), upstream.options.proxies);
  const Core core = make_core(store, upstream, checksum);
  VerifyOptions vo;
  vo.store = core.store.get();
  vo.data_dir = store.data_dir;
  vo.checksum_db = core.sumdb_client.get();
  vo.no_sumdb = checksum.not_verified;
  vo.quarantine = quarantine;
  vo.repair = repair;
  const VerifyReport r = verify_store(vo, std::cout);
  return r.bad > 0 || r.stale > r.repaired ? 1 : 0;
}

}  // namespace stoa::cli
