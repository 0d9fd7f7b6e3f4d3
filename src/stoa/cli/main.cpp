#include "stoa/cli/main.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

#include "stoa/cli/config.hpp"
#include "stoa/cli/logging.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/fetch/validator.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/http/server.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/proxy/admin.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/memory.hpp"

extern char** environ;

namespace stoa::cli {
namespace {

using Env = std::map<std::string, std::string, std::less<>>;

Env read_environment() {
  Env env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    if (!kv.starts_with("STOA_")) continue;
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

// What `go env GOPROXY` prints on this host (startup only; never on a request path).
std::string go_env_goproxy() {
  std::unique_ptr<FILE, decltype(&::pclose)> p(::popen("go env GOPROXY 2>/dev/null", "r"),
                                               &::pclose);
  if (!p) return {};
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), p.get()) != nullptr) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// Fills in the upstream default and checks that the list names at least one proxy.
fetch::ProxyList resolve_upstream(RawConfig& cfg) {
  auto& v = cfg.values.at("upstream");
  if (v.text.empty()) {
    v.text = go_env_goproxy();
    if (v.text.empty()) {
      throw ConfigError(
          "upstream: not set, and `go env GOPROXY` gave nothing (is the go command "
          "installed?); set --upstream or STOA_UPSTREAM");
    }
  }
  std::string error;
  auto list = fetch::parse_proxy_list(v.text, &error);
  if (!list) throw ConfigError("upstream: " + error);
  if (list->entries.empty()) {
    throw ConfigError("upstream: " + redact_url_credentials(v.text) +
                      " names no proxy (direct fetching is not supported yet)");
  }
  return *list;
}

std::string random_instance_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

int serve(RawConfig cfg) {
  const fetch::ProxyList upstreams = resolve_upstream(cfg);
  const Loggers logs =
      make_loggers(cfg.get("log_format"), cfg.get("log_level"), cfg.boolean("access_log"));
  const auto& log = logs.app;
  if (upstreams.direct || upstreams.off) {
    log->warn("upstream {}: 'direct' and 'off' and the entries after them are ignored",
              redact_url_credentials(cfg.get("upstream")));
  }

  std::unique_ptr<store::Store> store;
  if (cfg.get("store") == "memory") {
    const auto staging = std::filesystem::temp_directory_path() / ("stoa-" + random_instance_id());
    std::filesystem::create_directories(staging);
    store = store::make_memory_store(staging);
  } else {
    store = store::make_disk_store(cfg.get("data_dir"));
  }

  fetch::UpstreamOptions uo;
  uo.proxies = upstreams;
  uo.connect_timeout = cfg.duration("connect_timeout");
  uo.total_timeout = cfg.duration("fetch_timeout");
  uo.stall_timeout = cfg.duration("stall_timeout");
  uo.user_agent = "stoa/" STOA_VERSION;
  auto upstream = fetch::make_http_upstream(uo);

  fetch::WorkerPool pool(std::max<std::uint64_t>(1, cfg.count("fetch_workers")),
                         cfg.count("fetch_queue"));

  std::unique_ptr<fetch::Validator> validator;
  if (const auto& url = cfg.get("validator_url"); !url.empty()) {
    validator = fetch::make_http_validator(url, cfg.duration("validator_timeout"));
  }
  proxy::ServiceOptions so;
  so.validator = validator.get();
  so.validator_allows_on_error = cfg.get("validator_failure") == "allow";
  so.list_ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.duration("list_ttl"));
  so.instance_id = random_instance_id();
  metrics::Registry registry;
  registry.gauge("stoa_build_info", "Always 1; the labels say which stoa this is.", {"version"})
      .with({STOA_VERSION})
      .set(1);
  proxy::Service service(so, *store, *upstream, pool, log, registry);

  http::ServerOptions ho;
  ho.listen = cfg.get("listen");
  ho.threads = cfg.count("threads");
  ho.header_timeout = cfg.duration("header_timeout");
  ho.idle_timeout = cfg.duration("idle_timeout");
  ho.write_stall_timeout = cfg.duration("write_timeout");
  ho.max_header_bytes = cfg.count("max_header_bytes");
  ho.log_format = cfg.get("log_format") == "json" ? http::LogFormat::json : http::LogFormat::text;
  ho.shutdown_grace = cfg.duration("shutdown_grace");
  ho.on_drain = [&service] { service.set_draining(); };
  http::Server server(ho, service.handler(), log, logs.access, registry);
  const std::string addr = server.bind();

  // The admin listener: its own request metrics go to a registry nobody renders, so the
  // main listener's numbers stay those of module traffic.
  std::unique_ptr<proxy::Admin> admin;
  std::unique_ptr<http::Server> admin_server;
  metrics::Registry admin_registry;
  if (const auto& admin_listen = cfg.get("admin_listen"); !admin_listen.empty()) {
    admin = std::make_unique<proxy::Admin>(
        proxy::AdminOptions{render_config(cfg),
                            cfg.get("store") == "disk" ? cfg.get("data_dir") : ""},
        service);
    http::ServerOptions ao = ho;
    ao.listen = admin_listen;
    ao.threads = 1;
    ao.on_drain = nullptr;
    admin_server =
        std::make_unique<http::Server>(ao, admin->handler(), log, logs.access, admin_registry);
    log->info("admin listener on http://{}", admin_server->bind());
  }
  server.start();
  if (admin_server) admin_server->start();
  log->info("stoa {} serving http://{} (store: {} {}, upstream: {})", STOA_VERSION, addr,
            cfg.get("store"), cfg.get("store") == "disk" ? cfg.get("data_dir") : "",
            redact_url_credentials(cfg.get("upstream")));

  // An upstream that is this very process would make every miss a loop.
  for (const auto& e : upstreams.entries) {
    const auto id = fetch::get_once(e.base_url + "/_stoa/instance", std::chrono::seconds(3), 256);
    if (id && *id == so.instance_id) {
      log->error("upstream {} is this stoa itself; refusing to serve",
                 redact_url_credentials(e.base_url));
      server.stop();
      server.wait();
      pool.shutdown();
      return 1;
    }
  }
  server.wait();
  if (admin_server) {
    admin_server->stop();
    admin_server->wait();
  }
  pool.shutdown();
  log->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"stoa: a caching Go module proxy"};
  app.require_subcommand(1);
  std::string config_file;
  std::map<std::string, std::string, std::less<>> flags;

  auto add_keys = [&](CLI::App* sub) {
    sub->add_option("--config", config_file, "TOML configuration file (also STOA_CONFIG)");
    for (const auto& k : keys()) {
      std::string help(k.help);
      help +=
          fmt::format(" [env {}{}]", env_name(k.name),
                      k.default_value.empty() ? "" : fmt::format(", default {}", k.default_value));
      sub->add_option_function<std::string>(
          "--" + flag_name(k.name),
          [&flags, name = std::string(k.name)](const std::string& v) { flags[name] = v; }, help);
    }
  };
  auto* serve_cmd = app.add_subcommand("serve", "serve the GOPROXY protocol");
  auto* config_cmd = app.add_subcommand("config", "print the effective configuration and exit");
  app.add_subcommand("version", "print the version and exit");
  add_keys(serve_cmd);
  add_keys(config_cmd);
  bool reference = false;
  config_cmd->add_flag("--reference", reference,
                       "print a configuration file documenting every key with its default");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (app.got_subcommand("version")) {
    std::cout << "stoa " << STOA_VERSION << "\n";
    return 0;
  }

  try {
    const Env env = read_environment();
    if (config_file.empty()) {
      if (auto it = env.find("STOA_CONFIG"); it != env.end()) config_file = it->second;
    }
    RawConfig cfg = load_config(config_file, env, flags);
    if (app.got_subcommand("config") && reference) {
      std::cout << render_reference();
      return 0;
    }
    if (app.got_subcommand("config")) {
      resolve_upstream(cfg);
      std::cout << render_config(cfg);
      return 0;
    }
    return serve(std::move(cfg));
  } catch (const ConfigError& e) {
    std::cerr << "stoa: configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "stoa: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace stoa::cli
