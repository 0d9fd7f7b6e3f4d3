#include "stoa/index/visible.hpp"

#include <algorithm>

namespace stoa::index {
namespace {

// Batches start at what one page needs (most entries are usually visible: one query) and grow
// while entries are being left out.
constexpr std::size_t k_max_batch = 10'000;

std::size_t next_batch(std::size_t batch) { return std::min(batch * 4, k_max_batch); }

}  // namespace

FeedPage visible_since(Index& idx, std::int64_t since_ns, std::size_t limit, const Visible& visible,
                       std::size_t scan_max) {
  FeedPage out;
  if (limit == 0) return out;
  scan_max = std::max<std::size_t>(scan_max, 1);
  std::int64_t after_ns = since_ns;
  std::string after_module, after_version;  // "", "": from since_ns inclusive
  std::size_t read = 0;
  std::size_t batch = std::min(limit, k_max_batch);
  for (;;) {
    // One row past the bound, to tell "cut" from "the end".
    const std::size_t want = std::min(batch, scan_max + 1 - read);
    const auto rows = idx.since(after_ns, after_module, after_version, want);
    for (const auto& e : rows) {
      if (read == scan_max) {
        out.cut = true;
        return out;
      }
      ++read;
      if (visible(e)) {
        out.entries.push_back(e);
        if (out.entries.size() == limit) return out;
      }
    }
    if (rows.size() < want) return out;  // the end of the index
    after_ns = rows.back().stored_ns;
    after_module = rows.back().module;
    after_version = rows.back().version;
    batch = next_batch(batch);
  }
}

CatalogPage visible_page(Index& idx, const Cursor& from, std::size_t limit, const Visible& visible,
                         std::size_t scan_max) {
  CatalogPage out;
  if (limit == 0) return out;
  scan_max = std::max<std::size_t>(scan_max, 1);
  // The first query starts at the cursor (after its skip); the next ones after the last entry
  // read.
  std::string after_module = from.module, after_version = from.version;
  std::size_t skip = from.skip;
  std::size_t read = 0;
  std::size_t batch = std::min(limit + 1, k_max_batch);
  for (;;) {
    // One row past the bound, to tell "cut" from "the end".
    const std::size_t want = std::min(batch, scan_max + 1 - read);
    const auto rows = idx.page(after_module, after_version, want, skip);
    for (const auto& e : rows) {
      if (read == scan_max) {
        if (!out.entries.empty()) {
          out.next = Cursor{out.entries.back().module, out.entries.back().version, 0};
        } else {
          // Nothing visible: past what was read, by count, since naming it would show it.
          out.next = Cursor{from.module, from.version, from.skip + read};
        }
        return out;
      }
      ++read;
      if (!visible(e)) continue;
      if (out.entries.size() == limit) {  // one visible entry more: there is a next page
        out.next = Cursor{out.entries.back().module, out.entries.back().version, 0};
        return out;
      }
      out.entries.push_back(e);
    }
    if (rows.size() < want) return out;  // the end of the index
    after_module = rows.back().module;
    after_version = rows.back().version;
    skip = 0;
    batch = next_batch(batch);
  }
}

}  // namespace stoa::index
