#include "stoa/store/disk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>

#include <array>
#include <cerrno>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "stoa/fsio/commit.hpp"
#include "stoa/store/keys.hpp"

namespace stoa::store {
namespace {

namespace fs = std::filesystem;
using fsio::UniqueFd;

constexpr std::string_view k_tmp_dir = ".stoa-tmp";

[[noreturn]] void fail(int err, std::string_view what, const fs::path& root, std::string_view rel) {
  std::string message("disk store: ");
  message += what;
  message += ' ';
  message += root.native();
  if (!rel.empty()) {
    message += '/';
    message += keys::printable(rel);
  }
  message += ": ";
  message += std::generic_category().message(err);
  throw StoreError(message);
}

[[noreturn]] void rethrow(const std::system_error& e) {
  throw StoreError(std::string("disk store: ") + e.what());
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// This process's staging directory under <root>/.stoa-tmp/, flock(2)ed for the store's life so
// that other processes sharing the root (replicas) see it is in use and never sweep it.
struct StagingDir {
  fs::path path;
  UniqueFd lock;
};

class DiskStore final : public Store {
 public:
  DiskStore(fs::path root, UniqueFd root_fd, StagingDir staging)
      : m_root(std::move(root)),
        m_root_fd(std::move(root_fd)),
        m_tmp(std::move(staging.path)),
        m_tmp_lock(std::move(staging.lock)) {}

  ~DiskStore() override {
    std::error_code ec;
    fs::remove_all(m_tmp, ec);  // best effort: the next open sweeps it otherwise
  }

  // The hot path: one openat and one fstat; the ETag is the only allocation.
  std::optional<Object> get(const std::string& key) override {
    if (!keys::is_valid(key)) fail(EINVAL, "get: invalid key", m_root, key);
    // O_NONBLOCK so that a FIFO planted at a key cannot block the open; no effect on files.
    const int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    UniqueFd fd;
    do {
      fd.reset(::openat(m_root_fd.get(), key.c_str(), flags));
    } while (!fd && errno == EINTR);
    if (!fd) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return std::nullopt;
      fail(err, "open", m_root, key);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(errno, "stat", m_root, key);
    if (!S_ISREG(st.st_mode)) fail(not_regular_errno(st), "open (not a regular file)", m_root, key);
    Object obj;
    obj.size = static_cast<std::uint64_t>(st.st_size);
    obj.mtime_unix = st.st_mtim.tv_sec;
    obj.etag = keys::etag(
        key, obj.size,
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec);
    obj.body = std::move(fd);
    return obj;
  }

  fsio::TempFile stage() override {
    try {
      return fsio::TempFile::create(m_tmp, "put-");
    } catch (const std::system_error& e) {
      rethrow(e);
    }
  }

  bool put(const std::string& key, fsio::TempFile staged) override {
    if (!keys::is_valid(key)) fail(EINVAL, "put: invalid key", m_root, key);
    if (staged.fd() < 0) fail(EBADF, "put: nothing staged for", m_root, key);
    try {
      staged.sync();
    } catch (const std::system_error& e) {
      rethrow(e);
    }
    if (::fchmod(staged.fd(), 0444) != 0) fail(errno, "chmod", staged.path(), {});

    const std::string dir = key.substr(0, key.rfind('/'));  // valid keys have a '/'
    const bool created = make_dirs(dir);
    fsio::Placed placed{};
    try {
      placed =
          fsio::rename_no_replace(AT_FDCWD, staged.path().c_str(), m_root_fd.get(), key.c_str());
    } catch (const std::system_error& e) {
      rethrow(e);
    }
    if (placed == fsio::Placed::existed) return false;  // `staged` removes its file
    (void)staged.release();

    sync_dir(dir);
    if (created) {
      // The directory chain was (partly) missing: made by this call or by a concurrent put that
      // may not have synced it yet, so make every entry on the way down durable. Clean
      // directories cost little to fsync, and this path runs about once per module. (A put that
      // found the directory in place relies on its creator's syncs; if it overtook them, journaled
      // filesystems still commit the mkdir no later than the rename that depends on it.)
      for (std::size_t slash = dir.rfind('/'); slash != std::string::npos;
           slash = slash == 0 ? std::string::npos : dir.rfind('/', slash - 1)) {
        sync_dir(dir.substr(0, slash));
      }
      sync_dir({});
    }

    if (const auto info = keys::parse_info(key)) {
      const std::optional<std::string> version = keys::unescape_version(info->version);
      if (version && !keys::is_pseudo(*version)) {
        try {
          (void)refresh_list(info->module);
        } catch (const StoreError& e) {
          throw DerivedFileError(std::string(e.what()) + " (" + keys::printable(key) +
                                 " is committed; the list converges on the next commit or repair)");
        }
      }
    }
    return true;
  }

  bool repair_list(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail(EINVAL, "repair_list: invalid module", m_root, escaped_module);
    }
    struct stat st {};
    const std::string vdir = escaped_module + "/@v";
    if (::fstatat(m_root_fd.get(), vdir.c_str(), &st, 0) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return false;  // nothing stored, nothing listed
      fail(errno, "stat", m_root, vdir);
    }
    return refresh_list(escaped_module);
  }

  std::vector<std::string> versions(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail(EINVAL, "versions: invalid module", m_root, escaped_module);
    }
    const std::string vdir = escaped_module + "/@v";
    UniqueFd fd(::openat(m_root_fd.get(), vdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return {};
      fail(err, "open", m_root, vdir);
    }
    return read_versions(std::move(fd), vdir);
  }

  std::vector<std::string> modules() override {
    // Every "<m>/@v" directory below the root with a file in it; the root's dot-named
    // directories (temp files, state, quarantine) and "sumdb" hold no modules.
    std::vector<std::string> out;
    std::error_code ec;
    auto it = fs::recursive_directory_iterator(m_root, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const bool dir = it->is_directory(ec);
      if (ec) break;
      if (!dir) continue;
      if (it.depth() == 0 && (name.starts_with('.') || name == "sumdb")) {
        it.disable_recursion_pending();
        continue;
      }
      if (name != "@v") continue;
      it.disable_recursion_pending();
      const std::string module =
          it->path().parent_path().lexically_relative(m_root).generic_string();
      if (keys::is_valid_module(module) && !files(module).empty()) out.push_back(module);
    }
    if (ec) fail(ec.value(), "walk", m_root, "");
    return out;
  }

  std::vector<std::string> files(const std::string& escaped_module) override {
    if (!keys::is_valid_module(escaped_module)) {
      fail(EINVAL, "files: invalid module", m_root, escaped_module);
    }
    const std::string vdir = escaped_module + "/@v";
    UniqueFd fd(::openat(m_root_fd.get(), vdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) return {};
      fail(err, "open", m_root, vdir);
    }
    return read_names(std::move(fd), vdir);
  }

 private:
  static int not_regular_errno(const struct stat& st) {
    return S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  }

  // mkdir -p of `dir` (relative to the root). Returns false when it already existed.
  bool make_dirs(const std::string& dir) {
    struct stat st {};
    if (::fstatat(m_root_fd.get(), dir.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode)) return false;
    std::size_t slash = 0;
    do {
      slash = dir.find('/', slash + 1);
      const std::string prefix = dir.substr(0, slash);
      if (::mkdirat(m_root_fd.get(), prefix.c_str(), 0755) != 0 && errno != EEXIST) {
        fail(errno, "mkdir", m_root, prefix);
      }
    } while (slash != std::string::npos);
    return true;
  }

  // fsync(2) a directory relative to the root ("" is the root itself).
  void sync_dir(const std::string& dir) {
    if (dir.empty()) {
      if (::fsync(m_root_fd.get()) != 0) fail(errno, "fsync", m_root, {});
      return;
    }
    const UniqueFd fd(::openat(m_root_fd.get(), dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) fail(errno, "open", m_root, dir);
    if (::fsync(fd.get()) != 0) fail(errno, "fsync", m_root, dir);
  }

  // Names of the regular files in a module's @v directory, without the dot-named temp files
  // of a list rewrite. Takes ownership of `fd`.
  std::vector<std::string> read_names(UniqueFd fd, const std::string& vdir) {
    const std::unique_ptr<DIR, DirCloser> d(::fdopendir(fd.get()));
    if (!d) fail(errno, "opendir", m_root, vdir);
    (void)fd.release();
    std::vector<std::string> out;
    while (true) {
      errno = 0;
      const dirent* ent = ::readdir(d.get());
      if (ent == nullptr) {
        if (errno != 0) fail(errno, "readdir", m_root, vdir);
        break;
      }
      const std::string_view name(ent->d_name);
      if (ent->d_type != DT_REG && ent->d_type != DT_UNKNOWN) continue;
      if (name.empty() || name[0] == '.') continue;
      out.emplace_back(name);
    }
    return out;
  }

  // Names "<v>.info" in a module's @v directory -> "<v>". Takes ownership of `fd`.
  std::vector<std::string> read_versions(UniqueFd fd, const std::string& vdir) {
    constexpr std::string_view ext = ".info";
    std::vector<std::string> out;
    for (std::string& name : read_names(std::move(fd), vdir)) {
      if (name.size() <= ext.size() || !name.ends_with(ext)) continue;
      name.resize(name.size() - ext.size());
      out.push_back(std::move(name));
    }
    return out;
  }

  // The bytes of "<vdir>/list" (opened relative to `dir`), "" when absent.
  std::string read_list(int dir, const std::string& vdir) {
    UniqueFd fd(::openat(dir, "list", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
      if (errno == ENOENT) return {};
      fail(errno, "open", m_root, vdir + "/list");
    }
    std::string out;
    std::array<char, 8192> buf{};
    while (true) {
      const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail(errno, "read", m_root, vdir + "/list");
      if (n == 0) return out;
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
  }

  // Rewrites "<m>/@v/list" from the .info files present unless it already has those bytes;
  // returns true if it wrote. The list is the only object that is replaced. Serialized per
  // module: a striped mutex between threads, flock(2) on the @v directory between processes
  // sharing the root, so that no commit's version is lost.
  bool refresh_list(std::string_view module) {
    const std::lock_guard lock(
        m_list_locks[std::hash<std::string_view>{}(module) % m_list_locks.size()]);
    std::string vdir(module);
    vdir += "/@v";
    UniqueFd dir(::openat(m_root_fd.get(), vdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) fail(errno, "open", m_root, vdir);
    while (::flock(dir.get(), LOCK_EX) != 0) {
      if (errno != EINTR) fail(errno, "flock", m_root, vdir);
    }
    UniqueFd scan(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0));
    if (!scan) fail(errno, "dup", m_root, vdir);
    const std::string body = keys::render_list(read_versions(std::move(scan), vdir));
    if (read_list(dir.get(), vdir) == body) return false;
    try {
      fsio::TempFile tmp = fsio::TempFile::create(m_tmp, "list-");
      tmp.write(body);
      tmp.sync();
      if (::renameat(AT_FDCWD, tmp.path().c_str(), dir.get(), "list") != 0) {
        fail(errno, "rename list into", m_root, vdir);
      }
      (void)tmp.release();
    } catch (const std::system_error& e) {
      rethrow(e);
    }
    if (::fsync(dir.get()) != 0) fail(errno, "fsync", m_root, vdir);
    return true;
  }

  const fs::path m_root;
  const UniqueFd m_root_fd;
  const fs::path m_tmp;
  const UniqueFd m_tmp_lock;
  std::array<std::mutex, 64> m_list_locks;
};

// Removes what crashed processes left in <root>/.stoa-tmp/: staging directories nobody holds a
// flock on (their process is gone), and loose files (stoa versions before per-process staging).
// Directories of live processes sharing the root are left alone.
void sweep_staging(const fs::path& root, int tmp_fd) {
  const fs::path tmp = root / k_tmp_dir;
  std::error_code ec;
  for (fs::directory_iterator it(tmp, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename();
    const UniqueFd fd(
        ::openat(tmp_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use by a live process
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
  if (ec) fail(ec.value(), "sweep", root, k_tmp_dir);
}

StagingDir make_staging_dir(const fs::path& root, int tmp_fd) {
  std::random_device rd;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::string name = "p" + std::to_string(::getpid()) + "-" + std::to_string(rd());
    if (::mkdirat(tmp_fd, name.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      fail(errno, "mkdir (is the root writable?)", root, std::string(k_tmp_dir) + "/" + name);
    }
    UniqueFd fd(::openat(tmp_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) fail(errno, "open", root, std::string(k_tmp_dir) + "/" + name);
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) fail(errno, "flock", root, std::string(k_tmp_dir) + "/" + name);
    }
    // Another process's sweep may have removed it between mkdir and flock: then start over.
    struct stat mine {
    }, there{};
    if (::fstat(fd.get(), &mine) == 0 &&
        ::fstatat(tmp_fd, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
        mine.st_ino == there.st_ino && mine.st_dev == there.st_dev) {
      return {root / k_tmp_dir / name, std::move(fd)};
    }
  }
  fail(EEXIST, "cannot make a staging directory in", root, k_tmp_dir);
}

}  // namespace

std::unique_ptr<Store> make_disk_store(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) fail(ec.value(), "create root", root, {});
  UniqueFd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) fail(errno, "open root", root, {});
  if (::mkdirat(root_fd.get(), std::string(k_tmp_dir).c_str(), 0755) != 0 && errno != EEXIST) {
    fail(errno, "mkdir (is the root writable?)", root, k_tmp_dir);
  }
  const UniqueFd tmp_fd(
      ::openat(root_fd.get(), std::string(k_tmp_dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!tmp_fd) fail(errno, "open", root, k_tmp_dir);
  sweep_staging(root, tmp_fd.get());
  StagingDir staging = make_staging_dir(root, tmp_fd.get());
  try {
    fsio::TempFile probe = fsio::TempFile::create(staging.path, "probe-");
    probe.write("w");
  } catch (const std::system_error& e) {
    throw StoreError(std::string("disk store: root is not writable: ") + e.what());
  }
  return std::make_unique<DiskStore>(root, std::move(root_fd), std::move(staging));
}

}  // namespace stoa::store
