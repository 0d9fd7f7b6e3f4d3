#pragma once
// Tiles of the transparent log (golang.org/x/mod/sumdb/tlog tile.go): coordinates and paths,
// hashes read out of tile data, and TileHashReader, which serves hashes from tiles after
// authenticating every tile against a trusted tree hash. Differentially tested against x/mod.
//
// A tile of height H at level L >= 0, number N, width W (1 <= W <= 2^H) lists W consecutive
// hashes of level H*L starting at hash N*2^H; W == 2^H is a full tile. Level -1 ("data") holds the
// records themselves: "<record text>\n" for each record, so every record text is followed by a
// blank line.
//
// Paths: "tile/H/L/NNN[.p/W]", L written "data" for -1, N in 3-digit groups with an "x" before
// every group but the last (1234067 -> "x001/x234/067"), ".p/W" only for partial tiles.
// The checksum database uses H = 8.

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/sumdb/result.hpp"
#include "stoa/sumdb/tlog.hpp"

namespace stoa::sumdb {

inline constexpr int k_tile_height = 8;
inline constexpr int k_full_tile_width = 1 << k_tile_height;

struct Tile {
  int h = k_tile_height;      // 1 <= h <= 30
  int l = 0;                  // -1 <= l <= 63; -1 is a data tile
  std::int64_t n = 0;         // 0 <= n
  int w = k_full_tile_width;  // 1 <= w <= 2^h
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 of the synthesized compare
  friend auto operator<=>(const Tile&, const Tile&) = default;
};

// Whether the fields are within the ranges above.
bool valid_tile(const Tile& t);
bool is_full(const Tile& t);

// tlog.Tile.Path. Requires valid_tile(t).
std::string tile_path(const Tile& t);

// tlog.ParseTilePath: only the canonical form is accepted (no leading zeros, an "x" on all but
// the last group, no ".p/W" for a full tile, 1 <= W < 2^H, 1 <= H <= 30). nullopt otherwise.
// Safe on arbitrary bytes.
std::optional<Tile> parse_tile_path(std::string_view path);

// tlog.TileForIndex: the tile of height h (1..30) and least width storing hash `index` (>= 0,
// below 2^62).
Tile tile_for_index(int h, std::int64_t index);

// tlog.HashFromTile: the hash with storage index `index` from the data of tile t (t being the
// tile for that index or a wider one). A Failure when t is invalid, data is shorter than
// t.w hashes, or the index is not in t.
Result<Hash> hash_from_tile(const Tile& t, std::string_view data, std::int64_t index);

// tlog.NewTiles: the tiles of height h to publish when a tree grows from old_size to new_size.
std::vector<Tile> new_tiles(int h, std::int64_t old_size, std::int64_t new_size);

// The tile of the tree of n records that holds t's hashes k levels of tiles up: full, or as
// wide as the tree allows; nullopt when the tree has no such tile (tlog's tileParent).
std::optional<Tile> tile_parent(Tile t, int k, std::int64_t n);

// Where tiles come from (a cache, the server...). Used by TileHashReader.
class TileReader {
 public:
  virtual ~TileReader() = default;
  virtual int height() const = 0;
  // The data of every tile, in order; a Failure (not found, wrong length...) if any is missing.
  // May throw for transport failures.
  virtual Result<std::vector<std::string>> read_tiles(std::span<const Tile> tiles) = 0;
  // Called with tiles read_tiles returned once they are authenticated against the tree.
  virtual void save_tiles(std::span<const Tile> tiles, std::span<const std::string> data) = 0;
};

// tlog.TileHashReader: a HashReader for the tree `tree` that reads tiles from `tiles`, checks the
// tiles covering the whole tree hash against tree.hash and every other tile against its parent
// before returning any hash: every hash it returns is proven to be in the tree. Failures:
// an index outside the tree, a missing tile, "downloaded inconsistent tile".
// Holds a reference to `tiles`; as thread-safe as `tiles` is.
class TileHashReader final : public HashReader {
 public:
  TileHashReader(Tree tree, TileReader& tiles) : m_tree(tree), m_tiles(tiles) {}
  Result<std::vector<Hash>> read_hashes(std::span<const std::int64_t> indexes) override;

 private:
  Tree m_tree;
  TileReader& m_tiles;
};

// A data tile's record texts, in order (views into `data`). nullopt unless `data` is a sequence
// of valid record texts each followed by a blank line. Safe on arbitrary bytes.
std::optional<std::vector<std::string_view>> parse_data_tile(std::string_view data);

// Checks a data tile against the level-0 hash tile with the same number and width (already
// authenticated, e.g. through TileHashReader): as many records as hashes, each record's hash
// equal to its hash. Returns the record texts (views into data_tile).
Result<std::vector<std::string_view>> check_data_tile(std::string_view data_tile,
                                                      std::string_view hash_tile);

}  // namespace stoa::sumdb
