#include "stoa/fetch/egress.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace stoa::fetch {
namespace {

IpAddress ip(const char* text) {
  auto a = parse_ip(text);
  if (!a) throw std::invalid_argument(text);
  return *a;
}

const Origin k_upstream{"http", "127.0.0.1", 3000};

TEST(EgressGuard, Table) {
  struct Case {
    const char* name;
    Origin hop;
    const char* address;
    std::uint16_t port;
    bool allowed;
  };
  const Case cases[] = {
      {"the configured origin", k_upstream, "127.0.0.1", 3000, true},
      {"another port on the same host", {"http", "127.0.0.1", 3001}, "127.0.0.1", 3001, false},
      {"another loopback address", {"http", "127.0.0.2", 3000}, "127.0.0.2", 3000, false},
      {"the same host by another scheme", {"https", "127.0.0.1", 3000}, "127.0.0.1", 3000, true},
      {"another name for the origin's listener",
       {"http", "localhost", 3000},
       "127.0.0.1",
       3000,
       true},
      {"another name, another port", {"http", "localhost", 3001}, "127.0.0.1", 3001, false},
      {"v4-mapped loopback", {"http", "[::ffff:127.0.0.1]", 80}, "::ffff:127.0.0.1", 80, false},
      {"IPv6 loopback", {"http", "[::1]", 3000}, "::1", 3000, false},
      {"metadata service", {"http", "169.254.169.254", 80}, "169.254.169.254", 80, false},
      {"private network by name", {"https", "db.corp.example", 443}, "10.1.2.3", 443, false},
      {"unspecified", {"http", "0.0.0.0", 3000}, "0.0.0.0", 3000, false},
      {"public CDN", {"https", "cdn.example", 443}, "93.184.216.34", 443, true},
      {"public IPv6", {"https", "cdn.example", 443}, "2606:2800:220:1::1", 443, true},
      {"allowed network", {"https", "blobs.corp.example", 443}, "192.168.7.9", 443, true},
      {"allowed network, v4-mapped",
       {"https", "blobs.corp.example", 443},
       "::ffff:192.168.7.9",
       443,
       true},
      {"outside the allowed network",
       {"https", "blobs.corp.example", 443},
       "192.168.8.9",
       443,
       false},
  };
  const std::vector<Network> allowed = {*parse_network("192.168.7.0/24")};
  for (const auto& c : cases) {
    EgressGuard guard(k_upstream, allowed);
    // The transfer starts at the configured origin, reached at 127.0.0.1:3000.
    ASSERT_FALSE(guard.check(k_upstream, ip("127.0.0.1"), 3000));
    const auto refused = guard.check(c.hop, ip(c.address), c.port);
    EXPECT_EQ(!refused, c.allowed) << c.name << ": " << refused.value_or("allowed");
    if (refused) {
      EXPECT_NE(refused->find(to_string(c.hop)), std::string::npos) << *refused;
      // A name's address is not told (the text reaches clients).
      if (c.hop.host.find(c.address) == std::string::npos) {
        EXPECT_EQ(refused->find(c.address), std::string::npos) << "no address in " << *refused;
      }
    }
  }
}

TEST(EgressGuard, TheConfiguredOriginMayBeAnywhere) {
  for (const char* address : {"127.0.0.1", "10.0.0.5", "::1", "169.254.1.1", "8.8.8.8"}) {
    const Origin origin{"http", "upstream.corp.example", 8080};
    EgressGuard guard(origin, {});
    EXPECT_FALSE(guard.check(origin, ip(address), 8080)) << address;
  }
}

TEST(EgressGuard, OriginEndpointsAreThoseOfThisTransferOnly) {
  // An endpoint is remembered only once the configured origin was reached there.
  EgressGuard guard(k_upstream, {});
  EXPECT_TRUE(guard.check({"http", "localhost", 3000}, ip("127.0.0.1"), 3000));
  EXPECT_FALSE(guard.check(k_upstream, ip("127.0.0.1"), 3000));
  EXPECT_FALSE(guard.check({"http", "localhost", 3000}, ip("127.0.0.1"), 3000));
}

}  // namespace
}  // namespace stoa::fetch
