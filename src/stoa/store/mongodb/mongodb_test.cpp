// The MongoDB store beyond the conformance suite: where bodies live (inline, GridFS), what a
// losing writer leaves behind, damaged metadata, and faults between stoa and the server (resets,
// a silent server, a server gone), which must never read as absence. Against FerretDB
// (testing/mongo_server.hpp); the fault cases go through the FaultProxy of the S3 tests.

#include <mongoc/mongoc.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/mongodb/mongodb.hpp"
#include "stoa/store/testing/mongo_server.hpp"
#include "stoa/store/testing/s3_server.hpp"
#include "stoa/store/testing/store_test_util.hpp"

// AddressSanitizer keeps freed blocks in a quarantine (256 MiB by default) to catch uses after
// free. libmongoc allocates every reply afresh, so the 500 MiB conformance case, which checks
// that moving a body keeps the peak RSS flat, would measure the quarantine filling up (265 MiB
// seen) rather than the store. 32 MiB keeps the detection for this binary's tests.
extern "C" const char* __asan_default_options();
extern "C" const char* __asan_default_options() { return "quarantine_size_mb=32"; }

namespace stoa::store {
namespace {

using fsio::testing::ScratchDir;
using testing::FaultProxy;
using testing::MongoServer;
using testing::put_bytes;
using testing::read_all;

// A second, direct connection to the test server, to look at and damage what the store wrote.
class Direct {
 public:
  explicit Direct(const std::string& database) : m_database(database) {
    mongoc_init();
    m_client = mongoc_client_new(MongoServer::shared().uri().c_str());
  }
  ~Direct() { mongoc_client_destroy(m_client); }
  Direct(const Direct&) = delete;
  Direct& operator=(const Direct&) = delete;

  std::int64_t count(const std::string& collection) {
    mongoc_collection_t* c =
        mongoc_client_get_collection(m_client, m_database.c_str(), collection.c_str());
    bson_t filter = BSON_INITIALIZER;
    bson_error_t error{};
    const std::int64_t n =
        mongoc_collection_count_documents(c, &filter, nullptr, nullptr, nullptr, &error);
    bson_destroy(&filter);
    mongoc_collection_destroy(c);
    if (n < 0) ADD_FAILURE() << "count " << collection << ": " << error.message;
    return n;
  }

  // Inserts {_id: key, size: "not a number", etag: "x"} into <prefix>.objects.
  void insert_malformed(const std::string& key) {
    mongoc_collection_t* c =
        mongoc_client_get_collection(m_client, m_database.c_str(), "stoa.objects");
    bson_t doc = BSON_INITIALIZER;
    BSON_APPEND_UTF8(&doc, "_id", key.c_str());
    BSON_APPEND_UTF8(&doc, "size", "not a number");
    BSON_APPEND_UTF8(&doc, "etag", "x");
    bson_error_t error{};
    if (!mongoc_collection_insert_one(c, &doc, nullptr, nullptr, &error)) {
      ADD_FAILURE() << "insert: " << error.message;
    }
    bson_destroy(&doc);
    mongoc_collection_destroy(c);
  }

  void delete_all(const std::string& collection) {
    mongoc_collection_t* c =
        mongoc_client_get_collection(m_client, m_database.c_str(), collection.c_str());
    bson_t filter = BSON_INITIALIZER;
    bson_error_t error{};
    if (!mongoc_collection_delete_many(c, &filter, nullptr, nullptr, &error)) {
      ADD_FAILURE() << "delete " << collection << ": " << error.message;
    }
    bson_destroy(&filter);
    mongoc_collection_destroy(c);
  }

 private:
  std::string m_database;
  mongoc_client_t* m_client = nullptr;
};

class MongoStoreTest : public ::testing::Test {
 protected:
  MongoServer& server() { return MongoServer::shared(); }
  MongoOptions options() { return server().options(m_database, m_scratch / "spool"); }

  ScratchDir m_scratch;
  std::string m_database = server().make_database();
};

TEST_F(MongoStoreTest, SmallBodiesAreInlineBigOnesInGridFSAndSpooled) {
  MongoOptions o = options();
  o.inline_max = 1000;
  const auto store = make_mongodb_store(o);
  ASSERT_TRUE(put_bytes(*store, "example.com/a/@v/v1.0.0.mod", std::string(1000, 'm')));
  ASSERT_TRUE(put_bytes(*store, "example.com/a/@v/v1.0.0.zip", std::string(1001, 'z')));
  const auto small = store->get("example.com/a/@v/v1.0.0.mod");
  const auto big = store->get("example.com/a/@v/v1.0.0.zip");
  ASSERT_TRUE(small && big);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const std::string>>(small->body));
  EXPECT_TRUE(std::holds_alternative<fsio::UniqueFd>(big->body));
  EXPECT_EQ(read_all(*small), std::string(1000, 'm'));
  EXPECT_EQ(read_all(*big), std::string(1001, 'z'));
  Direct direct(m_database);
  EXPECT_EQ(direct.count("stoa.objects"), 2);
  EXPECT_EQ(direct.count("stoa.files"), 1);
  EXPECT_GE(direct.count("stoa.chunks"), 1);
}

// Every body in GridFS (inline_max = 0 keeps only empty ones inline), over chunk boundaries.
TEST_F(MongoStoreTest, GridFSRoundTripsAtChunkBoundaries) {
  MongoOptions o = options();
  o.inline_max = 0;
  const auto store = make_mongodb_store(o);
  const std::size_t chunk = 255 * 1024;  // GridFS's default chunk size
  const std::size_t sizes[] = {0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk};
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    std::string bytes(sizes[i], '\0');
    for (std::size_t j = 0; j < bytes.size(); ++j) bytes[j] = static_cast<char>((j * 7 + i) >> 3);
    const std::string key = "example.com/g/@v/v1.0." + std::to_string(i) + ".zip";
    SCOPED_TRACE(key);
    ASSERT_TRUE(put_bytes(*store, key, bytes));
    const auto obj = store->get(key);
    ASSERT_TRUE(obj.has_value());
    EXPECT_EQ(obj->size, bytes.size());
    EXPECT_TRUE(read_all(*obj) == bytes);
    EXPECT_FALSE(put_bytes(*store, key, "other"));
  }
  Direct direct(m_database);
  EXPECT_EQ(direct.count("stoa.files"), 5) << "a losing writer's upload is deleted";
}

// 6 writers race on one GridFS key: one wins, the losers' uploads (files and chunks) are gone.
TEST_F(MongoStoreTest, LosingWritersLeaveNoChunksBehind) {
  MongoOptions o = options();
  o.inline_max = 0;
  const auto store = make_mongodb_store(o);
  constexpr int k_writers = 6;
  const std::string key = "example.com/race/@v/v1.0.0.zip";
  std::vector<fsio::TempFile> staged;
  for (int i = 0; i < k_writers; ++i) {
    staged.push_back(store->stage());
    staged.back().write(std::string(300 * 1024, static_cast<char>('a' + i)));  // two chunks
  }
  std::latch start(k_writers);
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_writers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (store->put(key, std::move(staged[static_cast<std::size_t>(i)]))) wins.fetch_add(1);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  Direct direct(m_database);
  EXPECT_EQ(direct.count("stoa.files"), 1);
  EXPECT_EQ(direct.count("stoa.chunks"), 2);
}

TEST_F(MongoStoreTest, MetadataWithoutItsGridFSFileIsAnErrorNotAbsence) {
  MongoOptions o = options();
  o.inline_max = 0;
  const auto store = make_mongodb_store(o);
  const std::string key = "example.com/lost/@v/v1.0.0.zip";
  ASSERT_TRUE(put_bytes(*store, key, "zip bytes"));
  Direct direct(m_database);
  direct.delete_all("stoa.files");
  direct.delete_all("stoa.chunks");
  EXPECT_THROW(store->get(key), StoreError);
  EXPECT_FALSE(put_bytes(*store, key, "zip bytes")) << "the key is still taken";
}

// A document the store did not write (another program's, a damaged one) is an error, not absence
// and not a body, for get() and for put().
TEST_F(MongoStoreTest, MalformedMetadataIsAnErrorNotAbsence) {
  const auto store = make_mongodb_store(options());
  const std::string key = "example.com/odd/@v/v1.0.0.mod";
  Direct direct(m_database);
  direct.insert_malformed(key);
  EXPECT_THROW(store->get(key), StoreError);
  // The key is taken by a document put() cannot read either: reported, never replaced.
  EXPECT_THROW(put_bytes(*store, key, "module example.com/odd\n"), StoreError);
  EXPECT_THROW(store->get(key), StoreError);
}

TEST_F(MongoStoreTest, BadSetupStopsWithOneClearErrorWithoutTheCredentials) {
  MongoOptions o = options();
  o.uri = "mongodb://stoa:wrong-secret-value@127.0.0.1:1/?serverSelectionTimeoutMS=300";
  try {
    (void)make_mongodb_store(o);
    ADD_FAILURE() << "an unreachable server must stop";
  } catch (const StoreError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot reach mongodb://127.0.0.1:1/"), std::string::npos) << what;
    EXPECT_EQ(what.find("wrong-secret-value"), std::string::npos) << what;
  }
  o = options();
  o.uri = "http://127.0.0.1:1";
  EXPECT_THROW((void)make_mongodb_store(o), StoreError);
  o = options();
  o.spool_dir.clear();
  EXPECT_THROW((void)make_mongodb_store(o), StoreError);
}

class MongoFaultTest : public MongoStoreTest {
 protected:
  void SetUp() override {
    m_proxy = std::make_unique<FaultProxy>(server().port());
    m_store = make_mongodb_store(proxied());
    ASSERT_TRUE(put_bytes(*m_store, m_key, "stored bytes"));
  }
  MongoOptions proxied() {
    MongoOptions o = options();
    o.uri = "mongodb://127.0.0.1:" + std::to_string(m_proxy->port()) + "/";
    o.connect_timeout = std::chrono::milliseconds(1000);
    o.inline_max = 4;  // m_key's body goes to GridFS
    return o;
  }
  // Every kind of call fails with StoreError; none reports absence.
  void expect_every_call_fails() {
    EXPECT_THROW(m_store->get(m_key), StoreError);
    EXPECT_THROW(m_store->get(m_missing), StoreError);
    EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
    EXPECT_THROW(m_store->files("example.com/f"), StoreError);
    EXPECT_THROW(m_store->modules(), StoreError);
    EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.1.mod", "x"), StoreError);
    EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.1.zip", "bigger body"), StoreError);
  }

  std::unique_ptr<FaultProxy> m_proxy;
  std::unique_ptr<Store> m_store;
  const std::string m_key = "example.com/f/@v/v1.0.0.zip";
  const std::string m_missing = "example.com/f/@v/v9.9.9.mod";
};

TEST_F(MongoFaultTest, ConnectionResetsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::reset);
  expect_every_call_fails();
  EXPECT_GE(m_proxy->faults_served(), 1);
  m_proxy->set(FaultProxy::Mode::pass);
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  EXPECT_FALSE(m_store->get("example.com/f/@v/v1.0.1.mod").has_value());
}

TEST_F(MongoFaultTest, AServerSilentLongerThanTheStallTimeoutIsAStoreError) {
  MongoOptions o = proxied();
  o.stall_timeout = std::chrono::milliseconds(300);
  const auto store = make_mongodb_store(o);
  m_proxy->set(FaultProxy::Mode::late);
  EXPECT_THROW(store->get(m_missing), StoreError);
  EXPECT_GE(m_proxy->faults_served(), 1);
}

TEST_F(MongoFaultTest, AServerGoneIsAStoreError) {
  m_proxy.reset();  // its port is closed now
  expect_every_call_fails();
}

}  // namespace
}  // namespace stoa::store
