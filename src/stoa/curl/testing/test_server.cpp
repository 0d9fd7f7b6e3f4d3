#include "stoa/curl/testing/test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "stoa/text/ascii.hpp"

namespace stoa::curl::testing {

namespace {

constexpr std::size_t k_generated_chunk = 64 * 1024;
constexpr std::size_t k_http_chunk = 16 * 1024;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

using text::iequals;
using text::trim_ows;

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 404:
      return "Not Found";
    case 410:
      return "Gone";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  return ntohs(addr.sin_port);
}

int bound_socket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind");
  }
  return fd;
}

// Closes after a FIN, so that a client sees an orderly end of the stream, not a reset.
void close_gracefully(int fd) {
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

}  // namespace

Reply text(int status, std::string body, std::string content_type) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", std::move(content_type));
  return r;
}

Reply raw(std::string bytes) {
  Reply r;
  r.raw = std::move(bytes);
  return r;
}

Reply redirect(int status, std::string location) {
  Reply r;
  r.status = status;
  r.headers.emplace_back("Location", std::move(location));
  return r;
}

std::string Recorded::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

TestServer::TestServer() {
  m_listen_fd = bound_socket();
  if (::listen(m_listen_fd, 128) != 0) {
    const int e = errno;
    ::close(m_listen_fd);
    throw std::system_error(e, std::generic_category(), "listen");
  }
  m_port = local_port(m_listen_fd);
  m_acceptor = std::thread([this] { accept_loop(); });
}

TestServer::~TestServer() { stop(); }

std::string TestServer::url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

void TestServer::route(const std::string& target, Reply reply) {
  std::lock_guard lock(m_mutex);
  m_routes[target] = std::move(reply);
}

std::size_t TestServer::hits(const std::string& target) const {
  std::lock_guard lock(m_mutex);
  const auto it = m_hits.find(target);
  return it == m_hits.end() ? 0 : it->second;
}

std::size_t TestServer::connections() const {
  std::lock_guard lock(m_mutex);
  return m_connections;
}

std::uint64_t TestServer::body_bytes_sent() const {
  std::lock_guard lock(m_mutex);
  return m_body_bytes_sent;
}

std::vector<Recorded> TestServer::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

void TestServer::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_stopping = true;
    ::shutdown(m_listen_fd, SHUT_RDWR);                         // wakes accept()
    for (const int fd : m_open_fds) ::shutdown(fd, SHUT_RDWR);  // wakes recv()
  }
  m_cv.notify_all();
  m_acceptor.join();
  {
    std::lock_guard lock(m_mutex);
    workers = std::move(m_workers);
  }
  for (auto& t : workers) t.join();
  ::close(m_listen_fd);
}

void TestServer::accept_loop() {
  for (;;) {
    const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    const int one = 1;  // replies go out in several writes: don't let Nagle hold them back
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++m_connections;
    m_open_fds.insert(fd);
    m_workers.emplace_back([this, fd] { serve_connection(fd); });
  }
}

void TestServer::serve_connection(int fd) {
  std::string buffer;
  while (serve_request(fd, buffer)) {
  }
  {
    std::lock_guard lock(m_mutex);
    m_open_fds.erase(fd);
  }
  close_gracefully(fd);
}

bool TestServer::serve_request(int fd, std::string& buffer) {
  std::array<char, 4096> chunk{};
  auto end = buffer.find("\r\n\r\n");
  while (end == std::string::npos) {
    const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
    if (n <= 0) return false;
    buffer.append(chunk.data(), static_cast<std::size_t>(n));
    end = buffer.find("\r\n\r\n");
  }
  const std::string head = buffer.substr(0, end);
  buffer.erase(0, end + 4);

  Recorded request;
  std::string_view rest = head;
  const auto line_end = rest.find("\r\n");
  const std::string_view request_line = rest.substr(0, line_end);
  rest = line_end == std::string_view::npos ? std::string_view() : rest.substr(line_end + 2);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) return false;
  request.method = std::string(request_line.substr(0, sp1));
  request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  while (!rest.empty()) {
    const auto eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(std::string(trim_ows(line.substr(0, colon))),
                                 std::string(trim_ows(line.substr(colon + 1))));
  }

  // A request body (Content-Length only) is read and recorded.
  if (const std::string length = request.header("Content-Length"); !length.empty()) {
    const auto want = static_cast<std::size_t>(std::stoull(length));
    while (buffer.size() < want) {
      const ssize_t n = ::recv(fd, chunk.data(), chunk.size(), 0);
      if (n <= 0) return false;
      buffer.append(chunk.data(), static_cast<std::size_t>(n));
    }
    request.body = buffer.substr(0, want);
    buffer.erase(0, want);
  }

  Reply reply;
  reply.status = 404;
  {
    std::lock_guard lock(m_mutex);
    ++m_hits[request.target];
    if (const auto it = m_routes.find(request.target); it != m_routes.end()) reply = it->second;
    m_requests.push_back(std::move(request));
  }
  return answer(fd, reply);
}

void TestServer::wait_for_stop(std::chrono::milliseconds limit) {
  std::unique_lock lock(m_mutex);
  if (limit.count() < 0) {
    m_cv.wait(lock, [this] { return m_stopping; });
  } else {
    m_cv.wait_for(lock, limit, [this] { return m_stopping; });
  }
}

bool TestServer::send_all(int fd, std::string_view bytes, bool body) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
    if (body) {
      std::lock_guard lock(m_mutex);
      m_body_bytes_sent += static_cast<std::uint64_t>(n);
    }
  }
  return true;
}

bool TestServer::answer(int fd, const Reply& reply) {
  constexpr std::chrono::milliseconds k_forever{-1};
  if (reply.never_answer) {
    wait_for_stop(k_forever);
    return false;
  }
  if (reply.delay.count() > 0) {
    wait_for_stop(reply.delay);
    std::lock_guard lock(m_mutex);
    if (m_stopping) return false;
  }
  if (!reply.raw.empty()) {
    send_all(fd, reply.raw, true);
    return false;
  }
  const std::uint64_t size = reply.generated_body > 0 ? reply.generated_body : reply.body.size();
  std::string head =
      "HTTP/1.1 " + std::to_string(reply.status) + " " + reason(reply.status) + "\r\n";
  for (const auto& [name, value] : reply.headers) head += name + ": " + value + "\r\n";
  if (reply.chunked) {
    head += "Transfer-Encoding: chunked\r\n";
  } else if (reply.content_length) {
    head += "Content-Length: " + std::to_string(size + reply.content_length_extra) + "\r\n";
  } else {
    head += "Connection: close\r\n";
  }
  head += "\r\n";
  if (!send_all(fd, head, false)) return false;

  const std::uint64_t to_send = reply.cut_after ? std::min(*reply.cut_after, size) : size;
  const std::string generated(reply.generated_body > 0 ? k_generated_chunk : 0, 'x');
  const auto body_at = [&](std::uint64_t offset, std::uint64_t n) -> std::string_view {
    if (reply.generated_body > 0) return std::string_view(generated).substr(0, n);
    return std::string_view(reply.body).substr(offset, n);
  };
  const std::uint64_t piece = reply.chunked ? k_http_chunk : k_generated_chunk;
  for (std::uint64_t offset = 0; offset < to_send;) {
    const std::uint64_t full = std::min<std::uint64_t>(piece, size - offset);
    const std::uint64_t n = std::min<std::uint64_t>(full, to_send - offset);
    if (reply.chunked) {
      char hex[32];
      const int len =
          std::snprintf(hex, sizeof hex, "%llx\r\n", static_cast<unsigned long long>(full));
      if (!send_all(fd, std::string_view(hex, static_cast<std::size_t>(len)), false)) return false;
    }
    if (!send_all(fd, body_at(offset, n), true)) return false;
    if (reply.chunked && n == full && !send_all(fd, "\r\n", false)) return false;
    offset += n;
  }
  if (reply.cut_after) {
    if (reply.hang_after_cut) wait_for_stop(k_forever);
    return false;
  }
  if (reply.chunked) return send_all(fd, "0\r\n\r\n", false);
  return reply.content_length && reply.content_length_extra == 0;
}

ClosedPort::ClosedPort() : m_fd(bound_socket()), m_port(local_port(m_fd)) {}

ClosedPort::~ClosedPort() { ::close(m_fd); }

std::string ClosedPort::url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

Blackhole::Blackhole() : m_listen_fd(bound_socket()) {
  if (::listen(m_listen_fd, 0) != 0) {
    const int e = errno;
    ::close(m_listen_fd);
    throw std::system_error(e, std::generic_category(), "listen");
  }
  m_port = local_port(m_listen_fd);
  m_filler_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(m_port);
  if (m_filler_fd < 0 ||
      ::connect(m_filler_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    if (m_filler_fd >= 0) ::close(m_filler_fd);
    ::close(m_listen_fd);
    throw std::system_error(e, std::generic_category(), "connect");
  }
}

Blackhole::~Blackhole() {
  ::close(m_filler_fd);
  ::close(m_listen_fd);
}

std::string Blackhole::url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

}  // namespace stoa::curl::testing
