#include "stoa/direct/loop_guard.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "stoa/direct/subprocess.hpp"

namespace stoa::direct {
namespace {

TEST(ProcAddress, Spellings) {
  const auto a = proc_address("127.0.0.1", 8080);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->v4, "0100007F:1F90");
  EXPECT_EQ(a->v6, "0000000000000000FFFF00000100007F:1F90");
  const auto b = proc_address("::1", 1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->v4, "");
  EXPECT_EQ(b->v6, "00000000000000000000000001000000:0001");
  EXPECT_FALSE(proc_address("not an ip", 1));
  EXPECT_FALSE(proc_address("", 1));
}

TEST(SocketInode, FindsTheLocalAddress) {
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
      "111 1 0 100 0 0 10 0\n"
      "   1: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 "
      "222 1 0 20 4 30 10 -1\n";
  EXPECT_EQ(socket_inode(table, *proc_address("127.0.0.1", 0xC350)), 222u);
  EXPECT_EQ(socket_inode(table, *proc_address("127.0.0.1", 8080)), 111u);
  EXPECT_FALSE(socket_inode(table, *proc_address("127.0.0.1", 1)));
  EXPECT_FALSE(socket_inode("", *proc_address("127.0.0.1", 1)));
  EXPECT_FALSE(socket_inode("header\ngarbage", *proc_address("127.0.0.1", 1)));
}

// A real connection from a process in its own group (bash's /dev/tcp) is recognised by the
// group, and not by another group.
TEST(ConnectionFromGroups, RecognisesARealChildConnection) {
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(ls, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(ls, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(ls, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(ls, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  // The group is reported by run()'s callback on the child thread; the connection can be
  // accepted before that callback has run, so wait for it rather than read a half-set value.
  std::promise<pid_t> started;
  std::future<pid_t> started_group = started.get_future();
  std::thread child([&] {
    // Connects, then waits for the server to close (read returns at EOF).
    run({"/bin/bash",
         {"-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port) + "; cat <&3"},
         {},
         "/"},
        std::chrono::seconds(20), 1024, [&](pid_t p) { started.set_value(p); });
  });
  sockaddr_in peer{};
  socklen_t plen = sizeof(peer);
  const int c = ::accept(ls, reinterpret_cast<sockaddr*>(&peer), &plen);
  ASSERT_GE(c, 0);
  const pid_t group = started_group.get();
  std::array<char, INET_ADDRSTRLEN> ip{};
  ::inet_ntop(AF_INET, &peer.sin_addr, ip.data(), ip.size());
  EXPECT_TRUE(connection_from_groups(ip.data(), ntohs(peer.sin_port), {group}));
  EXPECT_FALSE(connection_from_groups(ip.data(), ntohs(peer.sin_port), {group + 100000}));
  EXPECT_FALSE(connection_from_groups(ip.data(), ntohs(peer.sin_port), {}));
  // This process's own connection to itself is not the child's.
  ::close(c);
  child.join();
  ::close(ls);
}

}  // namespace
}  // namespace stoa::direct
