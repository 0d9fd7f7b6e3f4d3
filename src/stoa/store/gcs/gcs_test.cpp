// The GCS backend's own behaviour: against fake-gcs-server on loopback (transient failures
// through a FaultProxy, resumable uploads, spooled reads, bad configuration) and against a
// scripted server (curl/testing) for what the emulator does not do (listing pages, tokens
// refused, tokens of any shape). The contract itself is checked in conformance_test.cpp.

#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/curl/testing/test_server.hpp"
#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/gcs/gcs.hpp"
#include "stoa/store/testing/fault_proxy.hpp"
#include "stoa/store/testing/gcs_server.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store {
namespace {

using fsio::testing::ScratchDir;
using testing::FaultProxy;
using testing::GcsServer;
using testing::put_bytes;
using testing::read_all;

class GcsStoreTest : public ::testing::Test {
 protected:
  GcsServer& server() { return GcsServer::shared(); }
  GcsOptions options() { return server().options(server().make_bucket(), m_scratch / "spool"); }
  ScratchDir m_scratch;
};

TEST_F(GcsStoreTest, BigBodiesAreSpooledToAnUnlinkedFileSmallOnesStayInMemory) {
  GcsOptions o = options();
  o.inline_max = 1000;
  const auto store = make_gcs_store(o);
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

// A resumable upload in several chunks; a second one of the same key: not written.
TEST_F(GcsStoreTest, ResumableUploadInChunksKeepsFirstBytes) {
  GcsOptions o = options();
  o.resumable_over = std::uint64_t{1} << 20;
  o.chunk_size = std::uint64_t{256} << 10;
  const auto store = make_gcs_store(o);
  const std::string key = "example.com/r/@v/v1.0.0.zip";
  std::string first((std::size_t{1} << 20) + 12345, '\0');
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<char>(i * 7919 >> 5);
  ASSERT_TRUE(put_bytes(*store, key, first));
  EXPECT_TRUE(read_all(*store->get(key)) == first);
  // ifGenerationMatch=0 is checked when the last chunk arrives: 412, the first bytes stay.
  EXPECT_FALSE(put_bytes(*store, key, std::string(first.size(), 'x')));
  EXPECT_TRUE(read_all(*store->get(key)) == first);
}

TEST_F(GcsStoreTest, BadSetupStopsWithOneClearError) {
  GcsOptions o = options();
  o.bucket = "no-such-bucket-here";
  try {
    (void)make_gcs_store(o);
    ADD_FAILURE() << "a missing bucket must stop";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  o = options();
  o.chunk_size = 1000;
  EXPECT_THROW((void)make_gcs_store(o), StoreError);
  o = options();
  o.endpoint = "ftp://127.0.0.1:1";
  EXPECT_THROW((void)make_gcs_store(o), StoreError);
  o = options();
  o.auth = GcsAuth::service_account;
  o.key_json = "{}";
  EXPECT_THROW((void)make_gcs_store(o), StoreError);
}

class GcsFaultTest : public GcsStoreTest {
 protected:
  void SetUp() override {
    m_proxy = std::make_unique<FaultProxy>(server().port());
    GcsOptions o = options();
    o.endpoint = m_proxy->endpoint();
    o.max_attempts = 3;
    m_store = make_gcs_store(o);
    ASSERT_TRUE(put_bytes(*m_store, m_key, "stored bytes"));
  }
  std::unique_ptr<FaultProxy> m_proxy;
  std::unique_ptr<Store> m_store;
  const std::string m_key = "example.com/f/@v/v1.0.0.mod";
  const std::string m_missing = "example.com/f/@v/v9.9.9.mod";
};

TEST_F(GcsFaultTest, ServerErrorsAreStoreErrorsNeverAbsence) {
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

TEST_F(GcsFaultTest, ThrottlingIsRetriedAndNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::throttle_429);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->files("example.com/f"), StoreError);
  m_proxy->set(FaultProxy::Mode::throttle_429, 2);  // fewer than max_attempts
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  m_proxy->set(FaultProxy::Mode::throttle_429, 2);
  EXPECT_TRUE(put_bytes(*m_store, "example.com/f/@v/v1.0.3.mod", "after 429"));
}

TEST_F(GcsFaultTest, ConnectionResetsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::reset);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
  EXPECT_THROW(m_store->modules(), StoreError);
}

TEST_F(GcsFaultTest, A404ThatDoesNotSayNoSuchObjectIsAnError) {
  m_proxy->set(FaultProxy::Mode::not_found_bucket);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
}

TEST_F(GcsFaultTest, TransientFailuresAreRetried) {
  m_proxy->set(FaultProxy::Mode::error_500, 2);
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  m_proxy->set(FaultProxy::Mode::reset, 2);
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  m_proxy->set(FaultProxy::Mode::error_500, 2);
  EXPECT_TRUE(put_bytes(*m_store, "example.com/f/@v/v1.0.2.mod", "retried"));
  EXPECT_EQ(read_all(*m_store->get("example.com/f/@v/v1.0.2.mod")), "retried");
}

TEST_F(GcsFaultTest, AServerSilentLongerThanTheStallTimeoutStalls) {
  GcsOptions o = options();
  o.endpoint = m_proxy->endpoint();
  o.max_attempts = 1;
  o.stall_timeout = std::chrono::milliseconds(300);
  const auto store = make_gcs_store(o);
  m_proxy->set(FaultProxy::Mode::late);
  try {
    (void)store->get(m_missing);
    ADD_FAILURE() << "a silent server must be a failure";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled: no data for 300 ms"), std::string::npos)
        << e.what();
  }
}

// ---- against a scripted server ----

const std::string k_list = "/storage/v1/b/bkt/o";

GcsOptions scripted_options(const curl::testing::TestServer& server,
                            const std::filesystem::path& spool) {
  GcsOptions o;
  o.endpoint = server.url();
  o.bucket = "bkt";
  o.auth = GcsAuth::none;
  o.spool_dir = spool;
  o.page_size = 2;
  o.max_attempts = 2;
  o.first_backoff = std::chrono::milliseconds(1);
  return o;
}

// Listings follow nextPageToken to the end, whatever the token looks like (fake-gcs-server's
// are object names; the conformance suite pages through it too).
TEST(GcsScriptedTest, ListingsFollowEveryPage) {
  curl::testing::TestServer server;
  ScratchDir scratch;
  server.route(k_list + "?maxResults=1&fields=nextPageToken", curl::testing::text(200, "{}"));
  const std::string base =
      k_list +
      "?prefix=m%2F%40v%2F&maxResults=2&fields=items%28name%29%2CnextPageToken&delimiter=%2F";
  server.route(base,
               curl::testing::text(
                   200, R"({"items":[{"name":"m/@v/v1.0.0.info"},{"name":"m/@v/v1.0.0.mod"}],)"
                        R"("nextPageToken":"p 2"})"));
  server.route(base + "&pageToken=p%202",
               curl::testing::text(200, R"({"items":[{"name":"m/@v/v1.1.0.info"},)"
                                        R"({"name":"m/@v/list"}],"nextPageToken":"p3"})"));
  server.route(base + "&pageToken=p3",
               curl::testing::text(200, R"({"items":[{"name":"m/@v/v2.0.0+incompatible.info"}]})"));
  const auto store = make_gcs_store(scripted_options(server, scratch / "spool"));
  std::vector<std::string> versions = store->versions("m");
  std::sort(versions.begin(), versions.end());
  EXPECT_EQ(versions, (std::vector<std::string>{"v1.0.0", "v1.1.0", "v2.0.0+incompatible"}));
  EXPECT_EQ(store->files("m").size(), 5u);
  EXPECT_EQ(server.hits(base + "&pageToken=p3"), 2u);
  // A page that is not a listing is an error, never an empty module.
  server.route(base + "&pageToken=p3", curl::testing::text(200, "<html>"));
  EXPECT_THROW(store->versions("m"), StoreError);
}

// A 401 drops the token and tries once more with a new one; a second 401 stops.
TEST(GcsScriptedTest, ARefusedTokenIsFetchedAgainOnce) {
  curl::testing::TestServer server;
  ScratchDir scratch;
  server.route("/computeMetadata/v1/instance/service-accounts/default/token",
               curl::testing::text(200, R"({"access_token":"t","expires_in":3600})"));
  server.route(
      k_list + "?maxResults=1&fields=nextPageToken",
      curl::testing::text(401, R"({"error":{"code":401,"message":"Invalid Credentials"}})"));
  GcsOptions o = scripted_options(server, scratch / "spool");
  o.auth = GcsAuth::metadata;
  o.metadata_host = "127.0.0.1:" + std::to_string(server.port());
  try {
    (void)make_gcs_store(o);
    ADD_FAILURE() << "a refused token must stop";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("Invalid Credentials"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server.hits("/computeMetadata/v1/instance/service-accounts/default/token"), 2u);
  EXPECT_EQ(server.hits(k_list + "?maxResults=1&fields=nextPageToken"), 2u);
  for (const auto& r : server.requests()) {
    if (r.target.starts_with(k_list)) {
      EXPECT_EQ(r.header("authorization"), "Bearer t");
    }
  }
}

// A chunk that fails is never resent into its session: the upload starts over in a new one, at
// most max_attempts times, and then fails (never reported as stored or as existing).
TEST(GcsScriptedTest, AFailedChunkStartsANewSessionAndFailsAfterMaxAttempts) {
  curl::testing::TestServer server;
  ScratchDir scratch;
  server.route(k_list + "?maxResults=1&fields=nextPageToken", curl::testing::text(200, "{}"));
  const std::string start = "/upload/storage/v1/b/bkt/o?uploadType=resumable&ifGenerationMatch=0";
  curl::testing::Reply session = curl::testing::text(200, "{}");
  session.headers.emplace_back("Location", server.url() + "/upload/session-1");
  server.route(start, session);
  server.route("/upload/session-1", curl::testing::text(503, "backend error"));
  GcsOptions o = scripted_options(server, scratch / "spool");
  o.resumable_over = 1000;
  o.chunk_size = std::uint64_t{256} << 10;
  o.max_attempts = 3;
  const auto store = make_gcs_store(o);
  EXPECT_THROW(put_bytes(*store, "m/@v/v1.0.0.zip", std::string(5000, 'z')), StoreError);
  EXPECT_EQ(server.hits(start), 3u);
  EXPECT_EQ(server.hits("/upload/session-1"), 3u) << "one try per session";
  // A session URL on another origin is never given the token (nor the bytes).
  session.headers.back().second = "http://127.0.0.2:1/upload/elsewhere";
  server.route(start, session);
  EXPECT_THROW(put_bytes(*store, "m/@v/v1.0.1.zip", std::string(5000, 'z')), StoreError);
}

}  // namespace
}  // namespace stoa::store
