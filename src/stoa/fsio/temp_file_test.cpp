#include "stoa/fsio/temp_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(TempFile, CreateNamesFileInDirWithPrefixMode0644AndCloexec) {
  ScratchDir dir;
  TempFile f = TempFile::create(dir.path(), "stage-");
  EXPECT_EQ(f.path().parent_path(), dir.path());
  EXPECT_EQ(f.path().filename().native().rfind("stage-", 0), 0u);
  EXPECT_EQ(f.path().filename().native().size(), 6u + 6u);
  struct stat st {};
  ASSERT_EQ(::fstat(f.fd(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_NE(::fcntl(f.fd(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_EQ(::fcntl(f.fd(), F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(f.size(), 0u);
}

TEST(TempFile, TwoCreatesGetDistinctFiles) {
  ScratchDir dir;
  TempFile a = TempFile::create(dir.path());
  TempFile b = TempFile::create(dir.path());
  EXPECT_NE(a.path(), b.path());
  EXPECT_TRUE(fs::exists(a.path()));
  EXPECT_TRUE(fs::exists(b.path()));
}

TEST(TempFile, CreateInMissingDirThrowsWithPath) {
  ScratchDir dir;
  const fs::path missing = dir / "no-such-dir";
  try {
    (void)TempFile::create(missing);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find(missing.native()), std::string::npos) << e.what();
  }
}

TEST(TempFile, WriteAppendsAndCountsSize) {
  ScratchDir dir;
  TempFile f = TempFile::create(dir.path());
  f.write("hello ");
  f.write("");
  f.write("world");
  f.sync();
  EXPECT_EQ(f.size(), 11u);
  EXPECT_EQ(slurp(f.path()), "hello world");
}

TEST(TempFile, WriteOfLargeBufferIsComplete) {
  ScratchDir dir;
  TempFile f = TempFile::create(dir.path());
  std::string big(3 * 1024 * 1024 + 11, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  f.write(big);
  EXPECT_EQ(f.size(), big.size());
  EXPECT_EQ(slurp(f.path()), big);
}

TEST(TempFile, DestructorRemovesFile) {
  ScratchDir dir;
  fs::path p;
  {
    TempFile f = TempFile::create(dir.path());
    f.write("x");
    p = f.path();
    ASSERT_TRUE(fs::exists(p));
  }
  EXPECT_FALSE(fs::exists(p));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(TempFile, ReleaseKeepsFileAndEmptiesObject) {
  ScratchDir dir;
  fs::path kept;
  {
    TempFile f = TempFile::create(dir.path());
    f.write("keep");
    kept = f.release();
    EXPECT_TRUE(f.path().empty());
    EXPECT_EQ(f.fd(), -1);
    EXPECT_EQ(f.size(), 0u);
  }
  EXPECT_EQ(slurp(kept), "keep");
}

TEST(TempFile, ClearTruncatesAndRewritesFromStart) {
  ScratchDir dir;
  TempFile f = TempFile::create(dir.path());
  f.write("first attempt, longer");
  f.clear();
  EXPECT_EQ(f.size(), 0u);
  EXPECT_EQ(fs::file_size(f.path()), 0u);
  f.write("second");
  EXPECT_EQ(f.size(), 6u);
  EXPECT_EQ(slurp(f.path()), "second");
}

TEST(TempFile, MoveTransfersOwnership) {
  ScratchDir dir;
  TempFile a = TempFile::create(dir.path());
  a.write("abc");
  const fs::path pa = a.path();
  TempFile b(std::move(a));
  EXPECT_TRUE(a.path().empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(a.fd(), -1);          // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.path(), pa);
  EXPECT_EQ(b.size(), 3u);

  TempFile c = TempFile::create(dir.path());
  const fs::path pc = c.path();
  c = std::move(b);  // c's own file is removed, it now owns pa
  EXPECT_FALSE(fs::exists(pc));
  EXPECT_TRUE(fs::exists(pa));
  EXPECT_EQ(c.path(), pa);
  c = TempFile();
  EXPECT_FALSE(fs::exists(pa));
}

// RLIMIT_FSIZE makes the kernel accept part of a write and refuse the rest (EFBIG): the write
// loop must keep the accepted part, count it and then report the error with the path.
TEST(TempFile, PartialWriteThenErrorIsReportedWithPath) {
  ScratchDir dir;
  TempFile f = TempFile::create(dir.path());
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 100;
  struct sigaction ignore {
  }, saved{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &saved), 0);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string caught;
  std::error_code code;
  try {
    f.write(std::string(250, 'z'));
  } catch (const std::system_error& e) {
    caught = e.what();
    code = e.code();
  }
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &saved, nullptr), 0);
  EXPECT_EQ(code, std::errc::file_too_large);
  EXPECT_NE(caught.find(f.path().native()), std::string::npos) << caught;
  EXPECT_EQ(f.size(), 100u);
  EXPECT_EQ(fs::file_size(f.path()), 100u);
}

TEST(SyncDirectory, SucceedsOnDirAndThrowsWithPathOnMissing) {
  ScratchDir dir;
  EXPECT_NO_THROW(sync_directory(dir.path()));
  const fs::path missing = dir / "missing";
  try {
    sync_directory(missing);
    FAIL() << "expected std::system_error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
    EXPECT_NE(std::string(e.what()).find(missing.native()), std::string::npos);
  }
}

}  // namespace
}  // namespace stoa::fsio
