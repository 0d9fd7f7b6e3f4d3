#include "stoa/cli/options.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

#include "stoa/direct/gocmd.hpp"
#include "stoa/fetch/address.hpp"
#include "stoa/html/html.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::cli {
namespace {

using text::redact_credentials;

bool derived(const RawConfig& cfg, std::string_view key) {
  return cfg.values.at(std::string(key)).source == Source::derived;
}

std::chrono::seconds seconds(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::seconds>(ms);
}

// Trimmed, non-empty items of a comma-separated list.
std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = text::trim_ows(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (!item.empty()) out.emplace_back(item);
  }
  return out;
}

// upstream_redirect_allow: comma-separated CIDR networks.
std::vector<fetch::Network> redirect_allow(const RawConfig& cfg) {
  std::vector<fetch::Network> out;
  for (const auto& item : split_list(cfg.get("upstream_redirect_allow"))) {
    const auto network = fetch::parse_network(item);
    if (!network) {
      throw ConfigError(cfg.where("upstream_redirect_allow") +
                        ": not a network (CIDR, host bits zero): " + item);
    }
    out.push_back(*network);
  }
  return out;
}

store::S3Options s3_options(const RawConfig& cfg) {
  store::S3Options o;
  o.bucket = cfg.get("s3_bucket");
  if (o.bucket.empty()) throw ConfigError(cfg.where("store") + ": store = \"s3\" needs s3_bucket");
  o.prefix = cfg.get("s3_prefix");
  // derive_defaults() filled in the region, the endpoint and the credentials from AWS_*.
  o.region = cfg.get("s3_region");
  if (o.region.empty()) o.region = "us-east-1";
  o.endpoint = cfg.get("s3_endpoint");
  // An endpoint derived from the region is AWS's own.
  const bool aws = o.endpoint.empty() || derived(cfg, "s3_endpoint");
  const std::string& addressing = cfg.get("s3_addressing");
  o.virtual_host = addressing == "virtual" || (addressing == "auto" && aws);
  if (o.endpoint.empty()) o.endpoint = "https://s3." + o.region + ".amazonaws.com";
  o.access_key = cfg.get("s3_access_key");
  o.secret_key = cfg.get("s3_secret_key");
  o.session_token = cfg.get("s3_session_token");
  if (o.access_key.empty() || o.secret_key.empty()) {
    throw ConfigError(cfg.where("store") +
                      ": store = \"s3\" needs credentials: s3_access_key and s3_secret_key, or "
                      "the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables");
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

store::AzureOptions azure_options(const RawConfig& cfg) {
  store::AzureOptions o;
  // derive_defaults() filled in the AZURE_STORAGE_* variables; a connection string gives the
  // parts that no azure_* key sets.
  if (const std::string& text = cfg.get("azure_connection_string"); !text.empty()) {
    std::string error;
    const std::optional<store::AzureOptions> parsed = store::parse_connection_string(text, &error);
    if (!parsed) throw ConfigError(cfg.where("azure_connection_string") + ": " + error);
    o = *parsed;
  }
  auto take = [&](std::string& field, const char* key) {
    if (!cfg.get(key).empty()) field = cfg.get(key);
  };
  take(o.account, "azure_account");
  take(o.endpoint, "azure_endpoint");
  take(o.account_key, "azure_key");
  take(o.sas_token, "azure_sas");
  o.container = cfg.get("azure_container");
  if (o.container.empty()) {
    throw ConfigError(cfg.where("store") + ": store = \"azure\" needs azure_container");
  }
  o.prefix = cfg.get("azure_prefix");
  o.managed_identity = cfg.boolean("azure_managed_identity");
  o.identity_client_id = cfg.get("azure_identity_client_id");
  if (o.account.empty() && o.endpoint.empty()) {
    throw ConfigError(cfg.where("store") +
                      ": store = \"azure\" needs azure_account (or AZURE_STORAGE_ACCOUNT), "
                      "azure_endpoint or azure_connection_string");
  }
  if (o.account_key.empty() && o.sas_token.empty() && !o.managed_identity) {
    throw ConfigError(cfg.where("store") +
                      ": store = \"azure\" needs credentials: azure_key, azure_sas, "
                      "azure_connection_string (or AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, "
                      "AZURE_STORAGE_CONNECTION_STRING), or azure_managed_identity = true");
  }
  if (!o.account_key.empty() && o.account.empty()) {
    throw ConfigError(cfg.where("store") +
                      ": store = \"azure\" with a key needs azure_account (Shared Key signs "
                      "with the account name)");
  }
  o.block_size = cfg.count("azure_block_size");  // at least 1 MiB (the key table)
  o.spool_dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-azure-spool";
  o.connect_timeout = cfg.duration("connect_timeout");
  o.stall_timeout = cfg.duration("stall_timeout");
  return o;
}

store::GcsOptions gcs_options(const RawConfig& cfg) {
  store::GcsOptions o;
  o.bucket = cfg.get("gcs_bucket");
  if (o.bucket.empty()) {
    throw ConfigError(cfg.where("store") + ": store = \"gcs\" needs gcs_bucket");
  }
  o.prefix = cfg.get("gcs_prefix");
  if (!cfg.get("gcs_endpoint").empty()) o.endpoint = cfg.get("gcs_endpoint");
  // derive_defaults() resolved gcs_auth = auto and the key file from the environment.
  const std::string& auth = cfg.get("gcs_auth");
  const std::string& key_file = cfg.get("gcs_credentials_file");
  if (auth == "key_file") {
    if (key_file.empty()) {
      throw ConfigError(cfg.where("gcs_auth") +
                        ": gcs_auth = key_file needs gcs_credentials_file (or "
                        "GOOGLE_APPLICATION_CREDENTIALS)");
    }
    std::ifstream in(key_file, std::ios::binary);
    std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      throw ConfigError(cfg.where("gcs_credentials_file") + ": cannot read " + key_file);
    }
    if (json.empty()) {
      throw ConfigError(cfg.where("gcs_credentials_file") + ": cannot read " + key_file +
                        " (missing or empty)");
    }
    o.auth = store::GcsAuth::service_account;
    o.key_json = std::move(json);
    o.key_origin = key_file;
  } else if (auth == "metadata") {
    o.auth = store::GcsAuth::metadata;
  } else {
    o.auth = store::GcsAuth::none;
  }
  o.metadata_host = cfg.get("gcs_metadata_host");
  o.chunk_size = cfg.count("gcs_chunk_size");
  if (o.chunk_size % (std::uint64_t{256} << 10) != 0) {
    throw ConfigError(cfg.where("gcs_chunk_size") + ": must be a multiple of 262144 (256 KiB)");
  }
  o.resumable_over = o.chunk_size;
  o.spool_dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-gcs-spool";
  o.connect_timeout = cfg.duration("connect_timeout");
  o.stall_timeout = cfg.duration("stall_timeout");
  return o;
}

store::MongoOptions mongodb_options(const RawConfig& cfg) {
  store::MongoOptions o;
  o.uri = cfg.get("mongodb_uri");
  if (o.uri.empty()) {
    throw ConfigError(cfg.where("store") + ": store = \"mongodb\" needs mongodb_uri");
  }
  o.database = cfg.get("mongodb_database");
  o.prefix = cfg.get("mongodb_prefix");
  if (o.database.empty() || o.prefix.empty()) {
    throw ConfigError(cfg.where(o.database.empty() ? "mongodb_database" : "mongodb_prefix") +
                      ": must not be empty");
  }
  o.spool_dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-mongodb-spool";
  o.connect_timeout = cfg.duration("connect_timeout");
  o.stall_timeout = cfg.duration("stall_timeout");
  return o;
}

// Who may read /metrics, /index and /catalog on the main listener: by default "authenticated"
// when clients have credentials to authenticate with (derive_defaults() fills it in; this is
// the same rule again for a configuration that did not go through it).
proxy::ServiceOptions::OperationalAccess operational_access(const RawConfig& cfg) {
  using Access = proxy::ServiceOptions::OperationalAccess;
  const std::string& v = cfg.get("operational_endpoints");
  if (v == "admin") return Access::admin_only;
  if (v == "authenticated") return Access::authenticated;
  if (v == "public") return Access::anyone;
  const bool credentials = !cfg.get("users_file").empty() || !cfg.get("tokens_file").empty();
  return credentials ? Access::authenticated : Access::anyone;
}

// How long to wait for another replica's lock: by default fetch_timeout (the holder's own
// transfer is bounded by it; the same rule again as in derive_defaults()).
std::chrono::milliseconds lock_wait(const RawConfig& cfg) {
  return cfg.get("lock_wait").empty() ? cfg.duration("fetch_timeout") : cfg.duration("lock_wait");
}

proxy::ServiceOptions service_options(const RawConfig& cfg, const Options& o) {
  proxy::ServiceOptions so;
  so.origin = o.upstream.display;
  so.lock_wait = lock_wait(cfg);
  so.store_backend = std::string(to_string(o.store.kind));
  so.no_sumdb = o.checksum.not_verified;
  so.validator_allows_on_error = cfg.get("validator_failure") == "allow";
  so.list_ttl = seconds(cfg.duration("list_ttl"));
  so.memory_cache_bytes = cfg.count("memory_cache_bytes");
  so.memory_cache_max_object = cfg.count("memory_cache_max_object");
  so.login_limit.max_failures = cfg.count("auth_max_failures");
  so.login_limit.window = seconds(cfg.duration("auth_failure_window"));
  if (so.login_limit.max_failures > 0 && so.login_limit.window.count() < 1) {
    throw ConfigError(cfg.where("auth_failure_window") +
                      ": must be at least 1s (or auth_max_failures = 0: no limit)");
  }
  so.operational_access = operational_access(cfg);
  if (o.store.kind == StoreKind::disk) {
    so.scratch_dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "passthrough";
  }
  return so;
}

http::ServerOptions server_options(const RawConfig& cfg) {
  http::ServerOptions ho;
  ho.listen = cfg.get("listen");
  ho.threads = cfg.count("threads");
  ho.header_timeout = cfg.duration("header_timeout");
  ho.idle_timeout = cfg.duration("idle_timeout");
  ho.write_stall_timeout = cfg.duration("write_timeout");
  ho.max_header_bytes = cfg.count("max_header_bytes");
  ho.log_format = cfg.get("log_format") == "json" ? http::LogFormat::json : http::LogFormat::text;
  ho.shutdown_grace = cfg.duration("shutdown_grace");
  ho.tls_cert = cfg.get("tls_cert");
  ho.tls_key = cfg.get("tls_key");
  ho.path_prefix = cfg.get("path_prefix");
  ho.check_interval = cfg.duration("rules_check_interval");
  return ho;
}

// The admin listener: one thread, the main listener's limits; no TLS, no path prefix, no
// reloads (the main listener's).
std::optional<AdminConfig> admin_config(const RawConfig& cfg, const Options& o) {
  const std::string& listen = cfg.get("admin_listen");
  if (listen.empty()) return std::nullopt;
  AdminConfig a;
  a.server.listen = listen;
  a.server.threads = 1;
  a.server.header_timeout = o.server.header_timeout;
  a.server.idle_timeout = o.server.idle_timeout;
  a.server.write_stall_timeout = o.server.write_stall_timeout;
  a.server.max_header_bytes = o.server.max_header_bytes;
  a.server.log_format = o.server.log_format;
  a.server.shutdown_grace = o.server.shutdown_grace;
  a.admin.effective_config = render_config(cfg);
  a.admin.data_dir = o.store.kind == StoreKind::disk ? cfg.get("data_dir") : "";
  return a;
}

// The OTLP traces URL of otlp_endpoint (a base URL), or "".
std::string otlp_traces_url(const RawConfig& cfg) {
  std::string url = cfg.get("otlp_endpoint");
  if (url.empty()) return url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/v1/traces";
}

}  // namespace

std::string_view to_string(StoreKind kind) {
  switch (kind) {
    case StoreKind::disk:
      return "disk";
    case StoreKind::memory:
      return "memory";
    case StoreKind::s3:
      return "s3";
    case StoreKind::azure:
      return "azure";
    case StoreKind::gcs:
      return "gcs";
    case StoreKind::mongodb:
      return "mongodb";
  }
  return "?";
}

StoreConfig store_config(const RawConfig& cfg) {
  StoreConfig s;
  const std::string& kind = cfg.get("store");
  s.kind = kind == "s3"        ? StoreKind::s3
           : kind == "gcs"     ? StoreKind::gcs
           : kind == "azure"   ? StoreKind::azure
           : kind == "mongodb" ? StoreKind::mongodb
           : kind == "memory"  ? StoreKind::memory
                               : StoreKind::disk;
  s.data_dir = cfg.get("data_dir");
  if (s.kind == StoreKind::disk) s.location = cfg.get("data_dir");
  if (s.kind == StoreKind::azure) {
    s.azure = azure_options(cfg);
    const std::string& endpoint = s.azure->endpoint;
    s.location =
        (endpoint.empty() ? "account " + s.azure->account : text::redact_credentials(endpoint)) +
        " container " + s.azure->container +
        (s.azure->prefix.empty() ? "" : " prefix " + s.azure->prefix);
    return s;
  }
  if (s.kind == StoreKind::gcs) {
    s.gcs = gcs_options(cfg);
    s.location = (cfg.get("gcs_endpoint").empty() ? std::string("gcs")
                                                  : text::redact_credentials(s.gcs->endpoint)) +
                 " bucket " + s.gcs->bucket +
                 (s.gcs->prefix.empty() ? "" : " prefix " + s.gcs->prefix) + " (auth " +
                 cfg.get("gcs_auth") + ")";
    return s;
  }
  if (s.kind == StoreKind::mongodb) {
    s.mongodb = mongodb_options(cfg);
    s.location = text::redact_credentials(s.mongodb->uri) + " database " + s.mongodb->database +
                 " prefix " + s.mongodb->prefix;
    return s;
  }
  if (s.kind != StoreKind::s3) return s;
  s.s3 = s3_options(cfg);
  s.presign_ttl = seconds(cfg.duration("s3_presign_ttl"));
  if (cfg.duration("s3_presign_ttl").count() > 0) {
    s.presign_ttl = std::max(std::chrono::seconds(1), s.presign_ttl);
  }
  const std::string& ep = cfg.get("s3_endpoint");
  s.location = (ep.empty() || derived(cfg, "s3_endpoint") ? std::string("aws")
                                                          : text::redact_credentials(ep)) +
               " bucket " + cfg.get("s3_bucket") +
               (cfg.get("s3_prefix").empty() ? "" : " prefix " + cfg.get("s3_prefix"));
  return s;
}

UpstreamConfig upstream_config(const RawConfig& cfg) {
  const std::string& text = cfg.get("upstream");
  if (text.empty()) {
    throw ConfigError(
        "upstream: not set, and `go env GOPROXY` gave nothing (is the go command "
        "installed?); set --upstream or STOA_UPSTREAM");
  }
  std::string error;
  const auto list = fetch::parse_proxy_list(text, &error);
  if (!list) throw ConfigError(cfg.where("upstream") + ": " + error);
  if (list->entries.empty() && !list->direct) {
    throw ConfigError(cfg.where("upstream") + ": " + redact_credentials(text) +
                      " names no proxy and not direct: nothing could ever be fetched");
  }
  UpstreamConfig u;
  u.options.proxies = *list;
  u.options.connect_timeout = cfg.duration("connect_timeout");
  u.options.total_timeout = cfg.duration("fetch_timeout");
  u.options.stall_timeout = cfg.duration("stall_timeout");
  u.options.redirect_allow = redirect_allow(cfg);
  u.options.user_agent = "stoa/" STOA_VERSION;
  u.display = redact_credentials(text);
  return u;
}

std::string not_verified(const RawConfig& cfg) {
  const auto& a = cfg.get("no_sumdb");
  const auto& b = cfg.get("private_modules");
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

ChecksumConfig checksum_config(const RawConfig& cfg, const KnownKeys& known,
                               const fetch::ProxyList& upstreams) {
  ChecksumConfig c;
  c.no_sumdb = cfg.get("no_sumdb");
  c.not_verified = not_verified(cfg);
  const ChecksumDbSetting setting = parse_checksum_db(cfg.get("sumdb"), known);
  if (!setting.error.empty()) throw ConfigError(cfg.where("sumdb") + ": " + setting.error);
  c.db = setting.db;
  if (!c.db) return c;
  if (!c.db->url.empty()) {
    std::string error;
    auto list = fetch::parse_proxy_list(c.db->url, &error);
    if (!list) throw ConfigError(cfg.where("sumdb") + ": " + error);
    c.own_proxies = *list;
  } else if (upstreams.entries.empty()) {
    // Only "direct": like the go command, reach the database at https://<name>.
    c.own_proxies = fetch::parse_proxy_list("https://" + c.db->name);
  }
  // The latest verified tree head is this process's own memory of the database, kept on local
  // disk (with an S3 store too: each replica remembers what it has verified).
  if (cfg.get("store") != "memory") {
    c.state_file = std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "sumdb" /
                   (c.db->name + ".latest");
  }
  return c;
}

DirectConfig direct_config(const RawConfig& cfg, const fetch::ProxyList& upstreams) {
  DirectConfig d;
  d.upstream_direct = upstreams.direct;
  d.have_proxy = !upstreams.entries.empty();
  d.enabled = upstreams.direct || !cfg.get("private_modules").empty();
  if (!d.enabled) return d;
  if (!cfg.get("direct_dir").empty() && !derived(cfg, "direct_dir")) {
    d.dir = cfg.get("direct_dir");
  } else if (cfg.get("store") == "disk") {
    d.dir = std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "direct";
  }
  d.go_binary = cfg.get("go_binary");
  d.go_binary_where = cfg.where("go_binary");
  // The default HOME (also when derive_defaults() spelled it out) is under the directory.
  if (!derived(cfg, "direct_home")) d.home = cfg.get("direct_home");
  d.govcs = cfg.get("direct_govcs");
  d.private_patterns = cfg.get("private_modules");
  d.insecure = cfg.get("direct_insecure");
  d.netrc = cfg.get("direct_netrc");
  d.git_config = cfg.get("direct_git_config");
  d.ssh_key = cfg.get("direct_ssh_key");
  d.ssh_known_hosts = cfg.get("direct_ssh_known_hosts");
  if (auto problem = direct::ssh_path_problem(d.ssh_known_hosts))
    throw ConfigError(cfg.where("direct_ssh_known_hosts") + ": " + *problem);
  if (d.ssh_key.find_first_of(" \t'\"\\$`") != std::string::npos) {
    throw ConfigError(cfg.where("direct_ssh_key") +
                      ": the path may not contain blanks, quotes, '$' or '\\'");
  }
  for (auto& name : split_list(cfg.get("direct_pass_env"))) {
    if (name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
        std::string::npos)
      throw ConfigError(cfg.where("direct_pass_env") + ": not a variable name: " + name);
    if (direct::is_reserved_env_name(name)) {
      throw ConfigError(cfg.where("direct_pass_env") + ": " + name +
                        " is set by stoa itself for the go command");
    }
    d.pass_env.push_back(std::move(name));
  }
  d.timeout = cfg.duration("direct_timeout");
  d.negative_ttl = cfg.duration("direct_negative_ttl");
  d.workers = std::max<std::uint64_t>(1, cfg.count("direct_workers"));
  d.queue = cfg.count("fetch_queue");
  return d;
}

policy::PolicyFiles policy_files(const RawConfig& cfg) {
  // rules_file defaults to the configuration file itself (derive_defaults()).
  return {cfg.get("rules_file"), cfg.get("users_file"), cfg.get("tokens_file")};
}

LockConfig lock_config(const RawConfig& cfg) {
  LockConfig l;
  const std::string& kind = cfg.get("lock");
  if (kind == "none") return l;
  l.kind = kind == "redis" ? LockKind::redis : LockKind::postgres;
  const std::string url_key = kind == "redis" ? "redis_url" : "postgres_url";
  l.url = cfg.get(url_key);
  if (l.url.empty())
    throw ConfigError(cfg.where("lock") + ": lock = " + kind + " needs " + url_key);
  l.lease = cfg.duration("lock_lease");
  return l;
}

IndexConfig index_config(const RawConfig& cfg) {
  IndexConfig i;
  const std::string& kind = cfg.get("index");
  if (kind == "none") {
    i.kind = IndexKind::none;
    return i;
  }
  if (kind == "postgres") {
    i.kind = IndexKind::postgres;
    i.target = cfg.get("postgres_url");
    if (i.target.empty()) {
      throw ConfigError(cfg.where("index") + ": index = postgres needs postgres_url");
    }
    return i;
  }
  // The memory store forgets everything on exit: so does its index. Every other store keeps the
  // index in a file of the data directory (for an object store: this machine's own).
  if (cfg.get("store") == "memory") {
    i.target = ":memory:";
    return i;
  }
  i.target = (std::filesystem::path(cfg.get("data_dir")) / ".stoa-state" / "index.sqlite").string();
  // An index file is one machine's: replicas sharing an object store would each publish only
  // what they stored themselves at /index and /catalog.
  if (cfg.get("store") == "s3" || cfg.get("store") == "gcs" || cfg.get("store") == "azure" ||
      cfg.get("store") == "mongodb") {
    if (cfg.get("lock") != "none") {
      throw ConfigError(cfg.where("index") +
                        ": index = sqlite keeps the index in a file on this machine, but lock = " +
                        cfg.get("lock") +
                        " says replicas share the store, and each would list only what it "
                        "stored itself: set index = postgres (one index for all) or none");
    }
    i.local_to_this_machine = true;
  }
  return i;
}

UiConfig ui_config(const RawConfig& cfg) {
  UiConfig u;
  u.enabled = cfg.boolean("ui");
  std::string path = cfg.get("ui_path");
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (!html::Url::local(path) || path.find('%') != std::string::npos) {
    throw ConfigError(cfg.where("ui_path") +
                      ": must be a path such as / or /ui (letters, digits, " +
                      "'-', '.', '_', '~' and '/')");
  }
  // The protocol's own paths stay the protocol's.
  for (const std::string_view taken : {"/metrics", "/index", "/catalog", "/sumdb", "/vulndb",
                                       "/healthz", "/readyz", "/_stoa", "/cooldown", "/admin"}) {
    if (path == taken || path.starts_with(std::string(taken) + "/")) {
      throw ConfigError(cfg.where("ui_path") + ": " + path + " is one of stoa's own paths");
    }
  }
  u.path = path;
  std::string url = cfg.get("external_url");
  while (url.ends_with('/')) url.pop_back();
  if (!url.empty() && !html::Url::external(url)) {
    throw ConfigError(cfg.where("external_url") +
                      ": must be an http:// or https:// URL with a host, e.g. "
                      "https://proxy.example.com");
  }
  u.external_url = url;
  return u;
}

Options resolve_options(const RawConfig& cfg, const KnownKeys& known) {
  Options o;
  o.upstream = upstream_config(cfg);
  o.checksum = checksum_config(cfg, known, o.upstream.options.proxies);
  o.store = store_config(cfg);
  o.log = {cfg.get("log_format"), cfg.get("log_level"), cfg.boolean("access_log")};
  o.direct = direct_config(cfg, o.upstream.options.proxies);
  o.policy = policy_files(cfg);
  o.fetch_pool = {cfg.count("fetch_workers"), cfg.count("fetch_queue")};
  o.auth_pool = {cfg.count("auth_workers"), cfg.count("auth_queue")};
  o.validator_url = cfg.get("validator_url");
  o.validator_timeout = cfg.duration("validator_timeout");
  o.otlp_endpoint = otlp_traces_url(cfg);
  o.lock = lock_config(cfg);
  o.index = index_config(cfg);
  o.service = service_options(cfg, o);
  o.clean_scratch = o.store.kind == StoreKind::disk;
  o.server = server_options(cfg);
  o.admin = admin_config(cfg, o);
  o.ui = ui_config(cfg);
  o.vulndb_dir = cfg.get("vulndb_dir");
  o.vulndb_source = cfg.get("vulndb_source");
  while (o.vulndb_source.ends_with('/')) o.vulndb_source.pop_back();
  o.vulndb_sync_interval = cfg.duration("vulndb_sync_interval");
  if (!o.vulndb_source.empty() && o.vulndb_dir.empty()) {
    throw ConfigError(cfg.where("vulndb_source") + ": needs vulndb_dir");
  }
  return o;
}

}  // namespace stoa::cli
