#include "stoa/proxy/failure.hpp"

#include <gtest/gtest.h>

namespace stoa::proxy {
namespace {

using Status = FetchResult::Status;

module::Request request() {
  module::Request r{};
  r.kind = module::Kind::zip;
  r.module = "example.com/m";
  r.version = "v1.0.0";
  r.canonical = true;
  return r;
}

TEST(Failure, EveryKindHasItsStatusWordsAndRetryHint) {
  struct Case {
    Status status;
    int code;
    const char* body;
    bool retry_after;
  };
  const Case cases[] = {
      {Status::not_found, 404, "not found: example.com/m@v1.0.0: gone\n", false},
      {Status::forbidden, 403, "forbidden: example.com/m@v1.0.0: gone\n", false},
      {Status::failed, 502, "upstream failed fetching example.com/m@v1.0.0: gone\n", false},
      {Status::timed_out, 504, "upstream timed out fetching example.com/m@v1.0.0: gone\n", false},
      {Status::invalid, 502, "upstream served invalid data for example.com/m@v1.0.0: gone\n",
       false},
      {Status::busy, 503, "stoa is busy fetching other modules; retry shortly: gone\n", true},
      {Status::unavailable, 503,
       "cannot check example.com/m@v1.0.0 against policy now; retry shortly: gone\n", true},
      {Status::store_error, 503, "storage error serving example.com/m@v1.0.0: gone\n", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(status_for(c.status), c.code) << result_label(c.status);
    const Response r = failure(request(), {c.status, "gone", {}, {}});
    EXPECT_EQ(r.status, c.code) << result_label(c.status);
    EXPECT_EQ(r.body, c.body);
    const bool has_retry = !r.headers.empty() && r.headers.front().first == "Retry-After";
    EXPECT_EQ(has_retry, c.retry_after) << result_label(c.status);
  }
}

TEST(ResultOf, ARefusalIsForbiddenATimeoutTimedOut) {
  EXPECT_EQ(result_of({fetch::Status::ok, 200, false, {}}).status, Status::ok);
  EXPECT_EQ(result_of({fetch::Status::not_found, 404, false, "x"}).status, Status::not_found);
  EXPECT_EQ(result_of({fetch::Status::failed, 403, false, "x"}).status, Status::forbidden);
  EXPECT_EQ(result_of({fetch::Status::failed, 0, true, "x"}).status, Status::timed_out);
  EXPECT_EQ(result_of({fetch::Status::failed, 500, false, "x"}).status, Status::failed);
}

TEST(EndpointOf, QueriesAreNotInfo) {
  module::Request r = request();
  EXPECT_EQ(endpoint_of(r), "zip");
  r.kind = module::Kind::info;
  EXPECT_EQ(endpoint_of(r), "info");
  r.canonical = false;
  EXPECT_EQ(endpoint_of(r), "query");
}

}  // namespace
}  // namespace stoa::proxy
