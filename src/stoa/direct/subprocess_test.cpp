#include "stoa/direct/subprocess.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "stoa/fsio/testing/scratch_dir.hpp"

namespace stoa::direct {
namespace {

Command sh(const std::string& script, std::vector<std::string> env = {"PATH=/usr/bin:/bin"}) {
  return {"/bin/sh", {"-c", script}, std::move(env), "/"};
}

TEST(Subprocess, CapturesStdoutStderrAndExitCode) {
  const auto r = run(sh("echo out; echo err >&2; exit 3"), std::chrono::seconds(10), 1024);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(Subprocess, EnvironmentIsExactlyTheGivenOne) {
  const auto r =
      run({"/usr/bin/env", {}, {"A=1", "B=two words"}, "/"}, std::chrono::seconds(10), 1024);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, "A=1\nB=two words\n");
}

TEST(Subprocess, RunsInTheGivenDirectoryWithStdinEmpty) {
  fsio::testing::ScratchDir dir;
  const auto r =
      run({"/bin/sh", {"-c", "pwd; cat"}, {}, dir.path()}, std::chrono::seconds(10), 1024);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST(Subprocess, ArgumentsAreNotInterpretedByAShell) {
  const auto r =
      run({"/bin/echo", {"$(id)", ";", "`id`", "-x"}, {}, "/"}, std::chrono::seconds(10), 1024);
  EXPECT_EQ(r.out, "$(id) ; `id` -x\n");
}

TEST(Subprocess, DeadlineKillsTheWholeProcessGroup) {
  pid_t leader = 0;
  // The background child keeps stdout open and would outlive its parent: both must go.
  const auto t0 = std::chrono::steady_clock::now();
  // 2 s: time enough for the shell to print the child's pid even on a loaded machine.
  const auto r = run(sh("sleep 30 & echo $!; wait"), std::chrono::milliseconds(2000), 1024,
                     [&](pid_t p) { leader = p; });
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.out.empty());
  const pid_t child = std::stoi(r.out);
  EXPECT_GT(leader, 0);
  // The child was killed: it is gone or a zombie awaiting init, never still sleeping.
  const auto alive = [child] {
    if (::kill(child, 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string pid, comm, state;
    stat >> pid >> comm >> state;
    return state != "Z" && !state.empty();
  };
  // SIGKILL takes effect when the child next runs, which on a loaded machine can be after
  // run() has returned (seen under a CPU hog): wait for that, boundedly. A child that was never
  // sent the signal would sleep for 30 s and fail here.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_FALSE(alive());
}

TEST(Subprocess, OwnProcessGroupReported) {
  pid_t started = 0;
  pid_t ended = 0;
  const auto r = run(
      sh("ps -o pgid= -p $$"), std::chrono::seconds(10), 1024, [&](pid_t p) { started = p; },
      [&](pid_t p) { ended = p; });
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(started, ended);
  EXPECT_EQ(std::stoi(r.out), started);
}

TEST(Subprocess, OutputOverTheLimitIsTruncated) {
  const auto r = run(sh("head -c 100000 /dev/zero"), std::chrono::seconds(10), 1000);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.out.size(), 1000u);
}

TEST(Subprocess, SigpipeIsDefaultInTheChildEvenWhenIgnoredHere) {
  const auto old = ::signal(SIGPIPE, SIG_IGN);
  const auto r = run(sh("grep SigIgn /proc/self/status"), std::chrono::seconds(10), 4096);
  ::signal(SIGPIPE, old);
  // SIGPIPE is signal 13: bit 12 of SigIgn must be clear.
  const auto pos = r.out.find("SigIgn:");
  ASSERT_NE(pos, std::string::npos);
  const auto mask = std::stoull(r.out.substr(pos + 7), nullptr, 16);
  EXPECT_EQ(mask & (1ull << 12), 0u);
}

TEST(Subprocess, MissingProgramThrows) {
  EXPECT_THROW(run({"/nonexistent/go", {}, {}, "/"}, std::chrono::seconds(1), 10),
               std::system_error);
}

}  // namespace
}  // namespace stoa::direct
