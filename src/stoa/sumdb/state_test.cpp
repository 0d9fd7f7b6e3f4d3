#include "stoa/sumdb/state.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/sumdb/note.hpp"

namespace stoa::sumdb {
namespace {

namespace fs = std::filesystem;

TEST(MemoryTileCache, KeepsTheMostRecentlyUsedTiles) {
  auto cache = make_memory_tile_cache(2);
  EXPECT_EQ(cache->get("tile/8/0/000"), std::nullopt);
  cache->put("tile/8/0/000", "a");
  cache->put("tile/8/0/001", "b");
  EXPECT_EQ(cache->get("tile/8/0/000"), "a");  // now the most recent
  cache->put("tile/8/0/002", "c");             // drops 001
  EXPECT_EQ(cache->get("tile/8/0/001"), std::nullopt);
  EXPECT_EQ(cache->get("tile/8/0/000"), "a");
  EXPECT_EQ(cache->get("tile/8/0/002"), "c");
  cache->put("tile/8/0/002", "C");  // replaces a copy that failed authentication
  EXPECT_EQ(cache->get("tile/8/0/002"), "C");

  auto none = make_memory_tile_cache(0);
  none->put("tile/8/0/000", "a");
  EXPECT_EQ(none->get("tile/8/0/000"), std::nullopt);
}

TEST(MemoryTreeState, StoresAndLoads) {
  auto state = make_memory_tree_state();
  EXPECT_EQ(state->load(), std::nullopt);
  state->store("note");
  EXPECT_EQ(state->load(), "note");
  EXPECT_EQ(make_memory_tree_state("x")->load(), "x");
}

TEST(FileTreeState, StoresAtomicallyAndLoads) {
  const fsio::testing::ScratchDir dir;
  const fs::path file = dir / "latest";
  auto state = make_file_tree_state(file);
  EXPECT_EQ(state->load(), std::nullopt);
  state->store("first\n");
  EXPECT_EQ(state->load(), "first\n");
  state->store("second note\n");
  EXPECT_EQ(make_file_tree_state(file)->load(), "second note\n");
  // Only the file itself is left behind: the temporary was renamed over it.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

// Two processes (here: two objects) on one file: the larger tree stays, whoever writes last.
TEST(FileTreeState, NeverGoesBackToASmallerTree) {
  const fsio::testing::ScratchDir dir;
  const fs::path file = dir / "latest";
  auto a = make_file_tree_state(file);
  auto b = make_file_tree_state(file);
  const std::string hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  const std::string small = "go.sum database tree\n5\n" + hash + "\n\n— sig AAAA\n";
  const std::string big = "go.sum database tree\n9\n" + hash + "\n\n— sig BBBB\n";
  a->store(big);
  b->store(small);  // a replica that verified an older head writes after the newer one
  EXPECT_EQ(a->load(), big);
  EXPECT_EQ(b->load(), big);
  b->store(big);
  const std::string bigger = "go.sum database tree\n10\n" + hash + "\n\n— sig CCCC\n";
  b->store(bigger);
  EXPECT_EQ(a->load(), bigger);
}

TEST(FileTreeState, ReportsFailures) {
  const fsio::testing::ScratchDir dir;
  EXPECT_THROW(make_file_tree_state(dir / "missing-dir" / "latest")->store("x"), std::system_error);
  {
    std::ofstream big(dir / "big");
    big << std::string(k_max_note_bytes + 1, 'a');
  }
  EXPECT_THROW(make_file_tree_state(dir / "big")->load(), std::runtime_error);
  fs::create_directory(dir / "adir");
  EXPECT_THROW(make_file_tree_state(dir / "adir")->load(), std::system_error);
}

}  // namespace
}  // namespace stoa::sumdb
