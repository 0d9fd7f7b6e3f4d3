#include "stoa/sumdb/tile.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "stoa/sumdb/testing/memory_log.hpp"
#include "stoa/sumdb/text.hpp"

namespace stoa::sumdb {
namespace {

using testing::MemoryLog;

TEST(TilePath, FormatAndParseTable) {
  struct Case {
    Tile tile;
    std::string_view path;
  };
  const Case cases[] = {
      {{8, 0, 0, 256}, "tile/8/0/000"},
      {{8, 0, 0, 1}, "tile/8/0/000.p/1"},
      {{8, 0, 7, 255}, "tile/8/0/007.p/255"},
      {{8, 1, 999, 256}, "tile/8/1/999"},
      {{8, 0, 1000, 256}, "tile/8/0/x001/000"},
      {{8, 2, 1234067, 13}, "tile/8/2/x001/x234/067.p/13"},
      {{3, 4, 1234067, 1}, "tile/3/4/x001/x234/067.p/1"},
      {{3, 4, 1234067, 8}, "tile/3/4/x001/x234/067"},
      {{8, -1, 0, 256}, "tile/8/data/000"},
      {{8, -1, 1001, 5}, "tile/8/data/x001/001.p/5"},
      {{1, 63, 0, 1}, "tile/1/63/000.p/1"},
      {{30, 0, 5, 1 << 30}, "tile/30/0/005"},
      {{8, 0, 9223372036854775807, 256}, "tile/8/0/x009/x223/x372/x036/x854/x775/807"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(tile_path(c.tile), c.path);
    const auto t = parse_tile_path(c.path);
    ASSERT_TRUE(t) << c.path;
    EXPECT_EQ(*t, c.tile) << c.path;
  }
}

TEST(TilePath, RejectsNonCanonicalPaths) {
  const std::string_view bad[] = {
      "",
      "tile",
      "tile/8/0",
      "tile/8/0/",
      "tiles/8/0/000",
      "/tile/8/0/000",
      "tile/8/0/000/",
      "tile/8/0/00",  // not three digits
      "tile/8/0/0000",
      "tile/8/0/1",
      "tile/8/0/x000/000",  // leading zero group
      "tile/8/0/x000/001",
      "tile/8/0/001/000",    // missing x
      "tile/8/0/x001/x000",  // x on the last group
      "tile/8/0/x001",
      "tile/8/0/xx01/000",
      "tile/8/0/x1/000",
      "tile/8/0/x-01/000",
      "tile/8/0/+01",
      "tile/8/0/-01",
      "tile/8/0/000.p/0",    // W = 0
      "tile/8/0/000.p/256",  // W = 2^H is written without .p
      "tile/8/0/000.p/300",
      "tile/8/0/000.p/07",  // leading zero
      "tile/8/0/000.p/+7",
      "tile/8/0/000.p/",
      "tile/8/0/000.p",
      "tile/8/0/000.p/5/6",
      "tile/8/0/.p/5",
      "tile/8/0/000.q/5",
      "tile/8/0/000.p.p/5",
      "tile/08/0/000",
      "tile/+8/0/000",
      "tile/0/0/000",
      "tile/31/0/000",
      "tile/-1/0/000",
      "tile/8/-1/000",
      "tile/8/00/000",
      "tile/8/01/000",
      "tile/8/64/000",  // levels stop at 63 (x/mod accepts any level; nothing can use it)
      "tile/8/Data/000",
      "tile/8/data.p/5",
      "tile/8/0.p/5",
      "tile/8/0/x009/x223/x372/x036/x854/x775/808",  // overflows int64
      "tile/8/0/x999/x999/x999/x999/x999/x999/x999/999",
      "tile/8/0//000",
      "tile//0/000",
      "tile/8/0/000\n",
      "tile/8/0/ 000",
      std::string_view("tile/8/0/000\0", 13),
  };
  for (const auto path : bad) EXPECT_FALSE(parse_tile_path(path)) << path;
}

TEST(TilePath, ParserSurvivesGarbage) {
  std::mt19937 rng(99);
  const std::string alphabet = "tile/0123456789x.pdata/\xff";
  for (int i = 0; i < 50000; ++i) {
    std::string s = i % 3 == 0 ? "tile/8/" : "";
    const std::size_t len = rng() % 40;
    for (std::size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    if (const auto t = parse_tile_path(s)) {
      ASSERT_TRUE(valid_tile(*t)) << s;
      ASSERT_EQ(tile_path(*t), s);
    }
  }
}

TEST(Tiles, ForIndexAndNewTiles) {
  // A few coordinates checked by hand: level-0 hashes are record hashes.
  EXPECT_EQ(tile_for_index(8, stored_hash_index(0, 0)), (Tile{8, 0, 0, 1}));
  EXPECT_EQ(tile_for_index(8, stored_hash_index(0, 255)), (Tile{8, 0, 0, 256}));
  EXPECT_EQ(tile_for_index(8, stored_hash_index(0, 256)), (Tile{8, 0, 1, 1}));
  EXPECT_EQ(tile_for_index(8, stored_hash_index(8, 0)), (Tile{8, 1, 0, 1}));
  EXPECT_EQ(tile_for_index(8, stored_hash_index(1, 0)), (Tile{8, 0, 0, 2}));
  const auto tiles = new_tiles(8, 0, 70000);
  std::map<int, int> per_level;
  for (const auto& t : tiles) ++per_level[t.l];
  EXPECT_EQ(per_level[0], 274);  // 273 full + 1 partial
  EXPECT_EQ(per_level[1], 2);    // 1 full + 1 partial
  EXPECT_EQ(per_level[2], 1);
  EXPECT_TRUE(new_tiles(8, 5, 5).empty());
  EXPECT_EQ(tile_parent(Tile{8, 0, 5, 256}, 1, 70000), (Tile{8, 1, 0, 256}));
  EXPECT_EQ(tile_parent(Tile{8, 0, 300, 256}, 1, 70000), (Tile{8, 1, 1, 17}));
  EXPECT_EQ(tile_parent(Tile{8, 0, 300, 256}, 3, 70000), std::nullopt);
}

// Serves the tiles of a MemoryLog; can damage one tile or withhold one.
class LogTiles final : public TileReader {
 public:
  LogTiles(MemoryLog& log, int h) : m_log(log), m_h(h) {}
  int height() const override { return m_h; }
  Result<std::vector<std::string>> read_tiles(std::span<const Tile> tiles) override {
    std::vector<std::string> out;
    for (const auto& t : tiles) {
      const std::string path = tile_path(t);
      if (path == missing) return Failure{"tile " + path + " not found"};
      std::string d = m_log.tile_data(t);
      if (path == damaged) d[d.size() / 2] ^= 1;
      if (path == truncated) d.pop_back();
      out.push_back(std::move(d));
      ++reads;
    }
    return out;
  }
  void save_tiles(std::span<const Tile> tiles, std::span<const std::string>) override {
    saves += static_cast<int>(tiles.size());
  }

  std::string missing, damaged, truncated;
  int reads = 0;
  int saves = 0;

 private:
  MemoryLog& m_log;
  int m_h;
};

MemoryLog log_of(int n) {
  MemoryLog log;
  for (int i = 0; i < n; ++i) log.add("rec " + std::to_string(i) + "\n");
  return log;
}

TEST(TileHashReader, ServesEveryHashOfEveryTreeSize) {
  MemoryLog log = log_of(140);
  for (const int h : {1, 2, 3, 8}) {
    for (std::int64_t n = 1; n <= log.size(); ++n) {
      const Tree tree = log.tree(n);
      LogTiles tiles(log, h);
      TileHashReader reader(tree, tiles);
      std::vector<std::int64_t> all;
      for (std::int64_t i = 0; i < stored_hash_index(0, n); ++i) all.push_back(i);
      auto hashes = reader.read_hashes(all);
      ASSERT_TRUE(hashes) << "h=" << h << " n=" << n << ": " << hashes.error();
      for (std::size_t i = 0; i < all.size(); ++i) {
        ASSERT_EQ((*hashes)[i], log.hashes()[i]) << "h=" << h << " n=" << n << " index " << i;
      }
      EXPECT_GT(tiles.saves, 0);
      auto th = tree_hash(n, reader);
      ASSERT_TRUE(th);
      EXPECT_EQ(*th, tree.hash);
      // Proofs made from tiles are the proofs made from the log.
      const std::int64_t m = n / 2;
      auto p1 = prove_record(n, m, reader);
      auto p2 = prove_record(n, m, log);
      ASSERT_TRUE(p1 && p2);
      EXPECT_EQ(*p1, *p2);
      if (m >= 1) {
        auto q1 = prove_tree(n, m, reader);
        auto q2 = prove_tree(n, m, log);
        ASSERT_TRUE(q1 && q2);
        EXPECT_EQ(*q1, *q2);
      }
      EXPECT_FALSE(reader.read_hashes(std::vector<std::int64_t>{stored_hash_index(0, n)}));
      EXPECT_FALSE(reader.read_hashes(std::vector<std::int64_t>{-1}));
    }
  }
}

TEST(TileHashReader, RejectsDamagedMissingAndShortTiles) {
  MemoryLog log = log_of(1000);
  const Tree tree = log.tree(1000);
  // Record 300 needs 0/001 (authenticated by its parent 1/000.p/3) and the tree-hash tiles.
  const std::int64_t index = stored_hash_index(0, 300);
  for (const std::string path : {"tile/8/0/001", "tile/8/1/000.p/3", "tile/8/0/003.p/232"}) {
    {
      LogTiles tiles(log, 8);
      tiles.damaged = path;
      TileHashReader reader(tree, tiles);
      auto r = reader.read_hashes(std::vector<std::int64_t>{index});
      ASSERT_FALSE(r) << path;
      EXPECT_EQ(r.error(), "downloaded inconsistent tile") << path;
      EXPECT_EQ(tiles.saves, 0) << "nothing is saved before it is authenticated";
    }
    {
      LogTiles tiles(log, 8);
      tiles.missing = path;
      TileHashReader reader(tree, tiles);
      auto r = reader.read_hashes(std::vector<std::int64_t>{index});
      ASSERT_FALSE(r) << path;
      EXPECT_NE(r.error().find("not found"), std::string::npos);
    }
    {
      LogTiles tiles(log, 8);
      tiles.truncated = path;
      TileHashReader reader(tree, tiles);
      EXPECT_FALSE(reader.read_hashes(std::vector<std::int64_t>{index})) << path;
    }
  }
  // The same tiles against another tree hash.
  LogTiles tiles(log, 8);
  Tree wrong = tree;
  wrong.hash[0] ^= 1;
  TileHashReader reader(wrong, tiles);
  EXPECT_FALSE(reader.read_hashes(std::vector<std::int64_t>{index}));
  EXPECT_FALSE(tree_hash(999, reader));
}

TEST(HashFromTile, ChecksItsInputs) {
  MemoryLog log = log_of(300);
  const Tile t{8, 0, 0, 256};
  const std::string data = log.tile_data(t);
  auto h = hash_from_tile(t, data, stored_hash_index(0, 3));
  ASSERT_TRUE(h);
  EXPECT_EQ(*h, log.hashes()[static_cast<std::size_t>(stored_hash_index(0, 3))]);
  // A level-7 hash is made from half the tile; level 8 is in the next level of tiles.
  auto h7 = hash_from_tile(t, data, stored_hash_index(7, 1));
  ASSERT_TRUE(h7) << h7.error();
  EXPECT_EQ(*h7, log.hashes()[static_cast<std::size_t>(stored_hash_index(7, 1))]);
  EXPECT_FALSE(hash_from_tile(t, data, stored_hash_index(8, 0)));
  EXPECT_FALSE(hash_from_tile(t, data.substr(1), 0));
  EXPECT_FALSE(hash_from_tile(t, data, stored_hash_index(0, 256)));
  EXPECT_FALSE(hash_from_tile(t, data, -5));
  EXPECT_FALSE(hash_from_tile(Tile{8, -1, 0, 256}, data, 0));
  EXPECT_FALSE(hash_from_tile(Tile{8, 0, 0, 0}, data, 0));
  EXPECT_FALSE(hash_from_tile(Tile{8, 0, 0, 1}, data, stored_hash_index(0, 3))) << "too narrow";
}

TEST(DataTile, ParsesAndChecksRecords) {
  MemoryLog log = log_of(5);
  std::string data;
  for (const auto& r : log.records()) data += r + "\n";
  const std::string hashes = log.tile_data(Tile{8, 0, 0, 5});
  const auto parsed = parse_data_tile(data);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->size(), 5u);
  EXPECT_EQ((*parsed)[4], "rec 4\n");
  auto ok = check_data_tile(data, hashes);
  ASSERT_TRUE(ok) << ok.error();

  std::string changed = data;
  changed[2] = 'X';
  EXPECT_FALSE(check_data_tile(changed, hashes));
  EXPECT_FALSE(check_data_tile(data, hashes.substr(32)));  // count mismatch
  EXPECT_FALSE(check_data_tile(data.substr(0, data.size() - 1), hashes));
  EXPECT_FALSE(check_data_tile(data, hashes + "x"));
  EXPECT_TRUE(parse_data_tile(""));
  EXPECT_FALSE(parse_data_tile("a\n"));
  EXPECT_TRUE(parse_data_tile("\n\n"));  // one record "\n", valid record text for x/mod
  EXPECT_FALSE(parse_data_tile("\n\n\n"));
  EXPECT_FALSE(parse_data_tile("a\n\n\n"));
  EXPECT_FALSE(parse_data_tile("a\tb\n\n"));
}

}  // namespace
}  // namespace stoa::sumdb
