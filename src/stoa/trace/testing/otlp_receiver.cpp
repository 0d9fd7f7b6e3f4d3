#include "stoa/trace/testing/otlp_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "stoa/text/ascii.hpp"

namespace stoa::trace::testing {
namespace {

constexpr std::size_t k_max_request = 64 * 1024 * 1024;

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

using text::iequals;

int bound_loopback_socket() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    ::close(fd);
    throw std::system_error(e, std::generic_category(), "bind");
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) throw_errno("getsockname");
  return ntohs(addr.sin_port);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until `buffer` holds at least `size` bytes; false on end of stream or error.
bool read_at_least(int fd, std::string& buffer, std::size_t size) {
  char chunk[16 * 1024];
  while (buffer.size() < size) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

// Reads one request from `fd` (bytes already read are in `buffer`, which keeps any bytes after
// it); false when the connection ended first or the request is malformed.
bool read_request(int fd, std::string& buffer, ReceivedRequest& req) {
  std::size_t end = 0;
  while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
    if (buffer.size() > k_max_request || !read_at_least(fd, buffer, buffer.size() + 1)) {
      return false;
    }
  }
  const std::string_view head(buffer.data(), end);
  std::size_t line_end = head.find("\r\n");
  const std::string_view request_line = head.substr(0, line_end);
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  req.method = request_line.substr(0, sp1);
  req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t content_length = 0;
  while (line_end != std::string_view::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = text::trim_ows(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      const auto r = std::from_chars(value.data(), value.data() + value.size(), content_length);
      if (r.ec != std::errc() || content_length > k_max_request) return false;
    }
    req.headers.emplace_back(name, value);
  }
  const std::size_t body_start = end + 4;
  if (!read_at_least(fd, buffer, body_start + content_length)) return false;
  req.body = buffer.substr(body_start, content_length);
  buffer.erase(0, body_start + content_length);
  return true;
}

}  // namespace

std::string ReceivedRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

OtlpReceiver::OtlpReceiver() {
  m_listen_fd = bound_loopback_socket();
  if (::listen(m_listen_fd, 64) != 0) {
    const int e = errno;
    ::close(m_listen_fd);
    throw std::system_error(e, std::generic_category(), "listen");
  }
  m_port = local_port(m_listen_fd);
  m_acceptor = std::thread([this] { accept_loop(); });
}

OtlpReceiver::~OtlpReceiver() { stop(); }

std::string OtlpReceiver::url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

void OtlpReceiver::set_status(int status) {
  std::lock_guard lock(m_mutex);
  m_status = status;
}

void OtlpReceiver::hold(std::chrono::milliseconds limit) {
  std::lock_guard lock(m_mutex);
  m_holding = true;
  m_hold_until = std::chrono::steady_clock::now() + limit;
}

void OtlpReceiver::release() {
  {
    std::lock_guard lock(m_mutex);
    m_holding = false;
  }
  m_cv.notify_all();
}

std::vector<ReceivedRequest> OtlpReceiver::requests() const {
  std::lock_guard lock(m_mutex);
  return m_requests;
}

bool OtlpReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_mutex);
  return m_cv.wait_for(lock, timeout, [&] { return m_requests.size() >= n; });
}

void OtlpReceiver::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    m_stopping = true;
    for (const int fd : m_open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  m_cv.notify_all();
  ::shutdown(m_listen_fd, SHUT_RDWR);  // wakes accept()
  if (m_acceptor.joinable()) m_acceptor.join();
  ::close(m_listen_fd);
  {
    std::lock_guard lock(m_mutex);
    workers.swap(m_workers);  // no new worker starts once the acceptor has ended
  }
  for (auto& t : workers) t.join();
}

void OtlpReceiver::accept_loop() {
  while (true) {
    const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // the listener was shut down
    }
    std::lock_guard lock(m_mutex);
    if (m_stopping) {
      ::close(fd);
      return;
    }
    m_open_fds.insert(fd);
    m_workers.emplace_back([this, fd] { serve_connection(fd); });
  }
}

void OtlpReceiver::serve_connection(int fd) {
  std::string buffer;
  while (true) {
    ReceivedRequest req;
    if (!read_request(fd, buffer, req)) break;
    int status = 0;
    {
      std::unique_lock lock(m_mutex);
      m_requests.push_back(std::move(req));
      m_cv.notify_all();
      m_cv.wait_until(lock, m_hold_until, [&] { return !m_holding || m_stopping; });
      if (m_stopping) break;
      status = m_status;
    }
    const std::string body = "{}";
    const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                              " Status\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
    if (!send_all(fd, reply)) break;
  }
  std::lock_guard lock(m_mutex);
  m_open_fds.erase(fd);
  ::close(fd);
}

ClosedPort::ClosedPort() {
  m_fd = bound_loopback_socket();
  m_port = local_port(m_fd);
}

ClosedPort::~ClosedPort() { ::close(m_fd); }

std::string ClosedPort::url() const { return "http://127.0.0.1:" + std::to_string(m_port); }

}  // namespace stoa::trace::testing
