// stoa rules test: which rule applies to a module version, and why.

#include <iostream>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/core.hpp"
#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"

namespace stoa::cli {

int rules_test_command(const RawConfig& cfg, const std::string& target) {
  const auto at = target.rfind('@');
  const std::string mod = target.substr(0, at);
  std::string version = at == std::string::npos ? "" : target.substr(at + 1);
  if (auto bad = module::check_path(mod)) {
    std::cerr << "stoa rules test: " << *bad << "\n";
    return 2;
  }
  if (at != std::string::npos && !module::semver::is_valid(version)) {
    std::cerr << "stoa rules test: " << module::excerpt(version)
              << " is not a semantic version (like v1.2.3)\n";
    return 2;
  }
  version = module::semver::canonical(version);
  const auto files = policy_files(cfg);
  const auto p = make_policy(files, {});
  const auto snap = p->current();
  std::cout << "rules from " << (files.rules_file.empty() ? "(none)" : files.rules_file) << ": "
            << snap->rules.rules.size() << "\n";
  std::cout << snap->rules.explain(snap->rules.match(mod, version), mod, version);
  return 0;
}

}  // namespace stoa::cli
