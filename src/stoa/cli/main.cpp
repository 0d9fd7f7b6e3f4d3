// stoa's command line: the subcommands and their flags (CLI11), the configuration they read
// (config.hpp), and the dispatch to the subcommand's file (commands.hpp).

#include "stoa/cli/main.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/config.hpp"
#include "stoa/cli/usage.hpp"

namespace stoa::cli {
namespace {

using Strings = std::map<std::string, std::string, std::less<>>;

// The STOA_* variables of the environment.
Strings read_environment() {
  Strings env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    if (!kv.starts_with("STOA_")) continue;
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

// What the command line said, filled in by CLI11.
struct Args {
  std::string config_file;
  Strings flags;  // key -> value of every --key flag given
  bool quarantine = false;
  bool repair = false;
  bool reference = false;
  std::string passwd_name;
  std::string rules_target;
  std::string vulndb_source;
};

// --config and one flag per configuration key.
void add_keys(CLI::App* sub, Args& args) {
  sub->add_option("--config", args.config_file, "TOML configuration file (also STOA_CONFIG)");
  for (const auto& k : keys()) {
    std::string help(k.help);
    help +=
        fmt::format(" [env {}{}]", env_name(k.name),
                    k.default_value.empty() ? "" : fmt::format(", default {}", k.default_value));
    sub->add_option_function<std::string>(
        "--" + flag_name(k.name),
        [&flags = args.flags, name = std::string(k.name)](const std::string& v) {
          flags[name] = v;
        },
        help);
  }
}

void define_commands(CLI::App& app, Args& args) {
  app.require_subcommand(1);
  app.set_version_flag("--version", "stoa " STOA_VERSION, "print the version and exit");
  add_keys(app.add_subcommand("serve", "serve the GOPROXY protocol"), args);
  auto* config_cmd = app.add_subcommand("config", "print the effective configuration and exit");
  add_keys(config_cmd, args);
  config_cmd->add_flag("--reference", args.reference,
                       "print a configuration file documenting every key with its default");
  auto* verify_cmd = app.add_subcommand(
      "verify",
      "re-hash every stored .zip and .mod against its recorded hash and the checksum database, "
      "check the lists and hashes derived from them; exit 1 if anything is wrong");
  add_keys(verify_cmd, args);
  verify_cmd->add_flag(
      "--quarantine", args.quarantine,
      "move the files of bad versions to <data_dir>/.stoa-quarantine/ (never deletes)");
  verify_cmd->add_flag("--repair", args.repair,
                       "rewrite stale module lists and missing .ziphash/.modhash files from the "
                       "stored versions (safe while serving)");
  auto* index_cmd = app.add_subcommand("index", "the index of stored versions");
  index_cmd->require_subcommand(1);
  add_keys(
      index_cmd->add_subcommand(
          "rebuild", "record every version of the disk store in the index (safe while serving)"),
      args);
  app.add_subcommand("version", "print the version and exit");
  auto* passwd_cmd = app.add_subcommand(
      "passwd", "read a password from stdin and print a users_file line NAME:<bcrypt hash>");
  passwd_cmd->add_option("name", args.passwd_name, "user name")->required();
  auto* rules_cmd = app.add_subcommand("rules", "policy rules");
  rules_cmd->require_subcommand(1);
  auto* rules_test_cmd = rules_cmd->add_subcommand(
      "test", "print which rule applies to MODULE[@VERSION] and why (exit 2 on bad input)");
  rules_test_cmd->add_option("target", args.rules_target, "module path, optionally @version")
      ->required();
  add_keys(rules_test_cmd, args);
  auto* vulndb_cmd = app.add_subcommand("vulndb", "the mirrored Go vulnerability database");
  vulndb_cmd->require_subcommand(1);
  auto* vulndb_import = vulndb_cmd->add_subcommand(
      "import",
      "verify a vulnerability database (a zip or a directory in its published layout) and make "
      "it the one served at /vulndb/ (safe while serving; exit 1 when it is refused)");
  vulndb_import->add_option("source", args.vulndb_source, "zip file or directory")->required();
  add_keys(vulndb_import, args);
}

// The raw key table of the command line, the STOA_* environment and the configuration file,
// with its derived defaults.
RawConfig read_config(Args& args) {
  const Strings env = read_environment();
  if (args.config_file.empty()) {
    if (auto it = env.find("STOA_CONFIG"); it != env.end()) args.config_file = it->second;
  }
  RawConfig cfg = load_config(args.config_file, env, args.flags);
  derive_defaults(cfg, args.config_file, [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "");
  });
  return cfg;
}

int run(const CLI::App& app, Args& args) {
  if (app.got_subcommand("passwd")) return passwd_command(args.passwd_name);
  if (app.got_subcommand("version")) {
    std::cout << "stoa " << STOA_VERSION << "\n";
    return 0;
  }
  RawConfig cfg = read_config(args);
  if (app.got_subcommand("config") && args.reference) {
    std::cout << render_reference();
    return 0;
  }
  if (app.got_subcommand("config")) return config_command(std::move(cfg));
  if (app.got_subcommand("verify")) {
    return verify_command(std::move(cfg), args.quarantine, args.repair);
  }
  if (app.got_subcommand("index")) return index_rebuild_command(std::move(cfg));
  if (app.got_subcommand("rules")) return rules_test_command(cfg, args.rules_target);
  if (app.got_subcommand("vulndb")) return vulndb_import_command(cfg, args.vulndb_source);
  return serve_command(std::move(cfg));
}

}  // namespace

int main(int argc, char** argv) {
  // Nothing escapes: an exception out of main would abort the process without a message.
  try {
    CLI::App app{"stoa: a caching Go module proxy"};
    Args args;
    define_commands(app, args);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return usage_error(app, e, argc, argv);
    }
    return run(app, args);
  } catch (const ConfigError& e) {
    std::cerr << "stoa: configuration: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "stoa: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace stoa::cli
