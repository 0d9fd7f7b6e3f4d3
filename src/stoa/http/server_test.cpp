// The server's life cycle with connections still open: stop() with sessions suspended in a read
// ends, and destroying the server destroys them (Server::Impl destroys them before the watchdog,
// the observer and the drain count they refer to; AddressSanitizer does not see the other order,
// as those members are destroyed but their memory is still allocated, so this test pins that
// the stop ends cleanly, not the order).
#include "stoa/http/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "stoa/metrics/metrics.hpp"
#include "stoa/proxy/response.hpp"

namespace stoa::http {
namespace {

std::shared_ptr<spdlog::logger> null_logger() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>());
}

// A connected client socket to "127.0.0.1:PORT"; -1 on failure.
int connect_to(const std::string& address) {
  const auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends one keep-alive request and reads until the end of its (small) answer.
std::string round_trip(int fd) {
  const std::string request = "GET /ping HTTP/1.1\r\nHost: test\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size()))
    return {};
  std::string got;
  char buf[4096];
  while (got.find("pong") == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

TEST(Server, StopWithIdleKeepAliveConnectionsOpen) {
  metrics::Registry registry;
  proxy::Handler handler;
  handler.respond_now = [](const proxy::HttpRequest&) -> std::optional<proxy::Response> {
    proxy::Response r;
    r.status = 200;
    r.content_type = "text/plain";
    r.body = "pong";
    return r;
  };
  handler.handle = [](const proxy::HttpRequest&, std::function<void(proxy::Response)>) {};
  int fds[3] = {-1, -1, -1};
  {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    Server server(o, handler, null_logger(), null_logger(), registry);
    const std::string address = server.bind();
    server.start();
    // Each connection answered once, then suspended in the read of its next request, holding
    // its place in the watchdog, the observer and the drain count.
    for (int& fd : fds) {
      fd = connect_to(address);
      ASSERT_GE(fd, 0);
      ASSERT_NE(round_trip(fd).find("200"), std::string::npos);
    }
    server.stop();
    server.wait();
  }
  for (const int fd : fds) ::close(fd);
}

}  // namespace
}  // namespace stoa::http
