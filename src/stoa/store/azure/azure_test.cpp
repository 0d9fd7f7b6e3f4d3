// The Azure backend's own behaviour against a real server (Azurite on loopback): what the
// conformance suite cannot express, i.e. credentials (Shared Key, SAS), block uploads, spooled
// reads, transient failures between stoa and the server (the FaultProxy of s3_server.hpp), and
// bad configuration. The contract itself is checked in conformance_test.cpp.

#include <sys/stat.h>

#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/azure/azure.hpp"
#include "stoa/store/azure/shared_key.hpp"
#include "stoa/store/testing/azurite.hpp"
#include "stoa/store/testing/fault_proxy.hpp"
#include "stoa/store/testing/store_test_util.hpp"

namespace stoa::store {
namespace {

using fsio::testing::ScratchDir;
using testing::Azurite;
using testing::FaultProxy;
using testing::put_bytes;
using testing::read_all;

class AzureStoreTest : public ::testing::Test {
 protected:
  Azurite& server() { return Azurite::shared(); }
  AzureOptions options() {
    return server().options(server().make_container(), m_scratch / "spool");
  }
  ScratchDir m_scratch;
};

TEST_F(AzureStoreTest, BigBodiesAreSpooledToAnUnlinkedFileSmallOnesStayInMemory) {
  AzureOptions o = options();
  o.inline_max = 1000;
  const auto store = make_azure_store(o);
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

// Above block_size a put is Put Block + Put Block List; the condition is on the list: a second
// commit of the key in blocks (or in one Put Blob) keeps the first bytes.
TEST_F(AzureStoreTest, BlockUploadsAreWriteOnce) {
  AzureOptions o = options();
  o.block_size = std::uint64_t{1} << 20;
  const auto store = make_azure_store(o);
  const std::string key = "example.com/blocks/@v/v1.0.0.zip";
  std::string first((std::size_t{3} << 20) + 17, '\0');
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = static_cast<char>(i * 131 >> 7);
  ASSERT_TRUE(put_bytes(*store, key, first));
  EXPECT_FALSE(put_bytes(*store, key, std::string((std::size_t{2} << 20) + 1, '2')));
  EXPECT_FALSE(put_bytes(*store, key, "small"));
  EXPECT_TRUE(read_all(*store->get(key)) == first);
  const std::string exact_key = "example.com/blocks/@v/v1.0.1.zip";
  const std::string exact(std::size_t{2} << 20, 'e');  // two full blocks
  ASSERT_TRUE(put_bytes(*store, exact_key, exact));
  EXPECT_TRUE(read_all(*store->get(exact_key)) == exact);
}

// An account SAS (signed here with the account key, as the portal or the CLI would make one)
// is appended to every request instead of a Shared Key signature.
TEST_F(AzureStoreTest, ASasTokenAuthorizesEveryOperation) {
  AzureOptions o = options();
  const std::string sts = std::string(Azurite::k_account) +
                          "\nrwdlac\nb\nsco\n\n2099-01-01T00:00:00Z\n\n\n2019-12-12\n";
  const std::optional<std::string> sig = azure::shared_key::signature(Azurite::k_key, sts);
  ASSERT_TRUE(sig);
  std::string encoded;
  for (const char c : *sig) {
    if (c == '+') {
      encoded += "%2B";
    } else if (c == '/') {
      encoded += "%2F";
    } else if (c == '=') {
      encoded += "%3D";
    } else {
      encoded += c;
    }
  }
  o.account_key.clear();
  o.sas_token = "?sv=2019-12-12&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig=" + encoded;
  const auto store = make_azure_store(o);
  ASSERT_TRUE(put_bytes(*store, "example.com/sas/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  EXPECT_EQ(read_all(*store->get("example.com/sas/@v/list")), "v1.0.0\n");
  EXPECT_FALSE(store->get("example.com/sas/@v/v9.0.0.info").has_value());
  EXPECT_EQ(store->modules(), std::vector<std::string>{"example.com/sas"});

  o.sas_token = "sv=2019-12-12&ss=b&srt=sco&sp=rwdlac&se=2099-01-01T00%3A00%3A00Z&sig=AAAA";
  EXPECT_THROW((void)make_azure_store(o), StoreError) << "a bad signature must be refused";
}

// The same prefix inside one container as another store: each sees only its own.
TEST_F(AzureStoreTest, APrefixKeepsStoresApart) {
  AzureOptions o = options();
  o.prefix = "goproxy";
  const auto a = make_azure_store(o);
  o.prefix = "other/";
  const auto b = make_azure_store(o);
  ASSERT_TRUE(put_bytes(*a, "example.com/p/@v/v1.0.0.info", R"({"Version":"v1.0.0"})"));
  EXPECT_FALSE(b->get("example.com/p/@v/v1.0.0.info").has_value());
  EXPECT_EQ(a->modules(), std::vector<std::string>{"example.com/p"});
  EXPECT_TRUE(b->modules().empty());
}

TEST_F(AzureStoreTest, BadSetupStopsWithOneClearError) {
  AzureOptions o = options();
  o.container = "no-such-container";
  try {
    (void)make_azure_store(o);
    ADD_FAILURE() << "a missing container must stop";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  o = options();
  o.account_key = azure::shared_key::base64_encode("wrong-secret-value-0123456789");
  try {
    (void)make_azure_store(o);
    ADD_FAILURE() << "a wrong key must stop";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("denied"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(o.account_key), std::string::npos)
        << "a secret in an error: " << e.what();
  }
  for (auto change : std::vector<void (*)(AzureOptions&)>{
           [](AzureOptions& x) { x.account_key = "not base64"; },
           [](AzureOptions& x) { x.account_key.clear(); },
           [](AzureOptions& x) { x.container = "Upper"; },
           [](AzureOptions& x) { x.endpoint = "ftp://127.0.0.1:1"; },
           [](AzureOptions& x) { x.prefix = "a b/"; },
           [](AzureOptions& x) { x.block_size = 1000; },
       }) {
    o = options();
    change(o);
    EXPECT_THROW((void)make_azure_store(o), StoreError);
  }
}

class AzureFaultTest : public AzureStoreTest {
 protected:
  void SetUp() override {
    m_proxy = std::make_unique<FaultProxy>(server().port());
    AzureOptions o = options();
    o.endpoint = m_proxy->endpoint() + "/" + Azurite::k_account;
    o.max_attempts = 3;
    m_store = make_azure_store(o);
    ASSERT_TRUE(put_bytes(*m_store, m_key, "stored bytes"));
  }
  std::unique_ptr<FaultProxy> m_proxy;
  std::unique_ptr<Store> m_store;
  const std::string m_key = "example.com/f/@v/v1.0.0.mod";
  const std::string m_missing = "example.com/f/@v/v9.9.9.mod";
};

TEST_F(AzureFaultTest, ServerErrorsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::error_500);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
  EXPECT_THROW(m_store->modules(), StoreError);
  EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.1.mod", "x"), StoreError);
  EXPECT_GE(m_proxy->faults_served(), 5 * 3) << "each operation is tried max_attempts times";
  m_proxy->set(FaultProxy::Mode::pass);
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  EXPECT_FALSE(m_store->get("example.com/f/@v/v1.0.1.mod").has_value());
}

TEST_F(AzureFaultTest, ConnectionResetsAreStoreErrorsNeverAbsence) {
  m_proxy->set(FaultProxy::Mode::reset);
  EXPECT_THROW(m_store->get(m_key), StoreError);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
  EXPECT_THROW(put_bytes(*m_store, "example.com/f/@v/v1.0.1.mod", "x"), StoreError);
}

// A 404 that is not the blob's own absence (here one without BlobNotFound, as a proxy or a
// missing container answers) is a failure.
TEST_F(AzureFaultTest, A404ThatIsNotBlobNotFoundIsAnError) {
  m_proxy->set(FaultProxy::Mode::not_found_bucket);
  EXPECT_THROW(m_store->get(m_missing), StoreError);
  EXPECT_THROW(m_store->versions("example.com/f"), StoreError);
}

// Throttling and passing faults (503 ServerBusy is a 5xx like the injected 500; resets) are
// retried; fewer of them than max_attempts go unnoticed.
TEST_F(AzureFaultTest, TransientFailuresAreRetried) {
  m_proxy->set(FaultProxy::Mode::error_500, 2);
  EXPECT_EQ(read_all(*m_store->get(m_key)), "stored bytes");
  m_proxy->set(FaultProxy::Mode::reset, 2);
  EXPECT_FALSE(m_store->get(m_missing).has_value());
  m_proxy->set(FaultProxy::Mode::error_500, 2);
  EXPECT_TRUE(put_bytes(*m_store, "example.com/f/@v/v1.0.2.mod", "retried"));
  EXPECT_EQ(read_all(*m_store->get("example.com/f/@v/v1.0.2.mod")), "retried");
  m_proxy->set(FaultProxy::Mode::reset, 2);
  EXPECT_EQ(m_store->versions("example.com/f"), std::vector<std::string>{});
}

// 8 simultaneous gets of one 16 MiB blob: one transfer (or a few, if some thread comes late),
// every caller with its own descriptor over the same bytes; a later get is a new transfer.
TEST_F(AzureFaultTest, SimultaneousGetsOfOneBlobShareOneTransfer) {
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
  ASSERT_TRUE(m_store->get(key).has_value());
  EXPECT_GE(m_proxy->bytes_down() - before - moved, bytes.size());
}

TEST_F(AzureFaultTest, AServerSilentLongerThanTheStallTimeoutStalls) {
  AzureOptions o = options();
  o.endpoint = m_proxy->endpoint() + "/" + Azurite::k_account;
  o.max_attempts = 1;
  o.stall_timeout = std::chrono::milliseconds(300);
  const auto store = make_azure_store(o);
  m_proxy->set(FaultProxy::Mode::late);
  try {
    (void)store->get(m_missing);
    ADD_FAILURE() << "a silent server must be a failure";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("stalled: no data for 300 ms"), std::string::npos)
        << e.what();
  }
}

TEST_F(AzureStoreTest, ClosedPortIsAStoreError) {
  std::unique_ptr<Store> store;
  {
    auto proxy = std::make_unique<FaultProxy>(server().port());
    AzureOptions o = options();
    o.endpoint = proxy->endpoint() + "/" + Azurite::k_account;
    o.max_attempts = 2;
    store = make_azure_store(o);
  }  // the proxy is gone: its port is closed
  EXPECT_THROW(store->get("example.com/a/@v/v1.0.0.mod"), StoreError);
}

}  // namespace
}  // namespace stoa::store
