#include "stoa/vulndb/repository.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <system_error>

#include "stoa/fsio/temp_file.hpp"
#include "stoa/fsio/unique_fd.hpp"
#include "stoa/vulndb/reader.hpp"

namespace stoa::vulndb {
namespace {

namespace fs = std::filesystem;

std::system_error sys_error(const std::string& what, const fs::path& p) {
  return {errno, std::generic_category(), what + " " + p.string()};
}

// An exclusive flock on <dir>/lock for the life of the object.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir) {
    const fs::path p = dir / "lock";
    m_fd.reset(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!m_fd) throw sys_error("cannot open", p);
    while (::flock(m_fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw sys_error("cannot lock", p);
    }
  }

 private:
  fsio::UniqueFd m_fd;  // closing it releases the lock
};

void write_file(const fs::path& p, std::string_view bytes) {
  const fsio::UniqueFd fd(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) throw sys_error("cannot create", p);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("cannot write", p);
    done += static_cast<std::size_t>(n);
  }
}

std::string fresh_name() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::to_string(ns) + "-" + std::to_string(::getpid());
}

}  // namespace

std::string Repository::current_name() const {
  std::error_code ec;
  const fs::path target = fs::read_symlink(m_dir / "current", ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return "";
    throw std::system_error(ec, "cannot read " + (m_dir / "current").string());
  }
  return target.filename().string();
}

Repository::Loaded Repository::load(const Limits& limits) const {
  Loaded out;
  out.name = current_name();
  if (out.name.empty()) return out;
  const fs::path p = m_dir / "snapshots" / out.name;
  ReadResult r = read_database(p, limits);
  if (!r.docs)
    throw std::runtime_error("the vulnerability database " + p.string() + ": " + r.error);
  Built b = build_snapshot(std::move(*r.docs), nullptr, limits);
  if (!b.snapshot) {
    throw std::runtime_error("the vulnerability database " + p.string() + ": " + b.error);
  }
  out.snapshot = std::move(b.snapshot);
  return out;
}

std::shared_ptr<const Snapshot> Repository::import(const fs::path& source, const Limits& limits,
                                                   std::string& error) const {
  ReadResult r = read_database(source, limits);
  if (!r.docs) {
    error = r.error;
    return nullptr;
  }
  return install(std::move(*r.docs), limits, error);
}

std::shared_ptr<const Snapshot> Repository::install(Documents docs, const Limits& limits,
                                                    std::string& error) const {
  fs::create_directories(m_dir / "snapshots");
  const DirLock lock(m_dir);
  return install_locked(std::move(docs), limits, error);
}

std::shared_ptr<const Snapshot> Repository::install_locked(Documents docs, const Limits& limits,
                                                           std::string& error) const {
  const Loaded previous = load(limits);
  Built b = build_snapshot(std::move(docs), previous.snapshot.get(), limits);
  if (!b.snapshot) {
    error = b.error;
    return nullptr;
  }
  const std::string name = fresh_name();
  write(*b.snapshot, name);

  // Switch: a new link renamed over `current`.
  const fs::path link = m_dir / ("current.tmp-" + name);
  fs::create_symlink(fs::path("snapshots") / name, link);
  fs::rename(link, m_dir / "current");
  fsio::sync_directory(m_dir);

  // Keep the new snapshot and the one it replaced; drop the rest (older ones, and what a crash
  // left half-written).
  for (const auto& e : fs::directory_iterator(m_dir / "snapshots")) {
    const std::string n = e.path().filename().string();
    if (n == name || n == previous.name) continue;
    std::error_code ec;
    fs::remove_all(e.path(), ec);  // best effort: a leftover is harmless
  }
  return std::move(b.snapshot);
}

void Repository::write(const Snapshot& s, const std::string& name) const {
  const fs::path snapshots = m_dir / "snapshots";
  const fs::path tmp = snapshots / (".tmp-" + name);
  fs::create_directories(tmp / "index");
  fs::create_directories(tmp / "ID");
  for (const auto& [doc, body] : s.documents()) write_file(tmp / (doc + ".json"), body);
  // Thousands of small files: one syncfs makes them and their directories durable before the
  // rename, instead of an fsync each.
  const fsio::UniqueFd dirfd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd || ::syncfs(dirfd.get()) != 0) throw sys_error("cannot sync", tmp);
  fs::rename(tmp, snapshots / name);
  fsio::sync_directory(snapshots);
}

}  // namespace stoa::vulndb
