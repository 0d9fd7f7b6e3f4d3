#pragma once
// One verified, immutable copy of the Go vulnerability database, as served at /vulndb/: every
// document in its .json form (the bytes it came with) and its .json.gz form (made here), with
// the entries as read (osv.hpp). Built only through build_snapshot(), which refuses a database
// that is malformed, inconsistent, over its limits, or older than the snapshot it replaces.
// Immutable once built: share it as std::shared_ptr<const Snapshot> across threads.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/module/version_list.hpp"
#include "stoa/vulndb/osv.hpp"

namespace stoa::vulndb {

// Bounds on a database read from anywhere (a zip, a directory, a source URL).
struct Limits {
  std::size_t max_entry = 4 << 20;               // one ID/<id>.json, decompressed
  std::size_t max_index = 128 << 20;             // one index/*.json, decompressed
  std::size_t max_total = std::size_t{1} << 30;  // every document, decompressed
  std::size_t max_entries = 100'000;             // ID/ files
  std::size_t max_archive = 512 << 20;           // a zip file as read
};

// The documents of a database by their name in the layout, without extension: "index/db",
// "index/modules", "index/vulns", "ID/<id>".
using Documents = std::map<std::string, std::string, std::less<>>;

class Snapshot {
 public:
  struct File {
    std::string json;
    std::string gz;
    std::string etag_json;  // quoted strong ETags
    std::string etag_gz;
  };

  // The document named as in Documents, or nullptr.
  const File* find(std::string_view name) const;
  module::Instant modified() const { return m_modified; }
  const std::vector<Entry>& entries() const { return m_entries; }  // sorted by id
  std::size_t size() const { return m_files.size(); }
  // Every document's .json bytes by name (what install() writes).
  Documents documents() const;

 private:
  friend struct SnapshotBuilder;
  module::Instant m_modified;
  std::map<std::string, File, std::less<>> m_files;
  std::vector<Entry> m_entries;
};

struct Built {
  std::shared_ptr<const Snapshot> snapshot;  // null when refused
  std::string error;                         // why it was refused
};

// Verifies `docs` as a whole and builds the snapshot. Refused (with the first reason found):
// a missing index, a document that does not parse (osv.hpp) or is over `limits`, an entry whose
// id differs from its file name, an index naming an entry that is not there or with another
// modified time, an entry vulns.json does not list, an index entry for a module the entry does
// not affect, an entry modified after db.json's time; and, against `previous` (the snapshot in
// force, when there is one), a database older than it or an entry whose modified time went
// backwards (a rollback). Pure; never throws but std::bad_alloc.
Built build_snapshot(Documents docs, const Snapshot* previous, const Limits& limits);

}  // namespace stoa::vulndb
