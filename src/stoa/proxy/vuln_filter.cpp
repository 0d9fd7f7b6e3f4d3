#include "stoa/proxy/vuln_filter.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "stoa/module/semver.hpp"
#include "stoa/vulndb/mirror.hpp"

namespace stoa::proxy {
namespace {

namespace semver = module::semver;
using vulndb::Event;

// Where an OSV event's version stands against `v` (a "v"-prefixed version): <0, 0, >0.
int compare_event(const Event& e, std::string_view v) {
  if (e.kind == Event::Kind::introduced && e.version == "0") return -1;
  return semver::compare("v" + e.version, v);
}

// Whether a SEMVER range affects `v`: its events in version order, each introduced at or below
// `v` turning it on, each fixed or limit at or below it (last_affected below it) turning it off.
bool affects(const vulndb::Range& r, std::string_view v) {
  if (r.type != "SEMVER") return false;
  std::vector<const Event*> events;
  for (const Event& e : r.events) events.push_back(&e);
  std::stable_sort(events.begin(), events.end(), [](const Event* a, const Event* b) {
    const bool a0 = a->kind == Event::Kind::introduced && a->version == "0";
    const bool b0 = b->kind == Event::Kind::introduced && b->version == "0";
    if (a0 || b0) return a0 && !b0;
    return semver::compare("v" + a->version, "v" + b->version) < 0;
  });
  bool on = false;
  for (const Event* e : events) {
    const int c = compare_event(*e, v);
    switch (e->kind) {
      case Event::Kind::introduced:
        if (c <= 0) on = true;
        break;
      case Event::Kind::fixed:
      case Event::Kind::limit:
        if (c <= 0) on = false;
        break;
      case Event::Kind::last_affected:
        if (c < 0) on = false;
        break;
    }
  }
  return on;
}

// The lowest fixed version of `r` above `v`, "" when none.
std::string first_fix(const vulndb::Range& r, std::string_view v) {
  std::string best;
  for (const Event& e : r.events) {
    if (e.kind != Event::Kind::fixed || compare_event(e, v) <= 0) continue;
    const std::string fixed = "v" + e.version;
    if (best.empty() || semver::compare(fixed, best) < 0) best = fixed;
  }
  return best;
}

// The entries of one snapshot by module path: what check() reads.
struct Index {
  struct Item {
    const vulndb::Entry* entry;
    const vulndb::Affected* affected;
  };
  std::shared_ptr<const vulndb::Snapshot> snapshot;  // keeps the pointers below alive
  std::unordered_map<std::string, std::vector<Item>> by_module;
};

// Whether an affected package of an entry names a module (stdlib and toolchain never do).
bool names_a_module(const vulndb::Affected& a) {
  return a.ecosystem == "Go" && a.name != "stdlib" && a.name != "toolchain";
}

std::shared_ptr<const Index> build_index(std::shared_ptr<const vulndb::Snapshot> s) {
  auto index = std::make_shared<Index>();
  if (s != nullptr) {
    for (const vulndb::Entry& e : s->entries()) {
      for (const vulndb::Affected& a : e.affected) {
        if (names_a_module(a)) index->by_module[a.name].push_back({&e, &a});
      }
    }
  }
  index->snapshot = std::move(s);
  return index;
}

// "ID (fixed in vX)" for each of `items` whose ranges affect `version`, comma-separated; ids in
// `waived` are left out and, when `waived_hit` is not null, appended to it.
std::string describe_affecting(const std::vector<Index::Item>& items, std::string_view version,
                               const std::vector<std::string>& waived,
                               std::vector<std::string>* waived_hit) {
  std::string ids;
  for (const Index::Item& item : items) {
    const std::string& id = item.entry->id;
    std::string fix;
    bool hit = false;
    for (const vulndb::Range& r : item.affected->ranges) {
      if (!affects(r, version)) continue;
      hit = true;
      const std::string f = first_fix(r, version);
      if (!f.empty() && (fix.empty() || semver::compare(f, fix) < 0)) fix = f;
    }
    if (!hit) continue;
    if (std::find(waived.begin(), waived.end(), id) != waived.end()) {
      if (waived_hit != nullptr) waived_hit->push_back(id);
      continue;
    }
    if (!ids.empty()) ids += ", ";
    ids += id + (fix.empty() ? " (no fixed version)" : " (fixed in " + fix + ")");
  }
  return ids;
}

class VulnFilter final : public VersionFilter {
 public:
  VulnFilter(const policy::Policy& policy, const vulndb::Mirror& mirror,
             std::shared_ptr<spdlog::logger> log)
      : m_policy(policy), m_mirror(mirror), m_log(std::move(log)) {
    m_index.store(build_index(nullptr));
  }

  bool active() const override { return !m_policy.no_rules() && m_mirror.current() != nullptr; }

  Verdict check(std::string_view module, std::string_view version, std::string_view /*time*/,
                const Asked& /*asked*/) const override {
    if (!active() || !semver::is_valid(version)) return {};
    const auto rules = m_policy.current();
    const policy::Rule* rule = rules->rules.match_vulnerable(module, version);
    if (rule == nullptr) return {};
    const auto index = current_index();
    const auto it = index->by_module.find(std::string(module));
    if (it == index->by_module.end()) return {};
    const std::string ids = describe_affecting(it->second, version, rule->allow, nullptr);
    if (ids.empty()) return {};
    const std::string reason = "affected by " + ids + "; refused by rule \"" + rule->name + "\"";
    if (rule->vulnerable == policy::Rule::Vulnerable::warn) {
      warn_once(module, version, ids, rule->name);
      return {};
    }
    return {true, reason, rule->name, "vulnerable"};
  }

 private:
  std::shared_ptr<const Index> current_index() const {
    auto snapshot = m_mirror.current();
    auto index = m_index.load();
    if (index->snapshot == snapshot) return index;
    // The database switched: the first check after it builds the new index for everyone.
    index = build_index(std::move(snapshot));
    m_index.store(index);
    return index;
  }

  void warn_once(std::string_view module, std::string_view version, const std::string& ids,
                 const std::string& rule) const {
    std::string key = std::string(module) + "@" + std::string(version) + " " + rule;
    {
      const std::lock_guard lock(m_warned_mutex);
      if (m_warned.size() > 100'000 || !m_warned.insert(key).second) return;
    }
    m_log->warn("vulnerable version served: {}@{} is affected by {} (rule \"{}\": warn)", module,
                version, ids, rule);
  }

  const policy::Policy& m_policy;
  const vulndb::Mirror& m_mirror;
  std::shared_ptr<spdlog::logger> m_log;
  mutable std::atomic<std::shared_ptr<const Index>> m_index;
  mutable std::mutex m_warned_mutex;  // the warn path only
  mutable std::set<std::string> m_warned;
};

class FilterChain final : public VersionFilter {
 public:
  explicit FilterChain(std::vector<std::unique_ptr<VersionFilter>> filters)
      : m_filters(std::move(filters)) {}

  bool active() const override {
    return std::any_of(m_filters.begin(), m_filters.end(),
                       [](const auto& f) { return f->active(); });
  }

  bool ready(std::string_view module, std::string_view version, const Asked& asked) const override {
    return std::all_of(m_filters.begin(), m_filters.end(), [&](const auto& f) {
      return !f->applies(asked) || f->ready(module, version, asked);
    });
  }

  Verdict check(std::string_view module, std::string_view version, std::string_view time,
                const Asked& asked) const override {
    for (const auto& f : m_filters) {
      if (!f->applies(asked)) continue;
      Verdict v = f->check(module, version, time, asked);
      if (v.hidden) return v;
    }
    return {};
  }

 private:
  std::vector<std::unique_ptr<VersionFilter>> m_filters;
};

}  // namespace

std::unique_ptr<VersionFilter> make_vuln_filter(const policy::Policy& policy,
                                                const vulndb::Mirror& mirror,
                                                std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<VulnFilter>(policy, mirror, std::move(log));
}

std::unique_ptr<VersionFilter> chain_filters(std::vector<std::unique_ptr<VersionFilter>> filters) {
  return std::make_unique<FilterChain>(std::move(filters));
}

std::string vulnerabilities_of(const vulndb::Snapshot& snapshot, std::string_view module,
                               std::string_view version, const std::vector<std::string>& waived,
                               std::vector<std::string>* waived_hit) {
  std::vector<Index::Item> items;
  for (const vulndb::Entry& e : snapshot.entries()) {
    for (const vulndb::Affected& a : e.affected) {
      if (names_a_module(a) && a.name == module) items.push_back({&e, &a});
    }
  }
  return describe_affecting(items, version, waived, waived_hit);
}

}  // namespace stoa::proxy
