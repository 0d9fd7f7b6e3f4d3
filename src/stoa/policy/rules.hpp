#pragma once
// Policy rules: an ordered list, each matching module path globs (GOPRIVATE syntax) and
// optionally a version range, each with an action. The first rule that matches a request
// decides; no match means `cache`. Restricted rules (private, or with readers) match whatever
// the ASCII case of the path's letters (module::match_prefix_patterns_folded); others match as
// the go command does. Pure: parsing and matching do no I/O and never throw
// (parse_rules reports errors as values), thread-safe once built.
//
// Version ranges: comparators separated by blanks, all of which must hold, e.g.
// ">=v1.2.0 <v2.0.0". A comparator is one of >=, >, <=, <, = followed by a valid semantic
// version ("v1", "v1.2" are completed to v1.0.0, v1.2.0); a bare version means "=". Versions are
// compared with semver order (so pre-releases sort before their release and
// v2.0.0+incompatible is v2.0.0). A rule with `versions` only matches requests that name a
// canonical version (.info/.mod/.zip of vX.Y.Z...); list, @latest and version queries are
// decided by the first matching rule without `versions`.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stoa::policy {

enum class Action : std::uint8_t { cache, passthrough, deny, redirect, private_, offline };
std::string_view to_string(Action a);
std::optional<Action> parse_action(std::string_view s);

// Whether `module` is one that ships inside every Go distribution and that the go command never
// downloads: golang.org/fips140, the FIPS 140 cryptographic module, which the go command unpacks
// from GOROOT/lib/fips140 (cmd/go/internal/fips140). A proxy answering it could only be
// substituting the cryptographic module, so stoa refuses it unless a rule names it. Compared
// case-insensitively, like every other privacy or safety match of a module path.
bool ships_with_go(std::string_view module) noexcept;

struct Comparator {
  enum class Op : std::uint8_t { lt, le, eq, ge, gt };
  Op op = Op::eq;
  std::string version;  // canonical
};

struct VersionRange {
  std::vector<Comparator> all;                    // every one must hold
  bool contains(std::string_view version) const;  // false for an invalid version
};

// nullopt with `error` set when `text` is not a range of the syntax above.
std::optional<VersionRange> parse_version_range(std::string_view text, std::string* error);

struct Rule {
  std::string name;      // `name`, or "rule N" (1-based position)
  std::string modules;   // comma-separated globs (GOPRIVATE syntax)
  std::string versions;  // as written; empty: any version
  std::optional<VersionRange> range;
  Action action = Action::cache;
  std::string to;       // redirect: base URL without trailing '/'
  std::string message;  // deny: shown to the client
  // Who may read the modules of this rule: user or token names, "@group", "*" (any
  // authenticated client). Empty: anyone, except for private rules, where empty means "*".
  std::vector<std::string> readers;
  std::string upstream;  // GOPROXY-syntax list used instead of the global upstream ("" none)
  // Minimum release age (cooldown): versions younger than this are hidden (0: none). Not for
  // deny or redirect.
  std::chrono::seconds min_age{0};
  // `min_age_pinned = "allow"`: an exact version's files (.info, .mod, .zip) are served whatever
  // its age (also under a client's /cooldown/<age>/ prefix); list, @latest and queries are still
  // held back. Default ("deny"): refused 403 like any hidden version.
  bool min_age_pinned_allowed = false;
  std::size_t index = 0;  // 0-based position
  // Versions affected by a known vulnerability of the mirrored database: hidden and refused
  // (deny) or served (warn); ids in `allow` are waived. Decided by the first rule with
  // `vulnerable` set that matches the module (RuleSet::match_vulnerable), apart from `action`.
  enum class Vulnerable : std::uint8_t { off, deny, warn };
  Vulnerable vulnerable = Vulnerable::off;
  std::vector<std::string> allow;

  bool restricted() const { return !readers.empty() || action == Action::private_; }
};

struct RuleSet {
  std::vector<Rule> rules;
  std::map<std::string, std::vector<std::string>, std::less<>> groups;  // [groups]

  // The first rule matching `module` (and `version`, "" when the request names none or a
  // non-canonical one); nullptr: the default (cache).
  const Rule* match(std::string_view module, std::string_view version) const;
  // The first rule with `vulnerable` set that matches `module` and `version`; nullptr: none.
  const Rule* match_vulnerable(std::string_view module, std::string_view version) const;
  // Whether the rule deciding some version of `module` sets min_age: whether the ages of the
  // module's versions may matter (the first matching rule without `versions` decides the rest).
  bool may_hold_back(std::string_view module) const;
  // Whether some private rule matches `module` (any version): such paths never go to a
  // public upstream or checksum database.
  bool is_private(std::string_view module) const;
  // Why `rule` matches (or, for nullptr, why none does), for `stoa rules test`.
  std::string explain(const Rule* rule, std::string_view module, std::string_view version) const;
};

// What a client is told about a module or version a deny rule refuses, one line:
// `denied by rule "<name>"`, then `: <message>` when the rule has one.
std::string deny_reason(const Rule& rule);

struct ParseError {
  std::string message;  // one line, naming the rule
};

// Reads the [[rule]] array of tables and the [groups] table of a TOML document. Other top-level
// keys are ignored (they are the main configuration's). `origin` names the file in messages.
std::variant<RuleSet, ParseError> parse_rules(std::string_view toml_text, std::string_view origin);

}  // namespace stoa::policy
