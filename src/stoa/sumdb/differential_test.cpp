// Differential tests against golang.org/x/mod: tests/oracle/sumdbgen (built by CMake into
// $STOA_BINARY_DIR/oracle/sumdbgen) answers parsing questions with note.NewVerifier, note.Open,
// tlog.ParseTree, tlog.ParseRecord and tlog.ParseTilePath, and writes x/mod's tree hashes,
// proofs, index and tile computations (proofs.tsv) for a database it built.

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <sstream>

#include "stoa/sumdb/client.hpp"
#include "stoa/sumdb/note.hpp"
#include "stoa/sumdb/testing/memory_log.hpp"
#include "stoa/sumdb/testing/oracle.hpp"
#include "stoa/sumdb/testing/signer.hpp"
#include "stoa/sumdb/text.hpp"
#include "stoa/sumdb/tile.hpp"
#include "stoa/sumdb/tlog.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::sumdb {
namespace {

namespace fs = std::filesystem;
using testing::Database;
using testing::read_file;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> f;
  std::size_t start = 0;
  for (std::size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + 1) {
    f.push_back(s.substr(start, at - start));
  }
  f.push_back(s.substr(start));
  return f;
}

std::string x(std::string_view bytes) { return "x" + stoa::text::to_hex(bytes); }

// stoa's answer in the oracle's format.
std::string answer(const std::string& kind, const std::string& in, const Verifier& known) {
  if (kind == "vkey") {
    const auto v = parse_verifier_key(in);
    if (!v) return "err";
    return "ok " + x(v->name()) + " " + testing::Signer::hex8(v->key_hash());
  }
  if (kind == "note") {
    const auto o = open_note(in, known);
    switch (o.status) {
      case NoteStatus::ok:
        return "ok " + x(o.note.text) + " " + std::to_string(o.note.sigs.size()) + " " +
               std::to_string(o.note.unverified_sigs.size());
      case NoteStatus::malformed:
        return "err malformed";
      case NoteStatus::unverified:
        return "err unverified";
      case NoteStatus::invalid_signature:
        return "err invalid";
    }
  }
  if (kind == "tree") {
    const auto t = parse_tree(in);
    if (!t) return "err";
    return "ok " + std::to_string(t->n) + " " + to_base64(t->hash);
  }
  if (kind == "record") {
    const auto r = parse_record(in);
    if (!r) return "err";
    return "ok " + std::to_string(r->id) + " " + x(r->text) + " " + x(r->rest);
  }
  if (kind == "tile") {
    const auto t = parse_tile_path(in);
    if (!t) return "err";
    return "ok " + std::to_string(t->h) + " " + std::to_string(t->l) + " " + std::to_string(t->n) +
           " " + std::to_string(t->w);
  }
  return "unknown kind";
}

// Mutations of a valid input: byte changes, insertions of interesting bytes, deletions,
// truncations, duplications.
std::string mutate(std::string s, std::mt19937& rng) {
  static const std::string interesting[] = {"\n",
                                            "\n\n",
                                            "\r",
                                            "+",
                                            "=",
                                            "/",
                                            "x",
                                            "0",
                                            ".p/",
                                            " ",
                                            "\xE2\x80\x94 ",
                                            "\xC3",
                                            "\xFF",
                                            std::string(1, '\0'),
                                            "data",
                                            "-",
                                            "9"};
  const int edits = 1 + static_cast<int>(rng() % 3);
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = rng() % (s.size() + 1);
    switch (rng() % 6) {
      case 0:
        if (at < s.size()) s[at] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(at, interesting[rng() % std::size(interesting)]);
        break;
      case 2:
        if (at < s.size()) s.erase(at, 1 + rng() % 4);
        break;
      case 3:
        s.resize(at);
        break;
      case 4:
        if (at < s.size()) s.insert(at, s.substr(at, 1 + rng() % 16));
        break;
      default:
        if (at < s.size()) s[at] = static_cast<char>(s[at] ^ (1 << (rng() % 8)));
    }
  }
  return s;
}

TEST(SumdbDifferential, ParsersAgreeWithXMod) {
  const Database main("main");
  const auto known = parse_verifier_key(main.vkey);
  ASSERT_TRUE(known);

  std::map<std::string, std::vector<std::string>> seeds;
  for (const std::string name : {"main", "otherkey", "othername"}) {
    const Database d(name);
    seeds["vkey"].push_back(d.vkey);
    for (const auto size : d.stages) {
      const std::string note = d.note(size);
      seeds["note"].push_back(note);
      seeds["tree"].push_back(note.substr(0, note.find("\n\n") + 1));
    }
    for (std::size_t i = 0; i < d.records.size(); i += 301) {
      const auto& r = d.records[i];
      seeds["record"].push_back(r.body);
    }
  }
  for (const auto& e : fs::recursive_directory_iterator(main.dir / "tile")) {
    if (e.is_regular_file()) seeds["tile"].push_back(fs::relative(e.path(), main.dir).string());
  }
  // Hand-made corners.
  const std::string note = main.note(3000);
  const std::string text = note.substr(0, note.find("\n\n") + 1);
  for (const std::string& s :
       {note + note.substr(note.find("\n\n") + 2), note.substr(0, note.size() - 1) + "\r\n",
        text + "\n" + "\xE2\x80\x94 sumdb.test AAAAAAAA\n", std::string("\n\n")}) {
    seeds["note"].push_back(s);
  }
  for (const std::string s :
       {"go.sum database tree\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "go.sum database tree\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\n",
        "go.sum database tree\n1\n47DEQpj8HBSa+/TImW+5\r\nJCeuQeRkm5NMpJWZG3hSuFU=\n"}) {
    seeds["tree"].push_back(s);
  }
  for (const std::string s :
       {"tile/8/0/x001/x234/067.p/13", "tile/8/data/x999/999", "tile/30/63/000.p/1073741823",
        "tile/8/0/x009/x223/x372/x036/x854/x775/807", "tile/8/0/x009/x223/x372/x036/x854/x775/808",
        "tile/8/0/x000/001", "tile/8/0/x01/001", "tile/8/0/000.p/256", "tile/8/0/000.p/0",
        "tile/8/64/000", "tile/8/1000/000", "tile/1/0/000.p/1"}) {
    seeds["tile"].push_back(s);
  }

  std::mt19937 rng(20240601);
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const auto& [kind, list] : seeds) {
    for (const auto& s : list) inputs.emplace_back(kind, s);
    for (int i = 0; i < 2500; ++i)
      inputs.emplace_back(kind, mutate(list[rng() % list.size()], rng));
  }
  // Notes are also trees' and records' raw material.
  for (int i = 0; i < 300; ++i) inputs.emplace_back("tree", mutate(seeds["note"][rng() % 3], rng));

  const fsio::testing::ScratchDir dir;
  std::string in;
  for (const auto& [kind, s] : inputs) in += kind + " " + stoa::text::to_hex(s) + "\n";
  testing::write_file(dir / "in", in);
  testing::run(testing::quote(testing::oracle_path()) + " parse " + testing::quote(main.vkey) +
               " < " + testing::quote((dir / "in").string()) + " > " +
               testing::quote((dir / "out").string()));
  const auto out = split(read_file(dir / "out"), '\n');
  ASSERT_EQ(out.size(), inputs.size() + 1);

  std::map<std::string, int> compared;
  int ok_answers = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& [kind, s] = inputs[i];
    std::string want = out[i];
    // Known difference: x/mod parses any tile level; stoa stops at 63, as levels beyond cannot
    // exist (tile heights are at least 1 and hash levels below 64).
    if (kind == "tile" && want.rfind("ok ", 0) == 0 && std::stoll(split(want, ' ')[2]) > 63) {
      want = "err";
    }
    ASSERT_EQ(answer(kind, s, *known), want) << kind << " " << stoa::text::to_hex(s);
    ++compared[kind];
    ok_answers += want.rfind("ok", 0) == 0;
  }
  EXPECT_EQ(compared.size(), 5u);
  EXPECT_GT(ok_answers, 500) << "the corpus must also exercise accepted inputs";
}

// Serves the hash tiles of the main database from its directory; a tile of a tree size that was
// never published is the prefix of the widest tile published at the same coordinates.
class DirTiles final : public TileReader {
 public:
  explicit DirTiles(const fs::path& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir / "tile")) {
      if (!e.is_regular_file()) continue;
      const auto t = parse_tile_path(fs::relative(e.path(), dir).string());
      if (!t) throw std::runtime_error("bad tile path " + e.path().string());
      std::string& widest = m_tiles[{t->l, t->n}];
      std::string data = read_file(e.path());
      if (data.size() > widest.size()) widest = std::move(data);
    }
  }
  int height() const override { return k_tile_height; }
  Result<std::vector<std::string>> read_tiles(std::span<const Tile> tiles) override {
    std::vector<std::string> out;
    for (const Tile& t : tiles) {
      const auto it = m_tiles.find({t.l, t.n});
      const std::size_t size = static_cast<std::size_t>(t.w) * k_hash_size;
      if (it == m_tiles.end() || it->second.size() < size)
        return Failure{"no tile " + tile_path(t)};
      out.push_back(it->second.substr(0, size));
    }
    return out;
  }
  void save_tiles(std::span<const Tile>, std::span<const std::string>) override {}

 private:
  std::map<std::pair<int, std::int64_t>, std::string> m_tiles;  // (level, n) -> widest data
};

std::vector<Hash> hashes_of(const std::vector<std::string>& f, std::size_t from) {
  std::vector<Hash> hs;
  for (std::size_t i = from; i < f.size(); ++i) {
    const auto h = parse_hash(f[i]);
    if (!h) throw std::runtime_error("bad hash " + f[i]);
    hs.push_back(*h);
  }
  return hs;
}

TEST(SumdbDifferential, TreeHashesProofsAndTilesAgreeWithXMod) {
  const Database main("main");
  // The log rebuilt from the database's data tiles, hashed by stoa.
  testing::MemoryLog log;
  for (std::int64_t n = 0;; ++n) {
    Tile t{8, -1, n, 256};
    if (!fs::exists(main.dir / tile_path(t))) t.w = static_cast<int>(main.final_size() - n * 256);
    if (t.w <= 0 || !fs::exists(main.dir / tile_path(t))) break;
    const std::string data = read_file(main.dir / tile_path(t));
    const auto records = parse_data_tile(data);
    ASSERT_TRUE(records) << tile_path(t);
    for (const auto r : *records) log.add(std::string(r));
  }
  ASSERT_EQ(log.size(), main.final_size());
  DirTiles dir_tiles(main.dir);

  const auto tree_of = [&](std::int64_t n) {
    auto h = tree_hash(n, log);
    if (!h) throw std::runtime_error(h.error());
    return *h;
  };
  std::map<std::string, int> checked;
  std::istringstream in(read_file(testing::generated() / "proofs.tsv"));
  for (std::string line; std::getline(in, line);) {
    const auto f = split(line, '\t');
    const std::string& kind = f[0];
    ++checked[kind];
    if (kind == "treehash") {
      const std::int64_t n = std::stoll(f[1]);
      const Hash want = *parse_hash(f[2]);
      auto mine = tree_hash(n, log);
      ASSERT_TRUE(mine);
      EXPECT_EQ(*mine, want) << line;
      if (n > 0) {
        // Through tiles, authenticated against x/mod's hash.
        TileHashReader reader(Tree{n, want}, dir_tiles);
        auto via_tiles = tree_hash(n, reader);
        ASSERT_TRUE(via_tiles) << line << ": " << via_tiles.error();
        EXPECT_EQ(*via_tiles, want);
      }
    } else if (kind == "recordproof" || kind == "treeproof") {
      const std::int64_t t = std::stoll(f[1]);
      const std::int64_t n = std::stoll(f[2]);
      const auto want = hashes_of(f, 3);
      TileHashReader reader(Tree{t, tree_of(t)}, dir_tiles);
      if (kind == "recordproof") {
        auto from_log = prove_record(t, n, log);
        auto from_tiles = prove_record(t, n, reader);
        ASSERT_TRUE(from_log && from_tiles) << line;
        EXPECT_EQ(*from_log, want) << line;
        EXPECT_EQ(*from_tiles, want) << line;
        EXPECT_TRUE(check_record(want, t, tree_of(t), n,
                                 record_hash(log.records()[static_cast<std::size_t>(n)])));
      } else {
        auto from_log = prove_tree(t, n, log);
        auto from_tiles = prove_tree(t, n, reader);
        ASSERT_TRUE(from_log && from_tiles) << line;
        EXPECT_EQ(*from_log, want) << line;
        EXPECT_EQ(*from_tiles, want) << line;
        EXPECT_TRUE(check_tree(want, t, tree_of(t), n, tree_of(n))) << line;
      }
    } else if (kind == "index") {
      const int level = std::stoi(f[1]);
      const std::int64_t n = std::stoll(f[2]);
      const std::int64_t want = std::stoll(f[3]);
      EXPECT_EQ(stored_hash_index(level, n), want) << line;
      const auto back = split_stored_hash_index(want);
      EXPECT_EQ(back.level, level);
      EXPECT_EQ(back.n, n);
    } else if (kind == "count") {
      EXPECT_EQ(stored_hash_count(std::stoll(f[1])), std::stoll(f[2])) << line;
    } else if (kind == "tileforindex") {
      EXPECT_EQ(tile_path(tile_for_index(std::stoi(f[1]), std::stoll(f[2]))), f[3]) << line;
    } else if (kind == "newtiles") {
      std::string mine;
      for (const auto& t : new_tiles(std::stoi(f[1]), std::stoll(f[2]), std::stoll(f[3]))) {
        mine += "\t" + tile_path(t);
      }
      std::string want;
      for (std::size_t i = 4; i < f.size(); ++i) want += "\t" + f[i];
      EXPECT_EQ(mine, want) << line.substr(0, 80);
    } else {
      ADD_FAILURE() << "unknown line " << line;
    }
  }
  for (const std::string kind :
       {"treehash", "recordproof", "treeproof", "index", "count", "tileforindex", "newtiles"}) {
    EXPECT_GT(checked[kind], 0) << kind;
  }

  // Every hash tile x/mod published is the one stoa computes from the records.
  int tiles = 0;
  for (const auto& e : fs::recursive_directory_iterator(main.dir / "tile")) {
    if (!e.is_regular_file()) continue;
    const auto t = parse_tile_path(fs::relative(e.path(), main.dir).string());
    ASSERT_TRUE(t) << e.path();
    if (t->l < 0) continue;
    EXPECT_EQ(log.tile_data(*t), read_file(e.path())) << e.path();
    ++tiles;
  }
  EXPECT_GE(tiles, 30);
}

TEST(SumdbDifferential, DataTilesMatchHashTiles) {
  const Database main("main");
  int checked = 0;
  for (const auto& e : fs::recursive_directory_iterator(main.dir / "tile" / "8" / "data")) {
    if (!e.is_regular_file()) continue;
    auto t = parse_tile_path(fs::relative(e.path(), main.dir).string());
    ASSERT_TRUE(t);
    Tile hash_tile = *t;
    hash_tile.l = 0;
    const std::string data = read_file(e.path());
    const std::string hashes = read_file(main.dir / tile_path(hash_tile));
    auto records = check_data_tile(data, hashes);
    ASSERT_TRUE(records) << e.path() << ": " << records.error();
    EXPECT_EQ(records->size(), static_cast<std::size_t>(t->w));
    std::string damaged = data;
    damaged[damaged.size() / 3] ^= 0x20;
    EXPECT_FALSE(check_data_tile(damaged, hashes)) << e.path();
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(SumdbDifferential, LookupResponsesAreFormattedRecordsAndTheLatestNote) {
  const Database main("main");
  const std::string note = main.note(main.final_size());
  for (const auto& r : main.records) {
    const std::string& body = r.body;
    const auto rec = parse_record(body);
    ASSERT_TRUE(rec) << r.path;
    EXPECT_EQ(rec->id, r.id);
    EXPECT_EQ(rec->rest, note);
    EXPECT_EQ(format_record(rec->id, rec->text).value_or("") + std::string(rec->rest), body);
    EXPECT_EQ(lookup_path(r.path, r.version), r.lookup());
  }
}

}  // namespace
}  // namespace stoa::sumdb
