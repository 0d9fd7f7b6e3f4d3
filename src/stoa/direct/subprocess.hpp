#pragma once
// Running one external program (the go command) without a shell: posix_spawn with an explicit
// argument vector, an explicit environment and working directory, stdin from /dev/null, stdout
// and stderr captured up to a bound, in a process group of its own that is killed as a whole
// when the deadline passes. Thread-safe (every call is independent); blocking.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace stoa::direct {

struct Command {
  std::string program;            // absolute path or a name looked up in the PATH of `env`
  std::vector<std::string> args;  // argv[1..]; never interpreted by a shell
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  std::filesystem::path cwd;      // must exist
};

struct RunResult {
  int exit_code = -1;      // the exit status, or -1 when killed by a signal
  int signal = 0;          // the signal that ended it, 0 when it exited
  bool timed_out = false;  // the deadline passed and the process group was killed
  bool truncated = false;  // stdout or stderr went over max_output (the rest was discarded)
  std::string out;         // stdout, at most max_output bytes
  std::string err;         // stderr, at most max_output bytes
  bool ok() const { return exit_code == 0 && !timed_out; }
};

// Runs `cmd` to completion or until `timeout`, then SIGKILLs its whole process group (the go
// command's git/hg/svn children included) and reaps it. Signals ignored by this process
// (SIGPIPE) are reset to their default in the child, and its signal mask is cleared.
// `on_start(pid)` (optional) is called once the child exists, `on_end(pid)` once it is reaped
// (both on the calling thread): the pid is also the process group id.
// Throws std::system_error when the program cannot be started (no such file, fork failure).
RunResult run(const Command& cmd, std::chrono::milliseconds timeout, std::size_t max_output,
              const std::function<void(pid_t)>& on_start = nullptr,
              const std::function<void(pid_t)>& on_end = nullptr);

}  // namespace stoa::direct
