#include "stoa/fetch/address.hpp"

#include <gtest/gtest.h>

namespace stoa::fetch {
namespace {

TEST(Address, Classify) {
  struct Case {
    const char* address;
    AddressClass cls;
  };
  const Case cases[] = {
      {"8.8.8.8", AddressClass::global},
      {"1.1.1.1", AddressClass::global},
      {"0.0.0.0", AddressClass::unspecified},
      {"0.1.2.3", AddressClass::unspecified},
      {"9.255.255.255", AddressClass::global},
      {"10.0.0.0", AddressClass::private_use},
      {"10.255.255.255", AddressClass::private_use},
      {"11.0.0.0", AddressClass::global},
      {"100.63.255.255", AddressClass::global},
      {"100.64.0.0", AddressClass::shared},
      {"100.127.255.255", AddressClass::shared},
      {"100.128.0.0", AddressClass::global},
      {"126.255.255.255", AddressClass::global},
      {"127.0.0.1", AddressClass::loopback},
      {"127.255.255.254", AddressClass::loopback},
      {"128.0.0.0", AddressClass::global},
      {"169.254.169.254", AddressClass::link_local},
      {"169.253.255.255", AddressClass::global},
      {"169.255.0.0", AddressClass::global},
      {"172.15.255.255", AddressClass::global},
      {"172.16.0.0", AddressClass::private_use},
      {"172.31.255.255", AddressClass::private_use},
      {"172.32.0.0", AddressClass::global},
      {"192.0.0.8", AddressClass::reserved},
      {"192.0.2.1", AddressClass::reserved},
      {"192.167.255.255", AddressClass::global},
      {"192.168.0.1", AddressClass::private_use},
      {"192.168.255.255", AddressClass::private_use},
      {"192.169.0.0", AddressClass::global},
      {"198.18.0.1", AddressClass::reserved},
      {"198.19.255.255", AddressClass::reserved},
      {"198.20.0.0", AddressClass::global},
      {"198.51.100.7", AddressClass::reserved},
      {"203.0.113.9", AddressClass::reserved},
      {"223.255.255.255", AddressClass::global},
      {"224.0.0.1", AddressClass::multicast},
      {"239.255.255.255", AddressClass::multicast},
      {"240.0.0.1", AddressClass::reserved},
      {"255.255.255.254", AddressClass::reserved},
      {"255.255.255.255", AddressClass::broadcast},
      // IPv6
      {"2001:4860:4860::8888", AddressClass::global},
      {"2606:4700::1111", AddressClass::global},
      {"::", AddressClass::unspecified},
      {"::1", AddressClass::loopback},
      {"::2", AddressClass::reserved},
      {"::127.0.0.1", AddressClass::reserved},  // IPv4-compatible (deprecated)
      {"::8.8.8.8", AddressClass::reserved},
      {"::ffff:127.0.0.1", AddressClass::loopback},
      {"::ffff:7f00:1", AddressClass::loopback},
      {"::ffff:10.1.2.3", AddressClass::private_use},
      {"::ffff:169.254.169.254", AddressClass::link_local},
      {"::ffff:0.0.0.0", AddressClass::unspecified},
      {"::ffff:8.8.8.8", AddressClass::global},
      {"64:ff9b::127.0.0.1", AddressClass::loopback},
      {"64:ff9b::a9fe:a9fe", AddressClass::link_local},
      {"64:ff9b::8.8.8.8", AddressClass::global},
      {"64:ff9b:1::1", AddressClass::private_use},
      {"2002:7f00:1::", AddressClass::loopback},  // 6to4 of 127.0.0.1
      {"2002:c0a8:101::1", AddressClass::private_use},
      {"2002:808:808::1", AddressClass::global},
      {"100::1", AddressClass::reserved},
      {"2001:db8::1", AddressClass::reserved},
      {"fc00::1", AddressClass::private_use},
      {"fd12:3456::1", AddressClass::private_use},
      {"fbff:ffff::1", AddressClass::global},
      {"fe00::1", AddressClass::global},
      {"fe80::1", AddressClass::link_local},
      {"febf:ffff::1", AddressClass::link_local},
      {"fec0::1", AddressClass::private_use},
      {"ff02::1", AddressClass::multicast},
      {"ff0e::1", AddressClass::multicast},
  };
  for (const auto& c : cases) {
    const auto a = parse_ip(c.address);
    ASSERT_TRUE(a) << c.address;
    EXPECT_EQ(classify(*a), c.cls) << c.address << " is " << describe(classify(*a));
  }
}

TEST(Address, ParseRefusesWhatIsNotOneAddress) {
  for (const char* text : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", " ::1",
                           "[::1]", "::1%lo", "fe80::1%eth0", "10.0.0.0/8", "localhost", "0x7f.1",
                           "2130706433", "1:2:3:4:5:6:7:8:9", ":::", "::ffff:1.2.3"}) {
    EXPECT_FALSE(parse_ip(text)) << text;
  }
}

TEST(Address, RoundTrip) {
  for (const char* text : {"127.0.0.1", "10.1.2.3", "::1", "fe80::1", "::ffff:127.0.0.1"}) {
    const auto a = parse_ip(text);
    ASSERT_TRUE(a) << text;
    EXPECT_EQ(to_string(*a), text);
  }
}

TEST(Address, Networks) {
  struct Case {
    const char* network;
    const char* address;
    bool inside;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.255.0.1", true},
      {"10.0.0.0/8", "11.0.0.1", false},
      {"10.0.0.0/8", "::ffff:10.0.0.1", true},  // v4-mapped matches the IPv4 network
      {"10.0.0.0/8", "::a00:1", false},         // IPv4-compatible does not
      {"172.16.0.0/12", "172.31.1.1", true},
      {"172.16.0.0/12", "172.32.0.0", false},
      {"127.0.0.1", "127.0.0.1", true},  // bare address: /32
      {"127.0.0.1", "127.0.0.2", false},
      {"0.0.0.0/0", "8.8.8.8", true},
      {"0.0.0.0/0", "::1", false},
      {"fd00:1::/64", "fd00:1::5", true},
      {"fd00:1::/64", "fd00:2::5", false},
      {"::1", "::1", true},
      {"::/0", "127.0.0.1", false},
  };
  for (const auto& c : cases) {
    const auto n = parse_network(c.network);
    const auto a = parse_ip(c.address);
    ASSERT_TRUE(n) << c.network;
    ASSERT_TRUE(a) << c.address;
    EXPECT_EQ(contains(*n, *a), c.inside) << c.network << " " << c.address;
  }
  for (const char* bad : {"10.0.0.1/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1",
                          "::/129", "fd00::1/16", "10.0.0.0/8/8", "10/8", "host.example/32", ""}) {
    EXPECT_FALSE(parse_network(bad)) << bad;
  }
}

}  // namespace
}  // namespace stoa::fetch
