#include "stoa/fetch/validator.hpp"

#include <gtest/gtest.h>

#include "stoa/curl/testing/test_server.hpp"

namespace stoa::fetch {
namespace {

using curl::testing::TestServer;
using Decision = ValidationVerdict::Decision;

ValidationRequest sample() { return {"example.com/m", "v1.0.0", "zip", 123, "h1:abc="}; }

TEST(Validator, BodyIsEscapedJson) {
  ValidationRequest r = sample();
  r.module = "a\"b\\c";
  EXPECT_EQ(validation_body(r),
            R"({"module":"a\"b\\c","version":"v1.0.0","kind":"zip","size":123,"h1":"h1:abc="})");
}

TEST(Validator, AllowDenyAndErrors) {
  TestServer server;
  server.route("/allow", curl::testing::text(200, "ok"));
  server.route("/deny", curl::testing::text(403, "license GPL-3.0 not allowed\nmore detail"));
  server.route("/broken", curl::testing::text(500, "oops"));
  auto allow = make_http_validator(server.url() + "/allow", std::chrono::seconds(2));
  EXPECT_EQ(allow->check(sample()).decision, Decision::allow);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, validation_body(sample()));
  EXPECT_EQ(requests[0].header("Content-Type"), "application/json");

  const auto denied =
      make_http_validator(server.url() + "/deny", std::chrono::seconds(2))->check(sample());
  EXPECT_EQ(denied.decision, Decision::deny);
  EXPECT_EQ(denied.reason, "license GPL-3.0 not allowed");

  EXPECT_EQ(make_http_validator(server.url() + "/broken", std::chrono::seconds(2))
                ->check(sample())
                .decision,
            Decision::error);
  EXPECT_EQ(make_http_validator(server.url() + "/missing", std::chrono::seconds(2))
                ->check(sample())
                .decision,
            Decision::error);
}

// The validator is one endpoint the operator configured: its redirects are not followed (a 3xx
// is an error, whichever the failure mode makes of it), so the answer always comes from there.
TEST(Validator, RedirectsAreNotFollowed) {
  TestServer server;
  TestServer elsewhere;
  elsewhere.route("/allow", curl::testing::text(200, "ok"));
  for (const int status : {301, 302, 303, 307, 308}) {
    const std::string target = "/moved" + std::to_string(status);
    server.route(target, curl::testing::redirect(status, elsewhere.url() + "/allow"));
    const auto v =
        make_http_validator(server.url() + target, std::chrono::seconds(2))->check(sample());
    EXPECT_EQ(v.decision, Decision::error) << status;
    EXPECT_NE(v.reason.find(std::to_string(status)), std::string::npos) << v.reason;
  }
  EXPECT_EQ(elsewhere.connections(), 0u);
}

TEST(Validator, SlowOrDeadValidatorIsAnError) {
  TestServer server;
  curl::testing::Reply slow = curl::testing::text(200, "ok");
  slow.never_answer = true;
  server.route("/slow", slow);
  const auto v =
      make_http_validator(server.url() + "/slow", std::chrono::milliseconds(300))->check(sample());
  EXPECT_EQ(v.decision, Decision::error);
  const std::string dead = server.url();
  server.stop();
  EXPECT_EQ(
      make_http_validator(dead + "/x", std::chrono::milliseconds(300))->check(sample()).decision,
      Decision::error);
}

}  // namespace
}  // namespace stoa::fetch
