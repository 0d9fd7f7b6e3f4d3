#pragma once
// The direct source: answers the questions an upstream GOPROXY answers (a version's .info, .mod
// and .zip, the version list, @latest, .info queries for a branch, tag or commit prefix) by
// running the real go command against the module's version control repository, with
// GOPROXY=direct and an environment built from DirectOptions only (gocmd.hpp build_env).
//
// A fetch::Upstream, so the proxy layer treats it like any other source:
//   <m>/@v/<v>.info|.mod|.zip  `go mod download -json m@v`, then the file is copied from
//                              GOMODCACHE/cache/download (the .info reduced to Version and Time)
//   <m>/@v/list                `go list -m -json -versions -retracted m`: retracted and
//                              +incompatible versions included, pseudo-versions never
//   <m>/@latest, <m>/@v/<q>.info  `go list -m -json m@<q>` -> {"Version", "Time"}
// Outcomes: ok; not_found (http_status 404) when the go command says the module or version does
// not exist (classify()), remembered for `negative_ttl`; not_found too when the import-path
// lookup failed (ErrorKind::no_repository), remembered for at most 5 s; failed for everything else
// (timeouts, VCS and network failures, a go command that cannot start), never remembered.
// `exhausted` is set on every non-ok outcome (nothing comes after direct). A suffix that
// module::parse_request refuses, or that asks for something else (sumdb/...), is failed without
// starting anything.
//
// Thread-safe. At most `max_running` go commands run at once; further callers wait for a slot.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "stoa/direct/gocmd.hpp"
#include "stoa/fetch/upstream.hpp"

namespace stoa::direct {

// The process groups of the go commands running now (the loop guard asks). Thread-safe.
class RunningGroups {
 public:
  void add(pid_t pgid);
  void remove(pid_t pgid);
  std::set<pid_t> snapshot() const;
  bool empty() const;

 private:
  mutable std::mutex m_mutex;
  std::set<pid_t> m_groups;
};

struct DirectOptions {
  std::string go_binary = "go";                // path, or a name looked up in env.path
  GoEnv env;                                   // see gocmd.hpp; its directories must exist
  std::filesystem::path work_root;             // parent of the empty working directory of every run
  std::chrono::milliseconds timeout{300'000};  // per go command; then its group is killed
  std::chrono::milliseconds negative_ttl{30'000};  // how long "does not exist" is remembered
  std::size_t max_running = 4;                     // go commands at once (at least 1)
  std::size_t max_output = 8u << 20;               // stdout/stderr kept per run
  RunningGroups* running = nullptr;                // optional: where running groups are listed
  // Called after each run (for metrics and logs): what ran (the go subcommand and the request's
  // key), how long it took, and its one-line result ("ok", or the classified error).
  std::function<void(const std::string& key, std::chrono::milliseconds took, bool ok,
                     const std::string& message)>
      on_run;
  std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now;
};

// Throws std::invalid_argument when max_running is 0 or work_root is empty.
std::unique_ptr<fetch::Upstream> make_direct_source(DirectOptions options);

}  // namespace stoa::direct
