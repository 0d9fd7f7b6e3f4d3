#include "stoa/curl/transfer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "stoa/curl/testing/test_server.hpp"

namespace stoa::curl {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::TestServer;
using testing::text;
using Clock = std::chrono::steady_clock;

struct Handle {
  Handle() {
    ensure_initialized();
    easy = new_easy();
  }
  CURL* get(const std::string& url) {
    curl_easy_reset(easy.get());
    set(easy.get(), CURLOPT_URL, url.c_str());
    return easy.get();
  }
  Easy easy;
};

Options quick() {
  Options o;
  o.limits.connect_timeout = 5s;
  o.limits.total_timeout = 20s;
  o.limits.stall_timeout = 20s;
  return o;
}

TEST(Transfer, AcceptedBodyGoesToTheSinkWithItsHeaders) {
  TestServer server;
  Reply reply = text(200, "hello");
  reply.headers.emplace_back("X-Mixed-Case", "  spaced value  ");
  server.route("/a", reply);
  Handle h;
  std::string body;
  StringSink sink(body);
  const Result r = perform(h.get(server.url() + "/a"), sink, quick());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_TRUE(r.answered());
  EXPECT_EQ(body, "hello");
  EXPECT_EQ(r.response.status, 200);
  EXPECT_TRUE(r.response.http1);
  EXPECT_EQ(r.response.body_bytes, 5u);
  ASSERT_NE(r.response.header("x-mixed-case"), nullptr);
  EXPECT_EQ(*r.response.header("x-mixed-case"), "spaced value");
  EXPECT_EQ(r.response.header("X-Mixed-Case"), nullptr);  // names are lowercased
  EXPECT_EQ(r.response.header("absent"), nullptr);
}

TEST(Transfer, TheLastResponseOfARedirectIsTheOneReported) {
  TestServer server;
  server.route("/from", testing::redirect(302, "/to"));
  server.route("/to", text(200, "there"));
  Handle h;
  CURL* easy = h.get(server.url() + "/from");
  set(easy, CURLOPT_FOLLOWLOCATION, 1L);
  std::string body;
  StringSink sink(body);
  const Result r = perform(easy, sink, quick());
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(body, "there");
  EXPECT_EQ(r.response.header("location"), nullptr);
}

TEST(Transfer, AContentLengthOverTheCapIsRefusedBeforeTheBody) {
  TestServer server;
  Reply big;
  big.generated_body = 1 << 20;
  server.route("/big", big);
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  o.max_body = 1000;
  const Result r = perform(h.get(server.url() + "/big"), sink, o);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.stop, Stop::too_large);
  EXPECT_EQ(r.error, "body larger than 1000 bytes");
  EXPECT_EQ(r.response.body_bytes, 0u);
  EXPECT_TRUE(body.empty());
}

TEST(Transfer, AChunkedBodyOverTheCapIsCutAtTheCap) {
  TestServer server;
  Reply big;
  big.generated_body = 1 << 20;
  big.chunked = true;
  big.content_length = false;
  server.route("/big", big);
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  o.max_body = 100'000;
  const Result r = perform(h.get(server.url() + "/big"), sink, o);
  EXPECT_EQ(r.stop, Stop::too_large);
  EXPECT_LE(body.size(), 100'000u);
  EXPECT_EQ(r.response.body_bytes, body.size());
}

TEST(Transfer, AnErrorBodyIsCapturedBoundedAndNotGivenToTheSink) {
  TestServer server;
  server.route("/small", text(404, "no such module"));
  Reply big = text(500, std::string(100'000, 'e'));
  server.route("/big", big);
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  o.error_capture = 10;
  o.error_read_limit = 1000;

  const Result small = perform(h.get(server.url() + "/small"), sink, o);
  ASSERT_TRUE(small.ok()) << small.error;
  EXPECT_EQ(small.response.status, 404);
  EXPECT_EQ(small.response.error_body, "no such mo");
  EXPECT_EQ(small.response.error_body_bytes, 14u);
  EXPECT_TRUE(body.empty());

  const Result cut = perform(h.get(server.url() + "/big"), sink, o);
  EXPECT_FALSE(cut.ok());
  EXPECT_EQ(cut.stop, Stop::error_body_cut);
  EXPECT_TRUE(cut.answered());  // the status and headers are known
  EXPECT_EQ(cut.response.status, 500);
  EXPECT_EQ(cut.response.error_body, std::string(10, 'e'));
  EXPECT_LT(cut.response.error_body_bytes, 100'000u);
  EXPECT_TRUE(body.empty());
}

TEST(Transfer, AnySuccessStatusCanBeAccepted) {
  TestServer server;
  server.route("/accepted", text(202, "{}"));
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  const Result only = perform(h.get(server.url() + "/accepted"), sink, o);
  EXPECT_TRUE(body.empty());
  EXPECT_EQ(only.response.error_body, "{}");
  o.accept = &any_2xx;
  const Result any = perform(h.get(server.url() + "/accepted"), sink, o);
  EXPECT_EQ(body, "{}");
  EXPECT_EQ(any.response.status, 202);
}

// The one meaning of stall_timeout: no byte for that long, here after a burst of body bytes.
TEST(Transfer, ABodyThatStopsFlowingStallsAfterTheStallTimeout) {
  TestServer server;
  Reply stall = text(200, std::string(100'000, 's'));
  stall.cut_after = 1'000;
  stall.hang_after_cut = true;
  server.route("/stall", stall);
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  o.limits.stall_timeout = 300ms;
  const auto start = Clock::now();
  const Result r = perform(h.get(server.url() + "/stall"), sink, o);
  const auto took = Clock::now() - start;
  EXPECT_EQ(r.stop, Stop::stalled);
  EXPECT_TRUE(r.timed_out());
  EXPECT_EQ(r.error, "stalled: no data for 300 ms");
  EXPECT_EQ(body.size(), 1'000u);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);  // not the total timeout (20 s)
}

TEST(Transfer, WaitingForTheResponseStallsToo) {
  TestServer server;
  Reply silent;
  silent.never_answer = true;
  server.route("/silent", silent);
  Handle h;
  DiscardSink sink;
  Options o = quick();
  o.limits.stall_timeout = 300ms;
  const auto start = Clock::now();
  const Result r = perform(h.get(server.url() + "/silent"), sink, o);
  EXPECT_EQ(r.stop, Stop::stalled);
  EXPECT_EQ(r.response.status, 0);
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(Transfer, AZeroStallTimeoutDisablesStallDetection) {
  TestServer server;
  Reply silent;
  silent.never_answer = true;
  server.route("/silent", silent);
  Handle h;
  DiscardSink sink;
  Options o = quick();
  o.limits.stall_timeout = 0ms;
  o.limits.total_timeout = 1500ms;
  const Result r = perform(h.get(server.url() + "/silent"), sink, o);
  EXPECT_EQ(r.stop, Stop::none);
  EXPECT_EQ(r.code, CURLE_OPERATION_TIMEDOUT);
  EXPECT_TRUE(r.timed_out());
}

TEST(Transfer, ASlowButFlowingBodyDoesNotStall) {
  TestServer server;
  Reply slow;
  slow.generated_body = 64 * 1024;
  slow.delay = 200ms;  // before the headers: less than the stall timeout
  server.route("/slow", slow);
  Handle h;
  std::string body;
  StringSink sink(body);
  Options o = quick();
  o.limits.stall_timeout = 1500ms;
  const Result r = perform(h.get(server.url() + "/slow"), sink, o);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(body.size(), 64u * 1024);
}

class RefusingSink final : public Sink {
 public:
  std::optional<std::string> start(const Response& r) override {
    const std::string* type = r.header("content-type");
    if (type != nullptr && *type == "application/x-refused") return "refused by the sink";
    return std::nullopt;
  }
  void append(std::string_view bytes) override {
    if (throw_on_append) throw std::runtime_error("disk full");
    body.append(bytes);
  }
  void clear() override { body.clear(); }
  bool throw_on_append = false;
  std::string body;
};

TEST(Transfer, TheSinkCanRefuseABodyAndItsExceptionsAreRethrown) {
  TestServer server;
  server.route("/refused", text(200, "x", "application/x-refused"));
  server.route("/ok", text(200, "fine"));
  Handle h;
  RefusingSink sink;
  const Result refused = perform(h.get(server.url() + "/refused"), sink, quick());
  EXPECT_EQ(refused.stop, Stop::refused);
  EXPECT_EQ(refused.error, "refused by the sink");
  EXPECT_TRUE(sink.body.empty());

  sink.throw_on_append = true;
  EXPECT_THROW(perform(h.get(server.url() + "/ok"), sink, quick()), std::runtime_error);
}

TEST(Transfer, AnAbortCheckEndsTheTransfer) {
  TestServer server;
  Reply silent;
  silent.never_answer = true;
  server.route("/silent", silent);
  Handle h;
  DiscardSink sink;
  Options o = quick();
  std::atomic<bool> stop{false};
  o.abort = [&] { return stop.exchange(true); };  // false the first time, then true
  const Result r = perform(h.get(server.url() + "/silent"), sink, o);
  EXPECT_EQ(r.stop, Stop::aborted);
  EXPECT_EQ(r.code, CURLE_ABORTED_BY_CALLBACK);
  EXPECT_FALSE(r.timed_out());
}

TEST(Transfer, ARequestBodyIsSentAsTheCallerPreparedIt) {
  TestServer server;
  server.route("/post", text(200, "done"));
  Handle h;
  CURL* easy = h.get(server.url() + "/post");
  const std::string payload = "{\"a\":1}";
  set(easy, CURLOPT_POSTFIELDS, payload.c_str());
  set(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  std::string body;
  StringSink sink(body);
  const Result r = perform(easy, sink, quick());
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "POST");
  EXPECT_EQ(server.requests()[0].body, payload);
  EXPECT_EQ(body, "done");
}

TEST(Transfer, AConnectionFailureIsLibcurlsError) {
  testing::ClosedPort closed;
  Handle h;
  DiscardSink sink;
  const Result r = perform(h.get(closed.url() + "/x"), sink, quick());
  EXPECT_EQ(r.code, CURLE_COULDNT_CONNECT);
  EXPECT_FALSE(r.error.empty());
  EXPECT_FALSE(r.answered());
  EXPECT_FALSE(r.timed_out());
}

}  // namespace
}  // namespace stoa::curl
