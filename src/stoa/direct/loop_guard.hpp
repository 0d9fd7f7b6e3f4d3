#pragma once
// Recognising a request that stoa's own go subprocess sent to stoa (a go-import meta tag of
// kind "mod" pointing back at this proxy). The go command cannot be told to add a header to its
// requests over plain HTTP, so the request is recognised by its connection: the client side of
// the TCP connection (the request's peer address and port) is looked up in /proc/net/tcp{,6},
// and its socket inode among the open descriptors of the processes in the process groups of the
// go commands stoa is running. Linux only; reads /proc, so the proxy layer asks only when a
// fetch would start and some go command is running.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace stoa::direct {

// The /proc/net/tcp or /proc/net/tcp6 spelling of an address and port ("0100007F:1F90"),
// nullopt when `ip` is not an IPv4 or IPv6 address. For IPv4 both spellings are returned
// (plain, and IPv4-mapped in tcp6).
struct ProcAddress {
  std::string v4;  // empty for an IPv6 address that is not IPv4-mapped
  std::string v6;
};
std::optional<ProcAddress> proc_address(std::string_view ip, std::uint16_t port);

// The socket inode whose local address is `addr` in a /proc/net/tcp-format table; nullopt when
// absent (pure; `table` is the file's text).
std::optional<std::uint64_t> socket_inode(std::string_view table, const ProcAddress& addr);

// True when the TCP connection whose client side is ip:port is held by a process in one of
// `groups` (process group ids). False when anything cannot be read.
bool connection_from_groups(std::string_view ip, std::uint16_t port, const std::set<pid_t>& groups);

}  // namespace stoa::direct
