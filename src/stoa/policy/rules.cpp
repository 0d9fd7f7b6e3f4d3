#include "stoa/policy/rules.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>

#include "stoa/module/patterns.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/policy/age.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::policy {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::cache:
      return "cache";
    case Action::passthrough:
      return "passthrough";
    case Action::deny:
      return "deny";
    case Action::redirect:
      return "redirect";
    case Action::private_:
      return "private";
    case Action::offline:
      return "offline";
  }
  return "?";
}

std::optional<Action> parse_action(std::string_view s) {
  for (const Action a : {Action::cache, Action::passthrough, Action::deny, Action::redirect,
                         Action::private_, Action::offline}) {
    if (to_string(a) == s) return a;
  }
  return std::nullopt;
}

bool ships_with_go(std::string_view module) noexcept {
  return text::iequals(module, "golang.org/fips140");
}

bool VersionRange::contains(std::string_view version) const {
  if (!module::semver::is_valid(version)) return false;
  for (const auto& c : all) {
    const int cmp = module::semver::compare(version, c.version);
    bool ok = false;
    switch (c.op) {
      case Comparator::Op::lt:
        ok = cmp < 0;
        break;
      case Comparator::Op::le:
        ok = cmp <= 0;
        break;
      case Comparator::Op::eq:
        ok = cmp == 0;
        break;
      case Comparator::Op::ge:
        ok = cmp >= 0;
        break;
      case Comparator::Op::gt:
        ok = cmp > 0;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string deny_reason(const Rule& rule) {
  std::string out = fmt::format("denied by rule \"{}\"", rule.name);
  if (!rule.message.empty()) out += ": " + rule.message;
  return out;
}

std::optional<VersionRange> parse_version_range(std::string_view text, std::string* error) {
  VersionRange r;
  auto fail = [&](std::string msg) -> std::optional<VersionRange> {
    if (error != nullptr) *error = std::move(msg);
    return std::nullopt;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == ',') {
      ++i;
      continue;
    }
    Comparator c;
    if (text.substr(i, 2) == ">=") {
      c.op = Comparator::Op::ge;
      i += 2;
    } else if (text.substr(i, 2) == "<=") {
      c.op = Comparator::Op::le;
      i += 2;
    } else if (text[i] == '>') {
      c.op = Comparator::Op::gt;
      ++i;
    } else if (text[i] == '<') {
      c.op = Comparator::Op::lt;
      ++i;
    } else if (text[i] == '=') {
      c.op = Comparator::Op::eq;
      ++i;
    }
    while (i < text.size() && text[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != ',') ++i;
    const std::string_view v = text.substr(start, i - start);
    if (!module::semver::is_valid(v)) {
      return fail(fmt::format("{:?} is not a semantic version like v1.2.3", v.substr(0, 64)));
    }
    c.version = module::semver::canonical(v);
    r.all.push_back(std::move(c));
  }
  if (r.all.empty()) return fail("empty version range");
  return r;
}

namespace {

bool rule_matches_module(const Rule& r, std::string_view module) {
  // Private and reader-restricted paths are matched whatever the case of their letters (see
  // patterns.hpp), so no other spelling of a restricted path escapes its readers.
  return r.restricted() ? module::match_prefix_patterns_folded(r.modules, module)
                        : module::match_prefix_patterns(r.modules, module);
}

bool rule_matches(const Rule& r, std::string_view module, std::string_view version) {
  if (!rule_matches_module(r, module)) return false;
  if (!r.range) return true;
  return !version.empty() && r.range->contains(version);
}

// Every glob of a comma-separated list must be well formed (a malformed one never matches,
// which in a rule list is a silent hole).
std::optional<std::string> check_globs(std::string_view globs) {
  std::size_t n = 0;
  while (!globs.empty()) {
    const auto comma = globs.find(',');
    std::string_view g = globs.substr(0, comma);
    globs = comma == std::string_view::npos ? std::string_view() : globs.substr(comma + 1);
    while (!g.empty() && g.front() == ' ') g.remove_prefix(1);
    while (!g.empty() && g.back() == ' ') g.remove_suffix(1);
    if (g.empty()) continue;
    ++n;
    if (!module::match_glob(g, "").has_value()) {
      return fmt::format("malformed glob {:?}", g.substr(0, 200));
    }
  }
  if (n == 0) return std::string("`modules` names no glob");
  return std::nullopt;
}

}  // namespace

const Rule* RuleSet::match(std::string_view module, std::string_view version) const {
  for (const auto& r : rules) {
    if (rule_matches(r, module, version)) return &r;
  }
  return nullptr;
}

const Rule* RuleSet::match_vulnerable(std::string_view module, std::string_view version) const {
  for (const auto& r : rules) {
    if (r.vulnerable != Rule::Vulnerable::off && rule_matches(r, module, version)) return &r;
  }
  return nullptr;
}

bool RuleSet::may_hold_back(std::string_view module) const {
  for (const Rule& r : rules) {
    if (!rule_matches_module(r, module)) continue;
    if (r.min_age.count() > 0) return true;
    if (!r.range) return false;  // it decides every version: none after it is asked
  }
  return false;
}

bool RuleSet::is_private(std::string_view module) const {
  for (const auto& r : rules) {
    if (r.action == Action::private_ && rule_matches_module(r, module)) return true;
  }
  return false;
}

std::string RuleSet::explain(const Rule* rule, std::string_view module,
                             std::string_view version) const {
  std::string out;
  for (const auto& r : rules) {
    if (&r == rule) break;
    if (!rule_matches_module(r, module)) {
      out += fmt::format("  {:?}: modules {:?} do not match {}\n", r.name, r.modules, module);
    } else {
      out += fmt::format("  {:?}: version {} is not in {:?}\n", r.name,
                         version.empty() ? "(none named)" : version, r.versions);
    }
  }
  if (rule == nullptr) {
    return fmt::format("{}{}{}: no rule matches; action cache (the default)\n", module,
                       version.empty() ? "" : "@", version) +
           out;
  }
  std::string head =
      fmt::format("{}{}{}: rule #{} {:?}, action {}\n", module, version.empty() ? "" : "@", version,
                  rule->index + 1, rule->name, to_string(rule->action));
  head += fmt::format("  because modules {:?} match {}", rule->modules, module);
  if (rule->range) head += fmt::format(" and version {} is in {:?}", version, rule->versions);
  head += "\n";
  if (rule->action == Action::redirect) head += fmt::format("  redirect to {}\n", rule->to);
  if (rule->action == Action::deny && !rule->message.empty())
    head += fmt::format("  message: {}\n", rule->message);
  if (rule->restricted()) {
    head += fmt::format("  readers: {}\n", rule->readers.empty()
                                               ? std::string("any authenticated client")
                                               : fmt::format("{}", fmt::join(rule->readers, ", ")));
  }
  if (!rule->upstream.empty()) head += fmt::format("  upstream: {}\n", rule->upstream);
  if (rule->min_age.count() > 0) {
    head += fmt::format("  min_age: {} (exact versions: {})\n", format_age(rule->min_age),
                        rule->min_age_pinned_allowed ? "allowed whatever their age" : "held too");
  } else if (rule->min_age_pinned_allowed) {
    head += "  min_age_pinned: allow (exact versions pass a client's /cooldown/ prefix)\n";
  }
  if (!out.empty()) head += "  earlier rules that did not match:\n" + out;
  return head;
}

namespace {

// A rule's error inside the parser; parse_rules returns it as a ParseError naming the rule.
struct Refusal {
  std::string what;
};

// `[groups]`: name = [members]. Returns the error, if any.
std::optional<ParseError> parse_groups(const toml::table& doc, std::string_view origin,
                                       RuleSet& set) {
  const auto* groups = doc.get("groups");
  if (groups == nullptr) return std::nullopt;
  const auto* t = groups->as_table();
  if (t == nullptr) return ParseError{fmt::format("{}: [groups] must be a table", origin)};
  for (const auto& [name, members] : *t) {
    const auto* arr = members.as_array();
    if (arr == nullptr) {
      return ParseError{
          fmt::format("{}: group {:?} must be an array of names", origin, name.str())};
    }
    auto& list = set.groups[std::string(name.str())];
    for (const auto& m : *arr) {
      const auto s = m.value<std::string>();
      if (!s || !m.is_string())
        return ParseError{fmt::format("{}: group {:?}: members are strings", origin, name.str())};
      list.push_back(*s);
    }
  }
  return std::nullopt;
}

// One [[rule]] table, read key by key; every method throws Refusal.
class RuleParser {
 public:
  RuleParser(const toml::table& table, std::size_t index, const RuleSet& set)
      : m_table(table), m_set(set) {
    m_rule.index = index;
    m_rule.name = fmt::format("rule {}", index + 1);
  }

  // The rule's name so far (its default until `name` is read).
  const std::string& name() const { return m_rule.name; }

  Rule parse(std::set<std::string>& names) {
    static const std::set<std::string_view> k_known = {
        "name",    "modules",  "versions", "action",         "to",         "message",
        "readers", "upstream", "min_age",  "min_age_pinned", "vulnerable", "allow"};
    Rule& r = m_rule;
    string("name", r.name);
    for (const auto& [key, value] : m_table) {
      if (!k_known.contains(key.str())) throw Refusal{fmt::format("unknown key {:?}", key.str())};
    }
    if (!names.insert(r.name).second) throw Refusal{"two rules have this name"};
    string("modules", r.modules);
    if (r.modules.empty()) throw Refusal{"`modules` is required (GOPRIVATE-style globs)"};
    if (auto bad = check_globs(r.modules)) throw Refusal{*bad};
    string("versions", r.versions);
    if (!r.versions.empty()) {
      std::string error;
      r.range = parse_version_range(r.versions, &error);
      if (!r.range) throw Refusal{"versions: " + error};
    }
    action();
    string("to", r.to);
    string("message", r.message);
    string("upstream", r.upstream);
    readers();
    vulnerable();
    message_and_target();
    min_age();
    if (!r.upstream.empty() && r.action != Action::cache && r.action != Action::passthrough &&
        r.action != Action::private_) {
      throw Refusal{"`upstream` is only for cache, passthrough and private"};
    }
    return std::move(m_rule);
  }

 private:
  // Sets `out` from a string key, when present.
  void string(std::string_view key, std::string& out) const {
    if (const auto* n = m_table.get(key)) {
      if (!n->is_string()) throw Refusal{fmt::format("`{}` must be a string", key)};
      out = *n->value<std::string>();
    }
  }

  // A key holding an array of strings; `what` names its elements in the error.
  std::vector<std::string> strings(std::string_view key, std::string_view what) const {
    std::vector<std::string> out;
    if (const auto* n = m_table.get(key)) {
      const auto* list = n->as_array();
      const std::string error = fmt::format("`{}` must be an array of {}", key, what);
      if (list == nullptr) throw Refusal{error};
      for (const auto& m : *list) {
        if (!m.is_string()) throw Refusal{error};
        out.push_back(*m.value<std::string>());
      }
    }
    return out;
  }

  void action() {
    std::string action = "cache";
    string("action", action);
    const auto a = parse_action(action);
    if (!a) {
      throw Refusal{fmt::format(
          "action {:?}: must be cache, passthrough, deny, redirect, private or offline", action)};
    }
    m_rule.action = *a;
  }

  void readers() {
    for (std::string& who : strings("readers", "names")) {
      if (who.empty()) throw Refusal{"`readers` has an empty name"};
      if (who.starts_with("@") && !m_set.groups.contains(std::string_view(who).substr(1))) {
        throw Refusal{fmt::format("readers: no group {:?} in [groups]", who.substr(1))};
      }
      m_rule.readers.push_back(std::move(who));
    }
  }

  void vulnerable() {
    std::string vulnerable;
    string("vulnerable", vulnerable);
    if (vulnerable == "deny") {
      m_rule.vulnerable = Rule::Vulnerable::deny;
    } else if (vulnerable == "warn") {
      m_rule.vulnerable = Rule::Vulnerable::warn;
    } else if (!vulnerable.empty()) {
      throw Refusal{fmt::format("vulnerable {:?}: must be deny or warn", vulnerable)};
    }
    if (m_table.get("allow") != nullptr) {
      m_rule.allow = strings("allow", "vulnerability ids");
      if (m_rule.vulnerable == Rule::Vulnerable::off)
        throw Refusal{"`allow` is only for `vulnerable`"};
    }
  }

  // `message` (deny only, one printable line) and `to` (redirect only, a base URL).
  void message_and_target() {
    Rule& r = m_rule;
    for (const char c : r.message) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        throw Refusal{"`message` must be one line of printable text"};
    }
    if (r.message.size() > 512) throw Refusal{"`message` is longer than 512 bytes"};
    if (r.action == Action::redirect) {
      while (!r.to.empty() && r.to.back() == '/') r.to.pop_back();
      if (!(r.to.starts_with("http://") || r.to.starts_with("https://")) ||
          r.to.find_first_of(" \t\r\n?#") != std::string::npos) {
        throw Refusal{"redirect needs `to`, an http:// or https:// base URL"};
      }
    } else if (!r.to.empty()) {
      throw Refusal{"`to` is only for action redirect"};
    }
    if (!r.message.empty() && r.action != Action::deny) throw Refusal{"`message` is only for deny"};
  }

  void min_age() {
    Rule& r = m_rule;
    std::string min_age;
    string("min_age", min_age);
    if (!min_age.empty()) {
      const auto age = parse_age(min_age);
      if (!age) {
        throw Refusal{fmt::format(
            "min_age {:?}: not an age (a whole number and a unit: 36h, 7d, 2w; at most 10 years)",
            min_age)};
      }
      r.min_age = *age;
    }
    std::string pinned;
    string("min_age_pinned", pinned);
    if (!pinned.empty() && pinned != "allow" && pinned != "deny") {
      throw Refusal{fmt::format("min_age_pinned {:?}: must be allow or deny", pinned)};
    }
    r.min_age_pinned_allowed = pinned == "allow";
    if ((!min_age.empty() || !pinned.empty()) &&
        (r.action == Action::deny || r.action == Action::redirect)) {
      throw Refusal{"`min_age` and `min_age_pinned` are not for deny or redirect"};
    }
  }

  const toml::table& m_table;
  const RuleSet& m_set;
  Rule m_rule;
};

}  // namespace

std::variant<RuleSet, ParseError> parse_rules(std::string_view toml_text, std::string_view origin) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return ParseError{fmt::format("{}: {}", origin, e.description())};
  }
  RuleSet set;
  if (auto error = parse_groups(doc, origin, set)) return *error;
  const auto* node = doc.get("rule");
  if (node == nullptr) return set;
  const auto* arr = node->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    return ParseError{fmt::format("{}: `rule` must be an array of tables ([[rule]])", origin)};
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    RuleParser parser(*arr->get(i)->as_table(), i, set);
    try {
      set.rules.push_back(parser.parse(names));
    } catch (const Refusal& refused) {
      return ParseError{
          fmt::format("{}: rule {} ({:?}): {}", origin, i + 1, parser.name(), refused.what)};
    }
  }
  return set;
}

}  // namespace stoa::policy
