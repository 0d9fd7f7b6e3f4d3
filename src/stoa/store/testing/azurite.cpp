#include "stoa/store/testing/azurite.hpp"

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
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "stoa/store/azure/client.hpp"

extern char** environ;

namespace stoa::store::testing {
namespace {

namespace fs = std::filesystem;

std::string find_azurite() {
  if (const char* env = std::getenv("STOA_AZURITE"); env != nullptr && *env != '\0') return env;
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    std::string_view rest(path);
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(rest.substr(0, colon)) / "azurite-blob";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  if (::access("/usr/local/bin/azurite-blob", X_OK) == 0) return "/usr/local/bin/azurite-blob";
  throw std::runtime_error(
      "azurite-blob not found (set STOA_AZURITE or run scripts/install-deps.sh test)");
}

// A port the kernel picks on 127.0.0.1, released for the server to bind: another process could
// take it in between; the readiness check then fails loudly rather than silently.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Azurite& Azurite::shared() {
  static Azurite server;
  return server;
}

Azurite::Azurite() {
  const std::string bin = find_azurite();
  m_port = free_port();
  const fs::path data = m_dir / "data";
  fs::create_directories(data);
  const std::string log = (m_dir / "azurite.log").native();
  // --silent: no access log. --disableTelemetry: by default Azurite collects telemetry, and its
  // client probes the cloud's instance metadata address (169.254.169.254) at start and waits
  // for it at exit; a test server talks to loopback only. No --loose and no
  // --skipApiVersionCheck: stoa's requests must be ones the emulator accepts in its strict mode,
  // at an API version it knows.
  std::vector<std::string> args = {
      bin,          "--blobHost",  "127.0.0.1", "--blobPort",        std::to_string(m_port),
      "--location", data.native(), "--silent",  "--disableTelemetry"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // fork+exec: the child asks to be killed when this test process dies, so that a crashed test
  // leaves no server behind. Only async-signal-safe calls follow in the child.
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
  // Ready when it accepts connections; bounded (Node.js loads Azurite in 15 s on a busy machine),
  // and a dead process ends the wait at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!accepts(m_port)) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      std::ifstream in(log);
      const std::string output((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
      throw std::runtime_error(bin + " exited at start (status " + std::to_string(status) +
                               "): " + output.substr(0, 2000));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("azurite-blob did not listen on port " + std::to_string(m_port));
    }
    ::poll(nullptr, 0, 50);
  }
}

Azurite::~Azurite() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGTERM);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
  }
}

std::string Azurite::make_container() {
  const std::string name =
      "stoa-" + std::to_string(::getpid()) + "-" + std::to_string(m_containers.fetch_add(1));
  azure::Client client(options(name, m_dir / "unused"));
  azure::Request q;
  q.method = "PUT";
  q.query = {{"restype", "container"}};
  q.what = "Create Container " + name;
  const azure::Response r = client.perform(q);
  if (r.status != 201) throw std::runtime_error(q.what + ": " + azure::describe(r));
  return name;
}

AzureOptions Azurite::options(const std::string& container, const fs::path& spool) const {
  AzureOptions o;
  o.endpoint = endpoint();
  o.account = k_account;
  o.account_key = k_key;
  o.container = container;
  o.spool_dir = spool;
  o.block_size = std::uint64_t{8} << 20;
  o.first_backoff = std::chrono::milliseconds(5);
  return o;
}

}  // namespace stoa::store::testing
