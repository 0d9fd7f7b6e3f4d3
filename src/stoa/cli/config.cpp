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
  derive("vulndb_dir", cfg.get("data_dir") + "/.stoa-state/vulndb", "data_dir");
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
  auto from_env = [&](std::string_view key, std::initializer_list<const char*> vars) {
    for (const char* var : vars) {
      if (std::string v = getenv(var); !v.empty()) return derive(key, std::move(v), var);
    }
  };
  if (cfg.get("store") == "azure") {
    // The conventions of the Azure SDKs and CLI; the connection string's parts are read by
    // options (each azure_* key set wins over it).
    from_env("azure_connection_string", {"AZURE_STORAGE_CONNECTION_STRING"});
    from_env("azure_account", {"AZURE_STORAGE_ACCOUNT"});
    from_env("azure_key", {"AZURE_STORAGE_KEY"});
    from_env("azure_sas", {"AZURE_STORAGE_SAS_TOKEN"});
    from_env("azure_identity_client_id", {"AZURE_CLIENT_ID"});
    return;
  }
  if (cfg.get("store") == "gcs") {
    // The conventions of Google's client libraries: a key file named by
    // GOOGLE_APPLICATION_CREDENTIALS, the metadata server's host by GCE_METADATA_HOST.
    from_env("gcs_credentials_file", {"GOOGLE_APPLICATION_CREDENTIALS"});
    from_env("gcs_metadata_host", {"GCE_METADATA_HOST"});
    derive("gcs_metadata_host", "metadata.google.internal", "the metadata server's name");
    Value& auth = cfg.values.at("gcs_auth");
    if (auth.text == "auto") {
      if (!cfg.get("gcs_credentials_file").empty()) {
        auth = {"key_file", Source::derived, "gcs_credentials_file"};
      } else if (!cfg.get("gcs_endpoint").empty()) {
        auth = {"none", Source::derived, "gcs_endpoint (an emulator)"};
      } else {
        auth = {"metadata", Source::derived, "no key file"};
      }
    }
    return;
  }
  if (cfg.get("store") != "s3") return;
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
