#include "stoa/proxy/index_access.hpp"

#include <memory>

#include "stoa/fetch/upstream.hpp"
#include "stoa/text/redact.hpp"

namespace stoa::proxy {

index::Visible visible_to(const policy::Policy* policy, std::string_view authorization) {
  if (policy == nullptr || policy->no_rules()) return [](const index::Entry&) { return true; };
  std::shared_ptr<const policy::Snapshot> snap = policy->current();
  const policy::AuthResult who = snap->credentials->authenticate(authorization);
  return [snap = std::move(snap), who](const index::Entry& e) {
    return policy::serves_files(snap->decide_as(e.module, e.version, who));
  };
}

std::string origin_of(const policy::Decision& d, const std::string& global) {
  if (d.rule != nullptr && d.source != nullptr) {
    const auto list = fetch::parse_proxy_list(d.rule->upstream);
    if (!list) return "";  // cannot happen: the rule's upstream was built from it
    std::string out;
    for (const auto& e : list->entries) {
      out += text::redact_credentials(e.base_url);
      if (&e != &list->entries.back()) out += e.fall_through_on_error ? "|" : ",";
    }
    return out;
  }
  if (d.action == policy::Action::private_) return "direct";
  return global;
}

}  // namespace stoa::proxy
