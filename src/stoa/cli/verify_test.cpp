#include "stoa/cli/verify.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/modzip/modzip.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::cli {
namespace {

namespace fs = std::filesystem;
using store::testing::put_bytes;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What a kill (or a full disk) between commits leaves behind: v1.1.0 is stored, but the list
// still names only v1.0.0 and the .mod of v1.1.0 has no recorded hash. verify reports both
// without touching anything; with `repair` it rewrites them; then the store is clean.
TEST(Verify, FindsAndRepairsStaleListsAndMissingHashes) {
  fsio::testing::ScratchDir dir;
  const fs::path root = dir / "data";
  const std::string m = "example.com/!killed";
  const fs::path vdir = root / m / "@v";
  const auto s = store::make_disk_store(root);
  for (const std::string v : {"v1.0.0", "v1.1.0"}) {
    ASSERT_TRUE(put_bytes(*s, m + "/@v/" + v + ".info", R"({"Version":")" + v + "\"}"));
    ASSERT_TRUE(put_bytes(*s, m + "/@v/" + v + ".mod", "module example.com/Killed\n"));
  }
  const std::string h1 = modzip::hash_go_mod_file((vdir / "v1.0.0.mod").string());
  ASSERT_TRUE(put_bytes(*s, m + "/@v/v1.0.0.modhash", h1 + "\n"));
  fs::remove(vdir / "list");
  std::ofstream(vdir / "list") << "v1.0.0\n";

  VerifyOptions o;
  o.store = s.get();
  o.data_dir = root;
  std::ostringstream out;
  VerifyReport r = verify_store(o, out);
  EXPECT_EQ(r.files, 2u);
  EXPECT_EQ(r.bad, 0u);
  EXPECT_EQ(r.stale, 2u) << out.str();
  EXPECT_EQ(r.repaired, 0u);
  EXPECT_NE(out.str().find("STALE example.com/Killed list: lacks v1.1.0\n"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("STALE example.com/Killed@v1.1.0 mod: no recorded hash"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(slurp(vdir / "list"), "v1.0.0\n") << "nothing is written without repair";
  EXPECT_FALSE(fs::exists(vdir / "v1.1.0.modhash"));

  o.repair = true;
  out.str("");
  r = verify_store(o, out);
  EXPECT_EQ(r.stale, 2u);
  EXPECT_EQ(r.repaired, 2u) << out.str();
  EXPECT_EQ(slurp(vdir / "list"), "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(slurp(vdir / "v1.1.0.modhash"),
            modzip::hash_go_mod_file((vdir / "v1.1.0.mod").string()) + "\n");

  o.repair = false;
  out.str("");
  r = verify_store(o, out);
  EXPECT_EQ(r.stale, 0u) << out.str();
  EXPECT_EQ(r.bad, 0u) << out.str();
}

// A list naming a version that is not stored (left by an older stoa, or edited by hand) is
// stale too: repair drops the line.
TEST(Verify, ListNamingAnUnstoredVersionIsStale) {
  fsio::testing::ScratchDir dir;
  const fs::path root = dir / "data";
  const fs::path vdir = root / "example.com/m/@v";
  const auto s = store::make_disk_store(root);
  ASSERT_TRUE(put_bytes(*s, "example.com/m/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  fs::remove(vdir / "list");
  std::ofstream(vdir / "list") << "v1.0.0\nv1.9.9\n";
  VerifyOptions o;
  o.store = s.get();
  o.data_dir = root;
  o.repair = true;
  std::ostringstream out;
  const VerifyReport r = verify_store(o, out);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.repaired, 1u);
  EXPECT_NE(out.str().find("STALE example.com/m list: names v1.9.9\n"), std::string::npos)
      << out.str();
  EXPECT_EQ(slurp(vdir / "list"), "v1.0.0\n");
}

// Any backend: verify reads through the Store interface, objects held in memory included (the
// memory store here; S3 in the end-to-end tests). Bytes that changed since their hash was
// recorded are BAD; a .mod without its hash is STALE and repaired through the store.
TEST(Verify, ReadsAnyStore) {
  fsio::testing::ScratchDir dir;
  const auto s = store::make_memory_store(dir.path());
  const std::string m = "example.com/mem";
  ASSERT_TRUE(put_bytes(*s, m + "/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  ASSERT_TRUE(put_bytes(*s, m + "/@v/v1.0.0.mod", "module example.com/mem\n"));
  ASSERT_TRUE(put_bytes(*s, m + "/@v/v1.0.0.modhash", "h1:somethingelse=\n"));
  ASSERT_TRUE(put_bytes(*s, m + "/@v/v1.1.0.mod", "module example.com/mem\n"));  // no .info
  VerifyOptions o;
  o.store = s.get();
  o.repair = true;
  std::ostringstream out;
  const VerifyReport r = verify_store(o, out);
  EXPECT_EQ(r.files, 2u) << out.str();
  EXPECT_EQ(r.bad, 1u) << out.str();
  EXPECT_NE(out.str().find("BAD example.com/mem@v1.0.0 mod: bytes changed since they were stored"),
            std::string::npos)
      << out.str();
  EXPECT_EQ(r.repaired, 1u) << out.str();
  EXPECT_TRUE(s->get(m + "/@v/v1.1.0.modhash").has_value());
}

}  // namespace
}  // namespace stoa::cli
