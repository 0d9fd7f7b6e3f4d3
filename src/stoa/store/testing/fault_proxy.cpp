#include "stoa/store/testing/fault_proxy.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stoa/store/testing/server_process.hpp"

namespace stoa::store::testing {

FaultProxy::FaultProxy(std::uint16_t target_port) : m_target(target_port) {
  m_listen = listen_loopback(&m_port);
  m_acceptor = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  m_stop = true;
  ::shutdown(m_listen, SHUT_RDWR);
  m_acceptor.join();
  cut_all();
  for (std::thread& t : m_threads) t.join();
  ::close(m_listen);
}

void FaultProxy::set(Mode mode, int count) {
  {
    const std::lock_guard lock(m_mutex);
    m_mode = mode;
    m_count = count;
  }
  cut_all();
}

void FaultProxy::cut_all() {
  const std::lock_guard lock(m_mutex);
  for (const int fd : m_open) ::shutdown(fd, SHUT_RDWR);
}

void FaultProxy::accept_loop() {
  while (!m_stop) {
    const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (m_stop) return;
      continue;
    }
    const std::lock_guard lock(m_mutex);
    m_threads.emplace_back([this, client] { serve(client); });
  }
}

void FaultProxy::serve(int client) {
  Mode mode = Mode::pass;
  {
    const std::lock_guard lock(m_mutex);
    if (m_count != 0) mode = m_mode;
    if (m_count > 0 && --m_count == 0) m_mode = Mode::pass;
  }
  if (mode == Mode::pass) return relay(client);
  m_faults.fetch_add(1);
  if (mode == Mode::late) {
    std::this_thread::sleep_for(k_late);  // the fault itself: nothing is sent meanwhile
    return relay(client);
  }
  if (mode == Mode::reset) {
    const linger hard{1, 0};  // RST instead of FIN
    ::setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(client);
    return;
  }
  // Read the request head, then answer; the body (if any) is not read.
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  const char* status_line = "HTTP/1.1 404 Not Found\r\n";
  std::string body = "<Error><Code>NoSuchBucket</Code><Message>injected</Message></Error>";
  if (mode == Mode::error_500) {
    status_line = "HTTP/1.1 500 Internal Server Error\r\n";
    body = "<Error><Code>InternalError</Code><Message>injected</Message></Error>";
  } else if (mode == Mode::throttle_429) {
    status_line = "HTTP/1.1 429 Too Many Requests\r\n";
    body = "<Error><Code>SlowDown</Code><Message>injected</Message></Error>";
  }
  const bool head_only = head.starts_with("HEAD ");
  const std::string answer = std::string(status_line) +
                             "Content-Type: application/xml\r\nConnection: close\r\n"
                             "Content-Length: " +
                             std::to_string(head_only ? 0 : body.size()) + "\r\n\r\n" +
                             (head_only ? std::string() : body);
  (void)::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
  ::shutdown(client, SHUT_WR);
  ::close(client);
}

void FaultProxy::relay(int client) {
  const int upstream = connect_loopback(m_target);
  if (upstream < 0) {
    ::close(client);
    return;
  }
  {
    const std::lock_guard lock(m_mutex);
    m_open.push_back(client);
    m_open.push_back(upstream);
  }
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  char buf[65536];
  bool open = true;
  while (open && !m_stop) {
    if (::poll(fds, 2, 1000) < 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        open = false;
        break;
      }
      const int to = fds[1 - i].fd;
      if (i == 1) m_bytes_down.fetch_add(static_cast<std::uint64_t>(n));
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::send(to, buf + done, static_cast<std::size_t>(n - done), MSG_NOSIGNAL);
        if (w <= 0) {
          open = false;
          break;
        }
        done += w;
      }
    }
  }
  {
    const std::lock_guard lock(m_mutex);
    std::erase(m_open, client);
    std::erase(m_open, upstream);
  }
  ::close(client);
  ::close(upstream);
}

}  // namespace stoa::store::testing
