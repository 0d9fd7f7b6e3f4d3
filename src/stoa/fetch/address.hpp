#pragma once
// IP addresses as stoa's egress checks see them: text parsing, classification (loopback, private,
// link-local...), networks in CIDR notation. Pure; no name resolution.
//
// The classification follows the IANA special-purpose address registries: every address that is
// not a globally routable unicast address has a class other than `global`. An IPv6 address that
// embeds an IPv4 address (v4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) takes the
// class of the IPv4 address it carries, since that is where a packet to it ends up.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace stoa::fetch {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // IPv4: the first 4 bytes, the rest zero

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// "192.0.2.1" (exactly four decimal parts) or an RFC 4291 text form ("2001:db8::1",
// "::ffff:192.0.2.1"); no brackets, zones, prefixes or blanks. nullopt otherwise.
std::optional<IpAddress> parse_ip(std::string_view text);

// "192.0.2.1", "2001:db8::1".
std::string to_string(const IpAddress& address);

enum class AddressClass : std::uint8_t {
  global,       // routable unicast on the internet
  unspecified,  // 0.0.0.0/8 ("this network"), ::
  loopback,     // 127.0.0.0/8, ::1
  private_use,  // 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local), fec0::/10 (site local),
                // 64:ff9b:1::/48 (local-use NAT64)
  shared,       // 100.64.0.0/10 (carrier-grade NAT)
  link_local,   // 169.254.0.0/16 (cloud metadata services live here), fe80::/10
  multicast,    // 224.0.0.0/4, ff00::/8
  broadcast,    // 255.255.255.255
  reserved,     // protocol assignments, documentation, benchmarking, future use, discard-only,
                // IPv4-compatible IPv6 (::/96)
};

AddressClass classify(const IpAddress& address);

// "loopback", "private", "link-local"... for log lines.
std::string_view describe(AddressClass c);

// An IPv4 or IPv6 network: "10.0.0.0/8", "fd00:1::/64"; a bare address is a /32 or /128.
// Bits past the prefix must be zero ("10.0.0.1/8" is refused as a likely typo).
struct Network {
  IpAddress base;
  int prefix_len = 0;
};

std::optional<Network> parse_network(std::string_view text);

// Whether `address` is in `network`. A v4-mapped IPv6 address (::ffff:10.0.0.1) is matched as the
// IPv4 address it maps.
bool contains(const Network& network, const IpAddress& address);

bool contains_any(std::span<const Network> networks, const IpAddress& address);

}  // namespace stoa::fetch
