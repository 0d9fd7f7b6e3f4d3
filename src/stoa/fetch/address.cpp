#include "stoa/fetch/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstddef>

namespace stoa::fetch {
namespace {

// Whether the first `bits` bits of `a` and `prefix` agree (both at least ceil(bits/8) bytes).
bool prefix_matches(const std::uint8_t* a, const std::uint8_t* prefix, int bits) {
  const auto whole = static_cast<std::size_t>(bits / 8);
  if (!std::equal(a, a + whole, prefix)) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
  return (a[whole] & mask) == (prefix[whole] & mask);
}

struct Range {
  std::array<std::uint8_t, 16> prefix;
  int bits;
  AddressClass cls;
};

// IANA IPv4 Special-Purpose Address Registry, the entries that are not globally reachable.
constexpr std::array<Range, 16> k_v4 = {{
    {{0, 0, 0, 0}, 8, AddressClass::unspecified},
    {{10, 0, 0, 0}, 8, AddressClass::private_use},
    {{100, 64, 0, 0}, 10, AddressClass::shared},
    {{127, 0, 0, 0}, 8, AddressClass::loopback},
    {{169, 254, 0, 0}, 16, AddressClass::link_local},
    {{172, 16, 0, 0}, 12, AddressClass::private_use},
    {{192, 0, 0, 0}, 24, AddressClass::reserved},    // IETF protocol assignments
    {{192, 0, 2, 0}, 24, AddressClass::reserved},    // documentation
    {{192, 88, 99, 0}, 24, AddressClass::reserved},  // deprecated 6to4 relay anycast
    {{192, 168, 0, 0}, 16, AddressClass::private_use},
    {{198, 18, 0, 0}, 15, AddressClass::reserved},    // benchmarking
    {{198, 51, 100, 0}, 24, AddressClass::reserved},  // documentation
    {{203, 0, 113, 0}, 24, AddressClass::reserved},   // documentation
    {{224, 0, 0, 0}, 4, AddressClass::multicast},
    {{255, 255, 255, 255}, 32, AddressClass::broadcast},
    {{240, 0, 0, 0}, 4, AddressClass::reserved},  // future use (after the broadcast entry)
}};

// IPv6, besides the forms that embed an IPv4 address (handled first).
constexpr std::array<Range, 9> k_v6 = {{
    {{}, 128, AddressClass::unspecified},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, AddressClass::loopback},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, AddressClass::private_use},  // local-use NAT64
    {{0x01, 0x00}, 64, AddressClass::reserved},                             // discard-only
    {{0x20, 0x01, 0x0d, 0xb8}, 32, AddressClass::reserved},                 // documentation
    {{0xfc}, 7, AddressClass::private_use},                                 // unique local
    {{0xfe, 0x80}, 10, AddressClass::link_local},
    {{0xfe, 0xc0}, 10, AddressClass::private_use},  // site local (deprecated)
    {{0xff}, 8, AddressClass::multicast},
}};

constexpr std::array<std::uint8_t, 12> k_v4_mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr std::array<std::uint8_t, 12> k_nat64 = {0x00, 0x64, 0xff, 0x9b};

IpAddress v4(const std::uint8_t* four) {
  IpAddress a;
  std::copy(four, four + 4, a.bytes.begin());
  return a;
}

// The IPv4 address a v4-mapped IPv6 address stands for; the address itself otherwise.
IpAddress unmapped(const IpAddress& a) {
  if (a.v6 && std::equal(k_v4_mapped.begin(), k_v4_mapped.end(), a.bytes.begin())) {
    return v4(a.bytes.data() + 12);
  }
  return a;
}

// The class of the IPv4 address in the four bytes at `b`.
AddressClass classify_v4(const std::uint8_t* b) {
  for (const auto& r : k_v4) {
    if (prefix_matches(b, r.prefix.data(), r.bits)) return r.cls;
  }
  return AddressClass::global;
}

}  // namespace

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;  // INET6_ADDRSTRLEN - 1
  const std::string z(text);
  IpAddress a;
  if (z.find(':') == std::string::npos) {
    if (::inet_pton(AF_INET, z.c_str(), a.bytes.data()) != 1) return std::nullopt;
    return a;
  }
  a.v6 = true;
  if (::inet_pton(AF_INET6, z.c_str(), a.bytes.data()) != 1) return std::nullopt;
  return a;
}

std::string to_string(const IpAddress& address) {
  std::array<char, 64> buf{};
  if (::inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), buf.data(),
                  static_cast<socklen_t>(buf.size())) == nullptr) {
    return "?";
  }
  return buf.data();
}

AddressClass classify(const IpAddress& address) {
  const std::uint8_t* b = address.bytes.data();
  if (!address.v6) return classify_v4(b);
  // Forms that carry an IPv4 address: classified as that address.
  if (std::equal(k_v4_mapped.begin(), k_v4_mapped.end(), b) ||
      prefix_matches(b, k_nat64.data(), 96)) {
    return classify_v4(b + 12);
  }
  if (b[0] == 0x20 && b[1] == 0x02) return classify_v4(b + 2);  // 6to4
  for (const auto& r : k_v6) {
    if (prefix_matches(b, r.prefix.data(), r.bits)) return r.cls;
  }
  // IPv4-compatible (::a.b.c.d, deprecated) and the rest of ::/8 (after :: and ::1 above).
  if (b[0] == 0) return AddressClass::reserved;
  return AddressClass::global;
}

std::string_view describe(AddressClass c) {
  switch (c) {
    case AddressClass::global:
      return "global";
    case AddressClass::unspecified:
      return "unspecified";
    case AddressClass::loopback:
      return "loopback";
    case AddressClass::private_use:
      return "private";
    case AddressClass::shared:
      return "shared (carrier-grade NAT)";
    case AddressClass::link_local:
      return "link-local";
    case AddressClass::multicast:
      return "multicast";
    case AddressClass::broadcast:
      return "broadcast";
    case AddressClass::reserved:
      return "reserved";
  }
  return "?";
}

std::optional<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  auto base = parse_ip(text.substr(0, slash));
  if (!base) return std::nullopt;
  const int max_bits = base->v6 ? 128 : 32;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (ec != std::errc() || end != digits.data() + digits.size() || bits < 0 || bits > max_bits) {
      return std::nullopt;
    }
  }
  // Host bits must be zero.
  IpAddress masked;
  masked.v6 = base->v6;
  for (int i = 0; i < bits; ++i) {
    const auto byte = static_cast<std::size_t>(i / 8);
    masked.bytes[byte] |= base->bytes[byte] & static_cast<std::uint8_t>(0x80 >> (i % 8));
  }
  if (masked != *base) return std::nullopt;
  return Network{*base, bits};
}

bool contains(const Network& network, const IpAddress& address) {
  const IpAddress a = unmapped(address);
  if (a.v6 != network.base.v6) return false;
  return prefix_matches(a.bytes.data(), network.base.bytes.data(), network.prefix_len);
}

bool contains_any(std::span<const Network> networks, const IpAddress& address) {
  return std::any_of(networks.begin(), networks.end(),
                     [&](const Network& n) { return contains(n, address); });
}

}  // namespace stoa::fetch
