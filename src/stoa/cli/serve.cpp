// stoa serve: the typed options, the wired graph, the signals (SIGTERM and SIGINT drain, a
// second one stops at once; SIGHUP reloads), and the one shutdown sequence.

#include <spdlog/spdlog.h>

#include <csignal>

#include <sys/resource.h>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/go_defaults.hpp"
#include "stoa/cli/graph.hpp"
#include "stoa/cli/signals.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::cli {
namespace {

// A proxy holds a socket per client: a few thousand idle or slow clients must not exhaust the
// descriptors. The soft limit goes up to the hard one.
void raise_fd_limit(spdlog::logger& log) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  log.debug("open file limit raised from {} to {}", before, rl.rlim_cur);
}

}  // namespace

int serve_command(RawConfig cfg) {
  // A client that hangs up during sendfile(2) must cost an EPIPE, not the process (send()
  // has MSG_NOSIGNAL, sendfile has no such flag). Before any thread starts.
  std::signal(SIGPIPE, SIG_IGN);
  const std::string goroot = fill_go_defaults(cfg);
  Options options = resolve_options(cfg, go_known_keys(goroot));
  const Loggers logs = make_loggers(options.log.format, options.log.level, options.log.access_log);
  const auto log = logs.app;
  raise_fd_limit(*log);
  Graph graph(std::move(options), logs);
  const SignalWatcher signals({[&graph, log](int sig, bool first) {
                                 if (!first) {
                                   log->warn("signal {} while draining: stopping now", sig);
                                   return graph.stop();
                                 }
                                 log->info("signal {}: draining", sig);
                                 graph.drain();
                               },
                               [&graph] { graph.reload(); }});
  graph.start();
  if (const auto self = graph.upstream_that_is_itself()) {
    log->error("upstream {} is this stoa itself; refusing to serve",
               text::redact_credentials(*self));
    graph.shutdown();
    return 1;
  }
  graph.wait();
  graph.shutdown();
  log->info("stopped");
  return 0;
}

}  // namespace stoa::cli
