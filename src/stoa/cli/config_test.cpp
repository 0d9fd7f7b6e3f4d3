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

TEST(Config, UnrelatedEnvironmentIsIgnored) {
  EXPECT_NO_THROW(load_config("", {{"STOA_SOMETHING_ELSE", "x"}}, {}));
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

TEST(Redact, UrlCredentials) {
  EXPECT_EQ(redact_url_credentials("https://u:secret@h.example/x,https://h2|http://a@b"),
            "https://u:REDACTED@h.example/x,https://h2|http://a@b");
  EXPECT_EQ(redact_url_credentials("plain"), "plain");
  EXPECT_EQ(redact_url_credentials("redis://:pw@h:6379/0"), "redis://:REDACTED@h:6379/0");
  EXPECT_EQ(redact_url_credentials("host=h password=pw dbname=d"),
            "host=h password=REDACTED dbname=d");
  EXPECT_EQ(redact_url_credentials("postgresql://h/d?user=u&password=pw&sslmode=require"),
            "postgresql://h/d?user=u&password=REDACTED&sslmode=require");
  EXPECT_EQ(redact_url_credentials("http://h:80/p@x"), "http://h:80/p@x");
}

TEST(Render, ShowsEveryKeyWithSourceAndNoSecrets) {
  const RawConfig c = load_config("", {{"STOA_UPSTREAM", "https://me:hunter2@up.example"}}, {});
  const std::string out = render_config(c);
  for (const auto& k : keys())
    EXPECT_NE(out.find(std::string(k.name) + " = "), std::string::npos) << k.name;
  EXPECT_NE(out.find("upstream = \"https://me:REDACTED@up.example\"  # env"), std::string::npos)
      << out;
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
