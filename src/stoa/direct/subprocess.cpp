#include "stoa/direct/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <array>
#include <cerrno>
#include <system_error>

namespace stoa::direct {
namespace {

[[noreturn]] void throw_errno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct FileActions {
  posix_spawn_file_actions_t a{};
  FileActions() { posix_spawn_file_actions_init(&a); }
  ~FileActions() { posix_spawn_file_actions_destroy(&a); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
};

struct Attr {
  posix_spawnattr_t a{};
  Attr() { posix_spawnattr_init(&a); }
  ~Attr() { posix_spawnattr_destroy(&a); }
  Attr(const Attr&) = delete;
  Attr& operator=(const Attr&) = delete;
};

void make_pipe(Fd& r, Fd& w) {
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
  r.fd = p[0];
  w.fd = p[1];
}

// Reads what is available on `fd` into `into` (up to `max` kept); false at EOF or error.
bool drain(int fd, std::string& into, std::size_t max, bool& truncated) {
  std::array<char, 16384> buf{};
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const auto got = static_cast<std::size_t>(n);
  const std::size_t room = into.size() < max ? max - into.size() : 0;
  into.append(buf.data(), std::min(room, got));
  if (got > room) truncated = true;
  return true;
}

}  // namespace

RunResult run(const Command& cmd, std::chrono::milliseconds timeout, std::size_t max_output,
              const std::function<void(pid_t)>& on_start,
              const std::function<void(pid_t)>& on_end) {
  Fd out_r, out_w, err_r, err_w;
  make_pipe(out_r, out_w);
  make_pipe(err_r, err_w);

  FileActions fa;
  posix_spawn_file_actions_addopen(&fa.a, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa.a, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa.a, err_w.fd, 2);
  if (int e = posix_spawn_file_actions_addchdir_np(&fa.a, cmd.cwd.c_str()); e != 0)
    throw_errno(e, "posix_spawn_file_actions_addchdir_np");

  Attr at;
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  posix_spawnattr_setsigmask(&at.a, &none);
  posix_spawnattr_setsigdefault(&at.a, &defaults);
  posix_spawnattr_setpgroup(&at.a, 0);
  posix_spawnattr_setflags(&at.a, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(cmd.program.c_str()));
  for (const auto& a : cmd.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : cmd.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const bool has_slash = cmd.program.find('/') != std::string::npos;
  const int e =
      has_slash ? ::posix_spawn(&pid, cmd.program.c_str(), &fa.a, &at.a, argv.data(), envp.data())
                : ::posix_spawnp(&pid, cmd.program.c_str(), &fa.a, &at.a, argv.data(), envp.data());
  if (e != 0) throw_errno(e, "posix_spawn");
  out_w.reset();
  err_w.reset();
  if (on_start) on_start(pid);

  RunResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    std::array<pollfd, 2> fds{
        {{out_open ? out_r.fd : -1, POLLIN, 0}, {err_open ? err_r.fd : -1, POLLIN, 0}}};
    const int n =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      out_open = drain(out_r.fd, r.out, max_output, r.truncated);
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
      err_open = drain(err_r.fd, r.err, max_output, r.truncated);
  }
  // Both pipes closed: wait for the exit within what is left of the deadline (pidfd: no sleep).
  if (!r.timed_out) {
    Fd pidfd;
    // glibc 2.36 declares pidfd_open without C linkage: the system call directly.
    pidfd.fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        r.timed_out = true;
        break;
      }
      if (pidfd.fd < 0) break;  // no pidfd (old kernel): waitpid below blocks
      pollfd p{pidfd.fd, POLLIN, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
      if (n > 0) break;
      if (n < 0 && errno != EINTR) break;
    }
  }
  // The whole group goes: on a timeout, and also after a normal end (a straggling child, or
  // none at all: then the signal reaches only the unreaped leader, which has already exited).
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (on_end) on_end(pid);
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
  return r;
}

}  // namespace stoa::direct
