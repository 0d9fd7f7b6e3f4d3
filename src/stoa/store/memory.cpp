#include "stoa/store/memory.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <utility>

#include "stoa/store/keys.hpp"

namespace stoa::store {
namespace {

struct Entry {
  std::shared_ptr<const std::string> bytes;
  std::int64_t mtime_ns = 0;
  std::string etag;
};

std::string read_staged(const fsio::TempFile& staged) {
  struct stat st {};
  if (::fstat(staged.fd(), &st) != 0) {
    throw StoreError("memory store: stat " + staged.path().native() + ": " +
                     std::generic_category().message(errno));
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (true) {
    if (done == bytes.size()) bytes.resize(bytes.size() + 4096);  // grew since fstat: read on
    const ssize_t n =
        ::pread(staged.fd(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw StoreError("memory store: read " + staged.path().native() + ": " +
                       std::generic_category().message(errno));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::filesystem::path staging_dir) : m_staging_dir(std::move(staging_dir)) {}

  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) throw StoreError("memory store: invalid key " + keys::printable(key));
    const std::shared_lock lock(m_mutex);
    const auto it = m_objects.find(key);
    if (it == m_objects.end()) return std::nullopt;
    const Entry& e = it->second;
    Object obj;
    obj.size = e.bytes->size();
    obj.mtime_unix = e.mtime_ns / 1'000'000'000;
    obj.etag = e.etag;
    obj.body = e.bytes;
    return obj;
  }

  fsio::TempFile stage() override {
    try {
      return fsio::TempFile::create(m_staging_dir, "mem-");
    } catch (const std::system_error& e) {
      throw StoreError(std::string("memory store: stage: ") + e.what());
    }
  }

  bool put(const std::string& key, fsio::TempFile staged) override {
    if (!keys::is_valid(key)) throw StoreError("memory store: invalid key " + keys::printable(key));
    if (staged.fd() < 0) throw StoreError("memory store: put " + key + ": nothing staged");
    auto bytes = std::make_shared<const std::string>(read_staged(staged));
    const std::int64_t now = now_ns();
    const std::unique_lock lock(m_mutex);
    if (m_objects.count(key) != 0) return false;
    insert(key, std::move(bytes), now);
    if (const auto info = keys::parse_info(key)) {
      std::optional<std::string> version = keys::unescape_version(info->version);
      if (version && !keys::is_pseudo(*version)) {
        const std::string body = keys::render_list(versions_locked(info->module));
        const std::string list = keys::list_key(info->module);
        m_objects.erase(list);  // the list is the one mutable object
        insert(list, std::make_shared<const std::string>(body), now);
      }
    }
    return true;
  }

  bool repair_list(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      throw StoreError("memory store: invalid module " + keys::printable(escaped_module));
    }
    const std::unique_lock lock(m_mutex);
    const std::string body = keys::render_list(versions_locked(escaped_module));
    const std::string list = keys::list_key(escaped_module);
    const auto it = m_objects.find(list);
    if ((it == m_objects.end() ? std::string() : *it->second.bytes) == body) return false;
    if (it != m_objects.end()) m_objects.erase(it);
    insert(list, std::make_shared<const std::string>(body), now_ns());
    return true;
  }

  std::vector<std::string> versions(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      throw StoreError("memory store: invalid module " + keys::printable(escaped_module));
    }
    const std::shared_lock lock(m_mutex);
    return versions_locked(escaped_module);
  }

  std::vector<std::string> modules() override {
    const std::shared_lock lock(m_mutex);
    std::set<std::string> out;
    for (const auto& [key, entry] : m_objects) {
      const auto at = key.rfind("/@v/");
      if (at != std::string::npos) out.emplace(key.substr(0, at));
    }
    return {out.begin(), out.end()};
  }

  std::vector<std::string> files(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      throw StoreError("memory store: invalid module " + keys::printable(escaped_module));
    }
    const std::string prefix = escaped_module + "/@v/";
    const std::shared_lock lock(m_mutex);
    std::vector<std::string> out;
    for (auto it = m_objects.lower_bound(prefix);
         it != m_objects.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      const std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (rest.find('/') == std::string_view::npos) out.emplace_back(rest);
    }
    return out;
  }

 private:
  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void insert(const std::string& key, std::shared_ptr<const std::string> bytes,
              std::int64_t mtime_ns) {
    std::string tag = keys::etag(key, bytes->size(), mtime_ns);
    m_objects.emplace(key, Entry{std::move(bytes), mtime_ns, std::move(tag)});
  }

  // Requires m_mutex held (shared or exclusive).
  std::vector<std::string> versions_locked(std::string_view module) const {
    std::string prefix(module);
    prefix += "/@v/";
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    for (auto it = m_objects.lower_bound(prefix);
         it != m_objects.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      const std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (rest.size() > ext.size() && rest.substr(rest.size() - ext.size()) == ext &&
          rest.find('/') == std::string_view::npos) {
        out.emplace_back(rest.substr(0, rest.size() - ext.size()));
      }
    }
    return out;
  }

  const std::filesystem::path m_staging_dir;
  std::shared_mutex m_mutex;
  std::map<std::string, Entry, std::less<>> m_objects;
};

}  // namespace

std::unique_ptr<Store> make_memory_store(const std::filesystem::path& staging_dir) {
  return std::make_unique<MemoryStore>(staging_dir);
}

}  // namespace stoa::store
