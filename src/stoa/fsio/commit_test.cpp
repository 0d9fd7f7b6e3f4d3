#include "stoa/fsio/commit.hpp"

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"

namespace stoa::fsio {
namespace {

namespace fs = std::filesystem;
using testing::ScratchDir;

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using PlaceFn = Placed (*)(int, const char*, int, const char*);

class NoReplace : public ::testing::TestWithParam<PlaceFn> {};

TEST_P(NoReplace, PlacesWhenAbsent) {
  ScratchDir dir;
  spit(dir / "from", "new");
  EXPECT_EQ(GetParam()(AT_FDCWD, (dir / "from").c_str(), AT_FDCWD, (dir / "to").c_str()),
            Placed::committed);
  EXPECT_FALSE(fs::exists(dir / "from"));
  EXPECT_EQ(slurp(dir / "to"), "new");
}

TEST_P(NoReplace, KeepsExistingAndLeavesSource) {
  ScratchDir dir;
  spit(dir / "from", "new");
  spit(dir / "to", "old");
  EXPECT_EQ(GetParam()(AT_FDCWD, (dir / "from").c_str(), AT_FDCWD, (dir / "to").c_str()),
            Placed::existed);
  EXPECT_EQ(slurp(dir / "to"), "old");
  EXPECT_EQ(slurp(dir / "from"), "new");
}

TEST_P(NoReplace, RelativeToDirFds) {
  ScratchDir dir;
  fs::create_directory(dir / "a");
  fs::create_directory(dir / "b");
  spit(dir / "a" / "f", "x");
  const int a = ::open((dir / "a").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int b = ::open((dir / "b").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  EXPECT_EQ(GetParam()(a, "f", b, "g"), Placed::committed);
  ::close(a);
  ::close(b);
  EXPECT_EQ(slurp(dir / "b" / "g"), "x");
}

TEST_P(NoReplace, MissingTargetDirThrowsNamingPaths) {
  ScratchDir dir;
  spit(dir / "from", "x");
  const fs::path to = dir / "missing" / "to";
  try {
    (void)GetParam()(AT_FDCWD, (dir / "from").c_str(), AT_FDCWD, to.c_str());
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find(to.native()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(dir / "from"));
}

INSTANTIATE_TEST_SUITE_P(Fsio, NoReplace, ::testing::Values(&rename_no_replace, &link_no_replace),
                         [](const auto& p) {
                           return p.param == &rename_no_replace ? std::string("Rename")
                                                                : std::string("Link");
                         });

}  // namespace
}  // namespace stoa::fsio
