#include "stoa/store/testing/mongo_server.hpp"

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
#include <string_view>
#include <vector>

extern char** environ;

namespace stoa::store::testing {
namespace {

namespace fs = std::filesystem;

std::string find_ferretdb() {
  if (const char* env = std::getenv("STOA_FERRETDB"); env != nullptr && *env != '\0') return env;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / "ferretdb";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  if (::access("/usr/local/bin/ferretdb", X_OK) == 0) return "/usr/local/bin/ferretdb";
  throw std::runtime_error(
      "ferretdb not found (set STOA_FERRETDB or run scripts/install-deps.sh test)");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A port the kernel picks on 127.0.0.1, released for the server to bind: another process could
// take it in between; the readiness check then fails loudly rather than silently.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a = loopback(0);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind 127.0.0.1");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_in a = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

MongoServer& MongoServer::shared() {
  static MongoServer server;
  return server;
}

MongoServer::MongoServer() {
  const std::string bin = find_ferretdb();
  m_port = free_port();
  const fs::path data = m_dir / "sqlite";
  const fs::path state = m_dir / "state";
  fs::create_directories(data);
  fs::create_directories(state);
  const std::string log = (m_dir / "ferretdb.log").native();
  std::vector<std::string> args = {bin,
                                   "--listen-addr=127.0.0.1:" + std::to_string(m_port),
                                   "--handler=sqlite",
                                   "--sqlite-url=file:" + data.native() + "/",
                                   "--state-dir=" + state.native(),
                                   "--telemetry=disable",
                                   "--debug-addr=-",
                                   "--log-level=error"};
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
  while (!accepts(m_port)) {
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
      throw std::runtime_error("ferretdb did not listen on port " + std::to_string(m_port));
    }
    ::poll(nullptr, 0, 20);
  }
}

MongoServer::~MongoServer() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
}

std::string MongoServer::make_database() {
  return "stoa_test_" + std::to_string(::getpid()) + "_" + std::to_string(m_databases.fetch_add(1));
}

MongoOptions MongoServer::options(const std::string& database, const fs::path& spool) const {
  MongoOptions o;
  o.uri = uri();
  o.database = database;
  o.spool_dir = spool;
  o.connect_timeout = std::chrono::milliseconds(5000);
  o.page_size = 100;  // listings of more than 100 keys read several batches
  // FerretDB 1.x over SQLite sorts a file's chunks in memory before its first reply (MongoDB
  // walks the GridFS index): for a 500 MiB body that first reply takes a minute on a loaded
  // machine, longer than the default stall timeout. The fault tests set their own.
  o.stall_timeout = std::chrono::minutes(10);
  return o;
}

}  // namespace stoa::store::testing
