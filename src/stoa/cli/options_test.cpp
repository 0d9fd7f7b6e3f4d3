#include "stoa/cli/options.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <string>

namespace stoa::cli {
namespace {

using Strings = std::map<std::string, std::string, std::less<>>;

const std::string k_key = "db.example+0123abcd+AYvkey0000000000000000000000000000000000000000";
const KnownKeys k_known{{"db.example", k_key}};

// The raw table as main() builds it: flags and STOA_* variables over the defaults, then the
// derived defaults (with `aws` as the process environment).
RawConfig raw(const Strings& flags, const Strings& env = {}, const Strings& aws = {}) {
  Strings with_upstream = flags;
  with_upstream.try_emplace("upstream", "http://127.0.0.1:9/up");
  with_upstream.try_emplace("sumdb", "db.example");
  RawConfig cfg = load_config("", env, with_upstream);
  derive_defaults(cfg, "", [&aws](const char* name) {
    const auto it = aws.find(name);
    return it == aws.end() ? std::string() : it->second;
  });
  return cfg;
}

Options resolve(const Strings& flags, const Strings& env = {}, const Strings& aws = {}) {
  return resolve_options(raw(flags, env, aws), k_known);
}

TEST(Options, Defaults) {
  const Options o = resolve({});
  EXPECT_EQ(o.store.kind, StoreKind::disk);
  EXPECT_EQ(o.store.data_dir, "data");
  EXPECT_EQ(o.store.location, "data");
  EXPECT_FALSE(o.store.s3);
  ASSERT_EQ(o.upstream.options.proxies.entries.size(), 1u);
  EXPECT_EQ(o.upstream.options.proxies.entries[0].base_url, "http://127.0.0.1:9/up");
  EXPECT_EQ(o.upstream.options.total_timeout, std::chrono::minutes(10));
  EXPECT_EQ(o.upstream.options.user_agent, "stoa/" STOA_VERSION);
  ASSERT_TRUE(o.checksum.db);
  EXPECT_EQ(o.checksum.db->key, k_key);
  EXPECT_FALSE(o.checksum.own_proxies);  // through the upstream proxies
  EXPECT_EQ(o.checksum.state_file, "data/.stoa-state/sumdb/db.example.latest");
  EXPECT_FALSE(o.direct.enabled);
  EXPECT_EQ(o.lock.kind, LockKind::none);
  EXPECT_EQ(o.index.kind, IndexKind::sqlite);
  EXPECT_EQ(o.index.target, "data/.stoa-state/index.sqlite");
  EXPECT_FALSE(o.index.local_to_this_machine);
  EXPECT_EQ(o.fetch_pool.workers, 16u);
  EXPECT_EQ(o.fetch_pool.queue, 1024u);
  EXPECT_EQ(o.auth_pool.workers, 2u);
  EXPECT_EQ(o.service.list_ttl, std::chrono::seconds(60));
  EXPECT_EQ(o.service.lock_wait, std::chrono::minutes(10));  // fetch_timeout
  EXPECT_EQ(o.service.store_backend, "disk");
  EXPECT_EQ(o.service.origin, "http://127.0.0.1:9/up");
  EXPECT_EQ(o.service.scratch_dir, "data/.stoa-state/passthrough");
  EXPECT_TRUE(o.clean_scratch);
  EXPECT_EQ(o.service.operational_access, proxy::ServiceOptions::OperationalAccess::anyone);
  EXPECT_EQ(o.server.listen, "127.0.0.1:8080");
  EXPECT_EQ(o.server.threads, 0u);
  EXPECT_EQ(o.server.check_interval, std::chrono::seconds(2));
  EXPECT_FALSE(o.admin);
  EXPECT_EQ(o.otlp_endpoint, "");
  EXPECT_EQ(o.log.format, "text");
  EXPECT_TRUE(o.log.access_log);
}

// One row per key (or combination) whose typed value is worked out rather than copied.
TEST(Options, TypedValuesTable) {
  struct Case {
    const char* name;
    Strings flags;
    Strings aws;
    std::function<void(const Options&)> check;
  };
  const Strings s3 = {{"store", "s3"}, {"s3_bucket", "b"}};
  const Strings creds = {{"AWS_ACCESS_KEY_ID", "id"}, {"AWS_SECRET_ACCESS_KEY", "secret"}};
  auto with = [](Strings a, const Strings& b) {
    a.insert(b.begin(), b.end());
    return a;
  };
  const std::vector<Case> cases = {
      {"memory store keeps nothing on disk",
       {{"store", "memory"}, {"private_modules", "corp.example"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.store.kind, StoreKind::memory);
         EXPECT_EQ(o.index.target, ":memory:");
         EXPECT_EQ(o.checksum.state_file, "");
         EXPECT_EQ(o.service.scratch_dir, "");
         EXPECT_FALSE(o.clean_scratch);
         EXPECT_TRUE(o.direct.enabled);
         EXPECT_FALSE(o.direct.upstream_direct);
         EXPECT_EQ(o.direct.dir, "");  // a temporary directory
       }},
      {"s3 on AWS: virtual hosts, derived region and endpoint, threads as for any store", s3, creds,
       [](const Options& o) {
         ASSERT_TRUE(o.store.s3);
         EXPECT_EQ(o.store.s3->region, "us-east-1");
         EXPECT_EQ(o.store.s3->endpoint, "https://s3.us-east-1.amazonaws.com");
         EXPECT_TRUE(o.store.s3->virtual_host);
         EXPECT_EQ(o.store.s3->access_key, "id");
         EXPECT_EQ(o.store.s3->spool_dir, "data/.stoa-s3-spool");
         EXPECT_EQ(o.store.location, "aws bucket b");
         EXPECT_EQ(o.store.presign_ttl, std::chrono::seconds(0));
         EXPECT_EQ(o.server.threads, 0u);  // bucket reads run on the fetch workers
         EXPECT_TRUE(o.index.local_to_this_machine);
         EXPECT_EQ(o.checksum.state_file, "data/.stoa-state/sumdb/db.example.latest");
         EXPECT_EQ(o.service.store_backend, "s3");
         EXPECT_EQ(o.service.scratch_dir, "");
       }},
      {"s3 elsewhere: path style, a short presign TTL is a second",
       with(s3, {{"s3_endpoint", "http://u:pw@127.0.0.1:7070"},
                 {"s3_presign_ttl", "200ms"},
                 {"s3_conditional_write", "off"},
                 {"threads", "3"}}),
       creds,
       [](const Options& o) {
         ASSERT_TRUE(o.store.s3);
         EXPECT_FALSE(o.store.s3->virtual_host);
         EXPECT_EQ(o.store.s3->conditional, store::ConditionalWrite::off);
         EXPECT_EQ(o.store.presign_ttl, std::chrono::seconds(1));
         EXPECT_EQ(o.store.location, "http://127.0.0.1:7070 bucket b");
         EXPECT_EQ(o.server.threads, 3u);
       }},
      {"mongodb: URI redacted in the location, spool and index on this machine",
       {{"store", "mongodb"},
        {"mongodb_uri", "mongodb://u:pw@db1:27017,db2:27017/?replicaSet=rs0"},
        {"mongodb_prefix", "gomod"},
        {"stall_timeout", "5s"}},
       {},
       [](const Options& o) {
         ASSERT_TRUE(o.store.mongodb);
         EXPECT_FALSE(o.store.s3);
         EXPECT_EQ(o.store.kind, StoreKind::mongodb);
         EXPECT_EQ(o.store.mongodb->uri, "mongodb://u:pw@db1:27017,db2:27017/?replicaSet=rs0");
         EXPECT_EQ(o.store.mongodb->database, "stoa");
         EXPECT_EQ(o.store.mongodb->prefix, "gomod");
         EXPECT_EQ(o.store.mongodb->spool_dir, "data/.stoa-mongodb-spool");
         EXPECT_EQ(o.store.mongodb->stall_timeout, std::chrono::seconds(5));
         EXPECT_EQ(o.store.location,
                   "mongodb://db1:27017,db2:27017/?replicaSet=rs0 database stoa prefix gomod");
         EXPECT_TRUE(o.index.local_to_this_machine);
         EXPECT_EQ(o.service.store_backend, "mongodb");
         EXPECT_EQ(o.service.scratch_dir, "");
       }},
      {"azure: the connection string's parts, AZURE_STORAGE_* variables, keys over both",
       {{"store", "azure"}, {"azure_container", "mods"}, {"azure_prefix", "p"}},
       {{"AZURE_STORAGE_CONNECTION_STRING",
         "AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.example"},
        {"AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x"},
        {"AZURE_CLIENT_ID", "cid"}},
       [](const Options& o) {
         ASSERT_TRUE(o.store.azure);
         EXPECT_EQ(o.store.kind, StoreKind::azure);
         EXPECT_EQ(o.store.azure->account, "acct");
         EXPECT_EQ(o.store.azure->endpoint, "https://acct.blob.core.example");
         EXPECT_EQ(o.store.azure->account_key, "a2V5");
         EXPECT_EQ(o.store.azure->sas_token, "sv=1&sig=x");
         EXPECT_EQ(o.store.azure->identity_client_id, "cid");
         EXPECT_FALSE(o.store.azure->managed_identity);
         EXPECT_EQ(o.store.azure->container, "mods");
         EXPECT_EQ(o.store.azure->block_size, std::uint64_t{16} << 20);
         EXPECT_EQ(o.store.azure->spool_dir, "data/.stoa-azure-spool");
         EXPECT_EQ(o.store.location, "https://acct.blob.core.example container mods prefix p");
         EXPECT_TRUE(o.index.local_to_this_machine);
         EXPECT_EQ(o.service.store_backend, "azure");
         EXPECT_EQ(o.service.scratch_dir, "");
       }},
      {"azure with a managed identity only",
       {{"store", "azure"},
        {"azure_container", "mods"},
        {"azure_account", "acct"},
        {"azure_managed_identity", "true"},
        {"azure_endpoint", "http://127.0.0.1:10000/acct"}},
       {},
       [](const Options& o) {
         ASSERT_TRUE(o.store.azure);
         EXPECT_TRUE(o.store.azure->managed_identity);
         EXPECT_EQ(o.store.azure->account_key, "");
         EXPECT_EQ(o.store.azure->endpoint, "http://127.0.0.1:10000/acct");
       }},
      {"direct in the upstream list",
       {{"upstream", "http://127.0.0.1:9/a,direct"},
        {"direct_pass_env", " HTTPS_PROXY , NO_PROXY,"},
        {"direct_workers", "2"}},
       {},
       [](const Options& o) {
         EXPECT_TRUE(o.direct.enabled);
         EXPECT_TRUE(o.direct.upstream_direct);
         EXPECT_EQ(o.direct.dir, "data/.stoa-state/direct");
         EXPECT_EQ(o.direct.home, "");  // the default, under dir
         EXPECT_EQ(o.direct.pass_env, (std::vector<std::string>{"HTTPS_PROXY", "NO_PROXY"}));
         EXPECT_EQ(o.direct.workers, 2u);
         EXPECT_EQ(o.direct.queue, 1024u);
       }},
      {"only direct: the checksum database at https://<name>",
       {{"upstream", "direct"}},
       {},
       [](const Options& o) {
         ASSERT_TRUE(o.checksum.own_proxies);
         EXPECT_EQ(o.checksum.own_proxies->entries.at(0).base_url, "https://db.example");
       }},
      {"a checksum database with its own URL",
       {{"sumdb", k_key + " http://127.0.0.1:9/db"},
        {"no_sumdb", "a.example"},
        {"private_modules", "b.example"}},
       {},
       [](const Options& o) {
         ASSERT_TRUE(o.checksum.own_proxies);
         EXPECT_EQ(o.checksum.own_proxies->entries.at(0).base_url, "http://127.0.0.1:9/db");
         EXPECT_EQ(o.checksum.no_sumdb, "a.example");
         EXPECT_EQ(o.checksum.not_verified, "a.example,b.example");
         EXPECT_EQ(o.service.no_sumdb, "a.example,b.example");
       }},
      {"sumdb off", {{"sumdb", "off"}}, {}, [](const Options& o) { EXPECT_FALSE(o.checksum.db); }},
      {"lock and its wait",
       {{"lock", "redis"}, {"redis_url", "redis://127.0.0.1:1"}, {"lock_wait", "3s"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.lock.kind, LockKind::redis);
         EXPECT_EQ(o.lock.url, "redis://127.0.0.1:1");
         EXPECT_EQ(o.lock.lease, std::chrono::seconds(10));
         EXPECT_EQ(o.service.lock_wait, std::chrono::seconds(3));
       }},
      {"postgres index",
       {{"index", "postgres"}, {"postgres_url", "postgresql://x"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.index.kind, IndexKind::postgres);
         EXPECT_EQ(o.index.target, "postgresql://x");
       }},
      {"no index",
       {{"index", "none"}},
       {},
       [](const Options& o) { EXPECT_EQ(o.index.kind, IndexKind::none); }},
      {"users: operational endpoints for the authenticated",
       {{"users_file", "/etc/stoa/users"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.service.operational_access,
                   proxy::ServiceOptions::OperationalAccess::authenticated);
         EXPECT_EQ(o.policy.users_file, "/etc/stoa/users");
       }},
      {"admin listener: its own address and one thread, nothing of TLS or the prefix",
       {{"admin_listen", "127.0.0.1:0"},
        {"operational_endpoints", "admin"},
        {"tls_cert", "c.pem"},
        {"tls_key", "k.pem"},
        {"path_prefix", "/goproxy"},
        {"header_timeout", "3s"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.service.operational_access,
                   proxy::ServiceOptions::OperationalAccess::admin_only);
         EXPECT_EQ(o.server.tls_cert, "c.pem");
         EXPECT_EQ(o.server.path_prefix, "/goproxy");
         ASSERT_TRUE(o.admin);
         EXPECT_EQ(o.admin->server.listen, "127.0.0.1:0");
         EXPECT_EQ(o.admin->server.threads, 1u);
         EXPECT_EQ(o.admin->server.header_timeout, std::chrono::seconds(3));
         EXPECT_EQ(o.admin->server.tls_cert, "");
         EXPECT_EQ(o.admin->server.tls_key, "");
         EXPECT_EQ(o.admin->server.path_prefix, "");
         EXPECT_EQ(o.admin->server.check_interval, std::chrono::milliseconds(0));
         EXPECT_EQ(o.admin->admin.data_dir, "data");
         EXPECT_NE(o.admin->admin.effective_config.find("admin_listen = \"127.0.0.1:0\""),
                   std::string::npos);
       }},
      {"trace endpoint",
       {{"otlp_endpoint", "http://127.0.0.1:4318//"}},
       {},
       [](const Options& o) { EXPECT_EQ(o.otlp_endpoint, "http://127.0.0.1:4318/v1/traces"); }},
      {"logs and validator",
       {{"log_format", "json"},
        {"access_log", "false"},
        {"validator_url", "http://v"},
        {"validator_failure", "allow"}},
       {},
       [](const Options& o) {
         EXPECT_EQ(o.log.format, "json");
         EXPECT_FALSE(o.log.access_log);
         EXPECT_EQ(o.server.log_format, http::LogFormat::json);
         EXPECT_EQ(o.validator_url, "http://v");
         EXPECT_TRUE(o.service.validator_allows_on_error);
       }},
      {"redirect allow list",
       {{"upstream_redirect_allow", " 10.20.0.0/16, fd00:1::/64 ,"}},
       {},
       [](const Options& o) { EXPECT_EQ(o.upstream.options.redirect_allow.size(), 2u); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    try {
      c.check(resolve(c.flags, {}, c.aws));
    } catch (const ConfigError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

// Every error names the key and where its value came from (a flag here, or a variable).
TEST(Options, ErrorsNameTheKeyAndItsSource) {
  struct Case {
    Strings flags;
    Strings env;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"upstream", "off"}}, {}, "upstream (--upstream): off names no proxy and not direct"},
      {{{"upstream", "ftp://x"}}, {}, "upstream (--upstream): "},
      {{{"sumdb", "unknown.example"}}, {}, "sumdb (--sumdb): "},
      {{{"sumdb", "k+0123abcd+AA http://a http://b"}}, {}, "sumdb (--sumdb): "},
      {{{"store", "s3"}}, {}, "store (--store): store = \"s3\" needs s3_bucket"},
      {{},
       {{"STOA_STORE", "s3"}, {"STOA_S3_BUCKET", "b"}},
       "store (STOA_STORE): store = \"s3\" needs credentials"},
      {{{"store", "mongodb"}}, {}, "store (--store): store = \"mongodb\" needs mongodb_uri"},
      {{{"store", "mongodb"}, {"mongodb_uri", "mongodb://h/"}, {"mongodb_database", ""}},
       {},
       "mongodb_database (--mongodb-database): must not be empty"},
      {{{"store", "azure"}}, {}, "store (--store): store = \"azure\" needs azure_container"},
      {{},
       {{"STOA_STORE", "azure"}, {"STOA_AZURE_CONTAINER", "c"}, {"STOA_AZURE_ACCOUNT", "a"}},
       "store (STOA_STORE): store = \"azure\" needs credentials"},
      {{{"store", "azure"}, {"azure_container", "c"}, {"azure_key", "a2V5"}},
       {},
       "store (--store): store = \"azure\" needs azure_account"},
      {{{"store", "azure"}, {"azure_container", "c"}, {"azure_connection_string", "s3cr3t"}},
       {},
       "azure_connection_string (--azure-connection-string): a part without name=value"},
      {{{"upstream_redirect_allow", "10.0.0.1/8"}},
       {},
       "upstream_redirect_allow (--upstream-redirect-allow): not a network (CIDR, host bits "
       "zero): 10.0.0.1/8"},
      {{{"lock", "redis"}}, {}, "lock (--lock): lock = redis needs redis_url"},
      {{}, {{"STOA_LOCK", "postgres"}}, "lock (STOA_LOCK): lock = postgres needs postgres_url"},
      {{{"index", "postgres"}}, {}, "index (--index): index = postgres needs postgres_url"},
      {{{"store", "s3"},
        {"s3_bucket", "b"},
        {"s3_access_key", "a"},
        {"s3_secret_key", "s"},
        {"lock", "postgres"},
        {"postgres_url", "postgresql://x"}},
       {},
       "index: index = sqlite keeps the index in a file on this machine, but lock = postgres"},
      {{{"auth_failure_window", "500ms"}},
       {},
       "auth_failure_window (--auth-failure-window): must be at least 1s"},
      {{{"private_modules", "corp.example"}, {"direct_ssh_key", "/a b"}},
       {},
       "direct_ssh_key (--direct-ssh-key): the path may not contain blanks"},
      {{{"private_modules", "corp.example"}, {"direct_ssh_known_hosts", "/a\"b"}},
       {},
       "direct_ssh_known_hosts (--direct-ssh-known-hosts): the path may not contain double quotes"},
      {{{"private_modules", "corp.example"}},
       {{"STOA_DIRECT_PASS_ENV", "OK,NOT-A-NAME"}},
       "direct_pass_env (STOA_DIRECT_PASS_ENV): not a variable name: NOT-A-NAME"},
      {{{"private_modules", "corp.example"}, {"direct_pass_env", "GOPROXY"}},
       {},
       "direct_pass_env (--direct-pass-env): GOPROXY is set by stoa itself"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    try {
      resolve(c.flags, c.env);
      ADD_FAILURE() << "no error";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

TEST(Options, UpstreamNotSetAtAll) {
  RawConfig cfg = load_config("", {}, {});
  derive_defaults(cfg, "", [](const char*) { return std::string(); });
  EXPECT_THROW(upstream_config(cfg), ConfigError);
}

// Commands that need a part only do not fail on the keys of other parts.
TEST(Options, PartsStandAlone) {
  const RawConfig cfg = raw({{"lock", "redis"}, {"index", "none"}});
  EXPECT_EQ(index_config(cfg).kind, IndexKind::none);
  EXPECT_EQ(store_config(cfg).kind, StoreKind::disk);
  EXPECT_THROW(lock_config(cfg), ConfigError);
}

TEST(Options, WebPages) {
  const Options off = resolve({});
  EXPECT_FALSE(off.ui.enabled);
  EXPECT_EQ(off.ui.path, "/");
  EXPECT_EQ(off.ui.external_url, "");
  const Options on = resolve(
      {{"ui", "true"}, {"ui_path", "/ui/"}, {"external_url", "https://proxy.example.com/"}});
  EXPECT_TRUE(on.ui.enabled);
  EXPECT_EQ(on.ui.path, "/ui");
  EXPECT_EQ(on.ui.external_url, "https://proxy.example.com");
  for (const char* bad : {"ui", "//evil.example", "/a b", "/a%20b", "/metrics", "/sumdb/x",
                          "/vulndb", "/_stoa", "/cooldown"}) {
    EXPECT_THROW(resolve({{"ui_path", bad}}), ConfigError) << bad;
  }
  for (const char* bad : {"javascript:alert(1)", "proxy.example.com", "//proxy.example.com",
                          "ftp://proxy.example.com", "https://a\"b"}) {
    EXPECT_THROW(resolve({{"external_url", bad}}), ConfigError) << bad;
  }
}

}  // namespace
}  // namespace stoa::cli
