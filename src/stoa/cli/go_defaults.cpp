#include "stoa/cli/go_defaults.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <vector>

#include "stoa/direct/subprocess.hpp"

namespace stoa::cli {
namespace {

// What `go env NAME` prints on this host. One go command run answers every name; "" for all
// when the go command is not there or does not answer within a minute. Run without a shell
// (direct::run: posix_spawn, an argument vector, this process's environment; stderr dropped).
std::map<std::string, std::string> go_env(const std::vector<std::string>& names) {
  std::map<std::string, std::string> out;
  for (const auto& n : names) out[n] = "";
  direct::RunResult run;
  try {
    direct::Command cmd{"go", {"env"}, {}, std::filesystem::current_path()};
    cmd.args.insert(cmd.args.end(), names.begin(), names.end());
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) cmd.env.emplace_back(*e);
    run = direct::run(cmd, std::chrono::minutes(1), std::size_t{1} << 20);
  } catch (const std::system_error&) {
    return out;  // no go command (or no working directory to run it in)
  }
  if (run.timed_out || run.truncated) return out;
  const std::string& text = run.out;
  std::size_t i = 0;
  for (const auto& n : names) {
    const auto nl = text.find('\n', i);
    if (i >= text.size()) break;
    out[n] = text.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
    i = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

}  // namespace

std::string fill_go_defaults(RawConfig& cfg) {
  auto& upstream = cfg.values.at("upstream");
  auto& sumdb = cfg.values.at("sumdb");
  auto& no_sumdb = cfg.values.at("no_sumdb");
  const bool need =
      upstream.text.empty() || sumdb.text.empty() || no_sumdb.source == Source::default_value;
  if (!need) return {};
  const auto env = go_env({"GOPROXY", "GOSUMDB", "GONOSUMDB", "GOROOT"});
  if (upstream.text.empty() && !env.at("GOPROXY").empty())
    upstream = {env.at("GOPROXY"), Source::derived, "go env GOPROXY"};
  if (sumdb.text.empty() && !env.at("GOSUMDB").empty())
    sumdb = {env.at("GOSUMDB"), Source::derived, "go env GOSUMDB"};
  if (no_sumdb.source == Source::default_value)
    no_sumdb = {env.at("GONOSUMDB"), Source::derived, "go env GONOSUMDB"};
  return env.at("GOROOT");
}

KnownKeys go_known_keys(const std::string& goroot) {
  if (goroot.empty()) return {};
  std::ifstream in(std::filesystem::path(goroot) / "src/cmd/go/internal/modfetch/key.go");
  std::stringstream ss;
  ss << in.rdbuf();
  return known_keys_from_go_source(ss.str());
}

}  // namespace stoa::cli
