#pragma once
// stoa's configuration: one table of keys, each settable by TOML file < STOA_* environment
// variable < command-line flag (later wins), with defaults embedded. Pure apart from reading the
// TOML file; unit-tested.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::cli {

// address: "host:port" (port 0-65535; 0 picks a free one) or "unix:PATH" (a unix socket).
enum class KeyType { string, duration, count, boolean, choice, address };

struct KeySpec {
  std::string_view name;  // TOML key; flag is --name with '-' for '_'; env STOA_NAME
  KeyType type;
  std::string_view default_value;  // "" means unset (the code derives a default)
  std::string_view help;
  std::vector<std::string_view> choices = {};  // for KeyType::choice
  bool secret = false;                         // redacted by `stoa config`
  std::uint64_t min = 0;                       // for KeyType::count: the least value accepted
};

// The one table of keys. ARCHITECTURE.md and docs/configuration.md list the same keys.
const std::vector<KeySpec>& keys();

std::string flag_name(std::string_view key);  // "data_dir" -> "data-dir"
std::string env_name(std::string_view key);   // "data_dir" -> "STOA_DATA_DIR"

// derived: the key was left empty and its effective value was worked out from other keys or
// the environment (derive_defaults()).
enum class Source { default_value, file, env, flag, derived };
std::string_view to_string(Source s);

struct Value {
  std::string text;
  Source source = Source::default_value;
  // Where exactly: "FILE:LINE:COLUMN", "STOA_NAME", "--flag-name", or for a derived value what
  // it was derived from ("fetch_timeout", "AWS_REGION"); "" for a default.
  std::string origin;
};

// Effective raw values, validated per type. Throws ConfigError with one clear message.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RawConfig {
  std::map<std::string, Value, std::less<>> values;

  const std::string& get(std::string_view key) const;
  std::chrono::milliseconds duration(std::string_view key) const;
  std::uint64_t count(std::string_view key) const;
  bool boolean(std::string_view key) const;
  // "KEY (ORIGIN)" for error messages, e.g. "upstream (/etc/stoa/stoa.toml:3:12)", or just
  // "KEY" for a default: every configuration error names where the bad value came from.
  std::string where(std::string_view key) const;
};

// Merges defaults, the TOML file (if `config_file` is non-empty), the environment (`env`: the
// STOA_* variables of environ) and flags. Throws ConfigError, naming the file, line and column,
// the variable or the flag, on: a TOML syntax error, an unknown key or STOA_* variable (a typo
// must not silently leave a setting at its default; STOA_CONFIG is the one variable that is not
// a key), a value of the wrong type or out of range, and keys that only work together
// (tls_cert and tls_key).
RawConfig load_config(const std::string& config_file,
                      const std::map<std::string, std::string, std::less<>>& env,
                      const std::map<std::string, std::string, std::less<>>& flags);

// Fills in the keys whose default depends on other keys or on the environment, so that
// `stoa config` shows the values stoa will use and serve uses the same ones: lock_wait
// (fetch_timeout), direct_dir and direct_home (under data_dir, disk store), rules_file (the
// configuration file), with store = "s3" s3_region, s3_endpoint and the credentials (the
// AWS_* variables, read through `getenv`), and with store = "azure" the account, credentials and
// connection string (the AZURE_STORAGE_* variables, AZURE_CLIENT_ID). Values marked
// Source::derived; set ones are kept.
// Defaults from the go command (upstream, sumdb, no_sumdb) are filled in by cli/main.
void derive_defaults(RawConfig& cfg, const std::string& config_file,
                     const std::function<std::string(const char*)>& getenv);

// Parses "250ms", "10s", "5m", "1h30m", "0"; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

// The effective configuration as TOML, one `key = value` per line with its source as a comment;
// secret values and credentials in values (text::redact_credentials) are redacted, strings are
// quoted as JSON string literals (valid TOML basic strings).
std::string render_config(const RawConfig& config);

// A complete TOML configuration file documenting every key: its help, environment variable,
// flag and default, with each assignment commented out. packaging/stoa.toml is this output
// (a test keeps them equal); `stoa config --reference` prints it.
std::string render_reference();

}  // namespace stoa::cli
