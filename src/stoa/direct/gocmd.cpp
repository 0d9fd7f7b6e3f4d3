#include "stoa/direct/gocmd.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>

#include "stoa/module/semver.hpp"
#include "stoa/text/ascii.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::direct {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 27> k_reserved = {
    "HOME",
    "PATH",
    "GOMODCACHE",
    "GOCACHE",
    "GOPATH",
    "GOPROXY",
    "GOSUMDB",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "GOENV",
    "GOWORK",
    "GO111MODULE",
    "GOTELEMETRY",
    "GOVCS",
    "GOPRIVATE",
    "GONOSUMDB",
    "GONOPROXY",
    "GOINSECURE",
    "NETRC",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_SSH_COMMAND",
    "GIT_TERMINAL_PROMPT",
    "LC_ALL",
    "GOAUTH",
    "USER",
    "LOGNAME",
};

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string string_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(json::string_view(name.data(), name.size()));
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

bool contains_any(std::string_view hay, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return hay.find(n) != std::string_view::npos; });
}

using text::redact_credentials;
using text::to_lower;

// `s` as one word for the shell: single-quoted.
std::string shell_word(std::string_view s) {
  std::string out = "'";
  for (const char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

// A path in an ssh option whose value ssh splits at blanks and expands %-tokens in: double-quoted,
// '%' doubled.
std::string ssh_option_path(std::string_view path) {
  std::string out = "\"";
  for (const char c : path) {
    out += c;
    if (c == '%') out += '%';
  }
  out += '"';
  return out;
}

}  // namespace

std::optional<std::string> ssh_path_problem(std::string_view path) {
  for (const char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || u < 0x20 || u == 0x7f)
      return "the path may not contain double quotes, backslashes or control characters";
  }
  return std::nullopt;
}

std::string ssh_command(const GoEnv& e) {
  if (e.ssh_key.empty() && e.ssh_known_hosts.empty()) return {};
  std::string cmd = "ssh -F ";
  cmd += e.ssh_config.empty() ? std::string("none") : shell_word(e.ssh_config);
  cmd += " -o BatchMode=yes -o ControlMaster=no -o StrictHostKeyChecking=yes";
  if (!e.ssh_known_hosts.empty()) {
    cmd += " -o GlobalKnownHostsFile=/dev/null -o ";
    cmd += shell_word("UserKnownHostsFile=" + ssh_option_path(e.ssh_known_hosts));
  }
  if (!e.ssh_key.empty()) {
    cmd += " -o IdentitiesOnly=yes -o ";
    cmd += shell_word("IdentityFile=" + ssh_option_path(e.ssh_key));
  }
  return cmd;
}

bool is_reserved_env_name(std::string_view name) {
  return std::find(k_reserved.begin(), k_reserved.end(), name) != k_reserved.end();
}

std::vector<std::string> build_env(const GoEnv& e) {
  std::vector<std::string> env = {
      "GOPROXY=direct",
      "GOSUMDB=off",
      "GOFLAGS=",
      "GOTOOLCHAIN=local",
      "GOENV=off",
      "GOWORK=off",
      "GO111MODULE=on",
      "GOTELEMETRY=off",
      "GIT_TERMINAL_PROMPT=0",
      "GIT_CONFIG_NOSYSTEM=1",
      "LC_ALL=C",
      "HOME=" + e.home,
      "GOMODCACHE=" + e.mod_cache,
      "GOCACHE=" + e.go_cache,
      "GOPATH=" + e.go_path,
      "PATH=" + e.path,
      "GOVCS=" + e.govcs,
      "GOPRIVATE=" + e.private_patterns,
      "GOINSECURE=" + e.insecure,
  };
  if (!e.netrc.empty()) env.push_back("NETRC=" + e.netrc);
  if (!e.user.empty()) {
    env.push_back("USER=" + e.user);
    env.push_back("LOGNAME=" + e.user);
  }
  if (!e.git_config.empty()) env.push_back("GIT_CONFIG_GLOBAL=" + e.git_config);
  if (auto ssh = ssh_command(e); !ssh.empty()) env.push_back("GIT_SSH_COMMAND=" + ssh);
  for (const auto& kv : e.passed) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || is_reserved_env_name(std::string_view(kv).substr(0, eq)))
      continue;
    env.push_back(kv);
  }
  std::sort(env.begin(), env.end());
  return env;
}

std::vector<std::string> download_args(std::string_view module, std::string_view version) {
  return {"mod", "download", "-json", "--", std::string(module) + "@" + std::string(version)};
}

std::vector<std::string> versions_args(std::string_view module) {
  return {"list", "-m", "-json", "-versions", "-retracted", "--", std::string(module)};
}

std::vector<std::string> query_args(std::string_view module, std::string_view query) {
  return {"list", "-m", "-json", "--", std::string(module) + "@" + std::string(query)};
}

std::optional<Download> parse_download(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return std::nullopt;
  Download d;
  d.path = string_field(*o, "Path");
  d.version = string_field(*o, "Version");
  d.error = string_field(*o, "Error");
  d.info = string_field(*o, "Info");
  d.go_mod = string_field(*o, "GoMod");
  d.zip = string_field(*o, "Zip");
  return d;
}

std::optional<ModuleInfo> parse_list(std::string_view json) {
  auto o = parse_object(json);
  if (!o) return std::nullopt;
  ModuleInfo m;
  m.path = string_field(*o, "Path");
  m.version = string_field(*o, "Version");
  m.time = string_field(*o, "Time");
  if (const auto* v = o->if_contains("Versions"); v != nullptr) {
    if (!v->is_array()) return std::nullopt;
    for (const auto& x : v->as_array()) {
      if (!x.is_string()) return std::nullopt;
      m.versions.emplace_back(x.as_string());
    }
  }
  if (const auto* e = o->if_contains("Error"); e != nullptr) {
    if (e->is_object()) {
      m.error = string_field(e->as_object(), "Err");
    } else if (e->is_string()) {
      m.error = std::string(e->as_string());
    }
    if (m.error.empty()) m.error = "error";
  }
  return m;
}

std::string list_body(const std::vector<std::string>& versions) {
  std::vector<std::string> keep;
  for (const auto& v : versions) {
    if (module::semver::is_canonical(v) && !module::semver::is_pseudo(v)) keep.push_back(v);
  }
  // Semver order ignores build metadata (v2.0.0 and v2.0.0+incompatible are equal): the bytes
  // break the tie, so the order is total and the output deterministic.
  std::sort(keep.begin(), keep.end(), [](const std::string& a, const std::string& b) {
    const int c = module::semver::compare(a, b);
    return c < 0 || (c == 0 && a < b);
  });
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  std::string out;
  for (const auto& v : keep) out += v + "\n";
  return out;
}

std::string info_body(std::string_view version, std::string_view time) {
  json::object o;
  o["Version"] = json::string_view(version.data(), version.size());
  if (!time.empty()) o["Time"] = json::string_view(time.data(), time.size());
  return json::serialize(o);
}

namespace {

// "invalid <host prefix> import path \"": a known host's pattern refused the path.
bool names_invalid_host_path(std::string_view t) {
  constexpr std::string_view tail = " import path \"";
  for (auto at = t.find(tail); at != std::string_view::npos; at = t.find(tail, at + 1)) {
    const auto head = t.substr(0, at);
    const auto space = head.rfind(' ');
    if (space == std::string_view::npos || space == 0) continue;
    const auto word = head.substr(space + 1);
    // A host prefix ("github.com", "hub.jazz.net/git"): a dot, no colon.
    if (word.find('.') != std::string_view::npos && word.find(':') == std::string_view::npos &&
        head.substr(0, space).ends_with("invalid")) {
      return true;
    }
  }
  return false;
}

}  // namespace

ErrorKind classify(std::string_view go_error, std::string_view module, std::string_view version) {
  // The module path and version are the caller's words, not the go command's: a module named
  // ".../timeout" must not read as a timeout.
  std::string text(go_error);
  for (const auto word : {module, version}) {
    if (word.empty()) continue;
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at))
      text.replace(at, word.size(), "M");
  }
  const std::string t = to_lower(text);
  // The texts of vcs.RepoRootForImportPath's errors (cmd/go/internal/vcs), the only ones with
  // these words: the dynamic lookup's wrapper, the static patterns' refusal, GOVCS.
  if (contains_any(t, {"unrecognized import path \"", "govcs disallows using "}) ||
      names_invalid_host_path(t)) {
    return ErrorKind::no_repository;
  }
  if (contains_any(t, {"dial tcp",
                       "connection refused",
                       "connection reset",
                       "timeout",
                       "timed out",
                       "could not resolve",
                       "no such host",
                       "tls:",
                       "tls handshake",
                       "certificate",
                       "x509",
                       "terminal prompts disabled",
                       "authentication",
                       "401 unauthorized",
                       "403 forbidden",
                       "permission denied",
                       "unable to access",
                       "no secure protocol",
                       "500 internal",
                       "502 bad",
                       "503 service",
                       "504 gateway",
                       "signal: killed",
                       "executable file not found",
                       "too many requests",
                       "no space left"})) {
    return ErrorKind::failed;
  }
  if (contains_any(t, {"unknown revision", "no matching versions", "invalid version", "not found",
                       "410 gone", "does not exist", "no such revision"})) {
    return ErrorKind::not_found;
  }
  return ErrorKind::failed;
}

std::string one_line(std::string_view text, std::size_t max) {
  // The last line starting "go: " says what failed; else the first non-empty line.
  std::string_view pick;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const auto line = text.substr(pos, nl - pos);
    if (line.starts_with("go: ")) pick = line;
    if (pick.empty() && !line.empty() && line.find_first_not_of(" \t\r") != std::string_view::npos)
      pick = line;
    pos = nl + 1;
  }
  std::string out = redact_credentials(pick);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  if (out.size() > max) out.resize(max);
  return out;
}

}  // namespace stoa::direct
