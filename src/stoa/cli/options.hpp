#pragma once
// The typed options of every component, read from the raw key table (config.hpp): the one place
// that looks at configuration keys. Below cli/ nothing compares configuration strings.
//
// Pure: no file system, environment, clock or network (what needs them, such as a temporary
// directory, the go command's defaults or a connection, is the wiring's: graph.hpp). Every
// error is a ConfigError that names the key and where its value came from (RawConfig::where).
// The defaults that come from the go command (upstream, sumdb, no_sumdb) must be filled in
// before (go_defaults.hpp); those derived from other keys by derive_defaults().

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/cli/checksum_db.hpp"
#include "stoa/cli/config.hpp"
#include "stoa/fetch/upstream.hpp"
#include "stoa/http/server.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/admin.hpp"
#include "stoa/proxy/service.hpp"
#include "stoa/store/azure/azure.hpp"
#include "stoa/store/gcs/gcs.hpp"
#include "stoa/store/mongodb/mongodb.hpp"
#include "stoa/store/s3/s3.hpp"

namespace stoa::cli {

enum class StoreKind { disk, memory, s3, gcs, azure, mongodb };
std::string_view to_string(StoreKind kind);

struct StoreConfig {
  StoreKind kind = StoreKind::disk;
  std::filesystem::path data_dir;
  std::optional<store::S3Options> s3;          // kind == s3
  std::optional<store::GcsOptions> gcs;        // kind == gcs
  std::optional<store::AzureOptions> azure;    // kind == azure
  std::optional<store::MongoOptions> mongodb;  // kind == mongodb
  std::chrono::seconds presign_ttl{0};  // kind == s3: answer zips with a presigned URL; 0: off
  std::string location;                 // for the log: the directory or the bucket, no secrets
};

struct UpstreamConfig {
  fetch::UpstreamOptions options;  // proxies, timeouts, redirect_allow, user agent
  std::string display;             // the upstream setting with credentials redacted
};

struct ChecksumConfig {
  std::optional<ChecksumDb> db;  // nullopt: sumdb = off
  // The database's own proxies; nullopt: through the upstream proxies at "sumdb/<name>/".
  std::optional<fetch::ProxyList> own_proxies;
  std::string no_sumdb;      // as configured, for the log
  std::string not_verified;  // no_sumdb plus private_modules (GONOSUMDB syntax)
  // The latest verified tree head; empty: kept in memory (memory store).
  std::filesystem::path state_file;
};

struct DirectConfig {
  bool enabled = false;         // the upstream list ends in direct, or private_modules is set
  std::filesystem::path dir;    // empty: a new temporary directory
  std::string go_binary;        // path, or a name looked up in PATH
  std::string go_binary_where;  // RawConfig::where("go_binary"), for the error when it is unusable
  std::string home;             // empty: <dir>/home (with a link to `netrc`)
  std::string govcs;            // "" for the go command's default
  std::string private_patterns;
  std::string insecure;
  std::string netrc;                  // "" for none
  std::string git_config;             // "" for none
  std::string ssh_key;                // "" for none
  std::string ssh_known_hosts;        // "" for <home>/.ssh/known_hosts
  std::vector<std::string> pass_env;  // names of variables, checked
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds negative_ttl{0};
  std::size_t workers = 1;
  std::size_t queue = 0;
  bool upstream_direct = false;  // "direct" in the upstream list (not only private modules)
  bool have_proxy = false;       // the upstream list names a proxy
};

enum class LockKind { none, redis, postgres };

struct LockConfig {
  LockKind kind = LockKind::none;
  std::string url;  // redis_url or postgres_url
  std::chrono::milliseconds lease{0};
};

enum class IndexKind { none, sqlite, postgres };

struct IndexConfig {
  IndexKind kind = IndexKind::sqlite;
  std::string target;  // the sqlite file (":memory:" with the memory store), or postgres_url
  // index = sqlite with store = s3 or azure (and no lock): the index is this machine's file only.
  bool local_to_this_machine = false;
};

struct PoolConfig {
  std::size_t workers = 1;
  std::size_t queue = 0;
};

struct LogConfig {
  std::string format;  // "text" or "json"
  std::string level;   // debug, info, warn, error
  bool access_log = true;
};

// The web pages (web/site.hpp).
struct UiConfig {
  bool enabled = false;
  std::string path = "/";    // checked: "/" or "/<segments>" without a trailing '/'
  std::string external_url;  // checked: http(s)://host[...], no trailing '/'; "" for none
};

struct AdminConfig {
  http::ServerOptions server;  // request_ids and tracer are the wiring's
  proxy::AdminOptions admin;
};

// What `stoa serve` needs. Fields that are not configuration (pointers to other components,
// hooks, the instance id, temporary directories) are left at their defaults for the wiring.
struct Options {
  StoreConfig store;
  UpstreamConfig upstream;
  ChecksumConfig checksum;
  DirectConfig direct;
  policy::PolicyFiles policy;
  LockConfig lock;
  IndexConfig index;
  std::string validator_url;  // "" for none
  std::chrono::milliseconds validator_timeout{0};
  std::string otlp_endpoint;  // "<otlp_endpoint>/v1/traces", or "" for the OTEL_* environment
  LogConfig log;
  PoolConfig fetch_pool;
  PoolConfig auth_pool;
  proxy::ServiceOptions service;  // scratch_dir empty: the system's temporary directory
  bool clean_scratch = false;     // remove passthrough leftovers at start (disk store)
  http::ServerOptions server;
  std::optional<AdminConfig> admin;  // admin_listen set
  UiConfig ui;
  std::filesystem::path vulndb_dir;  // the vulnerability database's repository (vulndb/)
  std::string vulndb_source;         // "" for no sync
  std::chrono::milliseconds vulndb_sync_interval{3'600'000};
};

// Each part on its own, for the commands that need only some.
StoreConfig store_config(const RawConfig& cfg);
UpstreamConfig upstream_config(const RawConfig& cfg);
ChecksumConfig checksum_config(const RawConfig& cfg, const KnownKeys& known,
                               const fetch::ProxyList& upstreams);
// no_sumdb plus private_modules: private modules are never looked up in a checksum database.
std::string not_verified(const RawConfig& cfg);
DirectConfig direct_config(const RawConfig& cfg, const fetch::ProxyList& upstreams);
policy::PolicyFiles policy_files(const RawConfig& cfg);
LockConfig lock_config(const RawConfig& cfg);
IndexConfig index_config(const RawConfig& cfg);
UiConfig ui_config(const RawConfig& cfg);

// Everything, in the order `serve` used to read it (so the first error reported is the same).
// `known`: the checksum database keys the go command knows.
Options resolve_options(const RawConfig& cfg, const KnownKeys& known);

}  // namespace stoa::cli
