#include "stoa/cli/usage.hpp"

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "stoa/cli/suggest.hpp"
#include "stoa/module/path.hpp"

namespace stoa::cli {
namespace {

// The name of a subcommand the user meant when argv names one that does not exist ("stoa
// servee", "stoa index rebiuld"): walks argv down the subcommand tree (only leaf commands take
// options with values); nullopt when every command word is known.
struct UnknownCommand {
  std::string path;  // "stoa" or "stoa index": where the unknown word was
  std::string typed;
  std::optional<std::string> suggestion;
};

std::optional<UnknownCommand> unknown_command(const CLI::App& root, int argc, char** argv) {
  const CLI::App* app = &root;
  std::string path = "stoa";
  for (int i = 1; i < argc; ++i) {
    const std::string_view word(argv[i]);
    if (word.starts_with("-")) continue;
    const auto subs = app->get_subcommands([](const CLI::App*) { return true; });
    if (subs.empty()) return std::nullopt;
    const CLI::App* next = nullptr;
    std::vector<std::string_view> names;
    for (const auto* sub : subs) {
      names.push_back(sub->get_name());
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) return UnknownCommand{path, std::string(word), closest(word, names)};
    app = next;
    path += " " + std::string(word);
  }
  return std::nullopt;
}

}  // namespace

int usage_error(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  if (const auto u = unknown_command(app, argc, argv)) {
    std::cerr << u->path << ": unknown command \"" << module::excerpt(u->typed) << "\"";
    if (u->suggestion) std::cerr << "; did you mean \"" << *u->suggestion << "\"?";
    std::cerr << " (" << u->path << " --help lists the commands)\n";
    return 2;
  }
  // The deepest subcommand that was recognised, for the pointer to its --help.
  std::string path = "stoa";
  for (const CLI::App* a = &app;;) {
    const auto parsed = a->get_subcommands();
    if (parsed.empty()) break;
    a = parsed.front();
    path += " " + a->get_name();
  }
  std::cerr << path << ": " << e.what() << " (" << path << " --help lists the options)\n";
  return 2;
}

}  // namespace stoa::cli
