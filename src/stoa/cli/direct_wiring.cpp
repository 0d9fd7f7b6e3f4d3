#include "stoa/cli/direct_wiring.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdlib>

#include <pwd.h>
#include <unistd.h>

#include "stoa/cli/core.hpp"
#include "stoa/direct/gocmd.hpp"

namespace stoa::cli {
namespace {

namespace fs = std::filesystem;

bool executable_in_path(const std::string& name, const std::string& path) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto end = path.find(':', pos);
    if (end == std::string::npos) end = path.size();
    const std::string dir = path.substr(pos, end - pos);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
    pos = end + 1;
  }
  return false;
}

// An absolute path of a readable file named by `key`.
std::string readable(const std::string& file, std::string_view key) {
  if (::access(file.c_str(), R_OK) != 0)
    throw ConfigError(std::string(key) + ": " + file + " cannot be read");
  return fs::absolute(file).string();
}

// The go command's environment: its directories under `dir`, the files and variables configured.
direct::GoEnv go_env(const DirectConfig& c, const fs::path& dir) {
  direct::GoEnv env;
  const char* path = std::getenv("PATH");
  env.path = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  env.mod_cache = (dir / "modcache").string();
  env.go_cache = (dir / "gocache").string();
  env.go_path = (dir / "gopath").string();
  env.home = c.home.empty() ? (dir / "home").string() : c.home;
  env.govcs = c.govcs;
  // getpwuid_r: getpwuid's result is a static buffer shared by every thread.
  passwd pwd{};
  passwd* pw = nullptr;
  std::array<char, 4096> buf{};
  if (::getpwuid_r(::geteuid(), &pwd, buf.data(), buf.size(), &pw) == 0 && pw != nullptr &&
      pw->pw_name != nullptr) {
    env.user = pw->pw_name;
  }
  env.private_patterns = c.private_patterns;
  env.insecure = c.insecure;
  if (!c.netrc.empty()) {
    env.netrc = readable(c.netrc, "direct_netrc");
    if (c.home.empty()) {
      // git (through curl) reads only ~/.netrc: the default HOME gets a link to the file.
      const auto link = dir / "home" / ".netrc";
      std::error_code ec;
      fs::remove(link, ec);
      fs::create_symlink(env.netrc, link, ec);
      if (ec) throw ConfigError("direct_netrc: cannot link it into " + link.string());
    }
  }
  if (!c.git_config.empty()) env.git_config = readable(c.git_config, "direct_git_config");
  if (!c.ssh_key.empty()) env.ssh_key = readable(c.ssh_key, "direct_ssh_key");
  // ssh reads ~/.ssh of the passwd entry, never of HOME: its files in direct_home are named.
  const fs::path ssh_dir = fs::absolute(env.home) / ".ssh";
  if (!c.ssh_known_hosts.empty()) {
    env.ssh_known_hosts = readable(c.ssh_known_hosts, "direct_ssh_known_hosts");
  } else {
    // Absent, every host is unknown, and refused.
    env.ssh_known_hosts = (ssh_dir / "known_hosts").string();
    if (auto problem = direct::ssh_path_problem(env.ssh_known_hosts))
      throw ConfigError("direct_home: " + env.home + ": " + *problem + " (for ssh's known_hosts)");
  }
  std::error_code ec;
  if (fs::is_regular_file(ssh_dir / "config", ec)) env.ssh_config = (ssh_dir / "config").string();
  for (const auto& name : c.pass_env) {
    if (const char* v = std::getenv(name.c_str()); v != nullptr)
      env.passed.push_back(name + "=" + v);
  }
  return env;
}

// Counts and logs every go command run.
void observe_runs(direct::DirectOptions& o, metrics::Registry& registry,
                  const std::shared_ptr<spdlog::logger>& log) {
  auto& runs =
      registry.counter("stoa_direct_runs_total",
                       "go command runs for direct fetches, by result (ok, failed).", {"result"});
  auto& seconds = registry.histogram("stoa_direct_run_duration_seconds",
                                     "Time one go command run for a direct fetch took.", {});
  o.on_run = [&runs, &seconds, log](const std::string& key, std::chrono::milliseconds took, bool ok,
                                    const std::string& message) {
    runs.with({ok ? "ok" : "failed"}).inc();
    seconds.with({}).observe(std::chrono::duration<double>(took).count());
    if (ok) {
      log->info("go command for {}: ok ({} ms)", key, took.count());
    } else {
      log->warn("go command for {}: {} ({} ms)", key, message, took.count());
    }
  };
}

}  // namespace

std::unique_ptr<Direct> make_direct(const DirectConfig& c, fetch::Upstream& proxies,
                                    metrics::Registry& registry,
                                    const std::shared_ptr<spdlog::logger>& log) {
  if (!c.enabled) return nullptr;
  auto d = std::make_unique<Direct>();
  d->dir =
      c.dir.empty() ? fs::temp_directory_path() / ("stoa-direct-" + random_instance_id()) : c.dir;
  d->dir = fs::absolute(d->dir);
  direct::DirectOptions o;
  o.go_binary = c.go_binary;
  const char* path = std::getenv("PATH");
  if (!executable_in_path(o.go_binary, path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin")) {
    throw ConfigError(c.go_binary_where + ": " + o.go_binary +
                      " is not an executable (direct fetching runs the go command)");
  }
  try {
    for (const auto* sub : {"modcache", "gocache", "gopath", "work", "home"})
      fs::create_directories(d->dir / sub);
  } catch (const fs::filesystem_error& e) {
    throw ConfigError("direct_dir: cannot create " + d->dir.string() + ": " + e.code().message());
  }
  o.env = go_env(c, d->dir);
  o.work_root = d->dir / "work";
  o.timeout = c.timeout;
  o.negative_ttl = c.negative_ttl;
  o.max_running = c.workers;
  o.running = &d->running;
  observe_runs(o, registry, log);
  d->source = direct::make_direct_source(std::move(o));
  d->have_proxy = c.have_proxy;
  d->routes = {c.private_patterns, c.upstream_direct};
  d->routing =
      direct::make_routing_upstream(d->have_proxy ? &proxies : nullptr, *d->source, d->routes);
  d->pool = std::make_unique<fetch::WorkerPool>(c.workers, c.queue);
  log->info("direct fetching with {} into {} (GOVCS {}; private modules: {})", c.go_binary,
            d->dir.string(), c.govcs.empty() ? "default" : c.govcs,
            c.private_patterns.empty() ? "-" : c.private_patterns);
  return d;
}

}  // namespace stoa::cli
