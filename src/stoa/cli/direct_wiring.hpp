#pragma once
// Direct fetching with the go command, wired: the go command's directories and environment, the
// direct source, the routing upstream in front of the proxies, and the pool its runs take.

#include <filesystem>
#include <memory>

#include "stoa/cli/options.hpp"
#include "stoa/direct/direct.hpp"
#include "stoa/direct/loop_guard.hpp"
#include "stoa/direct/routing.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/metrics/metrics.hpp"

namespace spdlog {
class logger;
}

namespace stoa::cli {

struct Direct {
  std::filesystem::path dir;
  direct::RunningGroups running;
  std::unique_ptr<fetch::Upstream> source;
  std::unique_ptr<fetch::Upstream> routing;  // private modules and "direct" to `source`
  direct::RoutingOptions routes;
  bool have_proxy = false;
  std::unique_ptr<fetch::WorkerPool> pool;
};

// nullptr when direct fetching is not configured. Creates the directories; throws ConfigError
// naming the key when the go command, a file or a directory is not usable.
std::unique_ptr<Direct> make_direct(const DirectConfig& config, fetch::Upstream& proxies,
                                    metrics::Registry& registry,
                                    const std::shared_ptr<spdlog::logger>& log);

}  // namespace stoa::cli
