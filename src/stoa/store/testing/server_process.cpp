#include "stoa/store/testing/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace stoa::store::testing {

namespace fs = std::filesystem;

std::string find_program(const std::string& name, const char* env_var) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env != '\0') return env;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  const std::string local = "/usr/local/bin/" + name;
  if (::access(local.c_str(), X_OK) == 0) return local;
  throw std::runtime_error(name + " not found (set " + env_var +
                           " or run scripts/install-deps.sh test)");
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

std::uint16_t pick_loopback_port() {
  std::uint16_t port = 0;
  ::close(listen_loopback(&port));
  return port;
}

int spawn_server(std::vector<std::string> args, const std::string& log, std::uint16_t port,
                 std::chrono::seconds limit) {
  const std::string bin = args.at(0);
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
  // Ready when it accepts connections; bounded, and a dead process ends the wait at once.
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    const int fd = connect_loopback(port);
    if (fd >= 0) {
      ::close(fd);
      return pid;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      std::ifstream in(log);
      const std::string output((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
      throw std::runtime_error(bin + " exited at start (status " + std::to_string(status) +
                               (status == 127 << 8 ? ": could not be run" : "") +
                               "): " + output.substr(0, 2000));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop_server(pid);
      throw std::runtime_error(bin + " did not listen on port " + std::to_string(port));
    }
    ::poll(nullptr, 0, 20);
  }
}

void stop_server(int pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace stoa::store::testing
