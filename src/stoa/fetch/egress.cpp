#include "stoa/fetch/egress.hpp"

#include <algorithm>

namespace stoa::fetch {

std::string to_string(const Origin& origin) {
  return origin.scheme + "://" + origin.host + ":" + std::to_string(origin.port);
}

std::optional<std::string> EgressGuard::check(const Origin& hop, const IpAddress& address,
                                              std::uint16_t port) {
  const std::pair<IpAddress, std::uint16_t> endpoint{address, port};
  if (hop == m_configured) {
    if (std::find(m_origin_endpoints.begin(), m_origin_endpoints.end(), endpoint) ==
        m_origin_endpoints.end()) {
      m_origin_endpoints.push_back(endpoint);
    }
    return std::nullopt;
  }
  const AddressClass cls = classify(address);
  if (cls == AddressClass::global) return std::nullopt;
  if (std::find(m_origin_endpoints.begin(), m_origin_endpoints.end(), endpoint) !=
      m_origin_endpoints.end()) {
    return std::nullopt;
  }
  if (contains_any(m_allowed, address)) return std::nullopt;
  // The address itself stays out of the text: it goes to clients, and would turn stoa into a
  // resolver of internal names for whoever controls a redirect.
  return "redirect to " + to_string(hop) + " refused: it resolves to a " +
         std::string(describe(cls)) +
         " address and is not the configured upstream (see upstream_redirect_allow)";
}

}  // namespace stoa::fetch
