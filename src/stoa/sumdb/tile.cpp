#include "stoa/sumdb/tile.hpp"

#include <algorithm>
#include <limits>
#include <map>

#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

constexpr std::int64_t k_path_base = 1000;

struct Located {
  Tile tile;
  std::size_t start;  // byte range of the hashes that make up the requested one
  std::size_t end;
};

// tlog.tileForIndex: the tile and the byte range whose tile_hash is hash `index`.
Located locate(int h, std::int64_t index) {
  auto [level, n] = split_stored_hash_index(index);
  Tile t;
  t.h = h;
  t.l = level / h;
  level -= t.l * h;  // level within the tile
  t.n = (n << level) >> h;
  n -= (t.n << h) >> level;  // n within the tile, at that level
  t.w = static_cast<int>((n + 1) << level);
  return {t, static_cast<std::size_t>(n << level) * k_hash_size,
          static_cast<std::size_t>((n + 1) << level) * k_hash_size};
}

// The subtree hash of the 2^k hashes in data.
Hash tile_hash(std::string_view data) {
  if (data.size() == k_hash_size) {
    Hash h{};
    std::copy(data.begin(), data.end(), h.begin());
    return h;
  }
  const std::size_t half = data.size() / 2;
  return node_hash(tile_hash(data.substr(0, half)), tile_hash(data.substr(half)));
}

// A decimal path element within [0, limit]: no sign, no leading zero, not empty.
std::optional<std::int64_t> parse_element(std::string_view s, std::int64_t limit) {
  const auto v = detail::parse_canonical_uint(s);
  if (!v || *v > limit) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

std::string three_digits(std::int64_t v) {
  std::string s = std::to_string(v);
  return std::string(3 - s.size(), '0') + s;
}

}  // namespace

bool valid_tile(const Tile& t) {
  return t.h >= 1 && t.h <= 30 && t.l >= -1 && t.l <= 63 && t.n >= 0 && t.w >= 1 &&
         t.w <= (1 << t.h);
}

bool is_full(const Tile& t) { return t.w == (1 << t.h); }

std::string tile_path(const Tile& t) {
  std::int64_t n = t.n;
  std::string n_str = three_digits(n % k_path_base);
  while (n >= k_path_base) {
    n /= k_path_base;
    n_str = "x" + three_digits(n % k_path_base) + "/" + n_str;
  }
  std::string path = "tile/" + std::to_string(t.h) + "/" +
                     (t.l == -1 ? std::string("data") : std::to_string(t.l)) + "/" + n_str;
  if (!is_full(t)) path += ".p/" + std::to_string(t.w);
  return path;
}

std::optional<Tile> parse_tile_path(std::string_view path) {
  auto f = split(path, '/');
  if (f.size() < 4 || f[0] != "tile") return std::nullopt;
  Tile t;
  const auto h = parse_element(f[1], 30);
  if (!h || *h < 1) return std::nullopt;
  t.h = static_cast<int>(*h);
  if (f[2] == "data") {
    t.l = -1;
  } else {
    const auto l = parse_element(f[2], 63);
    if (!l) return std::nullopt;
    t.l = static_cast<int>(*l);
  }
  t.w = 1 << t.h;
  if (std::string_view& dot_p = f[f.size() - 2];
      f.size() >= 5 && dot_p.size() >= 2 && dot_p.substr(dot_p.size() - 2) == ".p") {
    const auto w = parse_element(f.back(), (std::int64_t{1} << t.h) - 1);
    if (!w || *w < 1) return std::nullopt;
    t.w = static_cast<int>(*w);
    dot_p.remove_suffix(2);
    f.pop_back();
  }
  // N: "x" + three digits for every group but the last, which is three digits.
  std::int64_t n = 0;
  for (std::size_t i = 3; i < f.size(); ++i) {
    std::string_view g = f[i];
    const bool last = i + 1 == f.size();
    if (!last) {
      if (g.empty() || g[0] != 'x') return std::nullopt;
      g.remove_prefix(1);
    }
    if (g.size() != 3 ||
        !std::all_of(g.begin(), g.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    const std::int64_t d = (g[0] - '0') * 100 + (g[1] - '0') * 10 + (g[2] - '0');
    // The first group carries no leading zero group ("x000/..." is not canonical).
    if (i == 3 && !last && d == 0) return std::nullopt;
    if (n > (std::numeric_limits<std::int64_t>::max() - d) / k_path_base) return std::nullopt;
    n = n * k_path_base + d;
  }
  t.n = n;
  return t;
}

Tile tile_for_index(int h, std::int64_t index) { return locate(h, index).tile; }

Result<Hash> hash_from_tile(const Tile& t, std::string_view data, std::int64_t index) {
  if (!valid_tile(t) || t.l < 0) return Failure{"invalid tile"};
  if (index < 0 || index >= (std::int64_t{1} << 62)) return Failure{"invalid hash index"};
  if (data.size() < static_cast<std::size_t>(t.w) * k_hash_size) {
    return Failure{"data len " + std::to_string(data.size()) + " too short for tile " +
                   tile_path(t)};
  }
  const auto where = locate(t.h, index);
  if (t.l != where.tile.l || t.n != where.tile.n || t.w < where.tile.w) {
    return Failure{"index " + std::to_string(index) + " is in " + tile_path(where.tile) + " not " +
                   tile_path(t)};
  }
  return tile_hash(data.substr(where.start, where.end - where.start));
}

std::vector<Tile> new_tiles(int h, std::int64_t old_size, std::int64_t new_size) {
  std::vector<Tile> tiles;
  for (int level = 0; level * h < 63 && (new_size >> (h * level)) > 0; ++level) {
    const std::int64_t old_n = old_size >> (h * level);
    const std::int64_t new_n = new_size >> (h * level);
    if (old_n == new_n) continue;
    for (std::int64_t n = old_n >> h; n < (new_n >> h); ++n) {
      tiles.push_back(Tile{h, level, n, 1 << h});
    }
    const std::int64_t n = new_n >> h;
    if (const auto w = static_cast<int>(new_n - (n << h)); w > 0) {
      tiles.push_back(Tile{h, level, n, w});
    }
  }
  return tiles;
}

std::optional<Tile> tile_parent(Tile t, int k, std::int64_t n) {
  t.l += k;
  if (t.l * t.h >= 63) return std::nullopt;
  t.n >>= k * t.h;
  t.w = 1 << t.h;
  const std::int64_t max = n >> (t.l * t.h);
  if ((t.n << t.h) + t.w >= max) {
    if ((t.n << t.h) >= max) return std::nullopt;
    t.w = static_cast<int>(max - (t.n << t.h));
  }
  return t;
}

Result<std::vector<Hash>> TileHashReader::read_hashes(std::span<const std::int64_t> indexes) {
  if (indexes.empty()) return std::vector<Hash>{};
  const std::int64_t size = m_tree.n;
  if (size <= 0 || size > k_max_tree_size) return Failure{"indexes not in tree"};
  const int h = m_tiles.height();
  if (h < 1 || h > 30) return Failure{"invalid tile height"};

  std::map<Tile, std::size_t> order;  // order[tiles[i]] == i
  std::vector<Tile> tiles;
  const auto add = [&](const Tile& t) {
    order.emplace(t, tiles.size());
    tiles.push_back(t);
    return tiles.size() - 1;
  };

  // The tiles needed to recompute the tree hash: if it matches, they are authenticated.
  std::vector<std::int64_t> stx;
  for (std::int64_t lo = 0; lo < size;) {
    int level = 0;
    while ((std::int64_t{1} << (level + 1)) < size - lo + 1) ++level;
    stx.push_back(stored_hash_index(level, lo >> level));
    lo += std::int64_t{1} << level;
  }
  std::vector<std::size_t> stx_order(stx.size());
  for (std::size_t i = 0; i < stx.size(); ++i) {
    const auto t = tile_parent(tile_for_index(h, stx[i]), 0, size);
    if (!t) return Failure{"bad math in TileHashReader: no tile for tree hash"};
    const auto it = order.find(*t);
    stx_order[i] = it != order.end() ? it->second : add(*t);
  }

  // The tiles holding the requested hashes, each with the parents needed to authenticate it,
  // parents listed before children.
  const std::int64_t end = stored_hash_index(0, size);
  std::vector<std::size_t> index_order(indexes.size());
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    const std::int64_t x = indexes[i];
    if (x < 0 || x >= end) return Failure{"indexes not in tree"};
    const Tile tile = tile_for_index(h, x);
    int k = 0;
    for (;; ++k) {
      if (k > 64) return Failure{"bad math in TileHashReader: no authenticated parent"};
      const auto p = tile_parent(tile, k, size);
      if (!p) continue;
      if (const auto it = order.find(*p); it != order.end()) {
        if (k == 0) index_order[i] = it->second;
        break;
      }
    }
    for (--k; k >= 0; --k) {
      const auto p = tile_parent(tile, k, size);
      // Only full tiles have parents; this one has a parent, so it must be full.
      if (!p || !is_full(*p)) return Failure{"bad math in TileHashReader: partial child"};
      const std::size_t j = add(*p);
      if (k == 0) index_order[i] = j;
    }
  }

  auto fetched = m_tiles.read_tiles(tiles);
  if (!fetched) return fetched.failure();
  const std::vector<std::string>& data = *fetched;
  if (data.size() != tiles.size()) return Failure{"TileReader returned a bad result"};
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    if (data[i].size() != static_cast<std::size_t>(tiles[i].w) * k_hash_size) {
      return Failure{"TileReader returned bad data for " + tile_path(tiles[i]) + " (" +
                     std::to_string(data[i].size()) + " bytes)"};
    }
  }

  // Authenticate the tiles of the tree hash against it, smallest subtree first.
  Hash th{};
  for (std::size_t i = stx.size(); i-- > 0;) {
    const std::size_t j = stx_order[i];
    const auto sh = hash_from_tile(tiles[j], data[j], stx[i]);
    if (!sh) return sh.failure();
    th = i + 1 == stx.size() ? *sh : node_hash(*sh, th);
  }
  if (th != m_tree.hash) return Failure{"downloaded inconsistent tile"};

  // Then every other tile against its (already authenticated) parent.
  for (std::size_t i = stx_order.back() + 1; i < tiles.size(); ++i) {
    const auto p = tile_parent(tiles[i], 1, size);
    const auto it = p ? order.find(*p) : order.end();
    if (it == order.end()) return Failure{"bad math in TileHashReader: lost parent"};
    const auto ph =
        hash_from_tile(*p, data[it->second], stored_hash_index(p->l * p->h, tiles[i].n));
    if (!ph) return ph.failure();
    if (*ph != tile_hash(data[i])) return Failure{"downloaded inconsistent tile"};
  }

  m_tiles.save_tiles(tiles, data);

  std::vector<Hash> hashes;
  hashes.reserve(indexes.size());
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    const std::size_t j = index_order[i];
    const auto hh = hash_from_tile(tiles[j], data[j], indexes[i]);
    if (!hh) return hh.failure();
    hashes.push_back(*hh);
  }
  return hashes;
}

std::optional<std::vector<std::string_view>> parse_data_tile(std::string_view data) {
  std::vector<std::string_view> records;
  while (!data.empty()) {
    const auto blank = data.find("\n\n");
    if (blank == std::string_view::npos) return std::nullopt;
    const std::string_view text = data.substr(0, blank + 1);
    if (!is_valid_record_text(text)) return std::nullopt;
    records.push_back(text);
    data.remove_prefix(blank + 2);
  }
  return records;
}

Result<std::vector<std::string_view>> check_data_tile(std::string_view data_tile,
                                                      std::string_view hash_tile) {
  auto records = parse_data_tile(data_tile);
  if (!records) return Failure{"malformed data tile"};
  if (hash_tile.size() % k_hash_size != 0 || records->size() != hash_tile.size() / k_hash_size) {
    return Failure{"data tile has " + std::to_string(records->size()) + " records, hash tile " +
                   std::to_string(hash_tile.size() / k_hash_size) + " hashes"};
  }
  for (std::size_t i = 0; i < records->size(); ++i) {
    const Hash h = record_hash((*records)[i]);
    if (!std::equal(h.begin(), h.end(),
                    hash_tile.begin() + static_cast<std::ptrdiff_t>(i * k_hash_size),
                    [](std::uint8_t a, char b) { return a == static_cast<std::uint8_t>(b); })) {
      return Failure{"data tile record " + std::to_string(i) + " does not match its hash"};
    }
  }
  return std::move(*records);
}

}  // namespace stoa::sumdb
