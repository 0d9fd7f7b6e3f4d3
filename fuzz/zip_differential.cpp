// check_zip against the go command's own verdict, on every input libFuzzer makes: the input is a
// zip for example.com/m@v1.0.0 (the module tests/oracle/ziporacle generates its adversarial zips
// for; corpus/zip_differential holds some of them), written to an in-memory file that the oracle
// (`ziporacle serve`, started once per process, golang.org/x/mod zip.CheckZip + dirhash.HashZip +
// Unzip's reads through archive/zip) reads by its /proc/<pid>/fd path. Invariants: the verdicts
// agree, and when both accept, the h1: hashes are equal; plus zip_check's own invariants.
//
// The oracle is $STOA_ZIPORACLE, else the binary the fuzz build made (fuzz/CMakeLists.txt).

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "check.hpp"
#include "stoa/modzip/modzip.hpp"

extern char** environ;

namespace {

using stoa::fuzz::fail;
using stoa::fuzz::require;

constexpr const char* k_module = "example.com/m";
constexpr const char* k_version = "v1.0.0";

class ScratchFile {
 public:
  ScratchFile() : m_fd(::memfd_create("stoa-fuzz-zipdiff", MFD_CLOEXEC)) {
    if (m_fd < 0) fail("memfd_create failed", std::strerror(errno));
    m_path = "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(m_fd);
  }
  ~ScratchFile() { ::close(m_fd); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(const std::uint8_t* data, std::size_t size) {
    require(::ftruncate(m_fd, 0) == 0, "ftruncate failed", std::strerror(errno));
    for (std::size_t done = 0; done < size;) {
      const auto n = ::pwrite(m_fd, data + done, size - done, static_cast<off_t>(done));
      require(n > 0, "pwrite failed", std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
    return m_path;
  }

 private:
  int m_fd;
  std::string m_path;
};

// `ziporacle serve` on two pipes; asked one question per input.
class Oracle {
 public:
  Oracle() {
    const char* env = std::getenv("STOA_ZIPORACLE");
    const std::string path = env != nullptr && *env != '\0' ? env : STOA_ZIPORACLE;
    int in[2];
    int out[2];
    require(::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0, "pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    std::vector<char*> argv = {const_cast<char*>(path.c_str()), const_cast<char*>("serve"),
                               nullptr};
    const int rc = ::posix_spawn(&m_pid, path.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    require(rc == 0, "cannot start the zip oracle (set STOA_ZIPORACLE)", path);
    ::close(in[0]);
    ::close(out[1]);
    m_to = in[1];
    m_from = out[0];
    ::signal(SIGPIPE, SIG_IGN);
  }
  Oracle(const Oracle&) = delete;
  Oracle& operator=(const Oracle&) = delete;

  // The verdict line's fields: zip, file, module, version, ok|err, h1, failure. Raw read/write
  // with EINTR retries: libFuzzer's timeout alarm interrupts blocking calls (stdio would report
  // EOF then).
  std::vector<std::string> ask(const std::string& zip_path) {
    const std::string question = std::string(k_module) + "\t" + k_version + "\t" + zip_path + "\n";
    for (std::size_t done = 0; done < question.size();) {
      const ssize_t n = ::write(m_to, question.data() + done, question.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) gone();
      done += static_cast<std::size_t>(n);
    }
    std::string line;
    for (;;) {
      if (const std::size_t nl = m_buf.find('\n'); nl != std::string::npos) {
        line = m_buf.substr(0, nl);
        m_buf.erase(0, nl + 1);
        break;
      }
      char chunk[4096];
      const ssize_t n = ::read(m_from, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) gone();
      m_buf.append(chunk, static_cast<std::size_t>(n));
    }
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t at; (at = line.find('\t', start)) != std::string::npos; start = at + 1) {
      f.push_back(line.substr(start, at - start));
    }
    f.push_back(line.substr(start));
    require(f.size() == 7 && (f[4] == "ok" || f[4] == "err"), "bad oracle line", line);
    return f;
  }

 private:
  [[noreturn]] void gone() {
    int status = 0;
    std::string how = "?";
    pid_t r;
    while ((r = ::waitpid(m_pid, &status, 0)) < 0 && errno == EINTR) {
    }
    if (r == m_pid) {
      how = WIFEXITED(status)     ? "exit status " + std::to_string(WEXITSTATUS(status))
            : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                  : "status " + std::to_string(status);
    }
    fail("the zip oracle went away", how);
  }

  pid_t m_pid = 0;
  int m_to = -1;
  int m_from = -1;
  std::string m_buf;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ScratchFile scratch;
  static Oracle oracle;
  const std::string& path = scratch.write(data, size);
  stoa::modzip::ZipCheck got;
  try {
    got = stoa::modzip::check_zip(path, k_module, k_version);
  } catch (const std::system_error& e) {
    fail("check_zip threw std::system_error on a readable file", e.what());
  }
  if (got.ok()) {
    require(got.h1.size() == 3 + 44 && got.h1.starts_with("h1:") && got.h1.ends_with("="),
            "an accepted zip has no well-formed h1: hash", got.h1);
  } else {
    require(got.h1.empty(), "a refused zip has an h1: hash", got.h1);
  }
  const std::vector<std::string> want = oracle.ask(path);
  if (want[4] == "ok") {
    std::string problems;
    for (const auto& p : got.problems) problems += p + "; ";
    require(got.ok(), "x/mod accepts a zip that stoa refuses", problems);
    require(got.h1 == want[5], "stoa's h1: differs from x/mod's", got.h1 + " vs " + want[5]);
  } else {
    require(!got.ok(), "stoa accepts a zip that x/mod refuses", want[6]);
  }
  return 0;
}
