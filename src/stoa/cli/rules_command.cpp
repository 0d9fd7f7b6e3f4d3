// stoa rules test: which rule applies to a module version, why, and the decision that follows,
// through the version filters `stoa serve` answers with (deny ranges and minimum release ages,
// then known vulnerabilities from the mirrored database); the exit status says it (0 allowed,
// 1 denied, 2 bad input or configuration).

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stoa/cli/commands.hpp"
#include "stoa/cli/core.hpp"
#include "stoa/cli/options.hpp"
#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/policy/age.hpp"
#include "stoa/proxy/policy_filter.hpp"
#include "stoa/proxy/vuln_filter.hpp"
#include "stoa/vulndb/mirror.hpp"

namespace stoa::cli {
namespace {

std::string join(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
  return out;
}

// The vulnerability part of the decision for a version the policy filter allows: the rule with
// `vulnerable` set that matches, the entries of the database `stoa serve` loads from vulndb_dir
// that affect the version, and the verdict of the same filter.
int explain_vulnerable(const RawConfig& cfg, const policy::Policy& policy, const std::string& mod,
                       const std::string& version, const std::shared_ptr<spdlog::logger>& quiet) {
  const auto rules = policy.current();
  const policy::Rule* rule = rules->rules.match_vulnerable(mod, version);
  if (rule == nullptr) {
    std::cout << "decision: allowed\n";
    return 0;
  }
  const bool warn = rule->vulnerable == policy::Rule::Vulnerable::warn;
  std::cout << "vulnerability rule: \"" << rule->name
            << "\" (vulnerable = " << (warn ? "warn" : "deny")
            << (rule->allow.empty() ? "" : ", allow = " + join(rule->allow)) << ")\n";
  const std::string& dir = cfg.get("vulndb_dir");
  std::optional<vulndb::Mirror> mirror;
  if (!dir.empty()) {
    mirror.emplace(vulndb::Repository(dir), vulndb::Limits{});
    try {
      mirror->refresh();
    } catch (const std::exception& e) {
      std::cout << "  (the vulnerability database in " << dir << " cannot be read: " << e.what()
                << ")\n";
    }
  }
  const auto db = mirror ? mirror->current() : nullptr;
  if (db == nullptr) {
    std::cout << "  no vulnerability database"
              << (dir.empty() ? std::string(" (vulndb_dir is empty)") : " in " + dir)
              << ": nothing is refused for vulnerabilities\n"
              << "decision: allowed\n";
    return 0;
  }
  std::vector<std::string> waived;
  const std::string ids = proxy::vulnerabilities_of(*db, mod, version, rule->allow, &waived);
  std::cout << "  known vulnerabilities (" << db->entries().size()
            << " entries in the database): " << (ids.empty() ? "none" : ids) << "\n";
  if (!waived.empty()) std::cout << "  waived by allow: " << join(waived) << "\n";
  const auto verdict = proxy::make_vuln_filter(policy, *mirror, quiet)->check(mod, version, "");
  if (!verdict.hidden) {
    std::cout << (ids.empty() || !warn ? "decision: allowed\n"
                                       : "decision: allowed, and logged as a vulnerable version "
                                         "served (vulnerable = warn)\n");
    return 0;
  }
  std::cout << "decision: denied: left out of list, @latest and /index; its files, and queries "
               "resolving to it, answer 403\n"
            << "  reason: " << verdict.reason << "\n";
  return 1;
}

}  // namespace

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
  const policy::Rule* rule = snap->rules.match(mod, version);
  std::cout << snap->rules.explain(rule, mod, version);
  if (version.empty()) {
    // The module as a whole: what list and @latest get.
    if (rule == nullptr || rule->action != policy::Action::deny) {
      std::cout << "decision: allowed";
      if (rule != nullptr && rule->min_age.count() > 0) {
        std::cout << "; versions younger than " << policy::format_age(rule->min_age)
                  << " are left out of list and @latest";
      }
      std::cout << "\n";
      return 0;
    }
    std::cout << "decision: denied: every request for the module answers 403\n"
              << "  reason: " << policy::deny_reason(*rule) << "\n";
    return 1;
  }
  // The version through the same filter that `stoa serve` answers with, with the sightings
  // `stoa serve` recorded in the index (looked at, never recorded here).
  std::unique_ptr<index::Index> idx;
  const auto quiet =
      std::make_shared<spdlog::logger>("rules", std::make_shared<spdlog::sinks::null_sink_mt>());
  if (rule != nullptr && rule->min_age.count() > 0) {
    try {
      idx = make_index(index_config(cfg));
    } catch (const std::exception& e) {
      std::cout << "  (the index cannot be read: " << e.what()
                << "; the version counts as never seen)\n";
    }
    proxy::FirstSeen peek(idx.get(), quiet, {}, false);
    const auto now = std::chrono::system_clock::now();
    const auto seen = peek.seen(mod, version);
    std::cout << "  first seen: "
              << (seen < now ? policy::rfc3339(seen) + " (in the index)"
                             : std::string("never (a request now starts its cooldown)"))
              << "\n";
  }
  proxy::FirstSeen seen(idx.get(), quiet, {}, false);
  const auto verdict = proxy::make_policy_filter(*p, &seen)->check(mod, version, "");
  if (!verdict.hidden) return explain_vulnerable(cfg, *p, mod, version, quiet);
  if (verdict.cause == "cooldown") {
    std::cout << "decision: in cooldown: left out of list, @latest and /index; queries resolving "
                 "to it answer 403; its files "
              << (rule->min_age_pinned_allowed ? "are served (min_age_pinned = allow)"
                                               : "answer 403")
              << "\n"
              << "  reason: " << verdict.reason << "\n";
    return 1;
  }
  std::cout << "decision: denied: left out of list, @latest and /index; its files, and queries "
               "resolving to it, answer 403\n"
            << "  reason: " << verdict.reason << "\n";
  return 1;
}

}  // namespace stoa::cli
