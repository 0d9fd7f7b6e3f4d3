#include "stoa/cli/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace stoa::cli {
namespace {

class TempToml {
 public:
  explicit TempToml(const std::string& text) {
    m_path =
        std::filesystem::temp_directory_path() / ("stoa-config-test-" + std::to_string(::getpid()) +
                                                  "-" + std::to_string(s_counter++) + ".toml");
    std::ofstream(m_path) << text;
  }
  ~TempToml() { std::filesystem::remove(m_path); }
  std::string path() const { return m_path.string(); }

 private:
  static inline int s_counter = 0;
  std::filesystem::path m_path;
};

TEST(Config, DefaultsFromTheTable) {
  const RawConfig c = load_config("", {}, {});
  for (const auto& k : keys()) {
    EXPECT_EQ(c.get(k.name), k.default_value) << k.name;
    EXPECT_EQ(c.values.at(std::string(k.name)).source, Source::default_value);
  }
  EXPECT_EQ(c.duration("list_ttl"), std::chrono::seconds(60));
}

TEST(Config, PrecedenceFileEnvFlag) {
  TempToml f(
      "listen = \"127.0.0.1:1\"\nlist_ttl = \"5s\"\nfetch_workers = 3\naccess_log = false\n");
  const RawConfig c = load_config(f.path(), {{"STOA_LIST_TTL", "7s"}, {"STOA_DATA_DIR", "/x"}},
                                  {{"data_dir", "/y"}});
  EXPECT_EQ(c.get("listen"), "127.0.0.1:1");
  EXPECT_EQ(c.values.at("listen").source, Source::file);
  EXPECT_EQ(c.duration("list_ttl"), std::chrono::seconds(7));
  EXPECT_EQ(c.values.at("list_ttl").source, Source::env);
  EXPECT_EQ(c.get("data_dir"), "/y");
  EXPECT_EQ(c.values.at("data_dir").source, Source::flag);
  EXPECT_EQ(c.count("fetch_workers"), 3u);
  EXPECT_FALSE(c.boolean("access_log"));
}

TEST(Config, UnknownFileKeyIsAnError) {
  TempToml f("listne = \"x\"\n");
  try {
    load_config(f.path(), {}, {});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key \"listne\""), std::string::npos) << e.what();
  }
}

TEST(Config, RuleTablesBelongToThePolicy) {
  // [[rule]] and [groups] are read by the policy component from the same file.
  TempToml f(
      "listen = \"127.0.0.1:2\"\n[groups]\nt = [\"a\"]\n[[rule]]\nmodules = \"x.example\"\n");
  const RawConfig c = load_config(f.path(), {}, {});
  EXPECT_EQ(c.get("listen"), "127.0.0.1:2");
}

TEST(Config, MalformedValuesAreErrors) {
  EXPECT_THROW(load_config("", {{"STOA_LIST_TTL", "soon"}}, {}), ConfigError);
  EXPECT_THROW(load_config("", {}, {{"fetch_workers", "-1"}}), ConfigError);
  EXPECT_THROW(load_config("", {}, {{"store", "tape"}}), ConfigError);
  EXPECT_THROW(load_config("", {}, {{"access_log", "yes"}}), ConfigError);
  EXPECT_THROW(load_config("", {}, {{"nope", "1"}}), ConfigError);
  TempToml bad("listen = [1, 2]\n");
  EXPECT_THROW(load_config(bad.path(), {}, {}), ConfigError);
  TempToml broken("listen = \n");
  EXPECT_THROW(load_config(broken.path(), {}, {}), ConfigError);
  EXPECT_THROW(load_config("/nonexistent/stoa.toml", {}, {}), ConfigError);
}

// The message of the ConfigError that load_config throws; "" when it does not throw.
std::string error_of(const std::string& file, std::map<std::string, std::string, std::less<>> env,
                     std::map<std::string, std::string, std::less<>> flags) {
  try {
    load_config(file, env, flags);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_MENTIONS(message, part)               \
  EXPECT_NE((message).find(part), std::string::npos) \
      << "message: " << (message) << "\nwant: " << (part)

TEST(Config, UnknownStoaVariableIsRefused) {
  // A misspelt STOA_* variable would otherwise leave its setting at the default unnoticed.
  const std::string e = error_of("", {{"STOA_LISTN", "127.0.0.1:1"}}, {});
  EXPECT_MENTIONS(e, "STOA_LISTN: unknown environment variable");
  EXPECT_MENTIONS(e, "did you mean STOA_LISTEN?");
  EXPECT_MENTIONS(error_of("", {{"STOA_SOMETHING_ELSE", "x"}}, {}), "STOA_SOMETHING_ELSE");
  // Names must match exactly: the key table is lower case, variables upper case.
  EXPECT_MENTIONS(error_of("", {{"STOA_listen", "127.0.0.1:1"}}, {}), "STOA_listen");
  EXPECT_EQ(error_of("", {{"STOA_CONFIG", ""}, {"STOA_LISTEN", "127.0.0.1:1"}}, {}), "");
}

TEST(Config, ListenAddresses) {
  for (const char* ok : {"127.0.0.1:0", "127.0.0.1:65535", "[::1]:8080", ":8080", "localhost:80",
                         "unix:/run/stoa/stoa.sock", "unix:relative.sock"}) {
    EXPECT_EQ(error_of("", {}, {{"listen", ok}}), "") << ok;
    EXPECT_EQ(error_of("", {}, {{"admin_listen", ok}}), "") << ok;
  }
  EXPECT_EQ(error_of("", {}, {{"admin_listen", ""}}), "") << "empty admin_listen is off";
  struct Bad {
    const char* value;
    const char* why;
  };
  for (const Bad& b :
       {Bad{"127.0.0.1:99999", "port 99999 is out of range (0-65535)"},
        Bad{"127.0.0.1:65536", "port 65536 is out of range"},
        Bad{"127.0.0.1:123456", "must be a number from 0 to 65535"},
        Bad{"127.0.0.1:-1", "must be a number from 0 to 65535"},
        Bad{"127.0.0.1:http", "must be a number from 0 to 65535"},
        Bad{"127.0.0.1:", "must be a number from 0 to 65535"}, Bad{"127.0.0.1", "not host:port"},
        Bad{"", "not host:port"}, Bad{"::1:80", "IPv6 host must be in brackets"},
        Bad{"unix:", "needs a socket path"}}) {
    const std::string e = error_of("", {}, {{"listen", b.value}});
    EXPECT_MENTIONS(e, "listen (--listen): ");
    EXPECT_MENTIONS(e, b.why);
  }
  EXPECT_MENTIONS(error_of("", {}, {{"listen", "unix:/" + std::string(107, 'a')}}),
                  "longer than 107 bytes");
}

TEST(Config, TomlSyntaxErrorHasLineAndColumn) {
  TempToml f("listen = \"127.0.0.1:1\"\n\nfetch_timeout = \n");
  const std::string e = error_of(f.path(), {}, {});
  EXPECT_MENTIONS(e, f.path() + ":3:");
}

TEST(Config, EveryErrorNamesItsSource) {
  TempToml f("listen = \"127.0.0.1:1\"\n  upstream = [\"https://a.example\"]\n");
  EXPECT_MENTIONS(error_of(f.path(), {}, {}),
                  "upstream (" + f.path() + ":2:3): must be a string, not an array");
  TempToml workers("\nfetch_workers = 0\n");
  EXPECT_MENTIONS(error_of(workers.path(), {}, {}),
                  "fetch_workers (" + workers.path() + ":2:1): must be at least 1");
  TempToml typo("lisen = \"x\"\n");
  const std::string e = error_of(typo.path(), {}, {});
  EXPECT_MENTIONS(e, typo.path() + ":1:1: unknown key \"lisen\"");
  EXPECT_MENTIONS(e, "did you mean listen?");
  EXPECT_MENTIONS(error_of("", {{"STOA_FETCH_WORKERS", "0"}}, {}),
                  "fetch_workers (STOA_FETCH_WORKERS): must be at least 1");
  EXPECT_MENTIONS(error_of("", {}, {{"fetch_workers", "0"}}),
                  "fetch_workers (--fetch-workers): must be at least 1");
  EXPECT_MENTIONS(error_of("", {}, {{"direct_workers", "0"}}), "direct_workers (--direct-workers)");
  EXPECT_MENTIONS(error_of("", {}, {{"auth_workers", "0"}}),
                  "auth_workers (--auth-workers): must be at least 1");
  EXPECT_EQ(error_of("", {}, {{"auth_queue", "0"}, {"auth_max_failures", "0"}}), "");
  EXPECT_MENTIONS(error_of("", {}, {{"s3_part_size", "5242879"}}), "must be at least 5242880");
  EXPECT_EQ(error_of("", {}, {{"fetch_workers", "1"}, {"s3_part_size", "5242880"}}), "");
}

TEST(Config, TlsNeedsCertificateAndKey) {
  TempToml f("tls_cert = \"/etc/stoa/cert.pem\"\n");
  EXPECT_MENTIONS(error_of(f.path(), {}, {}),
                  "tls_cert (" + f.path() + ":1:1) is set but tls_key is not");
  EXPECT_MENTIONS(error_of("", {{"STOA_TLS_KEY", "/k.pem"}}, {}),
                  "tls_key (STOA_TLS_KEY) is set but tls_cert is not");
  EXPECT_EQ(error_of("", {{"STOA_TLS_KEY", "/k.pem"}}, {{"tls_cert", "/c.pem"}}), "");
  EXPECT_MENTIONS(
      error_of("", {}, {{"tls_cert", "/c.pem"}, {"tls_key", "/k.pem"}, {"listen", "unix:/s"}}),
      "TLS is not served on a unix socket (listen (--listen))");
}

TEST(Config, OperationalEndpointsNeedWhatTheyPromise) {
  EXPECT_MENTIONS(error_of("", {}, {{"operational_endpoints", "admin"}}),
                  "operational_endpoints (--operational-endpoints): /metrics, /index and /catalog "
                  "would be served nowhere; set admin_listen too");
  EXPECT_EQ(
      error_of("", {}, {{"operational_endpoints", "admin"}, {"admin_listen", "127.0.0.1:9090"}}),
      "");
  EXPECT_MENTIONS(error_of("", {{"STOA_OPERATIONAL_ENDPOINTS", "authenticated"}}, {}),
                  "operational_endpoints (STOA_OPERATIONAL_ENDPOINTS): no client could ever "
                  "authenticate; set users_file or tokens_file too");
  EXPECT_EQ(error_of("", {{"STOA_OPERATIONAL_ENDPOINTS", "authenticated"}},
                     {{"tokens_file", "/etc/stoa/tokens"}}),
            "");
  EXPECT_MENTIONS(error_of("", {}, {{"operational_endpoints", "private"}}),
                  "must be one of public, authenticated, admin");
}

TEST(Config, WhereNamesTheOrigin) {
  TempToml f("listen = \"127.0.0.1:1\"\n");
  const RawConfig c = load_config(f.path(), {{"STOA_LIST_TTL", "1s"}}, {{"data_dir", "/d"}});
  EXPECT_EQ(c.where("listen"), "listen (" + f.path() + ":1:1)");
  EXPECT_EQ(c.where("list_ttl"), "list_ttl (STOA_LIST_TTL)");
  EXPECT_EQ(c.where("data_dir"), "data_dir (--data-dir)");
  EXPECT_EQ(c.where("store"), "store");
}

std::string no_env(const char*) { return ""; }

TEST(DeriveDefaults, EmptyDefaultsGetTheirEffectiveValues) {
  RawConfig c = load_config("", {}, {{"fetch_timeout", "42s"}, {"data_dir", "/srv/stoa"}});
  derive_defaults(c, "/etc/stoa/stoa.toml", no_env);
  EXPECT_EQ(c.get("lock_wait"), "42s");
  EXPECT_EQ(c.values.at("lock_wait").source, Source::derived);
  EXPECT_EQ(c.where("lock_wait"), "lock_wait (derived from fetch_timeout)");
  EXPECT_EQ(c.get("direct_dir"), "/srv/stoa/.stoa-state/direct");
  EXPECT_EQ(c.get("direct_home"), "/srv/stoa/.stoa-state/direct/home");
  EXPECT_EQ(c.get("rules_file"), "/etc/stoa/stoa.toml");
  for (const char* s3 : {"s3_region", "s3_endpoint", "s3_access_key"})
    EXPECT_EQ(c.get(s3), "") << s3;
  const std::string out = render_config(c);
  EXPECT_MENTIONS(out, "lock_wait = \"42s\"  # derived from fetch_timeout");
}

TEST(DeriveDefaults, SetValuesAreKept) {
  RawConfig c =
      load_config("", {{"STOA_LOCK_WAIT", "3s"}}, {{"direct_dir", "/x"}, {"store", "memory"}});
  derive_defaults(c, "", no_env);
  EXPECT_EQ(c.get("lock_wait"), "3s");
  EXPECT_EQ(c.values.at("lock_wait").source, Source::env);
  EXPECT_EQ(c.get("direct_dir"), "/x");
  EXPECT_EQ(c.get("direct_home"), "/x/home");
  EXPECT_EQ(c.get("rules_file"), "");
  RawConfig m = load_config("", {}, {{"store", "memory"}});
  derive_defaults(m, "", no_env);
  EXPECT_EQ(m.get("direct_dir"), "") << "the memory store's direct_dir is a fresh temp directory";
}

TEST(DeriveDefaults, OperationalEndpointsAreAuthenticatedWhereClientsAuthenticate) {
  RawConfig open = load_config("", {}, {});
  derive_defaults(open, "", no_env);
  EXPECT_EQ(open.get("operational_endpoints"), "public");
  RawConfig users = load_config("", {}, {{"users_file", "/etc/stoa/users"}});
  derive_defaults(users, "", no_env);
  EXPECT_EQ(users.get("operational_endpoints"), "authenticated");
  EXPECT_EQ(users.where("operational_endpoints"),
            "operational_endpoints (derived from users_file)");
  RawConfig tokens = load_config("", {}, {{"tokens_file", "/etc/stoa/tokens"}});
  derive_defaults(tokens, "", no_env);
  EXPECT_EQ(tokens.get("operational_endpoints"), "authenticated");
  RawConfig set = load_config(
      "", {}, {{"tokens_file", "/etc/stoa/tokens"}, {"operational_endpoints", "public"}});
  derive_defaults(set, "", no_env);
  EXPECT_EQ(set.get("operational_endpoints"), "public");
}

// gcs_auth = auto: a key file (named, or by GOOGLE_APPLICATION_CREDENTIALS), else none for an
// emulator's endpoint, else the metadata server (GCE_METADATA_HOST or its usual name).
TEST(DeriveDefaults, GcsCredentialsFollowGooglesConventions) {
  const auto env = [](const char* name) -> std::string {
    if (std::string_view(name) == "GOOGLE_APPLICATION_CREDENTIALS") return "/etc/gcs/key.json";
    if (std::string_view(name) == "GCE_METADATA_HOST") return "127.0.0.1:8089";
    return "";
  };
  RawConfig keyed = load_config("", {}, {{"store", "gcs"}, {"gcs_bucket", "b"}});
  derive_defaults(keyed, "", env);
  EXPECT_EQ(keyed.get("gcs_credentials_file"), "/etc/gcs/key.json");
  EXPECT_EQ(keyed.where("gcs_credentials_file"),
            "gcs_credentials_file (derived from GOOGLE_APPLICATION_CREDENTIALS)");
  EXPECT_EQ(keyed.get("gcs_auth"), "key_file");
  EXPECT_EQ(keyed.get("gcs_metadata_host"), "127.0.0.1:8089");
  RawConfig emulator = load_config(
      "", {}, {{"store", "gcs"}, {"gcs_bucket", "b"}, {"gcs_endpoint", "http://127.0.0.1:4443"}});
  derive_defaults(emulator, "", no_env);
  EXPECT_EQ(emulator.get("gcs_auth"), "none");
  RawConfig google = load_config("", {}, {{"store", "gcs"}, {"gcs_bucket", "b"}});
  derive_defaults(google, "", no_env);
  EXPECT_EQ(google.get("gcs_auth"), "metadata");
  EXPECT_EQ(google.get("gcs_metadata_host"), "metadata.google.internal");
  RawConfig chosen = load_config(
      "", {},
      {{"store", "gcs"}, {"gcs_auth", "metadata"}, {"gcs_endpoint", "http://127.0.0.1:4443"}});
  derive_defaults(chosen, "", env);
  EXPECT_EQ(chosen.get("gcs_auth"), "metadata") << "an explicit choice is kept";
  RawConfig disk = load_config("", {}, {});
  derive_defaults(disk, "", env);
  EXPECT_EQ(disk.get("gcs_credentials_file"), "") << "only with store = gcs";
}

TEST(DeriveDefaults, S3FromTheAwsEnvironment) {
  RawConfig c = load_config("", {}, {{"store", "s3"}, {"s3_bucket", "b"}});
  derive_defaults(c, "", [](const char* name) -> std::string {
    if (std::string_view(name) == "AWS_DEFAULT_REGION") return "eu-west-3";
    if (std::string_view(name) == "AWS_SECRET_ACCESS_KEY") return "s3cr3t";
    return "";
  });
  EXPECT_EQ(c.get("s3_region"), "eu-west-3");
  EXPECT_EQ(c.where("s3_region"), "s3_region (derived from AWS_DEFAULT_REGION)");
  EXPECT_EQ(c.get("s3_endpoint"), "https://s3.eu-west-3.amazonaws.com");
  EXPECT_EQ(c.get("s3_secret_key"), "s3cr3t");
  EXPECT_EQ(c.get("s3_access_key"), "");
  const std::string out = render_config(c);
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  RawConfig d = load_config("", {}, {{"store", "s3"}, {"s3_region", "ap-south-1"}});
  derive_defaults(d, "", no_env);
  EXPECT_EQ(d.get("s3_endpoint"), "https://s3.ap-south-1.amazonaws.com");
  RawConfig e = load_config("", {}, {{"store", "s3"}});
  derive_defaults(e, "", no_env);
  EXPECT_EQ(e.get("s3_region"), "us-east-1");
}

TEST(ParseDuration, Table) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("10s"), milliseconds(10'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("10"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1d"));
  EXPECT_FALSE(parse_duration("99999999999999999999h"));
}

// Redaction itself is text::redact_credentials's (text/redact_test.cpp); these are the shapes
// that `stoa config` showed before it used it.
TEST(Render, HidesTokensWrittenAsTheUserAndQuotedLibpqPasswords) {
  const RawConfig c = load_config("",
                                  {{"STOA_UPSTREAM", "https://ghp-t0ken@up.example,https://h2"},
                                   {"STOA_POSTGRES_URL", "host=h password='hunter 2' dbname=d"}},
                                  {});
  const std::string out = render_config(c);
  EXPECT_EQ(out.find("t0ken"), std::string::npos) << out;
  EXPECT_EQ(out.find("2'"), std::string::npos) << out;
  EXPECT_NE(out.find("upstream = \"https://up.example,https://h2\"  # env"), std::string::npos)
      << out;
  EXPECT_NE(out.find("postgres_url = \"host=h password=REDACTED dbname=d\"  # env"),
            std::string::npos)
      << out;
}

TEST(Render, QuotesValuesAsTomlStrings) {
  const RawConfig c = load_config("", {{"STOA_S3_PREFIX", "a\"b\\c\nd\x7f"}}, {});
  const std::string out = render_config(c);
  EXPECT_NE(out.find(R"(s3_prefix = "a\"b\\c\nd\u007f"  # env)"), std::string::npos) << out;
}

TEST(Render, ShowsEveryKeyWithSourceAndNoSecrets) {
  const RawConfig c = load_config("", {{"STOA_UPSTREAM", "https://me:hunter2@up.example"}}, {});
  const std::string out = render_config(c);
  for (const auto& k : keys())
    EXPECT_NE(out.find(std::string(k.name) + " = "), std::string::npos) << k.name;
  EXPECT_NE(out.find("upstream = \"https://up.example\"  # env"), std::string::npos) << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos);
  EXPECT_NE(out.find("fetch_workers = 16  # default"), std::string::npos) << out;
}

TEST(Render, RedactsSecretKeys) {
  const RawConfig c = load_config("",
                                  {{"STOA_S3_SECRET_KEY", "s3cr3t-value"},
                                   {"STOA_S3_ACCESS_KEY", "AKIDEXAMPLE"},
                                   {"STOA_S3_SESSION_TOKEN", "t0ken-value"}},
                                  {});
  const std::string out = render_config(c);
  for (const char* secret : {"s3cr3t-value", "AKIDEXAMPLE", "t0ken-value"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << out;
  }
  EXPECT_NE(out.find("s3_secret_key = \"REDACTED\"  # env"), std::string::npos) << out;
  EXPECT_NE(out.find("s3_session_token = \"REDACTED\"  # env"), std::string::npos) << out;
}

TEST(Docs, ConfigurationReferenceListsEveryKeyWithItsDefault) {
  const char* src = std::getenv("STOA_SOURCE_DIR");
  ASSERT_NE(src, nullptr) << "STOA_SOURCE_DIR is set by ctest";
  std::ifstream in(std::filesystem::path(src) / "docs" / "configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md missing";
  const std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& k : keys()) {
    const std::string row = "| `" + std::string(k.name) + "` | ";
    const auto at = doc.find(row);
    ASSERT_NE(at, std::string::npos) << "docs/configuration.md has no row for " << k.name;
    if (!k.default_value.empty()) {
      const std::string cell = row + "`" + std::string(k.default_value) + "` |";
      EXPECT_EQ(doc.compare(at, cell.size(), cell), 0)
          << "default of " << k.name << " differs in the docs";
    }
  }
}

TEST(Reference, PackagedConfigurationIsTheGeneratedOne) {
  const char* src = std::getenv("STOA_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::filesystem::path(src) / "packaging" / "stoa.toml");
  ASSERT_TRUE(in) << "packaging/stoa.toml missing";
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file, render_reference()) << "packaging/stoa.toml is stale: regenerate it with `stoa "
                                         "config --reference > packaging/stoa.toml`";
}

TEST(Reference, UncommentedItParsesToTheDefaults) {
  std::string text = render_reference();
  std::string uncommented;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 1 && line[0] == '#' && line[1] != ' ' &&
        line.find(" = ") != std::string::npos) {
      uncommented += line.substr(1) + "\n";
    }
  }
  TempToml f(uncommented);
  const RawConfig c = load_config(f.path(), {}, {});
  for (const auto& k : keys()) {
    EXPECT_EQ(c.get(k.name), k.default_value) << k.name;
    EXPECT_EQ(c.values.at(std::string(k.name)).source, Source::file) << k.name;
  }
}

}  // namespace
}  // namespace stoa::cli
