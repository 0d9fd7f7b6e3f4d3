#include "stoa/store/testing/s3_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "stoa/curl/easy.hpp"
#include "stoa/curl/transfer.hpp"

extern char** environ;

namespace stoa::store::testing {
namespace {

namespace fs = std::filesystem;

std::string find_versitygw() {
  if (const char* env = std::getenv("STOA_VERSITYGW"); env != nullptr && *env != '\0') return env;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / "versitygw";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  if (::access("/usr/local/bin/versitygw", X_OK) == 0) return "/usr/local/bin/versitygw";
  throw std::runtime_error(
      "versitygw not found (set STOA_VERSITYGW or run scripts/install-deps.sh test)");
}

int listen_loopback(std::uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw std::runtime_error("bind/listen on 127.0.0.1");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int connect_loopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

S3Server& S3Server::shared() {
  static S3Server server;
  return server;
}

S3Server::S3Server() {
  const std::string bin = find_versitygw();
  // A port picked by the kernel and released for versitygw to bind: another process could
  // take it in between; the readiness check below then fails loudly rather than silently.
  const int probe = listen_loopback(&m_port);
  ::close(probe);
  const fs::path root = m_dir / "gw";
  fs::create_directories(root);
  const std::string log = (m_dir / "versitygw.log").native();
  std::vector<std::string> args = {bin,
                                   "--access",
                                   k_access,
                                   "--secret",
                                   k_secret,
                                   "--port",
                                   "127.0.0.1:" + std::to_string(m_port),
                                   "--keep-alive",
                                   "--quiet",
                                   "posix",
                                   root.native()};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // fork+exec rather than posix_spawn: the child asks to be killed when this test process
  // dies, so that a crashed test leaves no server behind. Only async-signal-safe calls follow.
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execve(bin.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  m_pid = pid;
  // Ready when it accepts connections; bounded, and a dead process ends the wait at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (true) {
    const int fd = connect_loopback(m_port);
    if (fd >= 0) {
      ::close(fd);
      break;
    }
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      std::ifstream in(log);
      const std::string output((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
      throw std::runtime_error(bin + " exited at start (status " + std::to_string(status) +
                               (status == 127 << 8 ? ": could not be run" : "") +
                               "): " + output.substr(0, 2000));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("versitygw did not listen on port " + std::to_string(m_port));
    }
    ::poll(nullptr, 0, 20);
  }
}

S3Server::~S3Server() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
}

std::string S3Server::make_bucket() {
  const std::string name =
      "stoa-test-" + std::to_string(::getpid()) + "-" + std::to_string(m_buckets.fetch_add(1));
  const std::string url = endpoint() + "/" + name;
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  curl::set(h.get(), CURLOPT_CUSTOMREQUEST, "PUT");
  curl::set(h.get(), CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl::set(h.get(), CURLOPT_USERNAME, k_access);
  curl::set(h.get(), CURLOPT_PASSWORD, k_secret);
  curl::Slist headers;
  curl::append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  curl::set(h.get(), CURLOPT_HTTPHEADER, headers.get());
  curl::DiscardSink sink;
  const curl::Result r = curl::perform(h.get(), sink, curl::Options{});
  if (!r.ok() || r.response.status != 200) {
    throw std::runtime_error("create bucket " + name + ": " + r.error + " HTTP " +
                             std::to_string(r.response.status));
  }
  return name;
}

S3Options S3Server::options(const std::string& bucket, const fs::path& spool) const {
  S3Options o;
  o.endpoint = endpoint();
  o.bucket = bucket;
  o.access_key = k_access;
  o.secret_key = k_secret;
  o.spool_dir = spool;
  o.part_size = std::uint64_t{8} << 20;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

std::pair<long, std::string> plain_get(const std::string& url) {
  curl::ensure_initialized();
  const curl::Easy h = curl::new_easy();
  curl::set(h.get(), CURLOPT_URL, url.c_str());
  std::string body;
  curl::StringSink sink(body);
  curl::Options options;
  options.accept = [](long) { return true; };  // the body of any status
  const curl::Result r = curl::perform(h.get(), sink, options);
  return {r.ok() ? r.response.status : 0L, body};
}

// ---- FaultProxy ----

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
  const bool status_500 = mode == Mode::error_500;
  const std::string body =
      status_500 ? "<Error><Code>InternalError</Code><Message>injected</Message></Error>"
                 : "<Error><Code>NoSuchBucket</Code><Message>injected</Message></Error>";
  const std::string answer =
      std::string(status_500 ? "HTTP/1.1 500 Internal Server Error\r\n"
                             : "HTTP/1.1 404 Not Found\r\n") +
      "Content-Type: application/xml\r\nConnection: close\r\nContent-Length: " +
      std::to_string(head.starts_with("HEAD ") ? 0 : body.size()) + "\r\n\r\n" +
      (head.starts_with("HEAD ") ? std::string() : body);
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
