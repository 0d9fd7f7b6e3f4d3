#include "stoa/proxy/policy_filter.hpp"

#include "stoa/module/semver.hpp"

namespace stoa::proxy {
namespace {

class PolicyFilter final : public VersionFilter {
 public:
  explicit PolicyFilter(const policy::Policy& policy) : m_policy(policy) {}

  bool active() const override { return !m_policy.no_rules(); }

  Verdict check(std::string_view module, std::string_view version,
                std::string_view /*time*/) const override {
    if (m_policy.no_rules() || !module::semver::is_valid(version)) return {};
    const auto snapshot = m_policy.current();
    const policy::Rule* rule = snapshot->rules.match(module, version);
    if (rule == nullptr || rule->action != policy::Action::deny) return {};
    return {true, policy::deny_reason(*rule), rule->name, "deny"};
  }

 private:
  const policy::Policy& m_policy;
};

}  // namespace

std::unique_ptr<VersionFilter> make_policy_filter(const policy::Policy& policy) {
  return std::make_unique<PolicyFilter>(policy);
}

}  // namespace stoa::proxy
