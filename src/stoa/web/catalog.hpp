#pragma once
// What the pages know of the index, held in memory: every recorded version grouped by module,
// the modules sorted bytewise (prefix search is a binary search, substring search one pass over
// the module names), the most recent additions, and the totals. Built from the index in one
// bounded read (`load`), never per keystroke: a search reads only this, never the store or the
// index.
//
// Immutable once built; share it as a shared_ptr<const Catalog> (thread-safe to read).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/index/index.hpp"

namespace stoa::web {

struct ModuleSummary {
  std::string path;
  std::string latest;  // the highest version in semver order (a pseudo-version when no other)
  std::size_t versions = 0;
  std::int64_t last_stored_ns = 0;
  std::int64_t bytes = 0;  // of the zips whose size is known
};

struct SearchPage {
  std::vector<const ModuleSummary*> modules;  // into the catalog; at most the page size
  std::size_t total = 0;                      // every match the client may see
  bool more = false;                          // a next page exists
};

class Catalog {
 public:
  // Whether the client may see a module at all (the protocol's access rule). Must not throw.
  using Visible = std::function<bool(const ModuleSummary&)>;

  // Reads the whole index in pages of `batch` (at most `max_entries` entries; `truncated()`
  // then says so). Throws index::IndexError.
  static std::shared_ptr<const Catalog> load(index::Index& idx, std::size_t max_entries = 2'000'000,
                                             std::size_t batch = 5'000);
  // From entries in any order (tests, and load's result).
  explicit Catalog(std::vector<index::Entry> entries, bool truncated = false);

  const std::vector<ModuleSummary>& modules() const { return m_modules; }
  // The recorded versions of `module`, in semver order, newest first; empty when none.
  std::vector<const index::Entry*> versions(std::string_view module) const;
  // The `limit` versions stored last, newest first, of modules the client may see.
  std::vector<const index::Entry*> recent(std::size_t limit, const Visible& visible) const;

  // Modules whose path starts with `query` (whatever the ASCII letter case) first, then those
  // that contain it elsewhere, each group in path order; page `page` (from 0) of `per_page`.
  // An empty query matches every module. Bounded: one pass over the module names.
  SearchPage search(std::string_view query, std::size_t page, std::size_t per_page,
                    const Visible& visible) const;

  // The last entry in the index's feed order (stored_ns, module, version): where
  // Index::since() resumes to find what was recorded after this catalog. nullptr when empty.
  const index::Entry* newest() const;
  // This catalog with `more` added; an entry for a module and version already here replaces it.
  std::shared_ptr<const Catalog> with(std::vector<index::Entry> more) const;

  std::size_t version_count() const { return m_entries.size(); }
  std::int64_t total_bytes() const { return m_bytes; }
  bool truncated() const { return m_truncated; }

 private:
  std::vector<index::Entry> m_entries;   // sorted by (module, version) bytewise
  std::vector<ModuleSummary> m_modules;  // sorted by path
  std::vector<std::size_t> m_first;      // m_modules[i]'s first entry in m_entries
  std::vector<std::string> m_folded;     // m_modules[i].path, ASCII lowercase
  std::vector<std::size_t> m_by_time;    // entry indexes, newest stored first
  std::int64_t m_bytes = 0;
  bool m_truncated = false;
};

}  // namespace stoa::web
