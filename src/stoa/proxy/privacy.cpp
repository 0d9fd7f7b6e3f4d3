#include "stoa/proxy/privacy.hpp"

#include "stoa/module/patterns.hpp"
#include "stoa/policy/policy.hpp"
#include "stoa/proxy/service.hpp"

namespace stoa::proxy {

bool is_private_module(const ServiceOptions& o, std::string_view module) {
  if (module::match_prefix_patterns_folded(o.no_sumdb, module)) return true;
  if (o.policy == nullptr || o.policy->no_rules()) return false;
  const auto snap = o.policy->current();
  return snap && snap->rules.is_private(module);
}

}  // namespace stoa::proxy
