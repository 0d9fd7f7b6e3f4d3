// The S3 backend's own behaviour against a real server (versitygw on loopback): what the
// conformance suite cannot express, i.e. transient failures, the conditional-write fallback,
// spooled reads and bad configuration. The contract itself is checked in conformance_test.cpp.

#include <sys/stat.h>

#include <atomic>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/s3/s3.hpp"
#include "stoa/store/testing/s3_server.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store {
namespace {

using fsio::testing::ScratchDir;
using testing::FaultProxy;
using testing::put_bytes;
using testing::read_all;
using testing::S3Server;

class S3StoreTest : public ::testing::Test {
 protected:
  S3Server& server() { return S3Server::shared(); }
  S3Options options() { return server().options(server().make_bucket(), m_scratch / "spool"); }
  ScratchDir m_scratch;
};

TEST_F(S3StoreTest, VersitygwHonoursConditionalCreate) {
  // Recorded so that a server upgrade that changes it shows up here (the fallback is tested
  // below either way).
  const auto store = make_s3_store(options());
  EXPECT_TRUE(s3_uses_conditional_writes(*store));
}

TEST_F(S3StoreTest, BigBodiesAreSpooledToAnUnlinkedFileSmallOnesStayInMemory) {
  S3Options o = options();
  o.inline_max = 1000;
  const auto store = make_s3_store(o);
  ASSERT_TRUE(put_bytes(*store, "example.com/a/@v/v1.0.0.mod", std::string(1000, 'm')));
  ASSERT_TRUE(put_bytes(*store, "example.com/a/@v/v1.0.0.zip", std::string(1001, 'z')));
  const auto small = store->get("example.com/a/@v/v1.0.0.mod");
  const auto big = store->get("example.com/a/@v/v1.0.0.zip");
  ASSERT_TRUE(small && big);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const std::string>>(small->body));
  ASSERT_TRUE(std::holds_alternative<fsio::UniqueFd>(big->body));
  struct stat st {};
  ASSERT_EQ(::fstat(std::get<fsio::UniqueFd>(big->body).get(), &st), 0);
  EXPECT_EQ(st.st_nlink, 0u) << "a spooled body has no name to leak";
  EXPECT_EQ(read_all(*big), std::string(1001, 'z'));
  EXPECT_TRUE(std::filesystem::is_empty(o.spool_dir));
}

// Without conditional writes put() checks with HEAD first: sequential writers still keep the
// first bytes (the race between replicas is documented, not tested).
TEST_F(S3StoreTest, FallbackWithoutConditionalWritesKeepsFirstBytes) {
  S3Options o = options();
  o.conditional = ConditionalWrite::off;
  o.part_size = std::uint64_t{5} << 20;
  const auto store = make_s3_store(o);
  EXPECT_FALSE(s3_uses_conditional_writes(*store));
  const std::string key = "example.com/a/@v/v1.0.0.zip";
  ASSERT_TRUE(put_bytes(*store, key, "first"));
  EXPECT_FALSE(put_bytes(*store, key, "second"));
  EXPECT_EQ(read_all(*store->get(key)), "first");
  // Multipart path too.
  const std::string big_key = "example.com/a/@v/v1.0.1.zip";
  const std::string big(std::size_t{6} << 20, 'b');
  ASSERT_TRUE(put_bytes(*store, big_key, big));
  EXPECT_FALSE(put_bytes(*store, big_key, std::string(std::size_t{6} << 20, 'c')));
  EXPECT_EQ(read_all(*store->get(big_key)), big);
}

// The conditional create decides alone (no HEAD): a second multipart commit answers 412.
TEST_F(S3StoreTest, ConditionalMultipartCommitOfExistingKeyReturnsFalse) {
  S3Options o = options();
  o.conditional = ConditionalWrite::on;
  o.part_size = std::uint64_t{5} << 20;
  const auto store = make_s3_store(o);
  const std::string key = "example.com/mp/@v/v1.0.0.zip";
  const std::string first(std::size_t{11} << 20, '1');
  ASSERT_TRUE(put_bytes(*store, key, first));
  EXPECT_FALSE(put_bytes(*store, key, std::string(std::size_t{11} << 20, '2')));
  EXPECT_EQ(read_all(*store->get(key)), first);
}

TEST_F(S3StoreTest, PresignedUrlServesAStoredObjectWithoutCredentials) {
  const S3Options o = options();
  const auto store = make_s3_store(o);
  const std::string key = "example.com/!pre~sign/@v/v2.0.0+incompatible.zip";
  ASSERT_TRUE(put_bytes(*store, key, "zip bytes"));
  const auto redirector = make_s3_redirector(o, std::chrono::seconds(60));
  EXPECT_FALSE(redirector->locate("example.com/!pre~sign/@v/v9.0.0.zip").has_value());
  const std::optional<std::string> url = redirector->locate(key);
  ASSERT_TRUE(url.has_value());
  EXPECT_TRUE(url->starts_with(o.endpoint + "/" + o.bucket + "/")) << *url;
  EXPECT_NE(url->find("X-Amz-Expires=60&"), std::string::npos) << *url;
  EXPECT_EQ(url->find(o.secret_key), std::string::npos);
  EXPECT_EQ(testing::plain_get(*url), std::make_pair(200L, std::string("zip bytes")));
  std::string tampered = *url;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(testing::plain_get(tampered).first, 403);
  EXPECT_EQ(testing::plain_get(o.endpoint + "/" + o.bucket + "/" + key).first, 403)
      << "the bucket must not be public for this test to mean anything";
  EXPECT_THROW((void)redirector->locate("../x/@v/v1.0.0.zip"), StoreError);
}

class S3FaultTest : public S3StoreTest {
 protected:
  void SetUp() override {
    m_proxy = std::make_unique<FaultProxy>(server().port());
    S3Options o = options();
    o.endpoint = m_proxy->endpoint();
    o.max_attempts = 3;
    m_store = make_s3_store(o);
    ASSERT_TRUE(put_bytes(*m_store, m_key, "stored bytes"));
  }
  std::unique_ptr<FaultProxy> m_proxy;
  std::unique_ptr<Store> m_store;
  const std::string m_key = "example.com/f/@v/v1.0.0.mod";
  const std::string m_missing = "example.com/f/@v/v9.9.9.mod";
};

TEST_F(S3FaultTest, ServerErrorsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::error_500);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
  EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.1.mod", "x"), StoreError);
  EXPECT_GE(m_proxy->faults_served(), 3 * 4) << "each operation is retried max_attempts times";
  m_proxy->set(FaultProxy::Mode::pass);
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  EXPECT_FALSE(m_store->get("example.com/f/@v/v1.0.1.mod").has_value());
}

TEST_F(S3FaultTest, ConnectionResetsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::reset);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
}

// 8 simultaneous gets of one 16 MiB object: one transfer (or a few, if some thread comes late),
// every caller with its own descriptor over the same bytes.
TEST_F(S3FaultTest, SimultaneousGetsOfOneObjectShareOneTransfer) {
  constexpr int k_readers = 8;
  const std::string key = "example.com/f/@v/v1.0.0.zip";
  std::string bytes(std::size_t{16} << 20, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(i * 2654435761u >> 13);
  ASSERT_TRUE(put_bytes(*m_store, key, bytes));
  const std::uint64_t before = m_proxy->bytes_down();
  std::latch start(k_readers);
  std::vector<std::optional<Object>> got(k_readers);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_readers; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      got[static_cast<std::size_t>(i)] = m_store->get(key);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::optional<Object>& obj : got) {
    ASSERT_TRUE(obj.has_value());
    ASSERT_TRUE(std::holds_alternative<fsio::UniqueFd>(obj->body));
    EXPECT_TRUE(read_all(*obj) == bytes);
  }
  EXPECT_NE(std::get<fsio::UniqueFd>(got[0]->body).get(),
            std::get<fsio::UniqueFd>(got[1]->body).get());
  const std::uint64_t moved = m_proxy->bytes_down() - before;
  EXPECT_LT(moved, 4 * bytes.size()) << "8 readers moved " << moved / (1 << 20) << " MiB";
  // A later get is a new transfer: nothing is cached.
  ASSERT_TRUE(m_store->get(key).has_value());
  EXPECT_GE(m_proxy->bytes_down() - before - moved, bytes.size());
}

TEST_F(S3FaultTest, RedirectorFailuresAreStoreErrorsNeverAbsence) {
  S3Options o = options();
  o.endpoint = m_proxy->endpoint();
  o.max_attempts = 2;
  const auto redirector = make_s3_redirector(o, std::chrono::seconds(60));
  m_proxy->set(FaultProxy::Mode::error_500);
  EXPECT_THROW((void)redirector->locate(m_missing), StoreError);
  m_proxy->set(FaultProxy::Mode::pass);
  EXPECT_FALSE(redirector->locate(m_missing).has_value());
}

TEST_F(S3FaultTest, A404ThatIsNotNoSuchKeyIsAnError) {
  m_proxy->set(FaultProxy::Mode::not_found_bucket);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
}

TEST_F(S3FaultTest, TransientFailuresAreRetried) {
  m_proxy->set(FaultProxy::Mode::error_500, 2);  // fewer than max_attempts
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  m_proxy->set(FaultProxy::Mode::reset, 2);
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  m_proxy->set(FaultProxy::Mode::error_500, 2);
  EXPECT_TRUE(put_bytes(*m_store, "example.com/f/@v/v1.0.2.mod", "retried"));
  EXPECT_EQ(read_all(*m_store->get("example.com/f/@v/v1.0.2.mod")), "retried");
}

// stall_timeout means one thing for the bucket and the upstreams (curl/transfer.hpp): no byte
// moved for that long, to the millisecond (it was a 1 byte/s average over whole seconds here).
TEST_F(S3FaultTest, AServerSilentLongerThanTheStallTimeoutStalls) {
  S3Options o = options();
  o.endpoint = m_proxy->endpoint();
  o.max_attempts = 1;
  o.stall_timeout = std::chrono::milliseconds(300);
  const auto store = make_s3_store(o);
  m_proxy->set(FaultProxy::Mode::late);
  try {
    (void)store->get(m_missing);
    ADD_FAILURE() << "a silent server must be a failure";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled: no data for 300 ms"), std::string::npos)
        << e.what();
  }
}

// Zero turns stall detection off, as for the upstreams (it meant one second here).
TEST_F(S3FaultTest, AZeroStallTimeoutWaitsForASlowServer) {
  S3Options o = options();
  o.endpoint = m_proxy->endpoint();
  o.max_attempts = 1;
  o.stall_timeout = std::chrono::milliseconds(0);
  const auto store = make_s3_store(o);
  m_proxy->set(FaultProxy::Mode::late);
  EXPECT_FALSE(store->get(m_missing).has_value());
  EXPECT_GE(m_proxy->faults_served(), 1);
}

TEST_F(S3StoreTest, ClosedPortIsAStoreError) {
  std::unique_ptr<Store> store;
  {
    auto proxy = std::make_unique<FaultProxy>(server().port());
    S3Options o = options();
    o.endpoint = proxy->endpoint();
    o.max_attempts = 2;
    store = make_s3_store(o);
  }  // the proxy is gone: its port is closed
  EXPECT_THROW(store->get("example.com/a/@v/v1.0.0.mod"), StoreError);
}

TEST_F(S3StoreTest, BadSetupStopsWithOneClearError) {
  S3Options o = options();
  o.bucket = "no-such-bucket-here";
  try {
    (void)make_s3_store(o);
    ADD_FAILURE() << "a missing bucket must stop";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  o = options();
  o.secret_key = "wrong-secret-value";
  try {
    (void)make_s3_store(o);
    ADD_FAILURE() << "wrong credentials must stop";
  } catch (const StoreError& e) {
    EXPECT_EQ(std::string(e.what()).find("wrong-secret-value"), std::string::npos)
        << "a secret in an error: " << e.what();
  }
  o = options();
  o.part_size = 1 << 20;
  EXPECT_THROW((void)make_s3_store(o), StoreError);
  o = options();
  o.endpoint = "ftp://127.0.0.1:1";
  EXPECT_THROW((void)make_s3_store(o), StoreError);
}

}  // namespace
}  // namespace stoa::store
