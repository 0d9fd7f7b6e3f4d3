#include "stoa/sumdb/state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "stoa/fsio/temp_file.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/sumdb/note.hpp"
#include "stoa/sumdb/tlog.hpp"

namespace stoa::sumdb {
namespace {

class MemoryTileCache final : public TileCache {
 public:
  explicit MemoryTileCache(std::size_t max_tiles) : m_max(max_tiles) {}

  std::optional<std::string> get(const std::string& path) override {
    const std::lock_guard lock(m_mu);
    const auto it = m_index.find(path);
    if (it == m_index.end()) return std::nullopt;
    m_lru.splice(m_lru.begin(), m_lru, it->second);
    return it->second->second;
  }

  void put(const std::string& path, std::string_view data) override {
    const std::lock_guard lock(m_mu);
    if (m_max == 0) return;
    if (const auto it = m_index.find(path); it != m_index.end()) {
      // Tiles never change; a put over an entry replaces a copy that failed authentication.
      it->second->second = std::string(data);
      m_lru.splice(m_lru.begin(), m_lru, it->second);
      return;
    }
    m_lru.emplace_front(path, std::string(data));
    m_index.emplace(path, m_lru.begin());
    if (m_lru.size() > m_max) {
      m_index.erase(m_lru.back().first);
      m_lru.pop_back();
    }
  }

 private:
  using Entry = std::pair<std::string, std::string>;
  std::mutex m_mu;
  std::size_t m_max;
  std::list<Entry> m_lru;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> m_index;
};

class MemoryTreeState final : public TreeState {
 public:
  explicit MemoryTreeState(std::optional<std::string> initial) : m_note(std::move(initial)) {}
  std::optional<std::string> load() override {
    const std::lock_guard lock(m_mu);
    return m_note;
  }
  void store(std::string_view signed_note) override {
    const std::lock_guard lock(m_mu);
    m_note = std::string(signed_note);
  }

 private:
  std::mutex m_mu;
  std::optional<std::string> m_note;
};

[[noreturn]] void fail(int err, const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(err, std::generic_category(), what + " " + path.native());
}

class FileTreeState final : public TreeState {
 public:
  explicit FileTreeState(std::filesystem::path file) : m_file(std::move(file)) {
    m_dir = m_file.parent_path();
    if (m_dir.empty()) m_dir = ".";
  }

  std::optional<std::string> load() override {
    const std::lock_guard lock(m_mu);
    return read_file();
  }

  void store(std::string_view signed_note) override {
    const std::lock_guard lock(m_mu);
    // Other processes (replicas sharing the data directory) store heads too: serialize with
    // flock(2) on the directory, and never go back to a smaller tree than the one stored.
    const fsio::UniqueFd dir(::open(m_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) fail(errno, "open", m_dir);
    while (::flock(dir.get(), LOCK_EX) != 0) {
      if (errno != EINTR) fail(errno, "flock", m_dir);
    }
    if (const auto current = read_file()) {
      const auto have = parse_tree(*current);
      const auto next = parse_tree(signed_note);
      if (have && next && have->n >= next->n) return;
    }
    auto tmp = fsio::TempFile::create(m_dir, "." + m_file.filename().native() + ".tmp-");
    tmp.write(signed_note);
    tmp.sync();
    if (::rename(tmp.path().c_str(), m_file.c_str()) != 0) fail(errno, "rename to", m_file);
    (void)tmp.release();
    fsio::sync_directory(m_dir);
  }

 private:
  std::optional<std::string> read_file() {
    fsio::UniqueFd fd(::open(m_file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) return std::nullopt;
      fail(errno, "open", m_file);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(errno, "stat", m_file);
    if (!S_ISREG(st.st_mode)) fail(EINVAL, "not a regular file:", m_file);
    if (static_cast<std::uint64_t>(st.st_size) > k_max_note_bytes) {
      throw std::runtime_error("checksum database tree head " + m_file.native() +
                               " is larger than a signed note can be");
    }
    std::string note;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(errno, "read", m_file);
      }
      if (n == 0) break;
      note.append(buf, static_cast<std::size_t>(n));
      if (note.size() > k_max_note_bytes) {
        throw std::runtime_error("checksum database tree head " + m_file.native() +
                                 " is larger than a signed note can be");
      }
    }
    return note;
  }

  std::mutex m_mu;
  std::filesystem::path m_file;
  std::filesystem::path m_dir;
};

}  // namespace

std::unique_ptr<TileCache> make_memory_tile_cache(std::size_t max_tiles) {
  return std::make_unique<MemoryTileCache>(max_tiles);
}

std::unique_ptr<TreeState> make_memory_tree_state(std::optional<std::string> initial) {
  return std::make_unique<MemoryTreeState>(std::move(initial));
}

std::unique_ptr<TreeState> make_file_tree_state(std::filesystem::path file) {
  return std::make_unique<FileTreeState>(std::move(file));
}

}  // namespace stoa::sumdb
