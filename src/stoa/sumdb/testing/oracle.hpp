#pragma once
// Tests only: the x/mod oracle (tests/oracle/sumdbgen, built by CMake into
// $STOA_BINARY_DIR/oracle/sumdbgen), the databases it generates, and a Fetcher serving them.

#include <sys/wait.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/sumdb/client.hpp"
#include "stoa/sumdb/text.hpp"
#include "stoa/sumdb/tlog.hpp"

namespace stoa::sumdb::testing {

namespace fs = std::filesystem;

inline std::string oracle_path() {
  if (const char* dir = std::getenv("STOA_BINARY_DIR")) {
    return (fs::path(dir) / "oracle" / "sumdbgen").string();
  }
  return STOA_SUMDBGEN;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

// Runs a shell command line; throws unless it exits 0.
inline void run(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("command failed: " + cmd);
  }
}

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// The databases `sumdbgen gen` writes (see tests/oracle/sumdbgen/main.go), generated once per
// test process into a scratch directory.
inline const fs::path& generated() {
  static const fsio::testing::ScratchDir dir;
  static const bool done = [] {
    run(quote(oracle_path()) + " gen " + quote(dir.path().string()));
    return true;
  }();
  (void)done;
  return dir.path();
}

struct RecordInfo {
  std::int64_t id;
  std::string path, version, escaped_path, escaped_version, zip_h1, mod_h1;
  std::string body;  // the lookup response at the last stage: record, then the signed note

  std::string lookup() const { return "lookup/" + escaped_path + "@" + escaped_version; }
  // tlog.FormatRecord: the body up to and including the blank line after the record text.
  std::string formatted_record() const { return body.substr(0, body.find("\n\n") + 2); }
};

// One generated database.
struct Database {
  explicit Database(const std::string& name) : dir(generated() / name) {
    std::string vk = read_file(dir / "vkey");
    while (!vk.empty() && vk.back() == '\n') vk.pop_back();
    vkey = vk;
    std::istringstream st(read_file(dir / "stages"));
    for (std::int64_t s; st >> s;) stages.push_back(s);
    std::istringstream rs(read_file(dir / "lookups.tsv"));
    for (std::string line; std::getline(rs, line);) {
      std::vector<std::string> f;
      std::size_t start = 0;
      for (std::size_t at; (at = line.find('\t', start)) != std::string::npos; start = at + 1) {
        f.push_back(line.substr(start, at - start));
      }
      f.push_back(line.substr(start));
      auto body = detail::decode_base64(f.at(7));
      if (!body) throw std::runtime_error("bad lookups.tsv line: " + line);
      records.push_back(
          {std::stoll(f.at(0)), f.at(1), f.at(2), f.at(3), f.at(4), f.at(5), f.at(6), *body});
      by_lookup[records.back().lookup()] = records.size() - 1;
    }
  }
  std::string note(std::int64_t size) const {
    return read_file(dir / "note" / std::to_string(size));
  }
  std::int64_t final_size() const { return stages.back(); }

  fs::path dir;
  std::string vkey;
  std::vector<std::int64_t> stages;
  std::vector<RecordInfo> records;               // those the database answers lookups for
  std::map<std::string, std::size_t> by_lookup;  // lookup path -> records index
};

// A Fetcher serving a generated database as its server did at tree size `stage()`: lookups of
// records below that size, with that stage's signed note; every tile file. Counts requests;
// `override_path` replaces a path's body (nullopt: 404), `fail_path` makes a path throw.
// Thread-safe.
class DirFetcher final : public Fetcher {
 public:
  explicit DirFetcher(const Database& db) : m_db(&db), m_stage(db.final_size()) {}

  void set_database(const Database& db, std::int64_t stage) {
    const std::lock_guard lock(m_mu);
    m_db = &db;
    m_stage = stage;
  }
  void set_stage(std::int64_t stage) { m_stage = stage; }
  std::int64_t stage() const { return m_stage; }

  void override_path(const std::string& path, std::optional<std::string> body) {
    const std::lock_guard lock(m_mu);
    m_overrides[path] = std::move(body);
  }
  void fail_path(const std::string& path) {
    const std::lock_guard lock(m_mu);
    m_failing.insert(path);
  }
  int count(const std::string& prefix = "") const {
    const std::lock_guard lock(m_mu);
    int n = 0;
    for (const auto& [p, c] : m_counts) {
      if (p.compare(0, prefix.size(), prefix) == 0) n += c;
    }
    return n;
  }
  void reset_counts() {
    const std::lock_guard lock(m_mu);
    m_counts.clear();
  }

  std::optional<std::string> get(const std::string& path) override {
    const Database* db = nullptr;
    std::int64_t stage = 0;
    {
      const std::lock_guard lock(m_mu);
      ++m_counts[path];
      if (m_failing.count(path) != 0) throw std::runtime_error("injected transport failure");
      if (const auto it = m_overrides.find(path); it != m_overrides.end()) return it->second;
      db = m_db;
      stage = m_stage;
    }
    if (path.rfind("lookup/", 0) == 0) {
      const auto it = db->by_lookup.find(path);
      if (it == db->by_lookup.end()) return std::nullopt;
      const RecordInfo& r = db->records[it->second];
      if (r.id >= stage) return std::nullopt;
      if (stage == db->final_size()) return r.body;  // x/mod's own response
      return r.formatted_record() + db->note(stage);
    }
    if (path.rfind("tile/", 0) == 0 && path.find("..") == std::string::npos) {
      const fs::path p = db->dir / path;
      if (!fs::is_regular_file(p)) return std::nullopt;
      return read_file(p);
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex m_mu;
  const Database* m_db;
  std::atomic<std::int64_t> m_stage;
  std::map<std::string, std::optional<std::string>> m_overrides;
  std::set<std::string> m_failing;
  std::map<std::string, int> m_counts;
};

}  // namespace stoa::sumdb::testing
