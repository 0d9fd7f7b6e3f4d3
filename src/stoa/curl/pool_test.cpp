#include "stoa/curl/pool.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "stoa/curl/testing/test_server.hpp"
#include "stoa/curl/transfer.hpp"

namespace stoa::curl {
namespace {

using namespace std::chrono_literals;
using testing::TestServer;
using testing::text;

Result get(CURL* h, const std::string& url, std::string& body) {
  set(h, CURLOPT_URL, url.c_str());
  StringSink sink(body);
  Options o;
  o.limits.total_timeout = 20s;
  return perform(h, sink, o);
}

TEST(Pool, AReturnedHandleKeepsItsConnection) {
  TestServer server;
  server.route("/a", text(200, "a"));
  Pool pool(4);
  for (int i = 0; i < 3; ++i) {
    Lease lease(pool);
    std::string body;
    ASSERT_TRUE(get(lease.get(), server.url() + "/a", body).ok());
    EXPECT_EQ(body, "a");
  }
  EXPECT_EQ(server.hits("/a"), 3u);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(Pool, ADiscardedHandleTakesItsConnectionAlong) {
  TestServer server;
  server.route("/a", text(200, "a"));
  Pool pool(4);
  for (int i = 0; i < 2; ++i) {
    Lease lease(pool);
    std::string body;
    ASSERT_TRUE(get(lease.get(), server.url() + "/a", body).ok());
    lease.discard();
  }
  EXPECT_EQ(server.connections(), 2u);
}

TEST(Pool, ReleasedHandlesForgetTheirOptions) {
  TestServer server;
  server.route("/from", testing::redirect(302, "/to"));
  server.route("/to", text(200, "to"));
  Pool pool(1);
  {
    Lease lease(pool);
    set(lease.get(), CURLOPT_FOLLOWLOCATION, 1L);
    std::string body;
    ASSERT_TRUE(get(lease.get(), server.url() + "/from", body).ok());
    EXPECT_EQ(body, "to");
  }
  Lease again(pool);
  std::string body;
  const Result r = get(again.get(), server.url() + "/from", body);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.response.status, 302);  // not followed: the option went with the first lease
}

TEST(Pool, OnlyMaxIdleHandlesAreKept) {
  TestServer server;
  server.route("/a", text(200, "a"));
  Pool pool(1);
  {
    Lease first(pool);
    Lease second(pool);
    std::string body;
    ASSERT_TRUE(get(first.get(), server.url() + "/a", body).ok());
    ASSERT_TRUE(get(second.get(), server.url() + "/a", body).ok());
  }  // both returned; one is kept
  EXPECT_EQ(server.connections(), 2u);
  {
    Lease a(pool);
    Lease b(pool);
    std::string body;
    ASSERT_TRUE(get(a.get(), server.url() + "/a", body).ok());
    ASSERT_TRUE(get(b.get(), server.url() + "/a", body).ok());
  }
  EXPECT_EQ(server.connections(), 3u);  // one reused, one new
}

}  // namespace
}  // namespace stoa::curl
