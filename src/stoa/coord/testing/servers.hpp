#pragma once
// Tests only: real redis-server and PostgreSQL processes on 127.0.0.1 free ports, in scratch
// directories, stopped (and their directories removed) on destruction. PostgreSQL refuses to run
// as root: as root, initdb and postgres run as the `postgres` user (setpriv), which the Debian
// package creates. Never uses the system services.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stoa/fsio/testing/scratch_dir.hpp"

extern char** environ;

namespace stoa::coord::testing {

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Runs argv with stdout and stderr appended to `log`; returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  return pid;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `ready` with a growing pause until it answers true or 20 s pass (startup readiness of a
// server process, not synchronization between test steps).
template <class F>
void wait_ready(F ready, pid_t pid, const std::string& what, const std::filesystem::path& log) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto pause = std::chrono::milliseconds(5);
  while (!ready()) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      throw std::runtime_error(what + " exited at start:\n" + slurp(log));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(what + " did not become ready:\n" + slurp(log));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
  }
}

class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { stop(); }

  int port() const { return m_port; }
  const std::filesystem::path& dir() const { return m_dir.path(); }
  // Stops the server now (a test of "the lock service went away"). Idempotent.
  void stop() {
    if (m_pid <= 0) return;
    ::kill(m_pid, m_stop_signal);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
    m_pid = 0;
  }

 protected:
  fsio::testing::ScratchDir m_dir;
  pid_t m_pid = 0;
  int m_port = 0;
  int m_stop_signal = SIGTERM;
};

class RedisServer : public ServerProcess {
 public:
  RedisServer() {
    m_port = free_port();
    const auto log = dir() / "redis.log";
    m_pid = spawn({"redis-server", "--port", std::to_string(m_port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", dir().string()},
                  log);
    m_stop_signal = SIGKILL;
    wait_ready([this] { return ping(); }, m_pid, "redis-server", log);
  }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(m_port); }

 private:
  bool ping() const {
    redisContext* c = ::redisConnect("127.0.0.1", m_port);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      auto* r = static_cast<redisReply*>(::redisCommand(c, "PING"));
      ok = r != nullptr && r->type == REDIS_REPLY_STATUS;
      if (r != nullptr) ::freeReplyObject(r);
    }
    if (c != nullptr) ::redisFree(c);
    return ok;
  }
};

class PostgresServer : public ServerProcess {
 public:
  PostgresServer() {
    m_port = free_port();
    const auto data = dir() / "pg";
    const auto log = dir() / "postgres.log";
    std::vector<std::string> as_user;
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("no postgres user (install postgresql)");
      if (::chown(dir().c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        throw std::runtime_error("chown " + dir().string());
      }
      as_user = {"setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"};
      std::ofstream(log).close();
      if (::chown(log.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown");
    }
    const std::string bin = "/usr/lib/postgresql/15/bin/";
    auto run = [&](std::vector<std::string> argv) {
      argv.insert(argv.begin(), as_user.begin(), as_user.end());
      return spawn(argv, log);
    };
    const pid_t init = run({bin + "initdb", "-D", data.string(), "-A", "trust", "-U", "postgres",
                            "--no-sync", "--no-instructions"});
    int status = 0;
    ::waitpid(init, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("initdb failed:\n" + slurp(log));
    }
    m_pid = run({bin + "postgres", "-D", data.string(), "-h", "127.0.0.1", "-p",
                 std::to_string(m_port), "-k", dir().string(), "-c", "fsync=off", "-c",
                 "synchronous_commit=off", "-c", "full_page_writes=off"});
    m_stop_signal = SIGQUIT;  // immediate shutdown
    wait_ready([this] { return ::PQping(url().c_str()) == PQPING_OK; }, m_pid, "postgres", log);
  }
  std::string url() const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(m_port) + "/postgres";
  }
};

}  // namespace stoa::coord::testing
