#pragma once
// The vulnerability database on disk: a directory of snapshots, each a complete database in its
// published layout (.json files), and a `current` symbolic link naming the one in force.
//
//   <dir>/current -> snapshots/<name>
//   <dir>/snapshots/<name>/index/{db,modules,vulns}.json, ID/<id>.json
//   <dir>/lock    (flock'ed while a snapshot is installed)
//
// A new snapshot is written under a temporary name, synced (one syncfs), renamed into snapshots/,
// and only then `current` is switched by renaming a new link over it (then the directory is
// fsynced): a reader sees the old database or the new one, never a mix, and a crash at any point
// leaves the old one in force. The snapshot replaced is kept (one step back by hand); older ones
// are removed. Several processes may install at once (they take the lock in turn); readers take no
// lock.

#include <filesystem>
#include <memory>
#include <string>

#include "stoa/vulndb/snapshot.hpp"

namespace stoa::vulndb {

class Repository {
 public:
  explicit Repository(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  const std::filesystem::path& dir() const { return m_dir; }

  // The name `current` points at ("" when none is installed). Cheap (one readlink).
  std::string current_name() const;

  struct Loaded {
    std::shared_ptr<const Snapshot> snapshot;  // null when none is installed
    std::string name;
  };
  // Reads and verifies the snapshot in force. Throws std::runtime_error when it is there but
  // does not verify (a damaged disk), std::system_error when it cannot be read.
  Loaded load(const Limits& limits) const;

  // Verifies the database at `source` (a zip or a directory, reader.hpp) against the snapshot
  // in force and installs it: the snapshot installed, or null with `error` set to why it was
  // refused (nothing changed). Throws std::system_error when the repository cannot be written
  // (nothing changed either).
  std::shared_ptr<const Snapshot> import(const std::filesystem::path& source, const Limits& limits,
                                         std::string& error) const;

  // Installs `docs` the same way.
  std::shared_ptr<const Snapshot> install(Documents docs, const Limits& limits,
                                          std::string& error) const;

 private:
  std::shared_ptr<const Snapshot> install_locked(Documents docs, const Limits& limits,
                                                 std::string& error) const;
  void write(const Snapshot& s, const std::string& name) const;

  std::filesystem::path m_dir;
};

}  // namespace stoa::vulndb
