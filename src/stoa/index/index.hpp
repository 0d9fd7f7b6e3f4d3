#pragma once
// The index of stored module versions, shared by replicas: what each version has (hashes, zip
// size), when it was first stored and from which upstream. It feeds /catalog and the /index
// feed. It is written after the store commits, so it may lag the store (a crash between the two,
// an index outage) but never names a file the store does not have; `stoa index rebuild` fills
// the gaps from the store.
//
// Contract for every backend:
// - Failures throw IndexError; an empty answer means no such entries.
// - Thread-safe; several processes may use one index at once.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace stoa::index {

class IndexError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Entry {
  std::string module;   // decoded path, e.g. "github.com/Azure/x"
  std::string version;  // decoded version
  std::string zip_h1;   // "h1:..." or "" when not known
  std::string mod_h1;
  std::int64_t zip_size = -1;  // -1 when not known
  std::int64_t stored_ns = 0;  // Unix time in ns when the version was first recorded
  std::string origin;          // the upstream it came from ("" when unknown)
  friend bool operator==(const Entry&, const Entry&) = default;
};

// When stoa first saw a version of a module (the start of its minimum release age).
struct Seen {
  std::string version;
  std::int64_t seen_ns = 0;  // Unix time in ns
  friend bool operator==(const Seen&, const Seen&) = default;
};

class Index {
 public:
  virtual ~Index() = default;
  // Adds the version, or completes it: known hashes, size and origin are kept unless empty
  // (-1) in the index; stored_ns is that of the first record.
  virtual void record(const Entry& e) = 0;
  // Versions in (stored_ns, module, version) order (modules and versions bytewise) strictly
  // after the triple (since_ns, after_module, after_version): with after_module and
  // after_version "", every version first stored at or after `since_ns`.
  virtual std::vector<Entry> since(std::int64_t since_ns, const std::string& after_module,
                                   const std::string& after_version, std::size_t limit) = 0;
  std::vector<Entry> since(std::int64_t since_ns, std::size_t limit) {
    return since(since_ns, "", "", limit);
  }
  // Records that stoa saw each of `versions` of `module` at `seen_ns`; a version already
  // recorded keeps its earlier time (write-once: a later sighting never makes a version younger).
  // Kept apart from the stored versions (table stoa_first_seen) and never listed by since()/page():
  // every module's sightings are recorded, private ones too, and none is published.
  virtual void record_seen(const std::string& module, const std::vector<std::string>& versions,
                           std::int64_t seen_ns) = 0;
  // When stoa first saw each known version of `module`: the earlier of its record_seen time and
  // the time it was first stored (record()), so a version stored before the first sighting was
  // recorded keeps its age. Unordered; empty when none is known.
  virtual std::vector<Seen> seen(const std::string& module) = 0;
  // Versions ordered by (module, version) bytewise, strictly after the given pair ("", "" for
  // the start), leaving out the first `skip` of them.
  virtual std::vector<Entry> page(const std::string& after_module, const std::string& after_version,
                                  std::size_t limit, std::size_t skip) = 0;
  std::vector<Entry> page(const std::string& after_module, const std::string& after_version,
                          std::size_t limit) {
    return page(after_module, after_version, limit, 0);
  }
};

// A SQLite file (created if missing; WAL, busy timeout), or ":memory:".
std::unique_ptr<Index> make_sqlite_index(const std::string& file);
// A PostgreSQL database (libpq URI or key=value string); the table is created if missing, at the
// first call the database answers (an unreachable database throws from the calls, not here).
std::unique_ptr<Index> make_postgres_index(const std::string& url);

}  // namespace stoa::index
