#include "stoa/cli/main.hpp"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <pwd.h>
#include <unistd.h>

#include <sys/resource.h>

#include "stoa/cli/checksum_db.hpp"
#include "stoa/cli/config.hpp"
#include "stoa/cli/index_rebuild.hpp"
#include "stoa/cli/logging.hpp"
#include "stoa/cli/suggest.hpp"
#include "stoa/cli/verify.hpp"
#include "stoa/coord/postgres.hpp"
#include "stoa/coord/redis.hpp"
#include "stoa/direct/direct.hpp"
#include "stoa/direct/loop_guard.hpp"
#include "stoa/direct/routing.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/fetch/validator.hpp"
#include "stoa/fetch/worker_pool.hpp"
#include "stoa/http/server.hpp"
#include "stoa/index/index.hpp"
#include "stoa/metrics/metrics.hpp"
#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/admin.hpp"
#include "stoa/proxy/checksums.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/s3.hpp"
#include "stoa/sumdb/client.hpp"
#include "stoa/sumdb/state.hpp"
#include "stoa/text/redact.hpp"
#include "stoa/trace/options.hpp"
#include "stoa/trace/otlp.hpp"

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

// What `go env NAME` prints on this host (startup only; never on a request path). One go
// command run answers every name; "" for all when the go command is not there.
std::map<std::string, std::string> go_env(const std::vector<std::string>& names) {
  std::string cmd = "go env";
  for (const auto& n : names) cmd += " " + n;
  cmd += " 2>/dev/null";
  std::unique_ptr<FILE, decltype(&::pclose)> p(::popen(cmd.c_str(), "r"), &::pclose);
  std::map<std::string, std::string> out;
  for (const auto& n : names) out[n] = "";
  if (!p) return out;
  std::string text;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p.get()) != nullptr) text += buf.data();
  std::size_t i = 0;
  for (const auto& n : names) {
    const auto nl = text.find('\n', i);
    if (i >= text.size()) break;
    out[n] = text.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
    i = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

// Fills in every default that comes from the go command (upstream, sumdb, no_sumdb) with one
// `go env` run, and remembers GOROOT for the checksum database keys.
std::string fill_go_defaults(RawConfig& cfg) {
  auto& upstream = cfg.values.at("upstream");
  auto& sumdb = cfg.values.at("sumdb");
  auto& no_sumdb = cfg.values.at("no_sumdb");
  const bool need =
      upstream.text.empty() || sumdb.text.empty() || no_sumdb.source == Source::default_value;
  if (!need) return {};
  const auto env = go_env({"GOPROXY", "GOSUMDB", "GONOSUMDB", "GOROOT"});
  // Marked derived, so that `stoa config` says where the value came from.
  if (upstream.text.empty() && !env.at("GOPROXY").empty())
    upstream = {env.at("GOPROXY"), Source::derived, "go env GOPROXY"};
  if (sumdb.text.empty() && !env.at("GOSUMDB").empty())
    sumdb = {env.at("GOSUMDB"), Source::derived, "go env GOSUMDB"};
  if (no_sumdb.source == Source::default_value)
    no_sumdb = {env.at("GONOSUMDB"), Source::derived, "go env GONOSUMDB"};
  return env.at("GOROOT");
}

KnownKeys go_known_keys(const std::string& goroot) {
  if (goroot.empty()) return {};
  std::ifstream in(std::filesystem::path(goroot) / "src/cmd/go/internal/modfetch/key.go");
  std::stringstream ss;
  ss << in.rdbuf();
  return known_keys_from_go_source(ss.str());
}

// Fills in the upstream default and checks that the list names at least one proxy.
fetch::ProxyList resolve_upstream(RawConfig& cfg) {
  auto& v = cfg.values.at("upstream");
  if (v.text.empty()) {
    throw ConfigError(
        "upstream: not set, and `go env GOPROXY` gave nothing (is the go command "
        "installed?); set --upstream or STOA_UPSTREAM");
  }
  std::string error;
  auto list = fetch::parse_proxy_list(v.text, &error);
  if (!list) throw ConfigError(cfg.where("upstream") + ": " + error);
  if (list->entries.empty() && !list->direct) {
    throw ConfigError(cfg.where("upstream") + ": " + text::redact_credentials(v.text) +
                      " names no proxy and not direct: nothing could ever be fetched");
  }
  return *list;
}

// no_sumdb plus private_modules: private modules are never looked up in a checksum database.
std::string not_verified(const RawConfig& cfg) {
  const auto& a = cfg.get("no_sumdb");
  const auto& b = cfg.get("private_modules");
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

std::string random_instance_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

// The S3 store's options: config keys first, then the standard AWS_* environment variables.
store::S3Options s3_options(const RawConfig& cfg) {
  auto from = [&](std::string_view key, std::initializer_list<const char*> vars) {
    if (const std::string& v = cfg.get(key); !v.empty()) return v;
    for (const char* var : vars) {
      if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return std::string(v);
    }
    return std::string();
  };
  store::S3Options o;
  o.bucket = cfg.get("s3_bucket");
  if (o.bucket.empty()) throw ConfigError("store = \"s3\" needs s3_bucket");
  o.prefix = cfg.get("s3_prefix");
  o.region = from("s3_region", {"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (o.region.empty()) o.region = "us-east-1";
  o.endpoint = cfg.get("s3_endpoint");
  // An endpoint derived from the region is AWS's own (derive_defaults()).
  const bool aws = o.endpoint.empty() || cfg.values.at("s3_endpoint").source == Source::derived;
  const std::string& addressing = cfg.get("s3_addressing");
  o.virtual_host = addressing == "virtual" || (addressing == "auto" && aws);
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  o.access_key = from("s3_access_key", {"AWS_ACCESS_KEY_ID"});
  o.secret_key = from("s3_secret_key", {"AWS_SECRET_ACCESS_KEY"});
  o.session_token = from("s3_session_token", {"AWS_SESSION_TOKEN"});
  if (o.access_key.empty() || o.secret_key.empty()) {
    throw ConfigError(
        "store = \"s3\" needs credentials: s3_access_key and s3_secret_key, or the "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables");
  }
  const std::string& cond = cfg.get("s3_conditional_write");
  o.conditional = cond == "on"    ? store::ConditionalWrite::on
                  : cond == "off" ? store::ConditionalWrite::off
                                  : store::ConditionalWrite::automatic;
  o.part_size = cfg.count("s3_part_size");  // at least 5 MiB, the S3 minimum (the key table)
  o.spool_dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-s3-spool";
  o.connect_timeout = cfg.duration("connect_timeout");
  o.stall_timeout = cfg.duration("stall_timeout");
  return o;
}

// Where the store is, for the log: the data directory or the bucket (never credentials).
std::string store_location(const RawConfig& cfg) {
  if (cfg.get("store") == "disk") return cfg.get("data_dir");
  if (cfg.get("store") == "s3") {
    const std::string& ep = cfg.get("s3_endpoint");
    return (ep.empty() || cfg.values.at("s3_endpoint").source == Source::derived
                ? std::string("aws")
                : text::redact_credentials(ep)) +
           " bucket " + cfg.get("s3_bucket") +
           (cfg.get("s3_prefix").empty() ? "" : " prefix " + cfg.get("s3_prefix"));
  }
  return "";
}

// upstream_redirect_allow: comma-separated CIDR networks.
std::vector<fetch::Network> redirect_allow(const std::string& list) {
  std::vector<fetch::Network> out;
  std::string_view rest = list;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.empty()) continue;
    const auto network = fetch::parse_network(item);
    if (!network) {
      throw ConfigError("upstream_redirect_allow: not a network (CIDR, host bits zero): " +
                        std::string(item));
    }
    out.push_back(*network);
  }
  return out;
}

// The parts every command that touches the store and upstream needs, built from the configuration.
struct Core {
  fetch::ProxyList upstreams;
  std::optional<ChecksumDb> db;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<store::Redirector> zip_redirector;  // s3_presign_ttl > 0 only
  fetch::UpstreamOptions upstream_options;
  std::unique_ptr<fetch::Upstream> upstream;
  // The checksum database: reached through the upstream proxies' /sumdb/<name>/ unless it has a
  // URL of its own; tiles it authenticates and lookups it verifies are kept in the store (and
  // served from there when it is unreachable), its latest tree head on disk.
  std::unique_ptr<fetch::Upstream> sumdb_upstream;
  std::unique_ptr<sumdb::Fetcher> sumdb_fetcher;
  std::unique_ptr<sumdb::TileCache> sumdb_tiles;
  std::unique_ptr<sumdb::LookupCache> sumdb_lookups;
  std::unique_ptr<sumdb::TreeState> sumdb_state;
  std::unique_ptr<sumdb::Client> sumdb_client;
  proxy::DatabaseSource sumdb_source;
};

// The store named by `store`.
std::unique_ptr<store::Store> make_store(const RawConfig& cfg) {
  if (cfg.get("store") == "s3") return store::make_s3_store(s3_options(cfg));
  if (cfg.get("store") == "memory") {
    const auto staging = std::filesystem::temp_directory_path() / ("stoa-" + random_instance_id());
    std::filesystem::create_directories(staging);
    return store::make_memory_store(staging);
  }
  return store::make_disk_store(cfg.get("data_dir"));
}

Core make_core(RawConfig& cfg) {
  Core c;
  const std::string goroot = fill_go_defaults(cfg);
  c.upstreams = resolve_upstream(cfg);
  const ChecksumDbSetting setting = parse_checksum_db(cfg.get("sumdb"), go_known_keys(goroot));
  if (!setting.error.empty()) throw ConfigError(cfg.where("sumdb") + ": " + setting.error);
  c.db = setting.db;

  c.store = make_store(cfg);
  if (cfg.get("store") == "s3") {
    if (const auto ttl = cfg.duration("s3_presign_ttl"); ttl.count() > 0) {
      c.zip_redirector = store::make_s3_redirector(
          s3_options(cfg),
          std::max(std::chrono::seconds(1), std::chrono::duration_cast<std::chrono::seconds>(ttl)));
    }
  }

  auto& uo = c.upstream_options;
  uo.proxies = c.upstreams;
  uo.connect_timeout = cfg.duration("connect_timeout");
  uo.total_timeout = cfg.duration("fetch_timeout");
  uo.stall_timeout = cfg.duration("stall_timeout");
  uo.redirect_allow = redirect_allow(cfg.get("upstream_redirect_allow"));
  uo.user_agent = "stoa/" STOA_VERSION;
  c.upstream = fetch::make_http_upstream(uo);

  if (const auto& db = c.db) {
    if (db->url.empty() && c.upstreams.entries.empty()) {
      // Only "direct": like the go command, reach the database at https://<name>.
      fetch::UpstreamOptions dbo = uo;
      dbo.proxies = *fetch::parse_proxy_list("https://" + db->name);
      c.sumdb_upstream = fetch::make_http_upstream(dbo);
      c.sumdb_source = {c.sumdb_upstream.get(), ""};
    } else if (db->url.empty()) {
      c.sumdb_source = {c.upstream.get(), "sumdb/" + db->name + "/"};
    } else {
      fetch::UpstreamOptions dbo = uo;
      std::string error;
      auto list = fetch::parse_proxy_list(db->url, &error);
      if (!list) throw ConfigError(cfg.where("sumdb") + ": " + error);
      dbo.proxies = *list;
      c.sumdb_upstream = fetch::make_http_upstream(dbo);
      c.sumdb_source = {c.sumdb_upstream.get(), ""};
    }
    c.sumdb_fetcher = proxy::make_upstream_fetcher(c.sumdb_source);
    c.sumdb_tiles = proxy::make_store_tile_cache(*c.store, db->name);
    c.sumdb_lookups = proxy::make_store_lookup_cache(*c.store, db->name);
    // The latest verified tree head is this process's own memory of the database, kept on local
    // disk (with an S3 store too: each replica remembers what it has verified).
    if (cfg.get("store") == "disk" || cfg.get("store") == "s3") {
      const auto dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "sumdb";
      std::filesystem::create_directories(dir);
      c.sumdb_state = sumdb::make_file_tree_state(dir / (db->name + ".latest"));
    } else {
      c.sumdb_state = sumdb::make_memory_tree_state();
    }
    c.sumdb_client =
        std::make_unique<sumdb::Client>(sumdb::ClientOptions{db->name, db->key}, *c.sumdb_fetcher,
                                        *c.sumdb_tiles, *c.sumdb_state, c.sumdb_lookups.get());
  }
  return c;
}

// Who may read /metrics, /index and /catalog on the main listener: operational_endpoints, by
// default "authenticated" when clients have credentials to authenticate with (derive_defaults()
// fills it in; this is the same rule again for a configuration that did not go through it).
proxy::ServiceOptions::OperationalAccess operational_access(const RawConfig& cfg) {
  using Access = proxy::ServiceOptions::OperationalAccess;
  const std::string& v = cfg.get("operational_endpoints");
  if (v == "admin") return Access::admin_only;
  if (v == "authenticated") return Access::authenticated;
  if (v == "public") return Access::anyone;
  const bool credentials = !cfg.get("users_file").empty() || !cfg.get("tokens_file").empty();
  return credentials ? Access::authenticated : Access::anyone;
}

// How long to wait for another replica's lock: lock_wait, by default fetch_timeout (the holder's
// own transfer is bounded by it; derive_defaults() fills it in, this is the same rule again for
// a configuration that did not go through it).
std::chrono::milliseconds lock_wait(const RawConfig& cfg) {
  return cfg.get("lock_wait").empty() ? cfg.duration("fetch_timeout") : cfg.duration("lock_wait");
}

// The cross-replica lock named by `lock` (nullptr for none). Connects lazily.
std::unique_ptr<coord::Locks> make_locks(const RawConfig& cfg) {
  const std::string& kind = cfg.get("lock");
  if (kind == "none") return nullptr;
  const std::string url_key = kind == "redis" ? "redis_url" : "postgres_url";
  const std::string& url = cfg.get(url_key);
  if (url.empty()) throw ConfigError(cfg.where("lock") + ": lock = " + kind + " needs " + url_key);
  try {
    if (kind == "redis") {
      return coord::make_redis_locks({url, cfg.duration("lock_lease")});
    }
    return coord::make_postgres_locks({url});
  } catch (const coord::LockError& e) {
    throw ConfigError(e.what());
  }
}

// The policy files: the rules file, or else the configuration file's own [[rule]] tables.
policy::PolicyFiles policy_files(const RawConfig& cfg, const std::string& config_file) {
  return {cfg.get("rules_file").empty() ? config_file : cfg.get("rules_file"),
          cfg.get("users_file"), cfg.get("tokens_file")};
}

std::unique_ptr<policy::Policy> make_policy(const RawConfig& cfg, const std::string& config_file,
                                            fetch::UpstreamOptions base) {
  auto factory = [base](const std::string& list) {
    std::string error;
    auto parsed = fetch::parse_proxy_list(list, &error);
    if (!parsed) throw std::runtime_error(error);
    if (parsed->entries.empty())
      throw std::runtime_error("names no proxy (direct fetching is not supported yet)");
    fetch::UpstreamOptions o = base;
    o.proxies = *parsed;
    return fetch::make_http_upstream(o);
  };
  try {
    return std::make_unique<policy::Policy>(policy_files(cfg, config_file), factory);
  } catch (const policy::LoadError& e) {
    throw ConfigError(e.what());
  }
}

// The index named by `index` (nullptr for none). A PostgreSQL index connects lazily.
std::unique_ptr<index::Index> make_index(const RawConfig& cfg) {
  const std::string& kind = cfg.get("index");
  if (kind == "none") return nullptr;
  if (kind == "postgres") {
    if (cfg.get("postgres_url").empty()) throw ConfigError("index = postgres needs postgres_url");
    return index::make_postgres_index(cfg.get("postgres_url"));
  }
  // The memory store forgets everything on exit: so does its index. Every other store keeps the
  // index in a file of the data directory (for an object store: this machine's own, see
  // check_index_sharing).
  if (cfg.get("store") == "memory") return index::make_sqlite_index(":memory:");
  const auto dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-state";
  std::filesystem::create_directories(dir);
  try {
    return index::make_sqlite_index((dir / "index.sqlite").string());
  } catch (const index::IndexError& e) {
    throw ConfigError(std::string("index: ") + e.what());
  }
}

// Direct fetching with the go command: built by serve() when the upstream list ends in
// "direct" or private_modules is set.
struct Direct {
  std::filesystem::path dir;
  direct::RunningGroups running;
  std::unique_ptr<fetch::Upstream> source;
  std::unique_ptr<fetch::Upstream> routing;
  direct::RoutingOptions routes;
  bool have_proxy = false;
  std::unique_ptr<fetch::WorkerPool> pool;
};

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

std::vector<std::string> split_names(const std::string& list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    auto end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    std::string n = list.substr(pos, end - pos);
    n.erase(0, n.find_first_not_of(" \t"));
    n.erase(n.find_last_not_of(" \t") + 1);
    if (!n.empty()) out.push_back(n);
    pos = end + 1;
  }
  return out;
}

std::unique_ptr<Direct> make_direct(const RawConfig& cfg, Core& core, metrics::Registry& registry,
                                    const std::shared_ptr<spdlog::logger>& log) {
  const bool wanted = core.upstreams.direct || !cfg.get("private_modules").empty();
  if (!wanted) return nullptr;
  auto d = std::make_unique<Direct>();
  namespace fs = std::filesystem;
  d->dir = cfg.get("direct_dir");
  if (d->dir.empty() || cfg.values.at("direct_dir").source == Source::derived) {
    d->dir = cfg.get("store") == "disk"
                 ? fs::path(cfg.get("data_dir")) / ".stoa-state" / "direct"
                 : fs::temp_directory_path() / ("stoa-direct-" + random_instance_id());
  }
  d->dir = fs::absolute(d->dir);
  direct::DirectOptions o;
  const char* path = std::getenv("PATH");
  o.env.path = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  o.go_binary = cfg.get("go_binary");
  if (!executable_in_path(o.go_binary, o.env.path)) {
    throw ConfigError(cfg.where("go_binary") + ": " + o.go_binary +
                      " is not an executable (direct fetching runs the go command)");
  }
  try {
    for (const auto* sub : {"modcache", "gocache", "gopath", "work", "home"})
      fs::create_directories(d->dir / sub);
  } catch (const fs::filesystem_error& e) {
    throw ConfigError("direct_dir: cannot create " + d->dir.string() + ": " + e.code().message());
  }
  o.env.mod_cache = (d->dir / "modcache").string();
  o.env.go_cache = (d->dir / "gocache").string();
  o.env.go_path = (d->dir / "gopath").string();
  o.work_root = d->dir / "work";
  // The default HOME (also when derive_defaults() spelled it out) is under the absolute dir.
  const bool default_home =
      cfg.get("direct_home").empty() || cfg.values.at("direct_home").source == Source::derived;
  o.env.home = default_home ? (d->dir / "home").string() : cfg.get("direct_home");
  o.env.govcs = cfg.get("direct_govcs");
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    o.env.user = pw->pw_name;
  }
  o.env.private_patterns = cfg.get("private_modules");
  o.env.insecure = cfg.get("direct_insecure");
  if (const auto& netrc = cfg.get("direct_netrc"); !netrc.empty()) {
    if (::access(netrc.c_str(), R_OK) != 0)
      throw ConfigError("direct_netrc: " + netrc + " cannot be read");
    o.env.netrc = fs::absolute(netrc).string();
    if (default_home) {
      // git (through curl) reads only ~/.netrc: the default HOME gets a link to the file.
      const auto link = d->dir / "home" / ".netrc";
      std::error_code ec;
      fs::remove(link, ec);
      fs::create_symlink(o.env.netrc, link, ec);
      if (ec) throw ConfigError("direct_netrc: cannot link it into " + link.string());
    }
  }
  if (const auto& gc = cfg.get("direct_git_config"); !gc.empty()) {
    if (::access(gc.c_str(), R_OK) != 0)
      throw ConfigError("direct_git_config: " + gc + " cannot be read");
    o.env.git_config = fs::absolute(gc).string();
  }
  if (const auto& key = cfg.get("direct_ssh_key"); !key.empty()) {
    if (key.find_first_of(" \t'\"\\$`") != std::string::npos)
      throw ConfigError("direct_ssh_key: the path may not contain blanks, quotes, '$' or '\\'");
    if (::access(key.c_str(), R_OK) != 0)
      throw ConfigError("direct_ssh_key: " + key + " cannot be read");
    o.env.ssh_key = fs::absolute(key).string();
  }
  for (const auto& name : split_names(cfg.get("direct_pass_env"))) {
    if (name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
        std::string::npos)
      throw ConfigError("direct_pass_env: not a variable name: " + name);
    if (direct::is_reserved_env_name(name))
      throw ConfigError("direct_pass_env: " + name + " is set by stoa itself for the go command");
    if (const char* v = std::getenv(name.c_str()); v != nullptr)
      o.env.passed.push_back(name + "=" + v);
  }
  o.timeout = cfg.duration("direct_timeout");
  o.negative_ttl = cfg.duration("direct_negative_ttl");
  o.max_running = std::max<std::uint64_t>(1, cfg.count("direct_workers"));
  o.running = &d->running;
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
  const std::size_t workers = o.max_running;
  d->source = direct::make_direct_source(std::move(o));
  d->have_proxy = !core.upstreams.entries.empty();
  d->routes = {cfg.get("private_modules"), core.upstreams.direct};
  d->routing = direct::make_routing_upstream(d->have_proxy ? core.upstream.get() : nullptr,
                                             *d->source, d->routes);
  d->pool = std::make_unique<fetch::WorkerPool>(workers, cfg.count("fetch_queue"));
  log->info("direct fetching with {} into {} (GOVCS {}; private modules: {})", cfg.get("go_binary"),
            d->dir.string(), cfg.get("direct_govcs").empty() ? "default" : cfg.get("direct_govcs"),
            cfg.get("private_modules").empty() ? "-" : cfg.get("private_modules"));
  return d;
}

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

int rules_test(const RawConfig& cfg, const std::string& config_file, const std::string& what) {
  const auto at = what.rfind('@');
  const std::string mod = what.substr(0, at);
  std::string version = at == std::string::npos ? "" : what.substr(at + 1);
  if (auto bad = module::check_path(mod)) {
    std::cerr << "stoa rules test: " << *bad << "\n";
    return 2;
  }
  if (at != std::string::npos && !module::semver::is_valid(version)) {
    std::cerr << "stoa rules test: " << module::excerpt(version)
              << " is not a semantic version (like v1.2.3)\n";
    return 2;
  }
  version = module::semver::canonical(version);
  const auto p = make_policy(cfg, config_file, {});
  const auto snap = p->current();
  const auto files = policy_files(cfg, config_file);
  std::cout << "rules from " << (files.rules_file.empty() ? "(none)" : files.rules_file) << ": "
            << snap->rules.rules.size() << "\n";
  std::cout << snap->rules.explain(snap->rules.match(mod, version), mod, version);
  return 0;
}

int serve(RawConfig cfg, const std::string& config_file) {
  // A client that hangs up during sendfile(2) must cost an EPIPE, not the process (send()
  // has MSG_NOSIGNAL, sendfile has no such flag). Before any thread starts.
  std::signal(SIGPIPE, SIG_IGN);
  Core core = make_core(cfg);
  const Loggers logs =
      make_loggers(cfg.get("log_format"), cfg.get("log_level"), cfg.boolean("access_log"));
  const auto& log = logs.app;
  const auto& upstreams = core.upstreams;
  if (upstreams.off) {
    log->warn("upstream {}: 'off' and the entries after it are ignored",
              text::redact_credentials(cfg.get("upstream")));
  }
  auto& store = core.store;
  metrics::Registry registry;
  const std::unique_ptr<Direct> direct = make_direct(cfg, core, registry, log);
  fetch::Upstream& upstream = direct ? *direct->routing : *core.upstream;
  raise_fd_limit(*log);
  const auto policy = make_policy(cfg, config_file, core.upstream_options);
  {
    const auto snap = policy->current();
    if (!snap->rules.rules.empty() || !snap->credentials->empty()) {
      log->info("policy: {} rule(s), {} user(s), {} token(s)", snap->rules.rules.size(),
                snap->credentials->users(), snap->credentials->tokens());
    }
  }
  auto reload_policy = [&policy, log](bool only_if_changed) {
    bool tried = true;
    const auto error = only_if_changed ? policy->reload_if_changed(&tried) : policy->reload();
    if (!tried) return;
    if (error) {
      log->error("policy reload failed; keeping the previous rules and credentials: {}", *error);
      return;
    }
    const auto snap = policy->current();
    log->info("policy reloaded: {} rule(s), {} user(s), {} token(s)", snap->rules.rules.size(),
              snap->credentials->users(), snap->credentials->tokens());
  };

  fetch::WorkerPool pool(cfg.count("fetch_workers"), cfg.count("fetch_queue"));
  // Credential checks apart from fetches: a flood of logins never queues ahead of misses.
  fetch::WorkerPool auth_pool(cfg.count("auth_workers"), cfg.count("auth_queue"));

  std::unique_ptr<fetch::Validator> validator;
  if (const auto& url = cfg.get("validator_url"); !url.empty()) {
    validator = fetch::make_http_validator(url, cfg.duration("validator_timeout"));
  }
  if (const auto& db = core.db) {
    log->info("verifying against checksum database {} (via {}); not for: {}", db->name,
              db->url.empty() ? "the upstream proxies" : text::redact_credentials(db->url),
              cfg.get("no_sumdb").empty() ? "-" : cfg.get("no_sumdb"));
  } else {
    log->warn("sumdb = off: downloads are not checked against a checksum database");
  }

  // Tracing: the OTEL_* environment, with otlp_endpoint taking precedence. Export is
  // asynchronous; a slow or dead collector only costs dropped spans (counted below).
  trace::TraceOptions to = trace::from_environment(trace::process_environment());
  if (const auto& ep = cfg.get("otlp_endpoint"); !ep.empty()) {
    to.endpoint = ep;
    while (!to.endpoint.empty() && to.endpoint.back() == '/') to.endpoint.pop_back();
    to.endpoint += "/v1/traces";
  }
  to.on_error = [log](std::string_view message) { log->warn("trace export: {}", message); };
  trace::Tracer tracer = trace::make_tracer(to);
  if (tracer.enabled()) log->info("exporting traces to {}", text::redact_credentials(to.endpoint));

  const std::unique_ptr<coord::Locks> locks = make_locks(cfg);
  if (locks) {
    log->info("cross-replica lock: {} at {} (lease {} ms, wait up to {} ms)", locks->backend(),
              text::redact_credentials(
                  cfg.get(cfg.get("lock") == "redis" ? "redis_url" : "postgres_url")),
              cfg.duration("lock_lease").count(), lock_wait(cfg).count());
  }

  // An index file is one machine's: replicas sharing an object store would each publish only
  // what they stored themselves at /index and /catalog.
  if (cfg.get("store") == "s3" && cfg.get("index") == "sqlite") {
    if (cfg.get("lock") != "none") {
      throw ConfigError(cfg.where("index") +
                        ": index = sqlite keeps the index in a file on this machine, but lock = " +
                        cfg.get("lock") +
                        " says replicas share the bucket, and each would list only what it "
                        "stored itself: set index = postgres (one index for all) or none");
    }
    log->warn(
        "index = sqlite with store = s3: the index is a file of this machine ({}/.stoa-state/"
        "index.sqlite); replicas sharing the bucket need index = postgres. `stoa index rebuild` "
        "fills it from the bucket",
        cfg.get("data_dir"));
  }
  const std::unique_ptr<index::Index> index = make_index(cfg);

  proxy::ServiceOptions so;
  so.index = index.get();
  so.origin = text::redact_credentials(cfg.get("upstream"));
  so.locks = locks.get();
  so.lock_wait = lock_wait(cfg);
  so.tracer = &tracer;
  so.store_backend = cfg.get("store");
  so.zip_redirector = core.zip_redirector.get();
  so.checksum_db = core.sumdb_client.get();
  so.no_sumdb = not_verified(cfg);
  if (direct) {
    so.direct_pool = direct->pool.get();
    so.goes_direct = [d = direct.get()](std::string_view module) {
      return direct::route_of(d->routes, d->have_proxy, module) == direct::Route::direct;
    };
    so.from_own_fetcher = [d = direct.get()](const proxy::HttpRequest& req) {
      // A client on the unix socket has no address; the go command cannot use a unix socket.
      if (d->running.empty() || req.remote_address.empty()) return false;
      return direct::connection_from_groups(req.remote_address, req.remote_port,
                                            d->running.snapshot());
    };
  }
  if (core.db) so.sumdb_sources.emplace(core.db->name, core.sumdb_source);
  so.validator = validator.get();
  so.validator_allows_on_error = cfg.get("validator_failure") == "allow";
  so.list_ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.duration("list_ttl"));
  so.instance_id = random_instance_id();
  so.memory_cache_bytes = cfg.count("memory_cache_bytes");
  so.memory_cache_max_object = cfg.count("memory_cache_max_object");
  so.policy = policy.get();
  so.auth_pool = &auth_pool;
  so.login_limit.max_failures = cfg.count("auth_max_failures");
  so.login_limit.window =
      std::chrono::duration_cast<std::chrono::seconds>(cfg.duration("auth_failure_window"));
  if (so.login_limit.max_failures > 0 && so.login_limit.window.count() < 1) {
    throw ConfigError(cfg.where("auth_failure_window") +
                      ": must be at least 1s (or auth_max_failures = 0: no limit)");
  }
  so.operational_access = operational_access(cfg);
  // A `private` rule without an upstream of its own fetches with the go command, when direct
  // fetching is configured.
  so.private_source = direct ? direct->source.get() : nullptr;
  so.scratch_dir = cfg.get("store") == "disk"
                       ? std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "passthrough"
                       : std::filesystem::temp_directory_path();
  std::filesystem::create_directories(so.scratch_dir);
  if (cfg.get("store") == "disk") {
    // Passthrough downloads are unlinked once checked; a crash before that leaves them here.
    for (const auto& e : std::filesystem::directory_iterator(so.scratch_dir)) {
      if (e.path().filename().string().starts_with("pass-")) std::filesystem::remove(e.path());
    }
  }
  registry.gauge("stoa_build_info", "Always 1; the labels say which stoa this is.", {"version"})
      .with({STOA_VERSION})
      .set(1);
  registry.callback_gauge("stoa_trace_spans_exported", "Spans sent to the trace collector.",
                          [&tracer] { return static_cast<double>(tracer.stats().spans_exported); });
  registry.callback_gauge(
      "stoa_trace_spans_dropped",
      "Spans dropped (queue full or collector failing): tracing never slows serving.", [&tracer] {
        const auto st = tracer.stats();
        return static_cast<double>(st.spans_dropped + st.spans_failed);
      });
  proxy::Service service(so, *store, upstream, pool, log, registry);

  http::ServerOptions ho;
  ho.listen = cfg.get("listen");
  ho.threads = cfg.count("threads");
  if (ho.threads == 0 && cfg.get("store") == "s3") {
    // An S3 read blocks its serving thread for a round trip (and a spooled body's transfer):
    // more threads keep other requests moving meanwhile.
    ho.threads = std::max<std::uint64_t>(8, 4 * std::thread::hardware_concurrency());
  }
  ho.header_timeout = cfg.duration("header_timeout");
  ho.idle_timeout = cfg.duration("idle_timeout");
  ho.write_stall_timeout = cfg.duration("write_timeout");
  ho.max_header_bytes = cfg.count("max_header_bytes");
  ho.log_format = cfg.get("log_format") == "json" ? http::LogFormat::json : http::LogFormat::text;
  ho.shutdown_grace = cfg.duration("shutdown_grace");
  ho.on_drain = [&service] { service.set_draining(); };
  ho.tracer = &tracer;
  // One counter for the main and the admin listener (ao copies it): a request id names one
  // request of this process.
  ho.request_ids = std::make_shared<std::atomic<std::uint64_t>>(0);
  ho.tls_cert = cfg.get("tls_cert");
  ho.tls_key = cfg.get("tls_key");
  ho.path_prefix = cfg.get("path_prefix");
  ho.on_reload = [&reload_policy] { reload_policy(false); };
  ho.on_check = [&reload_policy] { reload_policy(true); };
  ho.check_interval = cfg.duration("rules_check_interval");
  http::Server server(ho, service.handler(), log, logs.access, registry);
  const std::string addr = server.bind();

  // The admin listener: its own request metrics go to a registry nobody renders, so the
  // main listener's numbers stay those of module traffic.
  // Declared first, so destroyed last: the server's connections still count themselves in it
  // when the server goes.
  metrics::Registry admin_registry;
  std::unique_ptr<proxy::Admin> admin;
  std::unique_ptr<http::Server> admin_server;
  if (const auto& admin_listen = cfg.get("admin_listen"); !admin_listen.empty()) {
    admin = std::make_unique<proxy::Admin>(
        proxy::AdminOptions{render_config(cfg),
                            cfg.get("store") == "disk" ? cfg.get("data_dir") : ""},
        service);
    http::ServerOptions ao = ho;
    ao.listen = admin_listen;
    ao.threads = 1;
    ao.on_drain = nullptr;
    ao.on_reload = nullptr;
    ao.on_check = nullptr;
    ao.tls_cert.clear();
    ao.tls_key.clear();
    ao.path_prefix.clear();
    admin_server =
        std::make_unique<http::Server>(ao, admin->handler(), log, logs.access, admin_registry);
    const std::string admin_addr = admin_server->bind();
    log->info("admin listener on {}{}", admin_addr.starts_with("unix:") ? "http over " : "http://",
              admin_addr);
  }
  server.start();
  if (admin_server) admin_server->start();
  log->info("stoa {} serving {}{}{} (store: {} {}, upstream: {})", STOA_VERSION,
            addr.starts_with("unix:")     ? "http over "
            : cfg.get("tls_cert").empty() ? "http://"
                                          : "https://",
            addr, cfg.get("path_prefix"), cfg.get("store"), store_location(cfg),
            text::redact_credentials(cfg.get("upstream")));

  // An upstream that is this very process would make every miss a loop.
  for (const auto& e : upstreams.entries) {
    const auto id = fetch::get_once(e.base_url + "/_stoa/instance", std::chrono::seconds(3), 256);
    if (id && *id == so.instance_id) {
      log->error("upstream {} is this stoa itself; refusing to serve",
                 text::redact_credentials(e.base_url));
      server.stop();
      server.wait();
      auth_pool.shutdown();  // its tasks may still queue fetches
      pool.shutdown();
      if (direct) direct->pool->shutdown();
      return 1;
    }
  }
  server.wait();
  if (admin_server) {
    admin_server->stop();
    admin_server->wait();
  }
  auth_pool.shutdown();  // its tasks may still queue fetches
  pool.shutdown();
  if (direct) direct->pool->shutdown();
  tracer.shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  log->info("stopped");
  return 0;
}

int verify(RawConfig cfg, bool quarantine, bool repair) {
  if (cfg.get("store") == "memory") throw ConfigError("verify: the memory store is empty");
  if (quarantine && cfg.get("store") != "disk") {
    throw ConfigError(
        "verify --quarantine: works on the disk store only (stoa never moves or deletes an "
        "object in a bucket; remove what verify reports BAD with the bucket's own tools)");
  }
  Core core = make_core(cfg);
  VerifyOptions vo;
  vo.store = core.store.get();
  vo.data_dir = cfg.get("data_dir");
  vo.checksum_db = core.sumdb_client.get();
  vo.no_sumdb = not_verified(cfg);
  vo.quarantine = quarantine;
  vo.repair = repair;
  const VerifyReport r = verify_store(vo, std::cout);
  return r.bad > 0 || r.stale > r.repaired ? 1 : 0;
}

int rebuild(RawConfig cfg) {
  if (cfg.get("store") == "memory") throw ConfigError("index rebuild: the memory store is empty");
  const auto idx = make_index(cfg);
  if (!idx) throw ConfigError("index rebuild: index = none");
  fill_go_defaults(cfg);  // no_sumdb from `go env GONOSUMDB` unless set
  const auto st = make_store(cfg);
  rebuild_index(*st, not_verified(cfg), *idx, std::cout);
  return 0;
}

// The name of a subcommand the user meant when argv names one that does not exist ("stoa
// servee", "stoa index rebiuld"): walks argv down the subcommand tree (only leaf commands take
// options with values); nullopt when every command word is known.
struct UnknownCommand {
  std::string path;  // "stoa" or "stoa index": where the unknown word was
  std::string typed;
  std::optional<std::string> suggestion;
};

std::optional<UnknownCommand> unknown_command(const CLI::App& root, int argc, char** argv) {
  const CLI::App* app = &root;
  std::string path = "stoa";
  for (int i = 1; i < argc; ++i) {
    const std::string_view word(argv[i]);
    if (word.starts_with("-")) continue;
    const auto subs = app->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;
    const CLI::App* next = nullptr;
    std::vector<std::string_view> names;
    for (const auto* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) return UnknownCommand{path, std::string(word), closest(word, names)};
    app = next;
    path += " " + std::string(word);
  }
  return std::nullopt;
}

// The usage error of a failed parse as one line on stderr, exit status 2 (as documented for
// every usage and configuration error); help and --version exit 0 as CLI11 prints them.
int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  if (const auto u = unknown_command(app, argc, argv)) {
    std::cerr << u->path << ": unknown command \"" << module::excerpt(u->typed) << "\"";
    if (u->suggestion) std::cerr << "; did you mean \"" << *u->suggestion << "\"?";
    std::cerr << " (" << u->path << " --help lists the commands)\n";
    return 2;
  }
  // The deepest subcommand that was recognised, for the pointer to its --help.
  std::string path = "stoa";
  for (const CLI::App* a = &app;;) {
    const auto parsed = a->get_subcommands();
    if (parsed.empty()) break;
    a = parsed.front();
    path += " " + a->get_name();
  }
  std::cerr << path << ": " << e.what() << " (" << path << " --help lists the options)\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"stoa: a caching Go module proxy"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stoa " STOA_VERSION, "print the version and exit");
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
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "re-hash every stored .zip and .mod against its recorded hash and the checksum database, "
      "check the lists and hashes derived from them; exit 1 if anything is wrong");
  bool quarantine = false;
  verify_cmd->add_flag(
      "--quarantine", quarantine,
      "move the files of bad versions to <data_dir>/.stoa-quarantine/ (never deletes)");
  bool repair = false;
  verify_cmd->add_flag("--repair", repair,
                       "rewrite stale module lists and missing .ziphash/.modhash files from the "
                       "stored versions (safe while serving)");
  auto* index_cmd = app.add_subcommand("index", "the index of stored versions");
  index_cmd->require_subcommand(1);
  auto* rebuild_cmd = index_cmd->add_subcommand(
      "rebuild", "record every version of the disk store in the index (safe while serving)");
  app.add_subcommand("version", "print the version and exit");
  auto* passwd_cmd = app.add_subcommand(
      "passwd", "read a password from stdin and print a users_file line NAME:<bcrypt hash>");
  std::string passwd_name;
  passwd_cmd->add_option("name", passwd_name, "user name")->required();
  auto* rules_cmd = app.add_subcommand("rules", "policy rules");
  rules_cmd->require_subcommand(1);
  auto* rules_test_cmd = rules_cmd->add_subcommand(
      "test", "print which rule applies to MODULE[@VERSION] and why (exit 2 on bad input)");
  std::string rules_target;
  rules_test_cmd->add_option("target", rules_target, "module path, optionally @version")
      ->required();
  add_keys(rules_test_cmd);
  add_keys(serve_cmd);
  add_keys(config_cmd);
  add_keys(verify_cmd);
  add_keys(rebuild_cmd);
  bool reference = false;
  config_cmd->add_flag("--reference", reference,
                       "print a configuration file documenting every key with its default");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return usage_error(app, e, argc, argv);
  }
  if (app.got_subcommand("passwd")) {
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty() || passwd_name.empty() || passwd_name.find(':') != std::string::npos) {
      std::cerr << "stoa passwd: need a name without ':' and a non-empty password on stdin\n";
      return 2;
    }
    const auto hash = policy::hash_password(password);
    if (!hash) {
      std::cerr << "stoa passwd: libcrypt could not make a bcrypt hash\n";
      return 1;
    }
    std::cout << passwd_name << ":" << *hash << "\n";
    return 0;
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
    derive_defaults(cfg, config_file, [](const char* name) {
      const char* v = std::getenv(name);
      return std::string(v != nullptr ? v : "");
    });
    if (app.got_subcommand("config") && reference) {
      std::cout << render_reference();
      return 0;
    }
    if (app.got_subcommand("config")) {
      fill_go_defaults(cfg);
      resolve_upstream(cfg);
      std::cout << render_config(cfg);
      return 0;
    }
    if (app.got_subcommand("verify")) return verify(std::move(cfg), quarantine, repair);
    if (app.got_subcommand("index")) return rebuild(std::move(cfg));
    if (app.got_subcommand("rules")) return rules_test(cfg, config_file, rules_target);
    return serve(std::move(cfg), config_file);
  } catch (const ConfigError& e) {
    std::cerr << "stoa: configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "stoa: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace stoa::cli
