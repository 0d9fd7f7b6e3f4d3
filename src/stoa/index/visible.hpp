#pragma once
// Pages of the index as one client may see them: the /index feed and /catalog with every entry
// the client may not see left out. Leaving entries out never shortens a page silently: a page
// holds `limit` entries unless the index has no more, so a client that stops at a short page
// stops only at the end.
//
// Reading is bounded: one call reads at most `scan_max` entries from the index. When that bound
// is reached first (a long run of entries the client may not see), the catalog still gives a
// `Next` cursor that resumes after what was read without naming any hidden entry (a skip count
// after the last visible position); the feed, whose only resume point is the last Timestamp
// shown, reports `cut` instead (see FeedPage).
//
// Throws IndexError as the index does. Thread-safe as the index is; `visible` is called on the
// calling thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "stoa/index/feed.hpp"
#include "stoa/index/index.hpp"

namespace stoa::index {

// Whether the client may see an entry. Must not throw.
using Visible = std::function<bool(const Entry&)>;

inline constexpr std::size_t k_scan_max = 100'000;

struct FeedPage {
  std::vector<Entry> entries;  // visible ones, in feed order, at most `limit`
  // `scan_max` entries were read before the page was full or the index ended: there may be
  // more after them that the feed format cannot point past (entries is then short, maybe empty).
  bool cut = false;
};

// The feed from `since_ns` (inclusive), as Index::since orders it.
FeedPage visible_since(Index& idx, std::int64_t since_ns, std::size_t limit, const Visible& visible,
                       std::size_t scan_max = k_scan_max);

struct CatalogPage {
  std::vector<Entry> entries;  // visible ones, in catalog order, at most `limit`
  // Where the next page starts, when there may be more: after the last entry of this page, or,
  // when nothing visible was read before the bound, after `from` and everything read since.
  std::optional<Cursor> next;
};

// The catalog page that starts at `from`.
CatalogPage visible_page(Index& idx, const Cursor& from, std::size_t limit, const Visible& visible,
                         std::size_t scan_max = k_scan_max);

}  // namespace stoa::index
