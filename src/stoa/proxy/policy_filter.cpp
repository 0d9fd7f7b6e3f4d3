#include "stoa/proxy/policy_filter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "stoa/module/semver.hpp"
#include "stoa/module/version_list.hpp"
#include "stoa/policy/age.hpp"

namespace stoa::proxy {
namespace {

using TimePoint = std::chrono::system_clock::time_point;

std::optional<TimePoint> time_of(const module::Instant& i) {
  using namespace std::chrono;
  // Years 0000-9999 fit in nanoseconds since 1970 only up to 2262: later is "far future".
  constexpr std::int64_t k_max_seconds = 9'000'000'000;
  if (i.seconds > k_max_seconds) return TimePoint(seconds(k_max_seconds));
  if (i.seconds < -k_max_seconds) return std::nullopt;
  return TimePoint(
      duration_cast<system_clock::duration>(seconds(i.seconds) + nanoseconds(i.nanos)));
}

class PolicyFilter final : public VersionFilter {
 public:
  PolicyFilter(const policy::Policy& policy, FirstSeen* seen) : m_policy(policy), m_seen(seen) {}

  bool active() const override { return !m_policy.no_rules(); }

  bool ready(std::string_view module, std::string_view version, const Asked& asked) const override {
    if (m_seen == nullptr || (m_policy.no_rules() && asked.min_age.count() == 0)) return true;
    // Ready when check() would not ask m_seen (its own decisions are in memory).
    if (!version.empty()) {
      if (!module::semver::is_valid(version)) return true;
      const policy::Rule* rule = nullptr;
      std::shared_ptr<const policy::Snapshot> snapshot;
      if (!m_policy.no_rules()) {
        snapshot = m_policy.current();
        rule = snapshot->rules.match(module, version);
      }
      if (rule != nullptr && rule->action == policy::Action::deny) return true;
      if (asked.pinned && rule != nullptr && rule->min_age_pinned_allowed) return true;
      const auto rule_age = rule != nullptr ? rule->min_age : std::chrono::seconds(0);
      if (std::max(rule_age, asked.min_age).count() == 0) return true;
    } else if (asked.min_age.count() == 0 &&
               (m_policy.no_rules() || !m_policy.current()->rules.may_hold_back(module))) {
      return true;
    }
    return m_seen->ready(module, version);
  }

  using VersionFilter::check;
  Verdict check(std::string_view module, std::string_view version, std::string_view time,
                const Asked& asked) const override {
    if ((m_policy.no_rules() && asked.min_age.count() == 0) || !module::semver::is_valid(version))
      return {};
    const policy::Rule* rule = nullptr;
    std::shared_ptr<const policy::Snapshot> snapshot;
    if (!m_policy.no_rules()) {
      snapshot = m_policy.current();
      rule = snapshot->rules.match(module, version);
    }
    if (rule != nullptr && rule->action == policy::Action::deny) {
      return {true, policy::deny_reason(*rule), rule->name, "deny"};
    }
    if (m_seen == nullptr) return {};
    if (asked.pinned && rule != nullptr && rule->min_age_pinned_allowed) return {};
    const std::chrono::seconds rule_age = rule != nullptr ? rule->min_age : std::chrono::seconds(0);
    const std::chrono::seconds age = std::max(rule_age, asked.min_age);
    if (age.count() == 0) return {};
    const TimePoint now = m_seen->now();
    TimePoint start = m_seen->seen(module, version);
    std::optional<module::Instant> claimed =
        time.empty() ? module::pseudo_version_time(version) : module::parse_rfc3339(time);
    if (claimed) {
      if (const auto t = time_of(*claimed)) start = std::max(start, *t);
    }
    const TimePoint until = start + age;
    if (now >= until) return {};
    const bool by_rule = rule_age >= asked.min_age;
    std::string reason =
        by_rule ? fmt::format("in cooldown until {} (rule {:?}, min_age {})",
                              policy::rfc3339(until), rule->name, policy::format_age(rule_age))
                : fmt::format("in cooldown until {} (the client's /cooldown/{} prefix)",
                              policy::rfc3339(until), policy::format_age(asked.min_age));
    return {true, std::move(reason), by_rule ? rule->name : "/cooldown", "cooldown"};
  }

 private:
  const policy::Policy& m_policy;
  FirstSeen* m_seen;
};

}  // namespace

std::unique_ptr<VersionFilter> make_policy_filter(const policy::Policy& policy, FirstSeen* seen) {
  return std::make_unique<PolicyFilter>(policy, seen);
}

}  // namespace stoa::proxy
