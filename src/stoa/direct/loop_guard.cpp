#include "stoa/direct/loop_guard.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace stoa::direct {
namespace {

std::string hex32(std::uint32_t v) {
  std::array<char, 9> b{};
  std::snprintf(b.data(), b.size(), "%08X", v);
  return b.data();
}

std::string hex16(std::uint16_t v) {
  std::array<char, 5> b{};
  std::snprintf(b.data(), b.size(), "%04X", v);
  return b.data();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<pid_t> process_group(const std::string& pid) {
  const std::string stat = read_file("/proc/" + pid + "/stat");
  // "pid (comm) state ppid pgrp ...": comm may hold anything, so start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  long ppid = 0;
  long pgrp = 0;
  if (!(rest >> state >> ppid >> pgrp)) return std::nullopt;
  return static_cast<pid_t>(pgrp);
}

bool holds_socket(const std::string& pid, const std::string& link) {
  const std::string dir = "/proc/" + pid + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  std::array<char, 64> buf{};
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const std::string p = dir + "/" + e->d_name;
    const ssize_t n = ::readlink(p.c_str(), buf.data(), buf.size() - 1);
    if (n > 0 && std::string_view(buf.data(), static_cast<std::size_t>(n)) == link) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

std::optional<ProcAddress> proc_address(std::string_view ip, std::uint16_t port) {
  const std::string text(ip);
  ProcAddress out;
  in_addr a4{};
  in6_addr a6{};
  if (::inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    out.v4 = hex32(a4.s_addr) + ":" + hex16(port);
    out.v6 = "0000000000000000FFFF0000" + hex32(a4.s_addr) + ":" + hex16(port);
    return out;
  }
  if (::inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    std::array<std::uint32_t, 4> w{};
    std::memcpy(w.data(), a6.s6_addr, sizeof(w));
    out.v6 = hex32(w[0]) + hex32(w[1]) + hex32(w[2]) + hex32(w[3]) + ":" + hex16(port);
    if (IN6_IS_ADDR_V4MAPPED(&a6)) out.v4 = hex32(w[3]) + ":" + hex16(port);
    return out;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> socket_inode(std::string_view table, const ProcAddress& addr) {
  std::size_t pos = table.find('\n');  // skip the header line
  while (pos != std::string_view::npos && pos < table.size()) {
    const auto start = pos + 1;
    auto end = table.find('\n', start);
    if (end == std::string_view::npos) end = table.size();
    std::istringstream line{std::string(table.substr(start, end - start))};
    std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
    if (line >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode) {
      if ((local == addr.v4 && !addr.v4.empty()) || (local == addr.v6 && !addr.v6.empty())) {
        std::uint64_t n = 0;
        const auto [p, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), n);
        if (ec == std::errc{} && n != 0) return n;
      }
    }
    pos = end;
  }
  return std::nullopt;
}

bool connection_from_groups(std::string_view ip, std::uint16_t port,
                            const std::set<pid_t>& groups) {
  if (groups.empty()) return false;
  const auto addr = proc_address(ip, port);
  if (!addr) return false;
  std::optional<std::uint64_t> inode;
  if (!addr->v4.empty()) inode = socket_inode(read_file("/proc/net/tcp"), *addr);
  if (!inode) inode = socket_inode(read_file("/proc/net/tcp6"), *addr);
  if (!inode) return false;
  const std::string link = "socket:[" + std::to_string(*inode) + "]";
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return false;
  bool found = false;
  while (const dirent* e = ::readdir(d)) {
    const std::string pid = e->d_name;
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pg = process_group(pid);
    if (!pg || groups.count(*pg) == 0) continue;
    if (holds_socket(pid, link)) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace stoa::direct
