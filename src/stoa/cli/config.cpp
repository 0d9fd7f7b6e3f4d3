#include "stoa/cli/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>

namespace stoa::cli {

const std::vector<KeySpec>& keys() {
  static const std::vector<KeySpec> table = {
      {"listen", KeyType::string, "127.0.0.1:8080",
       "address to serve on, host:port (port 0 picks one)"},
      {"admin_listen", KeyType::string, "",
       "address of the admin listener (metrics, health, fetches in flight, effective "
       "configuration, "
       "store statistics); empty: off. Bind it to a private address"},
      {"data_dir", KeyType::string, "data",
       "directory of the disk store (itself a GOPROXY file tree)"},
      {"store", KeyType::choice, "disk", "storage backend", {"disk", "memory"}},
      {"upstream", KeyType::string, "",
       "upstream proxies in GOPROXY syntax (',' falls through on 404/410, '|' on any error); "
       "default: what `go env GOPROXY` prints, without direct and off"},
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
      {"fetch_timeout", KeyType::duration, "10m", "upper bound for one upstream transfer"},
      {"connect_timeout", KeyType::duration, "10s", "upstream connection timeout"},
      {"stall_timeout", KeyType::duration, "60s",
       "an upstream transfer with no progress for this long fails"},
      {"fetch_workers", KeyType::count, "16", "upstream fetches run at once"},
      {"fetch_queue", KeyType::count, "1024",
       "fetches waiting for a worker before new misses get 503"},
      {"threads", KeyType::count, "0", "serving threads (0: one per core)"},
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
      {"rules_check_interval", KeyType::duration, "2s",
       "how often the rules, users and tokens files are checked for changes (one stat each); "
       "0: only on SIGHUP"},
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

std::string env_name(std::string_view key) {
  std::string s = "STOA_";
  for (const char c : key) s += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
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

void validate(const KeySpec& k, const std::string& v, std::string_view where) {
  auto fail = [&](std::string_view what) {
    throw ConfigError(fmt::format("{} ({}): {}: {:?}", k.name, where, what, v.substr(0, 200)));
  };
  switch (k.type) {
    case KeyType::string:
      break;
    case KeyType::duration:
      if (!parse_duration(v)) fail("not a duration (like 500ms, 30s, 5m, 1h)");
      break;
    case KeyType::count: {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (v.empty() || ec != std::errc{} || p != v.data() + v.size())
        fail("not a non-negative integer");
      break;
    }
    case KeyType::boolean:
      if (v != "true" && v != "false") fail("must be true or false");
      break;
    case KeyType::choice:
      if (std::find(k.choices.begin(), k.choices.end(), v) == k.choices.end()) {
        fail(fmt::format("must be one of {}", fmt::join(k.choices, ", ")));
      }
      break;
  }
}

std::string toml_to_string(const toml::node& node, const KeySpec& k) {
  if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
  if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
  if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
  throw ConfigError(fmt::format("{} (file): must be a string, integer or boolean", k.name));
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

RawConfig load_config(const std::string& config_file,
                      const std::map<std::string, std::string, std::less<>>& env,
                      const std::map<std::string, std::string, std::less<>>& flags) {
  RawConfig cfg;
  for (const auto& k : keys())
    cfg.values[std::string(k.name)] = {std::string(k.default_value), Source::default_value};

  if (!config_file.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(config_file);
    } catch (const toml::parse_error& e) {
      throw ConfigError(fmt::format("{}: {}", config_file, e.description()));
    }
    for (const auto& [name, node] : table) {
      // Policy rules live in the same file; the policy component reads them.
      if (name.str() == "rule" || name.str() == "groups") continue;
      const KeySpec* k = find_key(name.str());
      if (k == nullptr)
        throw ConfigError(fmt::format("{}: unknown key {:?}", config_file, name.str()));
      const std::string v = toml_to_string(node, *k);
      validate(*k, v, config_file);
      cfg.values[std::string(k->name)] = {v, Source::file};
    }
  }
  for (const auto& k : keys()) {
    if (auto it = env.find(env_name(k.name)); it != env.end()) {
      validate(k, it->second, env_name(k.name));
      cfg.values[std::string(k.name)] = {it->second, Source::env};
    }
  }
  for (const auto& [name, v] : flags) {
    const KeySpec* k = find_key(name);
    if (k == nullptr) throw ConfigError(fmt::format("unknown flag --{}", flag_name(name)));
    validate(*k, v, "--" + flag_name(name));
    cfg.values[std::string(k->name)] = {v, Source::flag};
  }
  return cfg;
}

std::string redact_url_credentials(std::string_view url) {
  std::string out;
  std::size_t pos = 0;
  // Each entry of a GOPROXY-style list may carry "scheme://user:pass@".
  while (pos < url.size()) {
    const auto scheme = url.find("://", pos);
    if (scheme == std::string_view::npos) break;
    const auto host_start = scheme + 3;
    const auto host_end = url.find_first_of("/,|", host_start);
    const auto authority = url.substr(
        host_start, host_end == std::string_view::npos ? url.npos : host_end - host_start);
    out.append(url.substr(pos, host_start - pos));
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
      const auto userinfo = authority.substr(0, at);
      const auto colon = userinfo.find(':');
      out.append(userinfo.substr(0, colon));
      if (colon != std::string_view::npos) out.append(":REDACTED");
      out.append(authority.substr(at));
    } else {
      out.append(authority);
    }
    pos = host_start + authority.size();
  }
  out.append(url.substr(std::min(pos, url.size())));
  return out;
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
    std::string shown = k.secret && !v.text.empty() ? "REDACTED" : redact_url_credentials(v.text);
    std::string rendered;
    if (k.type == KeyType::count || k.type == KeyType::boolean) {
      rendered = shown;
    } else {
      rendered = "\"";
      for (const char c : shown) {
        if (c == '"' || c == '\\') rendered += '\\';
        rendered += c;
      }
      rendered += '"';
    }
    out += fmt::format("{} = {}  # {}\n", k.name, rendered, to_string(v.source));
  }
  return out;
}

}  // namespace stoa::cli
