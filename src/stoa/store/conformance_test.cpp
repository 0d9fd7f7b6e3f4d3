// The Store contract (store.hpp), checked identically against every backend. A new backend is
// one more entry in k_backends (or one INSTANTIATE_TEST_SUITE_P in its own test file).

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <latch>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/azure/azure.hpp"
#include "stoa/store/disk.hpp"
#include "stoa/store/gcs/gcs.hpp"
#include "stoa/store/memory.hpp"
#include "stoa/store/mongodb/mongodb.hpp"
#include "stoa/store/s3/s3.hpp"
#include "stoa/store/store.hpp"
#include "stoa/store/testing/azurite.hpp"
#include "stoa/store/testing/gcs_server.hpp"
#include "stoa/store/testing/mongo_server.hpp"
#include "stoa/store/testing/s3_server.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store {
namespace {

namespace fs = std::filesystem;
using fsio::testing::ScratchDir;
using testing::put_bytes;
using testing::read_all;
using testing::read_body;

struct Backend {
  std::string name;
  // Opens a fresh, empty store whose files (if any) live under `scratch`.
  std::function<std::unique_ptr<Store>(const fs::path& scratch)> open;
  bool holds_big_objects = true;  // false: the 500 MiB case does not apply (memory)
};

void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

const Backend k_backends[] = {
    {"Memory",
     [](const fs::path& scratch) {
       fs::create_directory(scratch / "staging");
       return make_memory_store(scratch / "staging");
     },
     false},
    {"Disk", [](const fs::path& scratch) { return make_disk_store(scratch / "root"); }},
    // versitygw on loopback, started once per test binary; each test gets a fresh bucket. When
    // versitygw is missing, every S3 case fails (it does not skip).
    {"S3",
     [](const fs::path& scratch) {
       testing::S3Server& server = testing::S3Server::shared();
       return make_s3_store(server.options(server.make_bucket(), scratch / "spool"));
     }},
    // Azurite on loopback, started once per test binary; each test gets a fresh container.
    // List Blobs pages of 100 names, so that every listing of more than 100 blobs crosses pages.
    // When Azurite is missing, every Azure case fails (it does not skip).
    {"Azure",
     [](const fs::path& scratch) {
       testing::Azurite& server = testing::Azurite::shared();
       AzureOptions o = server.options(server.make_container(), scratch / "spool");
       o.max_results = 100;
       return make_azure_store(o);
     }},
    // fake-gcs-server on loopback, the same way; listings in pages of 100 names (GCS's are of
    // 1,000), so that the listings of ListingsOfMoreThan1000Versions take several pages.
    {"Gcs",
     [](const fs::path& scratch) {
       testing::GcsServer& server = testing::GcsServer::shared();
       GcsOptions o = server.options(server.make_bucket(), scratch / "spool");
       o.page_size = 100;
       return make_gcs_store(o);
     }},
    // FerretDB on loopback, started once per test binary; each test gets a fresh database. When
    // ferretdb is missing, every MongoDB case fails (it does not skip).
    {"MongoDB",
     [](const fs::path& scratch) {
       testing::MongoServer& server = testing::MongoServer::shared();
       return make_mongodb_store(server.options(server.make_database(), scratch / "spool"));
     }},
};

// Deterministic bytes of any length, regenerated for streaming comparison (xorshift64*).
class ByteStream {
 public:
  explicit ByteStream(std::uint64_t seed) : m_state(seed * 0x9E3779B97F4A7C15ULL | 1) {}
  std::string next(std::size_t n) {
    std::string out;
    next(n, out);
    return out;
  }
  // Into `out` (resized to n), reusing its buffer.
  void next(std::size_t n, std::string& out) {
    out.resize(n);
    std::size_t i = 0;
    for (; i < n && m_left > 0; ++i) out[i] = take_byte();
    for (; n - i >= 8; i += 8) {
      const std::uint64_t w = step();
      std::memcpy(out.data() + i, &w, 8);
    }
    for (; i < n; ++i) {
      if (m_left == 0) {
        m_word = step();
        m_left = 8;
      }
      out[i] = take_byte();
    }
  }

 private:
  std::uint64_t step() {
    m_state ^= m_state >> 12;
    m_state ^= m_state << 25;
    m_state ^= m_state >> 27;
    return m_state * 0x2545F4914F6CDD1DULL;
  }
  char take_byte() {
    const auto c = static_cast<char>(m_word & 0xff);
    m_word >>= 8;
    --m_left;
    return c;
  }

  std::uint64_t m_state;
  std::uint64_t m_word = 0;
  int m_left = 0;
};

constexpr std::size_t k_chunk = 1 << 20;

std::string info_json(const std::string& version) {
  return R"({"Version":")" + version + R"(","Time":"2024-01-02T03:04:05Z"})";
}

std::set<std::string> lines_of(const std::string& body) {
  std::set<std::string> out;
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t nl = body.find('\n', start);
    out.insert(body.substr(start, nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"); 0 when unreadable.
std::uint64_t proc_status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":")) return std::stoull(line.substr(field.size() + 1)) * 1024;
  }
  return 0;
}

// Resets the peak resident set size (VmHWM) to the current one; false where not supported.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

// Reads exactly `n` bytes at `offset` of `fd` into `out` (resized), or fewer at the end.
void pread_into(int fd, std::uint64_t offset, std::size_t n, std::string& out) {
  out.resize(n);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    done += static_cast<std::size_t>(r);
  }
  out.resize(done);
}

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { m_store = GetParam().open(m_scratch.path()); }

  Store& store() { return *m_store; }

  // Puts `size` generated bytes under `key` (streamed in chunks) and checks them back.
  void round_trip(const std::string& key, std::uint64_t size, std::uint64_t seed) {
    SCOPED_TRACE(key);
    fsio::TempFile staged = store().stage();
    ByteStream gen(seed);
    for (std::uint64_t done = 0; done < size; done += k_chunk) {
      staged.write(
          gen.next(static_cast<std::size_t>(std::min<std::uint64_t>(k_chunk, size - done))));
    }
    ASSERT_EQ(staged.size(), size);
    ASSERT_TRUE(store().put(key, std::move(staged)));

    const std::optional<Object> obj = store().get(key);
    ASSERT_TRUE(obj.has_value());
    EXPECT_EQ(obj->size, size);
    ASSERT_GE(obj->etag.size(), 3u);
    EXPECT_EQ(obj->etag.front(), '"');
    EXPECT_EQ(obj->etag.back(), '"');
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    EXPECT_LE(obj->mtime_unix, now + 1);
    EXPECT_GE(obj->mtime_unix, now - 3600);
    ByteStream expect(seed);
    for (std::uint64_t off = 0; off < size; off += k_chunk) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(k_chunk, size - off));
      ASSERT_EQ(read_body(*obj, off, n), expect.next(n)) << "chunk at " << off;
    }
    EXPECT_EQ(read_body(*obj, size, 1), "") << "body longer than its size";
  }

  ScratchDir m_scratch;
  std::unique_ptr<Store> m_store;
};

TEST_P(StoreConformance, GetOfMissingKeyIsNullopt) {
  EXPECT_FALSE(store().get("example.com/a/@v/v1.0.0.info").has_value());
  EXPECT_FALSE(store().get("example.com/a/@v/list").has_value());
  EXPECT_FALSE(store().get("example.com/a/@latest").has_value());
  ASSERT_TRUE(put_bytes(store(), "example.com/a/@v/v1.0.0.mod", "module example.com/a\n"));
  EXPECT_FALSE(store().get("example.com/a/@v/v1.0.0.zip").has_value());
  EXPECT_FALSE(store().get("example.com/a/@v/v1.0.0.info").has_value());
  EXPECT_FALSE(store().get("example.com/a/b/@v/v1.0.0.mod").has_value());
}

TEST_P(StoreConformance, PutThenGetReturnsIdenticalBytes) {
  const std::uint64_t sizes[] = {0, 1, 4095, 4096, (1u << 20) + 7};
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    round_trip("example.com/sizes/@v/v1.0." + std::to_string(i) + ".zip", sizes[i], i + 1);
  }
}

TEST_P(StoreConformance, PutThenGetOf64MiB) {
  round_trip("example.com/big/@v/v1.0.0.zip", std::uint64_t{64} << 20, 99);
}

// The largest module zip the go command accepts, generated and checked in 1 MiB chunks through
// reused buffers: the store must neither hold it in memory on put nor on get.
TEST_P(StoreConformance, PutThenGetOf500MiBKeepsMemoryFlat) {
  if (!GetParam().holds_big_objects) GTEST_SKIP() << "the memory store holds objects in memory";
  constexpr std::uint64_t k_size = std::uint64_t{500} << 20;
  constexpr std::uint64_t k_allowed_growth = std::uint64_t{96} << 20;
  const std::string key = "example.com/huge/@v/v1.0.0.zip";
  std::string buf;
  std::string want;
  buf.reserve(k_chunk);
  want.reserve(k_chunk);
  const bool reset = reset_peak_rss();
  const std::uint64_t base = reset ? proc_status_bytes("VmRSS") : proc_status_bytes("VmHWM");
  {
    fsio::TempFile staged = store().stage();
    ByteStream gen(500);
    for (std::uint64_t done = 0; done < k_size; done += k_chunk) {
      gen.next(k_chunk, buf);
      staged.write(buf);
    }
    ASSERT_TRUE(store().put(key, std::move(staged)));
  }
  const std::optional<Object> obj = store().get(key);
  ASSERT_TRUE(obj.has_value());
  ASSERT_EQ(obj->size, k_size);
  ASSERT_TRUE(std::holds_alternative<fsio::UniqueFd>(obj->body))
      << "a 500 MiB body must be a file, not bytes in memory";
  const int fd = std::get<fsio::UniqueFd>(obj->body).get();
  ByteStream expect(500);
  for (std::uint64_t off = 0; off < k_size; off += k_chunk) {
    expect.next(k_chunk, want);
    pread_into(fd, off, k_chunk, buf);
    ASSERT_TRUE(buf == want) << "chunk at " << off;
  }
  pread_into(fd, k_size, 1, buf);
  EXPECT_TRUE(buf.empty()) << "body longer than its size";
  const std::uint64_t peak = proc_status_bytes("VmHWM");
  ASSERT_GT(peak, 0u);
  EXPECT_LT(peak, base + k_allowed_growth)
      << "peak RSS grew by " << (peak - base) / (1 << 20) << " MiB moving a 500 MiB object";
}

TEST_P(StoreConformance, SecondPutReturnsFalseAndKeepsFirstBytes) {
  const std::string key = "example.com/a/@v/v1.0.0.mod";
  ASSERT_TRUE(put_bytes(store(), key, "module example.com/a\n"));
  const std::optional<Object> first = store().get(key);
  ASSERT_TRUE(first.has_value());

  fsio::TempFile staged = store().stage();
  staged.write("module evil.example/a\n// longer, different bytes\n");
  const fs::path staged_path = staged.path();
  EXPECT_FALSE(store().put(key, std::move(staged)));
  EXPECT_FALSE(fs::exists(staged_path)) << "a discarded staged file must be removed";

  const std::optional<Object> again = store().get(key);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(read_all(*again), "module example.com/a\n");
  EXPECT_EQ(again->size, first->size);
  EXPECT_EQ(again->etag, first->etag);
  EXPECT_FALSE(put_bytes(store(), key, ""));
  EXPECT_EQ(read_all(*store().get(key)), "module example.com/a\n");
}

TEST_P(StoreConformance, CommittedStagedFileNoLongerExistsUnderItsTempName) {
  fsio::TempFile staged = store().stage();
  staged.write("x");
  const fs::path staged_path = staged.path();
  ASSERT_TRUE(store().put("example.com/a/@v/v1.0.0.zip", std::move(staged)));
  EXPECT_FALSE(fs::exists(staged_path));
}

TEST_P(StoreConformance, EtagIsStableAndDiffersBetweenObjects) {
  ASSERT_TRUE(put_bytes(store(), "example.com/a/@v/v1.0.0.mod", "same"));
  ASSERT_TRUE(put_bytes(store(), "example.com/a/@v/v1.0.1.mod", "same"));
  const std::string a1 = store().get("example.com/a/@v/v1.0.0.mod")->etag;
  const std::string a2 = store().get("example.com/a/@v/v1.0.0.mod")->etag;
  const std::string b = store().get("example.com/a/@v/v1.0.1.mod")->etag;
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
}

// 8 writers race to put different bytes under one key while readers watch: exactly one put
// wins and nobody ever sees other bytes, or a partial object.
TEST_P(StoreConformance, RacingPutsHaveExactlyOneWinnerAndReadersSeeOnlyIt) {
  constexpr int k_writers = 8;
  constexpr int k_readers = 3;
  const std::string key = "example.com/race/@v/v1.0.0.zip";
  auto bytes_of = [](int i) {
    return std::string(4096 + static_cast<std::size_t>(i) * 1031, static_cast<char>('A' + i));
  };
  std::vector<fsio::TempFile> staged;
  for (int i = 0; i < k_writers; ++i) {
    staged.push_back(store().stage());
    staged.back().write(bytes_of(i));
  }
  std::latch start(k_writers + k_readers);
  std::atomic<int> writers_done{0};
  std::vector<int> won(k_writers, 0);
  std::vector<std::set<int>> seen(k_readers);
  std::atomic<int> bad_reads{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_writers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      won[static_cast<std::size_t>(i)] =
          store().put(key, std::move(staged[static_cast<std::size_t>(i)])) ? 1 : 0;
      writers_done.fetch_add(1);
    });
  }
  for (int r = 0; r < k_readers; ++r) {
    threads.emplace_back([&, r] {
      start.arrive_and_wait();
      bool last = false;
      while (!last) {
        last = writers_done.load() == k_writers;  // one more read after every put returned
        const std::optional<Object> obj = store().get(key);
        if (!obj) continue;
        const std::string body = read_all(*obj);
        const int who = body.empty() ? -1 : body[0] - 'A';
        if (who < 0 || who >= k_writers || body != bytes_of(who) || obj->size != body.size()) {
          bad_reads.fetch_add(1);
        } else {
          seen[static_cast<std::size_t>(r)].insert(who);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  ASSERT_EQ(std::count(won.begin(), won.end(), 1), 1);
  const int winner = static_cast<int>(std::find(won.begin(), won.end(), 1) - won.begin());
  EXPECT_EQ(bad_reads.load(), 0);
  for (const std::set<int>& s : seen) {
    ASSERT_EQ(s.size(), 1u) << "a reader saw two different objects";
    EXPECT_EQ(*s.begin(), winner);
  }
  EXPECT_EQ(read_all(*store().get(key)), bytes_of(winner));
}

TEST_P(StoreConformance, KeysWithEveryLegalCharacter) {
  const std::string keys[] = {
      "example.com/!my!org/pkg_a~b.c-d+e/@v/v1.0.0-!r!c.1+incompatible.zip",
      "gopkg.in/yaml.v3/@v/v3.0.1.mod",
      "example.com/x/v2/@v/v2.0.0-beta.1.info",
      "example.com/~user/a_b/@latest",
      "example.com/a/@v/list",
      "example.com/a.b-c_d~e/@v/v0.0.0-20240101000000-abcdefabcdef.zip",
  };
  for (std::size_t i = 0; i < std::size(keys); ++i) {
    SCOPED_TRACE(keys[i]);
    const std::string bytes = "bytes of " + keys[i];
    ASSERT_TRUE(put_bytes(store(), keys[i], bytes));
    const std::optional<Object> obj = store().get(keys[i]);
    ASSERT_TRUE(obj.has_value());
    EXPECT_EQ(read_all(*obj), bytes);
  }
}

TEST_P(StoreConformance, InvalidKeysThrowStoreErrorOnPutAndGet) {
  const std::string bad[] = {
      "",
      "/abs/@v/v1.0.0.info",
      "../x/@v/v1.0.0.info",
      "example.com/../../x/@v/v1.0.0.info",
      "example.com/./a/@v/v1.0.0.info",
      "example.com//a/@v/v1.0.0.info",
      ".stoa-tmp/a/@v/v1.0.0.info",
      "example.com/.git/@v/v1.0.0.info",
      "example.com\\..\\x/@v/v1.0.0.info",
      std::string("example.com/a\0b/@v/v1.0.0.info", 30),
      "example.com/a b/@v/v1.0.0.info",
      "example.com/a\n/@v/v1.0.0.info",
      "example.com/a/@v/v1.0.0.txt",
      "example.com/a/@v/.info",
      "example.com/a/@v/",
      "example.com/a/@v/list/",
      "example.com/a/@v/x/v1.0.0.info",
      "@v/v1.0.0.info",
      "/@v/v1.0.0.info",
      "@latest",
      "example.com/a/@latest/x",
      "example.com/a",
      "example.com/a%2f/@v/v1.0.0.mod",
      "example.com/\xc3\xa9/@v/v1.0.0.mod",
  };
  for (const std::string& key : bad) {
    SCOPED_TRACE(::testing::PrintToString(key));
    fsio::TempFile staged = store().stage();
    staged.write("should never be stored");
    const fs::path staged_path = staged.path();
    EXPECT_THROW(store().put(key, std::move(staged)), StoreError);
    EXPECT_FALSE(fs::exists(staged_path));
    EXPECT_THROW(store().get(key), StoreError);
  }
  EXPECT_FALSE(fs::exists(m_scratch / "x"));
  EXPECT_FALSE(fs::exists(m_scratch / "abs"));
  EXPECT_FALSE(fs::exists("/abs"));
}

TEST_P(StoreConformance, PutWithoutStagedFileThrows) {
  EXPECT_THROW(store().put("example.com/a/@v/v1.0.0.mod", fsio::TempFile()), StoreError);
  EXPECT_FALSE(store().get("example.com/a/@v/v1.0.0.mod").has_value());
}

// versions() reports every version with a .info, pseudo-versions included; the list object
// holds the case-decoded non-pseudo ones, sorted, one per line.
TEST_P(StoreConformance, VersionsIncludePseudoButListExcludesThem) {
  const std::string m = "example.com/!my!mod";
  const std::vector<std::string> all = {
      "v1.0.0",
      "v1.1.0-!r!c.1",
      "v2.0.0+incompatible",
      "v0.0.0-20230102030405-abcdefabcdef",
      "v1.0.1-0.20230102030405-!a!bcdefabcdef",
      "v1.2.3-pre.0.20230102030405-abcdefabcdef",
  };
  EXPECT_TRUE(store().versions(m).empty());
  for (const std::string& v : all) {
    ASSERT_TRUE(put_bytes(store(), m + "/@v/" + v + ".info", info_json(v)));
  }
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v9.0.0.mod", "module example.com/MyMod\n"));
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v9.0.1.zip", "PK"));
  ASSERT_TRUE(put_bytes(store(), m + "/sub/@v/v0.1.0.info", info_json("v0.1.0")));

  std::vector<std::string> got = store().versions(m);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want = all;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(store().versions(m + "/sub"), std::vector<std::string>{"v0.1.0"});
  EXPECT_TRUE(store().versions("example.com/none").empty());
  EXPECT_TRUE(store().versions("example.com").empty());

  const std::optional<Object> list = store().get(m + "/@v/list");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(read_all(*list), "v1.0.0\nv1.1.0-RC.1\nv2.0.0+incompatible\n");
  EXPECT_EQ(read_all(*store().get(m + "/sub/@v/list")), "v0.1.0\n");
}

// modules() names every module with an object under @v/, once, nested modules included, and
// nothing else (not a path prefix); files() names a module's objects, list and hashes included.
TEST_P(StoreConformance, ModulesAndFilesNameWhatIsStored) {
  EXPECT_TRUE(store().modules().empty());
  ASSERT_TRUE(put_bytes(store(), "example.com/!my!mod/@v/v1.0.0.info", info_json("v1.0.0")));
  ASSERT_TRUE(put_bytes(store(), "example.com/!my!mod/@v/v1.0.0.ziphash", "h1:x\n"));
  ASSERT_TRUE(put_bytes(store(), "example.com/!my!mod/sub/@v/v0.1.0.info", info_json("v0.1.0")));
  ASSERT_TRUE(put_bytes(store(), "example.com/untagged/@v/v0.0.0-20230102030405-abcdefabcdef.info",
                        info_json("v0.0.0-20230102030405-abcdefabcdef")));
  ASSERT_TRUE(
      put_bytes(store(), "example.com/onlymod/@v/v1.0.0.mod", "module example.com/onlymod\n"));
  std::vector<std::string> got = store().modules();
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"example.com/!my!mod", "example.com/!my!mod/sub",
                                           "example.com/onlymod", "example.com/untagged"}));
  std::vector<std::string> names = store().files("example.com/!my!mod");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"list", "v1.0.0.info", "v1.0.0.ziphash"}));
  EXPECT_EQ(store().files("example.com/onlymod"), std::vector<std::string>{"v1.0.0.mod"});
  EXPECT_TRUE(store().files("example.com/none").empty());
  EXPECT_TRUE(store().files("example.com").empty());
}

TEST_P(StoreConformance, PseudoOnlyModuleHasNoList) {
  const std::string m = "example.com/untagged";
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v0.0.0-20230102030405-abcdefabcdef.info",
                        info_json("v0.0.0-20230102030405-abcdefabcdef")));
  EXPECT_EQ(store().versions(m).size(), 1u);
  EXPECT_FALSE(store().get(m + "/@v/list").has_value());
}

TEST_P(StoreConformance, ListIsReplacedOnEachTaggedInfo) {
  const std::string m = "example.com/grow";
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v1.0.0.info", info_json("v1.0.0")));
  const std::optional<Object> first = store().get(m + "/@v/list");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(read_all(*first), "v1.0.0\n");
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v1.1.0.info", info_json("v1.1.0")));
  const std::optional<Object> second = store().get(m + "/@v/list");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(read_all(*second), "v1.0.0\nv1.1.0\n");
  EXPECT_NE(first->etag, second->etag);
  EXPECT_EQ(read_all(*first), "v1.0.0\n") << "an open object keeps its bytes";
  // A repeated .info changes nothing.
  EXPECT_FALSE(put_bytes(store(), m + "/@v/v1.1.0.info", info_json("v1.1.0")));
  EXPECT_EQ(store().get(m + "/@v/list")->etag, second->etag);
}

// 200 versions of one module committed from 8 threads: the list loses none of them.
TEST_P(StoreConformance, ConcurrentCommitsKeepEveryVersionInList) {
  constexpr int k_threads = 8;
  constexpr int k_versions = 200;
  const std::string m = "example.com/busy";
  std::vector<std::string> versions;
  std::set<std::string> tagged;
  for (int i = 0; i < k_versions; ++i) {
    if (i % 4 == 3) {
      std::string seconds = std::to_string(i);
      seconds.insert(0, 6 - seconds.size(), '0');
      versions.push_back("v0.0.0-20240101" + seconds + "-abcdefabcdef");
    } else {
      versions.push_back("v1." + std::to_string(i) + ".0");
      tagged.insert(versions.back());
    }
  }
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::atomic<int> lost{0};
  std::latch start(k_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      std::set<std::string> mine;  // tagged versions this thread has committed
      for (int i = next.fetch_add(1); i < k_versions; i = next.fetch_add(1)) {
        const std::string& v = versions[static_cast<std::size_t>(i)];
        if (!put_bytes(store(), m + "/@v/" + v + ".info", info_json(v))) failures.fetch_add(1);
        if (tagged.count(v) == 0) continue;
        mine.insert(v);
        // Once put() returned, no later list rewrite (a stale one included) may drop it.
        const std::optional<Object> list = store().get(m + "/@v/list");
        const std::set<std::string> listed =
            list ? lines_of(read_all(*list)) : std::set<std::string>{};
        if (!std::includes(listed.begin(), listed.end(), mine.begin(), mine.end())) {
          lost.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(lost.load(), 0);

  const std::vector<std::string> got = store().versions(m);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()),
            std::set<std::string>(versions.begin(), versions.end()));
  const std::optional<Object> list = store().get(m + "/@v/list");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(lines_of(read_all(*list)), tagged);
  EXPECT_EQ(tagged.size(), 150u);
}

// More versions than one S3 LIST page (1,000 keys): versions() and the list rebuild page.
TEST_P(StoreConformance, ListingsOfMoreThan1000Versions) {
  constexpr int k_threads = 8;
  constexpr int k_pseudo = 1100;
  const std::string m = "example.com/many";
  std::vector<std::string> all;
  for (int i = 0; i < k_pseudo; ++i) {
    std::string stamp = std::to_string(i);
    stamp.insert(0, 6 - stamp.size(), '0');
    all.push_back("v0.0.0-20240101" + stamp + "-abcdefabcdef");
  }
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      for (int i = next.fetch_add(1); i < k_pseudo; i = next.fetch_add(1)) {
        const std::string& v = all[static_cast<std::size_t>(i)];
        if (!put_bytes(store(), m + "/@v/" + v + ".info", info_json(v))) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_FALSE(store().get(m + "/@v/list").has_value());
  for (const std::string v : {"v1.0.0", "v1.1.0"}) {
    ASSERT_TRUE(put_bytes(store(), m + "/@v/" + v + ".info", info_json(v)));
    all.push_back(v);
  }
  std::vector<std::string> got = store().versions(m);
  std::sort(got.begin(), got.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(got.size(), all.size());
  EXPECT_TRUE(got == all);
  const std::optional<Object> list = store().get(m + "/@v/list");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(read_all(*list), "v1.0.0\nv1.1.0\n");
  // modules() pages too: one module behind more than 1,000 keys.
  EXPECT_EQ(store().modules(), std::vector<std::string>{m});
}

TEST_P(StoreConformance, InvalidModuleForVersionsThrows) {
  for (const std::string bad : {"", "../x", "/abs", "example.com/../..", ".stoa-tmp", "a//b"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(store().versions(bad), StoreError);
  }
}

// A list that already matches the stored versions is left alone; nothing stored, nothing listed.
TEST_P(StoreConformance, RepairListRewritesOnlyWhatIsStale) {
  const std::string m = "example.com/repair";
  EXPECT_FALSE(store().repair_list(m)) << "no versions: no list to write";
  EXPECT_FALSE(store().get(m + "/@v/list").has_value());
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v0.0.0-20230102030405-abcdefabcdef.info",
                        info_json("v0.0.0-20230102030405-abcdefabcdef")));
  EXPECT_FALSE(store().repair_list(m)) << "pseudo-versions only: still no list";
  EXPECT_FALSE(store().get(m + "/@v/list").has_value());
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v1.0.0.info", info_json("v1.0.0")));
  ASSERT_TRUE(put_bytes(store(), m + "/@v/v1.1.0.info", info_json("v1.1.0")));
  const std::optional<Object> before = store().get(m + "/@v/list");
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(store().repair_list(m));
  const std::optional<Object> after = store().get(m + "/@v/list");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(read_all(*after), "v1.0.0\nv1.1.0\n");
  EXPECT_EQ(after->etag, before->etag) << "a list that is right is not rewritten";
  for (const std::string bad : {"", "../x", "/abs", ".stoa-tmp", "a//b"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(store().repair_list(bad), StoreError);
  }
}

INSTANTIATE_TEST_SUITE_P(All, StoreConformance, ::testing::ValuesIn(k_backends),
                         [](const ::testing::TestParamInfo<Backend>& p) { return p.param.name; });

}  // namespace
}  // namespace stoa::store
