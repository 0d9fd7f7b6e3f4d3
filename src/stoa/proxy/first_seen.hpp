#pragma once
// When stoa first saw each version of a module: the start of its minimum release age (with the
// version's own Time, whichever is later; policy_filter.hpp). A version counts as seen when an
// upstream list, @latest or query answer names it (MetaAnswers records them, saw()), or else
// the first time the version filter is asked about it (a request for its files, seen()).
// Versions stoa stored before it kept sightings count from when they were first stored
// (index::Index::seen).
//
// Kept in memory per module, loaded from the index at the module's first check and written
// through to it (index::Index::record_seen, write-once), so sightings survive restarts and are
// shared by replicas on one index; several replicas seeing a version at once keep the earliest
// time. Without an index (`index = "none"`), or when it fails (logged, never failing a request),
// sightings live in memory only: after a restart every version counts as seen anew, which holds
// versions back longer, never shorter. Memory is bounded (k_max_modules per shard): a full shard
// is emptied and reloaded from the index as modules are asked about again.
//
// Thread-safe. seen() may block on the index (the first time per module, and for each new
// version); ready() says beforehand whether it would, so that a serving thread hands such a
// request to a worker. The rest is a hash lookup under a shard's mutex.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stoa/index/index.hpp"

namespace spdlog {
class logger;
}

namespace stoa::proxy {

class FirstSeen {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  using Clock = std::function<TimePoint()>;
  static constexpr std::size_t k_shards = 16;
  static constexpr std::size_t k_max_modules = 4096;  // per shard

  // `index` may be null (memory only) and must outlive this. `now`: the clock of sightings and
  // of the ages computed from them (empty: the system clock). `record` false: a version not
  // seen before is not recorded (`stoa rules test` looks without leaving a trace).
  FirstSeen(index::Index* index, std::shared_ptr<spdlog::logger> log, Clock now = {},
            bool record = true);

  TimePoint now() const { return m_now(); }
  // When module@version was first seen; now() when never before (and recorded as seen now).
  TimePoint seen(std::string_view module, std::string_view version);
  // Whether seen(module, version) answers from memory now, without reading or writing the
  // index: the module's sightings are loaded and hold `version` (for version "": loaded). Always
  // true without an index or when nothing is recorded. Never blocks on the index.
  bool ready(std::string_view module, std::string_view version);
  // Records that an upstream answer named `versions` of `module` now (those not seen before).
  void saw(std::string_view module, const std::vector<std::string>& versions);

 private:
  struct Module {
    std::unordered_map<std::string, std::int64_t> versions;  // Unix ns
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Module> modules;
  };
  Module load(const std::string& module);
  // The shard of `module`, with the module loaded (from the index when it was not).
  Shard& loaded(const std::string& module);
  void persist(const std::string& module, const std::vector<std::string>& versions,
               std::int64_t now_ns);

  index::Index* m_index;
  Clock m_now;
  std::shared_ptr<spdlog::logger> m_log;
  bool m_record;
  std::array<Shard, k_shards> m_shards;
};

}  // namespace stoa::proxy
