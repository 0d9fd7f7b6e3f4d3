#pragma once
// Where the upstream client may connect, decided for every connection of a transfer, redirects
// included (the check runs when a connection is opened and again before each request is sent on
// it, so a DNS answer that changes between hops is checked too). Pure.
//
// The rule: a connection to a global address is allowed; a connection to any other address
// (loopback, private, link-local, unspecified, shared, multicast, reserved: see AddressClass) is
// allowed only
//   - for the configured origin itself (same scheme, host and port as the URL the transfer started
//     at: an upstream on 127.0.0.1 or 10.0.0.5 works, and may redirect within itself),
//   - to an address and port that the configured origin itself was reached at during this
//     transfer (a redirect from http://127.0.0.1:3000 to http://localhost:3000),
//   - or to an address in one of the operator's allowed networks (upstream_redirect_allow).
// So an upstream cannot send stoa to another listener on its own host, to stoa's admin port, to a
// cloud metadata service or into the operator's private network by redirecting.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "stoa/fetch/address.hpp"

namespace stoa::fetch {

// Scheme and host lowercase, host as in the URL (IPv6 in brackets), port explicit.
struct Origin {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;

  friend bool operator==(const Origin&, const Origin&) = default;
};

// "http://127.0.0.1:3000" (never any userinfo).
std::string to_string(const Origin& origin);

// One transfer's decisions. Not thread-safe (a transfer runs on one thread).
class EgressGuard {
 public:
  // `allowed` must outlive the guard.
  EgressGuard(Origin configured, std::span<const Network> allowed)
      : m_configured(std::move(configured)), m_allowed(allowed) {}

  // nullopt when a request for `hop` may be sent to `address`:`port`; otherwise the reason, one
  // line naming the hop's origin and the address class. Remembers where the configured origin
  // was reached.
  std::optional<std::string> check(const Origin& hop, const IpAddress& address, std::uint16_t port);

 private:
  Origin m_configured;
  std::span<const Network> m_allowed;
  std::vector<std::pair<IpAddress, std::uint16_t>> m_origin_endpoints;
};

}  // namespace stoa::fetch
