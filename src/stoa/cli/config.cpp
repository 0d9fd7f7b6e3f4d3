#include "stoa/cli/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <algorithm>
#include <charconv>

#include "stoa/cli/suggest.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/json.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::cli {

const std::vector<KeySpec>& keys() {
  static const std::vector<KeySpec> table = {
      {"listen", KeyType::address, "127.0.0.1:8080",
       "address to serve on: host:port (port 0 picks one), or unix:PATH for a unix socket (for a "
       "reverse proxy on the same host)"},
      {"admin_listen", KeyType::address, "",
       "address of the admin listener (metrics, health, fetches in flight, effective "
       "configuration, "
       "store statistics); empty: off. Bind it to a private address"},
      {"data_dir", KeyType::string, "data",
       "directory of the disk store (itself a GOPROXY file tree)"},
      {"store",
       KeyType::choice,
       "disk",
       "storage backend: disk (data_dir), memory (tests), or s3 (an S3-compatible bucket; "
       "data_dir then holds only temp files)",
       {"disk", "memory", "s3"}},
      {"s3_endpoint", KeyType::string, "",
       "S3 endpoint URL, e.g. http://127.0.0.1:7070; default: AWS S3 of s3_region "
       "(https://s3.<region>.amazonaws.com)"},
      {"s3_bucket", KeyType::string, "", "S3 bucket (required with store = \"s3\")"},
      {"s3_prefix", KeyType::string, "",
       "key prefix inside the bucket, e.g. \"goproxy/\"; empty: the bucket root"},
      {"s3_region", KeyType::string, "",
       "region used for signing; default: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1"},
      {"s3_access_key",
       KeyType::string,
       "",
       "access key id; default: the AWS_ACCESS_KEY_ID environment variable",
       {},
       true},
      {"s3_secret_key",
       KeyType::string,
       "",
       "secret access key; default: the AWS_SECRET_ACCESS_KEY environment variable",
       {},
       true},
      {"s3_session_token",
       KeyType::string,
       "",
       "session token of temporary credentials; default: the AWS_SESSION_TOKEN environment "
       "variable",
       {},
       true},
      {"s3_addressing",
       KeyType::choice,
       "auto",
       "path (<endpoint>/<bucket>/<key>) or virtual (<bucket>.<endpoint host>/<key>); auto: path "
       "with s3_endpoint set, virtual for AWS",
       {"auto", "path", "virtual"}},
      {"s3_conditional_write",
       KeyType::choice,
       "auto",
       "write-once commits by If-None-Match: * (on), or HEAD then PUT for servers without it "
       "(off: racing replicas may both write; see docs/operations.md); auto: probe at start",
       {"auto", "on", "off"}},
      {"s3_presign_ttl", KeyType::duration, "0",
       "with store = \"s3\": answer a stored .zip with a 302 to a presigned URL valid this long, "
       "so its bytes flow from the object store (clients must reach s3_endpoint); 0: serve the "
       "bytes"},
      {"s3_part_size",
       KeyType::count,
       "16777216",
       "bytes per part of a multipart upload (at least 5 MiB); bigger files are uploaded in parts",
       {},
       false,
       5242880},
      {"upstream", KeyType::string, "",
       "upstream proxies in GOPROXY syntax (',' falls through on 404/410, '|' on any error); "
       "\"direct\" (last) fetches what no proxy has from its version control with the go "
       "command, \"off\" and entries after direct/off are ignored; default: what `go env GOPROXY` "
       "prints"},
      {"sumdb", KeyType::string, "",
       "checksum database every downloaded .mod and .zip is verified against before it is stored, "
       "in GOSUMDB syntax (\"off\", a name the go command knows, \"<key>\" or \"<key> <url>\"); "
       "default: what `go env GOSUMDB` prints; without a URL it is reached through the upstream "
       "proxies"},
      {"no_sumdb", KeyType::string, "",
       "module path patterns (GONOSUMDB syntax) not verified, and whose lookups through /sumdb/ "
       "are "
       "refused; default: what `go env GONOSUMDB` prints"},
      {"list_ttl", KeyType::duration, "60s",
       "how long list, @latest and version queries are cached"},
      {"memory_cache_bytes", KeyType::count, "67108864",
       "bytes of small stored files (.info, .mod, tiny zips) kept in memory with their response "
       "headers, so a hit costs no file system call; 0: off"},
      {"memory_cache_max_object", KeyType::count, "16384",
       "largest stored file kept in the memory cache, in bytes"},
      {"fetch_timeout", KeyType::duration, "10m", "upper bound for one upstream transfer"},
      {"connect_timeout", KeyType::duration, "10s", "upstream connection timeout"},
      {"stall_timeout", KeyType::duration, "60s",
       "an upstream transfer with no progress for this long fails"},
      {"upstream_redirect_allow", KeyType::string, "",
       "comma-separated networks (CIDR, e.g. 10.20.0.0/16, fd00:1::/64) that an upstream's "
       "redirects may lead to although they are loopback, private, link-local or otherwise not "
       "global; without them, only the upstream's own origin may be such an address"},
      {"fetch_workers",
       KeyType::count,
       "16",
       "upstream fetches run at once (at least 1)",
       {},
       false,
       1},
      {"fetch_queue", KeyType::count, "1024",
       "fetches waiting for a worker before new misses get 503"},
      {"private_modules", KeyType::string, "",
       "module path patterns (GOPRIVATE syntax) always fetched direct with the go command: never "
       "sent to an upstream proxy nor looked up in the checksum database"},
      {"go_binary", KeyType::string, "go",
       "the go command run for direct fetches (a path, or a name looked up in PATH)"},
      {"direct_dir", KeyType::string, "",
       "stoa's own state for direct fetches: the go command's module cache (clones are reused), "
       "build cache, GOPATH, HOME and working directories; default: <data_dir>/.stoa-state/direct "
       "(a temporary directory with the memory store)"},
      {"direct_govcs", KeyType::string, "",
       "GOVCS for direct fetches: which version control systems may be used for which modules; "
       "default: the go command's own (git and hg for public modules, any for private_modules)"},
      {"direct_insecure", KeyType::string, "",
       "GOINSECURE for direct fetches: module path patterns that may be fetched over plain HTTP "
       "and without certificate checks"},
      {"direct_home", KeyType::string, "",
       "HOME of the go command and the git, hg, svn, bzr and fossil it runs (their ~/.netrc, "
       "~/.gitconfig, ~/.ssh); default: an empty directory under direct_dir"},
      {"direct_netrc", KeyType::string, "",
       "netrc file with credentials for direct fetches (the go command's NETRC, and linked as "
       "~/.netrc into the default direct_home for git); never logged"},
      {"direct_git_config", KeyType::string, "",
       "git configuration file for direct fetches (GIT_CONFIG_GLOBAL: insteadOf rewrites, "
       "credential helpers); the system configuration is never read"},
      {"direct_ssh_key", KeyType::string, "",
       "private key for git over ssh in direct fetches (ssh -i, BatchMode)"},
      {"direct_pass_env", KeyType::string, "",
       "comma-separated names of stoa's environment variables passed to the go command (e.g. "
       "HTTPS_PROXY,NO_PROXY); nothing else of stoa's environment is"},
      {"direct_timeout", KeyType::duration, "5m",
       "upper bound for one go command run; then its process group is killed"},
      {"direct_workers",
       KeyType::count,
       "4",
       "go commands that run at once (at least 1)",
       {},
       false,
       1},
      {"direct_negative_ttl", KeyType::duration, "30s",
       "how long \"does not exist\" from a direct fetch is remembered (failures never are)"},
      {"threads", KeyType::count, "0",
       "serving threads (0: one per core; with store = \"s3\", four per core and at least 8, "
       "since a read from the bucket blocks its thread)"},
      {"header_timeout", KeyType::duration, "10s",
       "time a client has to send a whole request header"},
      {"idle_timeout", KeyType::duration, "60s",
       "keep-alive connection idle time before it is closed"},
      {"write_timeout", KeyType::duration, "60s",
       "a response write with no progress for this long is dropped"},
      {"max_header_bytes", KeyType::count, "16384", "largest request header accepted"},
      {"shutdown_grace", KeyType::duration, "30s",
       "on SIGTERM, how long requests in progress (and their fetches) may take to finish"},
      {"validator_url", KeyType::string, "",
       "HTTP endpoint asked (POST, JSON) before a new module zip is stored: 200 allows, 403 "
       "denies; "
       "empty: no validator"},
      {"validator_timeout", KeyType::duration, "10s", "how long the validator may take to answer"},
      {"validator_failure",
       KeyType::choice,
       "deny",
       "when the validator cannot answer: deny (answer 503, store nothing) or allow (store anyway)",
       {"deny", "allow"}},
      {"lock",
       KeyType::choice,
       "none",
       "cross-replica lock taken before a missing file is fetched, so that replicas sharing one "
       "store fetch it once: none, redis (redis_url) or postgres (postgres_url)",
       {"none", "redis", "postgres"}},
      {"redis_url", KeyType::string, "",
       "Redis server of lock = redis: redis://[[user]:password@]host[:port][/db]"},
      {"postgres_url", KeyType::string, "",
       "PostgreSQL server of lock = postgres and index = postgres: a libpq URI "
       "(postgresql://user:password@host:port/db) or key=value string"},
      {"lock_lease", KeyType::duration, "10s",
       "lock = redis: how long a lock outlives a holder that died (renewed every third of it "
       "while held); with postgres a lock ends with its holder's session"},
      {"lock_wait", KeyType::duration, "",
       "how long a replica waits for another replica's lock on a file before fetching it anyway; "
       "default: fetch_timeout"},
      {"index",
       KeyType::choice,
       "sqlite",
       "index of stored versions, served at /index and /catalog: sqlite (a file in "
       "<data_dir>/.stoa-state/), postgres (postgres_url; for replicas) or none",
       {"sqlite", "postgres", "none"}},
      {"otlp_endpoint", KeyType::string, "",
       "OTLP/HTTP collector base URL for traces (spans go to <url>/v1/traces); empty: the standard "
       "OTEL_EXPORTER_OTLP_* environment variables decide, and without them tracing is off"},
      {"log_format", KeyType::choice, "text", "log line format", {"text", "json"}},
      {"log_level",
       KeyType::choice,
       "info",
       "least severe level logged",
       {"debug", "info", "warn", "error"}},
      {"access_log", KeyType::boolean, "true", "log one line per request"},
      {"rules_file", KeyType::string, "",
       "TOML file of policy rules ([[rule]] tables and [groups]), reloaded on SIGHUP and when it "
       "changes; empty: the [[rule]] tables of the configuration file itself"},
      {"users_file", KeyType::string, "",
       "htpasswd-style file of users allowed to read restricted modules (bcrypt only: "
       "htpasswd -B); reloaded with the rules; empty: none"},
      {"tokens_file", KeyType::string, "",
       "file of bearer tokens, one \"name sha256-hex-of-token\" per line; reloaded with the "
       "rules; empty: none"},
      {"auth_workers",
       KeyType::count,
       "2",
       "credential (bcrypt) checks run at once, on threads of their own apart from "
       "fetch_workers, so a flood of logins never delays misses (at least 1)",
       {},
       false,
       1},
      {"auth_queue", KeyType::count, "64",
       "credential checks waiting for an auth worker before new ones get 503"},
      {"auth_max_failures", KeyType::count, "10",
       "failed logins from one client address (IPv6: its /64) within auth_failure_window; "
       "beyond them its requests with credentials for restricted modules get 429, unchecked; "
       "0: no limit"},
      {"auth_failure_window", KeyType::duration, "1m",
       "the window of auth_max_failures (at least 1s)"},
      {"rules_check_interval", KeyType::duration, "2s",
       "how often the rules, users and tokens files are checked for changes (one stat each); "
       "0: only on SIGHUP"},
      {"operational_endpoints",
       KeyType::choice,
       "",
       "who may read /metrics, /index and /catalog on the main listener: public (anyone), "
       "authenticated (valid credentials of users_file or tokens_file) or admin (only on the "
       "admin listener; 404 on the main one); default: authenticated when users_file or "
       "tokens_file is set, else public",
       {"public", "authenticated", "admin"}},
      {"tls_cert", KeyType::string, "",
       "PEM certificate chain file; with tls_key, serve HTTPS instead of HTTP"},
      {"tls_key", KeyType::string, "", "PEM private key file of tls_cert"},
      {"path_prefix", KeyType::string, "",
       "serve the proxy under this path (e.g. /goproxy: GOPROXY=https://host/goproxy); "
       "/healthz and /readyz stay at the root"},
  };
  return table;
}

std::string flag_name(std::string_view key) {
  std::string s(key);
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

namespace {
// "STOA_DATA_DIR" -> "data_dir".
std::string key_of_env_name(std::string_view name) { return text::to_lower(name.substr(5)); }
}  // namespace

std::string env_name(std::string_view key) {
  std::string s = "STOA_";
  for (const char c : key) s += text::to_upper(c);
  return s;
}

std::string_view to_string(Source s) {
  switch (s) {
    case Source::default_value:
      return "default";
    case Source::file:
      return "file";
    case Source::env:
      return "env";
    case Source::flag:
      return "flag";
    case Source::derived:
      return "derived";
  }
  return "?";
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s == "0") return std::chrono::milliseconds{0};
  if (s.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  while (!s.empty()) {
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || p == s.data()) return std::nullopt;
    s.remove_prefix(static_cast<std::size_t>(p - s.data()));
    std::uint64_t unit_ms = 0;
    if (s.starts_with("ms")) {
      unit_ms = 1;
      s.remove_prefix(2);
    } else if (s.starts_with("s")) {
      unit_ms = 1000;
      s.remove_prefix(1);
    } else if (s.starts_with("m")) {
      unit_ms = 60'000;
      s.remove_prefix(1);
    } else if (s.starts_with("h")) {
      unit_ms = 3'600'000;
      s.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    if (n > (std::uint64_t{1} << 40) / unit_ms) return std::nullopt;
    total += std::chrono::milliseconds(n * unit_ms);
  }
  return total;
}

namespace {

const KeySpec* find_key(std::string_view name) {
  for (const auto& k : keys()) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

std::vector<std::string_view> key_names() {
  std::vector<std::string_view> out;
  for (const auto& k : keys()) out.push_back(k.name);
  return out;
}

// " (did you mean X?)" or "".
std::string did_you_mean(std::string_view typed, const std::vector<std::string_view>& names) {
  const auto c = closest(typed, names);
  return c ? fmt::format(" (did you mean {}?)", *c) : std::string();
}

// Empty when `v` is a valid listen address, else why not.
std::string check_address(std::string_view v) {
  if (v.starts_with("unix:")) {
    const auto path = v.substr(5);
    if (path.empty()) return "unix: needs a socket path, like unix:/run/stoa/stoa.sock";
    // sun_path holds 108 bytes including the terminating NUL.
    if (path.size() > 107) return "unix socket path longer than 107 bytes";
    if (path.find('\0') != std::string_view::npos) return "unix socket path contains a NUL";
    return {};
  }
  const auto colon = v.rfind(':');
  if (colon == std::string_view::npos) return "not host:port (or unix:PATH)";
  const auto host = v.substr(0, colon);
  if (host.find(':') != std::string_view::npos &&
      !(host.size() >= 2 && host.front() == '[' && host.back() == ']')) {
    return "an IPv6 host must be in brackets, like [::1]:8080";
  }
  const auto port = v.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return "the port must be a number from 0 to 65535";
  }
  unsigned n = 0;
  std::from_chars(port.data(), port.data() + port.size(), n);
  if (n > 65535) return fmt::format("port {} is out of range (0-65535)", n);
  return {};
}

void validate(const KeySpec& k, const std::string& v, std::string_view where) {
  auto fail = [&](std::string_view what) {
    throw ConfigError(fmt::format("{} ({}): {}: {:?}", k.name, where, what, v.substr(0, 200)));
  };
  switch (k.type) {
    case KeyType::string:
      break;
    case KeyType::duration:
      // A key whose default is empty takes "" as "derive it" (lock_wait: from fetch_timeout).
      if (v.empty() && k.default_value.empty()) break;
      if (!parse_duration(v)) fail("not a duration (like 500ms, 30s, 5m, 1h)");
      break;
    case KeyType::count: {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc{} || p != v.data() + v.size())
        fail("not a non-negative integer");
      if (n < k.min) fail(fmt::format("must be at least {}", k.min));
      break;
    }
    case KeyType::address:
      if (v.empty() && k.default_value.empty()) break;  // admin_listen: off
      if (const auto why = check_address(v); !why.empty()) fail(why);
      break;
    case KeyType::boolean:
      if (v != "true" && v != "false") fail("must be true or false");
      break;
    case KeyType::choice:
      // A key whose default is empty takes "" as "derive it" (operational_endpoints).
      if (v.empty() && k.default_value.empty()) break;
      if (std::find(k.choices.begin(), k.choices.end(), v) == k.choices.end()) {
        fail(fmt::format("must be one of {}", fmt::join(k.choices, ", ")));
      }
      break;
  }
}

// "FILE:LINE:COLUMN" of a TOML node or error.
std::string position(const std::string& file, const toml::source_region& where) {
  return fmt::format("{}:{}:{}", file, where.begin.line, where.begin.column);
}

std::string toml_to_string(const toml::node& node, const KeySpec& k, const std::string& origin) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
  if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
  const char* what = node.is_array()            ? "an array"
                     : node.is_table()          ? "a table"
                     : node.is_floating_point() ? "a floating-point number"
                                                : "a date or time";
  throw ConfigError(fmt::format("{} ({}): must be a {}, not {}", k.name, origin,
                                k.type == KeyType::count     ? "non-negative integer"
                                : k.type == KeyType::boolean ? "boolean (true or false)"
                                                             : "string",
                                what));
}

// Keys that only work together.
void check_combinations(const RawConfig& cfg) {
  const bool cert = !cfg.get("tls_cert").empty();
  const bool key = !cfg.get("tls_key").empty();
  if (cert != key) {
    throw ConfigError(
        fmt::format("{} is set but {} is not: HTTPS needs both the certificate and "
                    "its private key",
                    cfg.where(cert ? "tls_cert" : "tls_key"), cert ? "tls_key" : "tls_cert"));
  }
  const auto& operational = cfg.get("operational_endpoints");
  if (operational == "admin" && cfg.get("admin_listen").empty()) {
    throw ConfigError(fmt::format(
        "{}: /metrics, /index and /catalog would be served nowhere; set admin_listen too",
        cfg.where("operational_endpoints")));
  }
  if (operational == "authenticated" && cfg.get("users_file").empty() &&
      cfg.get("tokens_file").empty()) {
    throw ConfigError(
        fmt::format("{}: no client could ever authenticate; set users_file or tokens_file too",
                    cfg.where("operational_endpoints")));
  }
  if (cert && cfg.get("listen").starts_with("unix:")) {
    throw ConfigError(fmt::format(
        "{}: TLS is not served on a unix socket ({}); let the reverse proxy in front terminate "
        "TLS",
        cfg.where("tls_cert"), cfg.where("listen")));
  }
}

}  // namespace

const std::string& RawConfig::get(std::string_view key) const {
  const auto it = values.find(key);
  if (it == values.end()) throw ConfigError(fmt::format("unknown configuration key {}", key));
  return it->second.text;
}

std::chrono::milliseconds RawConfig::duration(std::string_view key) const {
  return *parse_duration(get(key));
}

std::uint64_t RawConfig::count(std::string_view key) const {
  const auto& v = get(key);
  std::uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

bool RawConfig::boolean(std::string_view key) const { return get(key) == "true"; }

std::string RawConfig::where(std::string_view key) const {
  const auto it = values.find(key);
  if (it == values.end() || it->second.origin.empty()) return std::string(key);
  if (it->second.source == Source::derived)
    return fmt::format("{} (derived from {})", key, it->second.origin);
  return fmt::format("{} ({})", key, it->second.origin);
}

RawConfig load_config(const std::string& config_file,
                      const std::map<std::string, std::string, std::less<>>& env,
                      const std::map<std::string, std::string, std::less<>>& flags) {
  RawConfig cfg;
  for (const auto& k : keys())
    cfg.values[std::string(k.name)] = {std::string(k.default_value), Source::default_value, {}};

  if (!config_file.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      throw ConfigError(fmt::format("{}: {}", position(config_file, e.source()), e.description()));
    }
    for (const auto& [name, node] : table) {
      // Policy rules live in the same file; the policy component reads them.
      if (name.str() == "rule" || name.str() == "groups") continue;
      const std::string origin = position(config_file, name.source());
      const KeySpec* k = find_key(name.str());
      if (k == nullptr) {
        throw ConfigError(fmt::format("{}: unknown key {:?}{}", origin, name.str(),
                                      did_you_mean(name.str(), key_names())));
      }
      const std::string v = toml_to_string(node, *k, origin);
      validate(*k, v, origin);
      cfg.values[std::string(k->name)] = {v, Source::file, origin};
    }
  }
  for (const auto& [name, v] : env) {
    if (name == "STOA_CONFIG") continue;
    const KeySpec* k = name.starts_with("STOA_") ? find_key(key_of_env_name(name)) : nullptr;
    if (k == nullptr || env_name(k->name) != name) {
      std::vector<std::string> names;
      for (const auto& key : keys()) names.push_back(env_name(key.name));
      names.emplace_back("STOA_CONFIG");
      const std::vector<std::string_view> views(names.begin(), names.end());
      throw ConfigError(fmt::format(
          "{}: unknown environment variable{}; stoa reads every STOA_* variable as a setting, so "
          "unset it (or fix the name)",
          name, did_you_mean(name, views)));
    }
    validate(*k, v, name);
    cfg.values[std::string(k->name)] = {v, Source::env, name};
  }
  for (const auto& [name, v] : flags) {
    const KeySpec* k = find_key(name);
    if (k == nullptr) throw ConfigError(fmt::format("unknown flag --{}", flag_name(name)));
    validate(*k, v, "--" + flag_name(name));
    cfg.values[std::string(k->name)] = {v, Source::flag, "--" + flag_name(name)};
  }
  check_combinations(cfg);
  return cfg;
}

void derive_defaults(RawConfig& cfg, const std::string& config_file,
                     const std::function<std::string(const char*)>& getenv) {
  auto derive = [&](std::string_view key, std::string value, std::string origin) {
    Value& v = cfg.values.at(std::string(key));
    if (!v.text.empty() || value.empty()) return;
    v = {std::move(value), Source::derived, std::move(origin)};
  };
  derive("lock_wait", cfg.get("fetch_timeout"), "fetch_timeout");
  if (cfg.get("store") == "disk") {
    derive("direct_dir", cfg.get("data_dir") + "/.stoa-state/direct", "data_dir");
  }
  if (!cfg.get("direct_dir").empty()) {
    derive("direct_home", cfg.get("direct_dir") + "/home", "direct_dir");
  }
  derive("rules_file", config_file, "--config");
  // Where clients must authenticate, the listings and numbers are not for anyone either.
  if (!cfg.get("users_file").empty()) {
    derive("operational_endpoints", "authenticated", "users_file");
  } else if (!cfg.get("tokens_file").empty()) {
    derive("operational_endpoints", "authenticated", "tokens_file");
  } else {
    derive("operational_endpoints", "public", "users_file and tokens_file (unset)");
  }
  if (cfg.get("store") != "s3") return;
  auto from_env = [&](std::string_view key, std::initializer_list<const char*> vars) {
    for (const char* var : vars) {
      if (std::string v = getenv(var); !v.empty()) return derive(key, std::move(v), var);
    }
  };
  from_env("s3_region", {"AWS_REGION", "AWS_DEFAULT_REGION"});
  derive("s3_region", "us-east-1", "the AWS default region");
  derive("s3_endpoint", "https://s3." + cfg.get("s3_region") + ".amazonaws.com", "s3_region");
  from_env("s3_access_key", {"AWS_ACCESS_KEY_ID"});
  from_env("s3_secret_key", {"AWS_SECRET_ACCESS_KEY"});
  from_env("s3_session_token", {"AWS_SESSION_TOKEN"});
}

std::string render_reference() {
  std::string out =
      "# stoa configuration reference: every key, with its default.\n"
      "# Generated by `stoa config --reference`; load with `stoa serve --config FILE` or "
      "STOA_CONFIG.\n"
      "# Precedence: default < this file < STOA_* environment variable < command-line flag.\n"
      "# Durations are written like 500ms, 30s, 5m, 1h30m.\n";
  for (const auto& k : keys()) {
    out += fmt::format("\n# {}\n# env {}, flag --{}", k.help, env_name(k.name), flag_name(k.name));
    if (k.type == KeyType::choice) out += fmt::format("; one of: {}", fmt::join(k.choices, ", "));
    out += '\n';
    const bool quoted = k.type != KeyType::count && k.type != KeyType::boolean;
    if (k.default_value.empty()) {
      out += fmt::format("#{} = \"\"\n", k.name);
    } else {
      out += fmt::format("#{} = {}{}{}\n", k.name, quoted ? "\"" : "", k.default_value,
                         quoted ? "\"" : "");
    }
  }
  return out;
}

std::string render_config(const RawConfig& config) {
  std::string out;
  for (const auto& k : keys()) {
    const Value& v = config.values.at(std::string(k.name));
    std::string shown = k.secret && !v.text.empty() ? std::string(text::k_redacted)
                                                    : text::redact_credentials(v.text);
    // A JSON string literal is a TOML basic string (text/json.hpp).
    const std::string rendered =
        k.type == KeyType::count || k.type == KeyType::boolean ? shown : text::json_string(shown);
    out += fmt::format("{} = {}  # {}", k.name, rendered, to_string(v.source));
    if (!v.origin.empty()) {
      out += v.source == Source::derived ? " from " : " ";
      out += v.origin;
    }
    out += '\n';
  }
  return out;
}

}  // namespace stoa::cli
