// Disk-specific behaviour of make_disk_store; the Store contract itself is in conformance_test.

#include "stoa/store/disk.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store {
namespace {

namespace fs = std::filesystem;
using fsio::testing::ScratchDir;
using testing::put_bytes;
using testing::read_all;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return ~0u;
  return st.st_mode & 07777;
}

// Every path under `dir` (recursively), relative to it.
std::set<std::string> tree(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.insert(fs::relative(e.path(), dir).native());
  }
  return out;
}

class DiskStore : public ::testing::Test {
 protected:
  fs::path root() const { return m_scratch / "root"; }
  fs::path tmp() const { return root() / ".stoa-tmp"; }
  // Files staged anywhere under .stoa-tmp (this process's directory included).
  static int staged_files(const fs::path& dir) {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
    return n;
  }
  int entries(const fs::path& dir) const {
    int n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
    return n;
  }

  ScratchDir m_scratch;
  std::unique_ptr<Store> m_store = make_disk_store(root());
};

TEST_F(DiskStore, OpenCreatesRootAndTempDir) {
  EXPECT_TRUE(fs::is_directory(root()));
  EXPECT_TRUE(fs::is_directory(tmp()));
  EXPECT_EQ(entries(tmp()), 1) << "one staging directory: this process's";
  EXPECT_EQ(staged_files(tmp()), 0) << "the writability probe must not be left behind";
}

TEST_F(DiskStore, ObjectsLiveAtRootSlashKeyReadOnly) {
  ASSERT_TRUE(put_bytes(*m_store, "example.com/!my!mod/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  ASSERT_TRUE(
      put_bytes(*m_store, "example.com/!my!mod/@v/v1.0.0.mod", "module example.com/MyMod\n"));
  ASSERT_TRUE(put_bytes(*m_store, "example.com/!my!mod/@latest", R"({"Version":"v1.0.0"})"));
  const fs::path dir = root() / "example.com" / "!my!mod" / "@v";
  EXPECT_EQ(slurp(dir / "v1.0.0.info"), R"({"Version":"v1.0.0"})");
  EXPECT_EQ(slurp(dir / "v1.0.0.mod"), "module example.com/MyMod\n");
  EXPECT_EQ(slurp(dir / "list"), "v1.0.0\n");
  EXPECT_EQ(slurp(root() / "example.com" / "!my!mod" / "@latest"), R"({"Version":"v1.0.0"})");
  EXPECT_EQ(mode_of(dir / "v1.0.0.info"), 0444u);
  EXPECT_EQ(mode_of(dir / "v1.0.0.mod"), 0444u);
  EXPECT_EQ(mode_of(dir / "list"), 0644u) << "the list is the one replaceable file";
  EXPECT_EQ(staged_files(tmp()), 0);
}

// The root is a GOPROXY file tree: the real go command reads it through GOPROXY=file://.
TEST_F(DiskStore, GoCommandReadsRootAsFileProxy) {
  std::string go;
  for (const char* candidate : {"/usr/local/go/bin/go", "/usr/bin/go"}) {
    if (::access(candidate, X_OK) == 0) {
      go = candidate;
      break;
    }
  }
  if (go.empty()) GTEST_SKIP() << "go command not installed";

  const std::string m = "example.com/!my!mod";
  for (const std::string v :
       {"v1.0.0", "v1.1.0-!r!c.1", "v1.2.0", "v0.0.0-20230102030405-abcdefabcdef"}) {
    std::string real = v;
    if (v == "v1.1.0-!r!c.1") real = "v1.1.0-RC.1";
    ASSERT_TRUE(put_bytes(*m_store, m + "/@v/" + v + ".info",
                          R"({"Version":")" + real + R"(","Time":"2024-01-02T03:04:05Z"})"));
    ASSERT_TRUE(put_bytes(*m_store, m + "/@v/" + v + ".mod", "module example.com/MyMod\n"));
  }
  const fs::path work = m_scratch / "work";
  fs::create_directories(work);
  const fs::path out = m_scratch / "go.out";
  const std::string env = "env -i PATH=/usr/bin:/bin HOME=" + (m_scratch / "home").native() +
                          " GOPATH=" + (m_scratch / "gopath").native() +
                          " GOCACHE=" + (m_scratch / "gocache").native() + " GOPROXY=file://" +
                          root().native() +
                          " GOSUMDB=off GOTOOLCHAIN=local 'GOFLAGS=-mod=mod -modcacherw' ";
  const std::string cmd = "cd " + work.native() + " && " + env + go +
                          " list -m -json -versions example.com/MyMod@latest >" + out.native() +
                          " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string output = slurp(out);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_NE(output.find(R"("Version": "v1.2.0")"), std::string::npos) << output;
  const std::string versions = R"("Versions": [)"
                               "\n"
                               R"(		"v1.0.0",)"
                               "\n"
                               R"(		"v1.1.0-RC.1",)"
                               "\n"
                               R"(		"v1.2.0")";
  EXPECT_NE(output.find(versions), std::string::npos) << output;
  EXPECT_EQ(output.find("v0.0.0-"), std::string::npos) << output;
  // Objects the go command read are unchanged (it must not have written into the root).
  EXPECT_EQ(slurp(root() / "example.com/!my!mod/@v/v1.2.0.mod"), "module example.com/MyMod\n");
}

TEST_F(DiskStore, OpenSweepsCrashLeftoversButKeepsObjects) {
  ASSERT_TRUE(put_bytes(*m_store, "example.com/a/@v/v1.0.0.mod", "module example.com/a\n"));
  spit(tmp() / "put-AbC123", "half a zip");
  spit(tmp() / "list-x1y2z3", "v1.0.0\n");
  spit(tmp() / "odd" / "nested", "x");
  m_store.reset();
  m_store = make_disk_store(root());
  EXPECT_TRUE(fs::is_directory(tmp()));
  EXPECT_EQ(entries(tmp()), 1);
  EXPECT_EQ(staged_files(tmp()), 0);
  EXPECT_EQ(read_all(*m_store->get("example.com/a/@v/v1.0.0.mod")), "module example.com/a\n");
}

// Replicas share one root: a store opening never sweeps what another live one is staging, and
// the staging directory of a process that died (no flock holder) is swept.
TEST_F(DiskStore, OpenLeavesOtherLiveProcessesStagingAlone) {
  fsio::TempFile staged = m_store->stage();
  staged.write("a zip still arriving");
  spit(tmp() / "p1-dead" / "put-x", "left by a crashed process");
  const auto other = make_disk_store(root());  // a second process opening the shared root
  EXPECT_FALSE(fs::exists(tmp() / "p1-dead"));
  EXPECT_TRUE(fs::exists(staged.path()));
  EXPECT_TRUE(m_store->put("example.com/a/@v/v1.0.0.zip", std::move(staged)));
  EXPECT_EQ(read_all(*other->get("example.com/a/@v/v1.0.0.zip")), "a zip still arriving");
  EXPECT_EQ(entries(tmp()), 2);
}

TEST_F(DiskStore, ReopenedStoreKeepsObjectsEtagsAndWriteOnce) {
  const std::string key = "example.com/a/@v/v1.0.0.zip";
  ASSERT_TRUE(put_bytes(*m_store, key, "first"));
  const std::string etag = m_store->get(key)->etag;
  m_store.reset();
  m_store = make_disk_store(root());
  const std::optional<Object> obj = m_store->get(key);
  ASSERT_TRUE(obj.has_value());
  EXPECT_EQ(obj->etag, etag);
  EXPECT_FALSE(put_bytes(*m_store, key, "second"));
  EXPECT_EQ(read_all(*m_store->get(key)), "first");
}

TEST_F(DiskStore, FileAlreadyAtKeyIsNeverReplaced) {
  const std::string key = "example.com/a/@v/v1.0.0.zip";
  spit(root() / key, "placed by hand");
  EXPECT_FALSE(put_bytes(*m_store, key, "from a put"));
  EXPECT_EQ(slurp(root() / key), "placed by hand");
  EXPECT_EQ(staged_files(tmp()), 0);
}

TEST_F(DiskStore, OpenFailsWhenRootIsNotADirectory) {
  spit(m_scratch / "file", "x");
  EXPECT_THROW(make_disk_store(m_scratch / "file"), StoreError);
  EXPECT_THROW(make_disk_store(m_scratch / "file" / "below"), StoreError);
}

TEST_F(DiskStore, ParentThatIsAFileMeansAbsent) {
  ASSERT_TRUE(put_bytes(*m_store, "example.com/a/@v/v1.0.0.info", "{}"));
  // "v1.0.0.info" is a file, so the open fails with ENOTDIR: nothing is stored there.
  EXPECT_FALSE(m_store->get("example.com/a/@v/v1.0.0.info/@v/list").has_value());
  EXPECT_TRUE(m_store->versions("example.com/a/@v/v1.0.0.info").empty());
}

// Failures other than absence are errors, never nullopt (tests run as root, so permission
// tricks do not work: use objects that cannot be served instead).
TEST_F(DiskStore, UnservableObjectsAreErrorsNotAbsence) {
  const fs::path dir = root() / "example.com" / "odd" / "@v";
  fs::create_directories(dir);
  ASSERT_EQ(::mkfifo((dir / "v1.0.0.zip").c_str(), 0644), 0);
  spit(dir / "real.mod", "x");
  fs::create_symlink(dir / "real.mod", dir / "v1.0.0.mod");
  fs::create_directory(dir / "v1.0.0.info");
  const std::string long_segment(300, 'a');
  const std::string cases[] = {
      "example.com/odd/@v/v1.0.0.zip",                   // FIFO: must not block, must not be served
      "example.com/odd/@v/v1.0.0.mod",                   // symlink: O_NOFOLLOW
      "example.com/odd/@v/v1.0.0.info",                  // directory
      "example.com/" + long_segment + "/@v/v1.0.0.mod",  // ENAMETOOLONG
  };
  for (const std::string& key : cases) {
    SCOPED_TRACE(key);
    EXPECT_THROW(m_store->get(key), StoreError);
  }
  EXPECT_THROW(m_store->versions("example.com/" + long_segment), StoreError);
}

TEST_F(DiskStore, FailedPutsLeaveNoStagedFiles) {
  ASSERT_TRUE(put_bytes(*m_store, "example.com/a/@v/v1.0.0.info", "{}"));
  EXPECT_FALSE(put_bytes(*m_store, "example.com/a/@v/v1.0.0.info", "{}"));
  EXPECT_THROW(put_bytes(*m_store, "../a/@v/v1.0.0.info", "{}"), StoreError);
  // A parent that is a file: mkdir fails with ENOTDIR.
  EXPECT_THROW(put_bytes(*m_store, "example.com/a/@v/v1.0.0.info/@v/v1.0.0.mod", "x"), StoreError);
  // The target directory is a file: the rename fails.
  spit(root() / "example.com/f/@v", "not a directory");
  EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.0.mod", "x"), StoreError);
  EXPECT_EQ(staged_files(tmp()), 0);
}

TEST_F(DiskStore, InvalidKeysWriteNothingOutsideRoot) {
  const std::set<std::string> before = tree(m_scratch.path());
  const std::string outside = (m_scratch / "abs").native();
  const std::string keys[] = {
      "../x/@v/v1.0.0.info",       "../../x/@v/v1.0.0.info", "example.com/../../x/@v/v1.0.0.info",
      outside + "/@v/v1.0.0.info", outside + "/@v/list",
  };
  for (const std::string& key : keys) {
    SCOPED_TRACE(key);
    EXPECT_THROW(put_bytes(*m_store, key, "escaped"), StoreError);
  }
  EXPECT_EQ(tree(m_scratch.path()), before);
}

// Two stores on one root stand for two processes: their list rewrites are serialized by the
// directory lock, not by the in-process mutex.
TEST_F(DiskStore, TwoStoresOnOneRootKeepEveryVersionInList) {
  std::unique_ptr<Store> other = make_disk_store(root());
  constexpr int k_per_thread = 25;
  constexpr int k_threads_per_store = 4;
  const std::string m = "example.com/shared";
  std::latch start(2 * k_threads_per_store);
  std::atomic<int> failures{0};
  std::atomic<int> lost{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * k_threads_per_store; ++t) {
    Store& s = t % 2 == 0 ? *m_store : *other;
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < k_per_thread; ++i) {
        const std::string v = "v1." + std::to_string(t) + "." + std::to_string(i);
        if (!put_bytes(s, m + "/@v/" + v + ".info", "{}")) failures.fetch_add(1);
        // A rewrite from a stale directory scan would drop a version already committed.
        const std::string list = "\n" + slurp(root() / m / "@v" / "list");
        for (int j = 0; j <= i; ++j) {
          const std::string line = "\nv1." + std::to_string(t) + "." + std::to_string(j) + "\n";
          if (list.find(line) == std::string::npos) {
            lost.fetch_add(1);
            break;
          }
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(lost.load(), 0);
  const std::string list = slurp(root() / m / "@v" / "list");
  EXPECT_EQ(std::count(list.begin(), list.end(), '\n'), 2 * k_threads_per_store * k_per_thread);
}

// A process killed between committing a .info and rewriting the list leaves the list without
// the version (or without a list at all): repair_list brings it back from the .info files.
TEST_F(DiskStore, RepairListRestoresVersionsAKilledCommitLeftOut) {
  const std::string m = "example.com/killed";
  const fs::path list = root() / m / "@v" / "list";
  ASSERT_TRUE(put_bytes(*m_store, m + "/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  ASSERT_TRUE(put_bytes(*m_store, m + "/@v/v1.1.0.info", R"({"Version":"v1.1.0"})"));
  fs::remove(list);
  spit(list, "v1.0.0\n");  // the list as it was before the second commit
  EXPECT_TRUE(m_store->repair_list(m));
  EXPECT_EQ(slurp(list), "v1.0.0\nv1.1.0\n");
  EXPECT_FALSE(m_store->repair_list(m));

  fs::remove(list);
  EXPECT_TRUE(m_store->repair_list(m));
  EXPECT_EQ(slurp(list), "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(mode_of(list), 0644u);
  EXPECT_EQ(staged_files(tmp()), 0);
}

// When the list cannot be rewritten after a commit (here: something in its way, as a full disk
// would refuse the write), the .info is committed and put says so with DerivedFileError, not
// with a plain failure; the next commit or repair converges the list.
TEST_F(DiskStore, ListFailureAfterCommitIsADerivedFileError) {
  const std::string m = "example.com/full";
  const fs::path vdir = root() / m / "@v";
  ASSERT_TRUE(put_bytes(*m_store, m + "/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  fs::remove(vdir / "list");
  fs::create_directories(vdir / "list" / "blocker");
  EXPECT_THROW(put_bytes(*m_store, m + "/@v/v1.1.0.info", R"({"Version":"v1.1.0"})"),
               DerivedFileError);
  const std::optional<Object> info = m_store->get(m + "/@v/v1.1.0.info");
  ASSERT_TRUE(info.has_value()) << "the .info is committed";
  EXPECT_EQ(read_all(*info), R"({"Version":"v1.1.0"})");
  EXPECT_FALSE(put_bytes(*m_store, m + "/@v/v1.1.0.info", "{}")) << "and stays write-once";
  EXPECT_THROW(m_store->repair_list(m), StoreError);
  fs::remove_all(vdir / "list");
  EXPECT_TRUE(m_store->repair_list(m));
  EXPECT_EQ(slurp(vdir / "list"), "v1.0.0\nv1.1.0\n");
}

}  // namespace
}  // namespace stoa::store
