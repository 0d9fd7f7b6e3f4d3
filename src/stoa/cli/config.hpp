#pragma once
// stoa's configuration: one table of keys, each settable by TOML file < STOA_* environment
// variable < command-line flag (later wins), with defaults embedded. Pure apart from reading the
// TOML file; unit-tested.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stoa::cli {

enum class KeyType { string, duration, count, boolean, choice };

struct KeySpec {
  std::string_view name;  // TOML key; flag is --name with '-' for '_'; env STOA_NAME
  KeyType type;
  std::string_view default_value;  // "" means unset (the code derives a default)
  std::string_view help;
  std::vector<std::string_view> choices = {};  // for KeyType::choice
  bool secret = false;                         // redacted by `stoa config`
};

// The one table of keys. ARCHITECTURE.md and docs/configuration.md list the same keys.
const std::vector<KeySpec>& keys();

std::string flag_name(std::string_view key);  // "data_dir" -> "data-dir"
std::string env_name(std::string_view key);   // "data_dir" -> "STOA_DATA_DIR"

enum class Source { default_value, file, env, flag };
std::string_view to_string(Source s);

struct Value {
  std::string text;
  Source source = Source::default_value;
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
};

// Merges defaults, the TOML file (if `config_file` is non-empty), the environment (`env`, as
// from environ) and flags. Unknown TOML keys, malformed values and bad choices throw ConfigError.
RawConfig load_config(const std::string& config_file,
                      const std::map<std::string, std::string, std::less<>>& env,
                      const std::map<std::string, std::string, std::less<>>& flags);

// Parses "250ms", "10s", "5m", "1h30m", "0"; nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

// The effective configuration as TOML, one `key = value` per line with its source as a comment;
// secret values and URL passwords are redacted.
std::string render_config(const RawConfig& config);

// A complete TOML configuration file documenting every key: its help, environment variable,
// flag and default, with each assignment commented out. packaging/stoa.toml is this output
// (a test keeps them equal); `stoa config --reference` prints it.
std::string render_reference();

// "https://user:secret@host/x" -> "https://user:REDACTED@host/x"; other strings unchanged.
std::string redact_url_credentials(std::string_view url);

}  // namespace stoa::cli
