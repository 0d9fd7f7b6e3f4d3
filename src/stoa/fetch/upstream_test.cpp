#include "stoa/fetch/upstream.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <system_error>
#include <thread>

#include "stoa/fetch/testing/test_server.hpp"

namespace stoa::fetch {
namespace {

using namespace std::chrono_literals;
using testing::Blackhole;
using testing::ClosedPort;
using testing::redirect;
using testing::Reply;
using testing::TestServer;
using testing::text;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t k_mib = 1024 * 1024;

// A directory for temp files, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "stoa-fetch-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::system_error(errno, std::generic_category());
    m_path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

UpstreamOptions options(const std::string& goproxy) {
  std::string error;
  auto list = parse_proxy_list(goproxy, &error);
  if (!list) throw std::invalid_argument(error);
  UpstreamOptions o;
  o.proxies = std::move(*list);
  o.connect_timeout = 5s;
  o.total_timeout = 20s;
  o.stall_timeout = 20s;
  o.user_agent = "stoa-test/1";
  return o;
}

std::unique_ptr<Upstream> upstream(const std::string& goproxy) {
  return make_http_upstream(options(goproxy));
}

Outcome get_string(Upstream& up, const std::string& suffix, std::string& out,
                   std::uint64_t max_bytes = k_mib) {
  return up.get(suffix, out, max_bytes);
}

// ---------------------------------------------------------------------------------------------
// Success

TEST(Upstream, OkIntoTempFile) {
  TestServer server;
  const std::string body = pattern(300'000);
  server.route("/example.com/m/@v/v1.0.0.zip", text(200, body, "application/zip"));
  ScratchDir dir;
  auto file = fsio::TempFile::create(dir.path());
  auto up = upstream(server.url());
  const Outcome o = up->get("example.com/m/@v/v1.0.0.zip", file, 10 * k_mib);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(o.http_status, 200);
  EXPECT_TRUE(o.message.empty());
  EXPECT_FALSE(o.exhausted);
  EXPECT_EQ(file.size(), body.size());
  EXPECT_EQ(read_file(file.path()), body);
}

TEST(Upstream, OkIntoString) {
  TestServer server;
  server.route("/base/example.com/m/@v/list", text(200, "v1.0.0\nv1.1.0\n"));
  auto up = upstream(server.url() + "/base/");
  std::string out = "stale";
  const Outcome o = get_string(*up, "example.com/m/@v/list", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "v1.0.0\nv1.1.0\n");
}

TEST(Upstream, EmptyBodyIsOk) {
  TestServer server;
  server.route("/example.com/m/@v/list", text(200, ""));
  auto up = upstream(server.url());
  std::string out = "stale";
  const Outcome o = get_string(*up, "example.com/m/@v/list", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "");
}

TEST(Upstream, EscapesThePathAsTheGoCommandDoes) {
  TestServer server;
  const std::string target =
      "/github.com/%21azure/go-autorest/@v/v2.0.0-%21r%21c1+incompatible.info";
  server.route(target, text(200, "{}", "application/json"));
  auto up = upstream(server.url());
  std::string out;
  const Outcome o =
      get_string(*up, "github.com/!azure/go-autorest/@v/v2.0.0-!r!c1+incompatible.info", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(server.hits(target), 1u);
}

TEST(Upstream, SendsUserAgentExtraHeadersAndUserinfoCredentials) {
  TestServer server;
  server.route("/p/m.example/@v/list", text(200, ""));
  auto opts = options("http://alice:s3cr3t@127.0.0.1:" + std::to_string(server.port()) + "/p");
  opts.extra_headers = {"X-Stoa-Test: yes", "Accept: text/plain"};
  auto up = make_http_upstream(std::move(opts));
  std::string out;
  ASSERT_EQ(get_string(*up, "m.example/@v/list", out).status, Status::ok);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("User-Agent"), "stoa-test/1");
  EXPECT_EQ(requests[0].header("X-Stoa-Test"), "yes");
  EXPECT_EQ(requests[0].header("Accept"), "text/plain");
  EXPECT_EQ(requests[0].header("Authorization"), "Basic YWxpY2U6czNjcjN0");  // alice:s3cr3t
  EXPECT_EQ(requests[0].header("Accept-Encoding"), "");
}

TEST(Upstream, RejectsMalformedExtraHeaders) {
  const std::vector<std::string> headers = {"X-Bad: a\r\nInjected: b", "no colon", ": empty name",
                                            "Spaced Name: v", std::string("X-Nul: a\0b", 10)};
  for (const auto& header : headers) {
    auto opts = options("http://127.0.0.1:1");
    opts.extra_headers = {header};
    EXPECT_THROW(make_http_upstream(std::move(opts)), std::invalid_argument) << header;
  }
}

TEST(Upstream, ReusesConnections) {
  TestServer server;
  server.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  server.route("/m.example/@v/v1.0.0.info", text(200, pattern(100'000), "application/json"));
  auto up = upstream(server.url());
  for (int i = 0; i < 5; ++i) {
    std::string out;
    ASSERT_EQ(get_string(*up, "m.example/@v/list", out).status, Status::ok);
    ASSERT_EQ(get_string(*up, "m.example/@v/v1.0.0.info", out).status, Status::ok);
    // A short 404 body is read to its end, so the connection survives misses too.
    ASSERT_EQ(get_string(*up, "m.example/sub/@v/list", out).status, Status::not_found);
  }
  EXPECT_EQ(server.connections(), 1u);
}

// ---------------------------------------------------------------------------------------------
// The proxy list walk

TEST(Upstream, NotFoundFallsThroughComma) {
  TestServer a;
  TestServer b;
  b.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  auto up = upstream(a.url() + "," + b.url());
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "v1.0.0\n");
  EXPECT_EQ(a.hits("/m.example/@v/list"), 1u);
  EXPECT_EQ(b.hits("/m.example/@v/list"), 1u);
}

TEST(Upstream, GoneFallsThroughComma) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(410, "gone"));
  b.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  auto up = upstream(a.url() + "," + b.url());
  std::string out;
  EXPECT_EQ(get_string(*up, "m.example/@v/list", out).status, Status::ok);
}

TEST(Upstream, ServerErrorStopsTheWalkWithComma) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(500, "boom"));
  b.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  auto up = upstream(a.url() + "," + b.url() + ",direct");
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 500);
  EXPECT_FALSE(o.timed_out);
  EXPECT_FALSE(o.exhausted);  // "direct" must not run either
  EXPECT_NE(o.message.find("500"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("boom"), std::string::npos) << o.message;
  EXPECT_EQ(b.hits("/m.example/@v/list"), 0u);
}

TEST(Upstream, ServerErrorFallsThroughWithPipe) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(503, "busy"));
  b.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  auto up = upstream(a.url() + "|" + b.url());
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "v1.0.0\n");
}

TEST(Upstream, NetworkErrorFallsThroughWithPipeOnly) {
  ClosedPort closed;
  TestServer b;
  b.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  std::string out;
  EXPECT_EQ(get_string(*upstream(closed.url() + "|" + b.url()), "m.example/@v/list", out).status,
            Status::ok);
  const Outcome o = get_string(*upstream(closed.url() + "," + b.url()), "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_EQ(b.hits("/m.example/@v/list"), 1u);
}

// modfetch proxyRepo.Latest: an entry without @latest whose list names a latest version (a
// pseudo-version, or any version with a time) answers the walk itself: the go command computes
// @latest from that list, and never asks the next entry.
TEST(Upstream, LatestNotFoundStopsWhereTheListNamesOne) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(200, "v0.6.0\nv0.6.1-0.20250313105119-ba97887b0a25\n"));
  b.route("/m.example/@latest", text(200, R"({"Version":"v0.6.0"})"));
  auto up = upstream(a.url() + "," + b.url() + ",direct");
  std::string out;
  const Outcome o = get_string(*up, "m.example/@latest", out);
  EXPECT_EQ(o.status, Status::not_found);
  EXPECT_FALSE(o.exhausted);  // nor may "direct" answer
  EXPECT_EQ(a.hits("/m.example/@latest"), 1u);
  EXPECT_EQ(a.hits("/m.example/@v/list"), 1u);
  EXPECT_EQ(b.hits("/m.example/@latest"), 0u);
}

TEST(Upstream, LatestNotFoundGoesOnWhereTheListNamesNone) {
  for (const char* list : {"", "v1.0.0\nv1.1.0\n", "v1.0.0 yesterday\n"}) {
    TestServer a;
    TestServer b;
    a.route("/m.example/@v/list", text(200, list));
    b.route("/m.example/@latest", text(200, R"({"Version":"v1.1.0"})"));
    auto up = upstream(a.url() + "," + b.url());
    std::string out;
    const Outcome o = get_string(*up, "m.example/@latest", out);
    ASSERT_EQ(o.status, Status::ok) << list;
    EXPECT_EQ(out, R"({"Version":"v1.1.0"})");
  }
  // No list at all: not found there either, on to the next entry.
  TestServer a;
  TestServer b;
  b.route("/m.example/@latest", text(200, R"({"Version":"v1.1.0"})"));
  std::string out;
  EXPECT_EQ(get_string(*upstream(a.url() + "," + b.url()), "m.example/@latest", out).status,
            Status::ok);
  EXPECT_EQ(a.hits("/m.example/@v/list"), 1u);
}

TEST(Upstream, LatestNotFoundWithAFailingListIsAFailure) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(500, "boom"));
  b.route("/m.example/@latest", text(200, R"({"Version":"v1.1.0"})"));
  std::string out;
  const Outcome o = get_string(*upstream(a.url() + "," + b.url()), "m.example/@latest", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 500);
  EXPECT_EQ(b.hits("/m.example/@latest"), 0u);
  // With '|' the go command goes on after any error.
  EXPECT_EQ(get_string(*upstream(a.url() + "|" + b.url()), "m.example/@latest", out).status,
            Status::ok);
}

TEST(Upstream, AllNotFoundIsNotFoundWithTheLastMessage) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(404, "not found: from a"));
  b.route("/m.example/@v/list", text(410, "not found: from b"));
  auto up = upstream(a.url() + "|" + b.url() + ",direct");
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::not_found);
  EXPECT_EQ(o.http_status, 410);
  EXPECT_EQ(o.message, "not found: from b");
  EXPECT_TRUE(o.exhausted);
}

TEST(Upstream, FailureThenNotFoundIsFailure) {
  // The go command reports the 503 here (a failure outranks a not-found), and so does stoa:
  // a 404 would send the client, and the module path, to the next proxy in its list.
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(503, "maintenance"));
  b.route("/m.example/@v/list", text(404, "not found: from b"));
  auto up = upstream(a.url() + "|" + b.url() + ",direct");
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 503);
  EXPECT_NE(o.message.find("maintenance"), std::string::npos) << o.message;
  EXPECT_TRUE(o.exhausted);  // "a|b,direct": the go command would go on to direct
  EXPECT_EQ(b.hits("/m.example/@v/list"), 1u);
}

TEST(Upstream, NotFoundThenFailureIsFailure) {
  TestServer a;
  TestServer b;
  b.route("/m.example/@v/list", text(502, "bad gateway"));
  auto up = upstream(a.url() + "," + b.url());
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 502);
  EXPECT_FALSE(o.exhausted);
}

TEST(Upstream, LaterFailureIsReported) {
  TestServer a;
  TestServer b;
  a.route("/m.example/@v/list", text(500, "first"));
  b.route("/m.example/@v/list", text(503, "second"));
  std::string out;
  Outcome o = get_string(*upstream(a.url() + "|" + b.url() + "|direct"), "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 503);
  EXPECT_NE(o.message.find("second"), std::string::npos) << o.message;
  EXPECT_TRUE(o.exhausted);  // "a|b|direct": the go command would try direct next
  o = get_string(*upstream(a.url() + "|" + b.url() + ",direct"), "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 503);
  EXPECT_FALSE(o.exhausted);  // "a|b,direct": b's failure ends the walk
}

TEST(Upstream, NoUrlEntryIsNotFound) {
  for (const char* goproxy : {"direct", "off"}) {
    auto up = upstream(goproxy);
    std::string out;
    const Outcome o = get_string(*up, "m.example/@v/list", out);
    EXPECT_EQ(o.status, Status::not_found) << goproxy;
    EXPECT_TRUE(o.exhausted) << goproxy;
  }
}

TEST(Upstream, ClearsTheTempFileBeforeEachAttempt) {
  TestServer a;
  TestServer b;
  Reply cut = text(200, pattern(50'000), "application/zip");
  cut.cut_after = 30'000;
  a.route("/m.example/@v/v1.0.0.zip", cut);
  const std::string good = pattern(1'000);
  b.route("/m.example/@v/v1.0.0.zip", text(200, good, "application/zip"));
  ScratchDir dir;
  auto file = fsio::TempFile::create(dir.path());
  file.write("left over from an earlier use");
  auto up = upstream(a.url() + "|" + b.url());
  const Outcome o = up->get("m.example/@v/v1.0.0.zip", file, 10 * k_mib);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(read_file(file.path()), good);
  EXPECT_EQ(file.size(), good.size());
}

// ---------------------------------------------------------------------------------------------
// Status mapping and messages

TEST(Upstream, StatusesOtherThan200AreFailures) {
  TestServer server;
  for (const int status : {201, 204, 206, 304, 400, 401, 403, 429, 500, 502, 503}) {
    server.route("/m.example/@v/" + std::to_string(status), text(status, ""));
  }
  server.route("/m.example/@v/300", redirect(302, ""));  // a redirect that cannot be followed
  auto up = upstream(server.url());
  for (const int status : {201, 204, 206, 304, 400, 401, 403, 429, 500, 502, 503}) {
    std::string out;
    const Outcome o = get_string(*up, "m.example/@v/" + std::to_string(status), out);
    EXPECT_EQ(o.status, Status::failed) << status;
    EXPECT_EQ(o.http_status, status);
    EXPECT_NE(o.message.find(std::to_string(status)), std::string::npos) << o.message;
  }
  std::string out;
  EXPECT_EQ(get_string(*up, "m.example/@v/300", out).status, Status::failed);
}

TEST(Upstream, NotFoundMessage) {
  struct Case {
    const char* name;
    std::string content_type;
    std::string body;
    std::string want;  // "" = the default message
  };
  const std::vector<Case> cases = {
      {"first line", "text/plain; charset=utf-8", "not found: x@v1: no such version\nmore\n",
       "not found: x@v1: no such version"},
      {"no charset, CRLF", "text/plain", "gone\r\n", "gone"},
      {"us-ascii", "text/plain; charset=US-ASCII", "absent", "absent"},
      {"utf-8 kept", "text/plain; charset=utf-8",
       "not found: m\xc3\xb3"
       "dulo",
       "not found: m\xc3\xb3"
       "dulo"},
      {"html ignored", "text/html", "<h1>Not Found</h1>", ""},
      {"latin-1 ignored", "text/plain; charset=iso-8859-1", "absent", ""},
      {"no content type", "", "absent", ""},
      {"empty body", "text/plain", "", ""},
      {"blank first line", "text/plain", "\nsecond", ""},
      {"escape sequence", "text/plain", "bad\x1b[31mred", "bad?[31mred"},
      {"invalid utf-8", "text/plain",
       "a\xff"
       "b\xc0\xaf"
       "c",
       "a?b??c"},
      {"bidi override", "text/plain",
       "x\xe2\x80\xae"
       "y",
       "x?y"},
      {"long line", "text/plain", std::string(700, 'a'), std::string(512, 'a')},
  };
  TestServer server;
  auto up = upstream(server.url());
  int i = 0;
  for (const auto& c : cases) {
    const std::string suffix = "m.example/@v/case" + std::to_string(i++);
    Reply r;
    r.status = 404;
    r.body = c.body;
    if (!c.content_type.empty()) r.headers.emplace_back("Content-Type", c.content_type);
    server.route("/" + suffix, r);
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::not_found) << c.name;
    EXPECT_EQ(o.http_status, 404) << c.name;
    const std::string want =
        c.want.empty() ? "not found: " + server.url() + "/" + suffix + ": 404" : c.want;
    EXPECT_EQ(o.message, want) << c.name;
  }
}

TEST(Upstream, NotFoundWithAHugeBodyIsStillNotFound) {
  TestServer server;
  Reply r = text(404, "", "text/plain");
  r.generated_body = 50 * k_mib;
  server.route("/m.example/@v/list", r);
  auto up = upstream(server.url());
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out, 1024);
  EXPECT_EQ(o.status, Status::not_found) << o.message;
  EXPECT_EQ(o.message, std::string(512, 'x'));
  server.stop();
  EXPECT_LT(server.body_bytes_sent(), 50 * k_mib);
}

TEST(Upstream, NoCredentialsInMessages) {
  const std::string user = "alice-canary";
  const std::string password = "s3cr3t-canary";
  const auto with_userinfo = [&](const std::string& url) {
    return "http://" + user + ":" + password + "@" + url.substr(std::string("http://").size());
  };
  TestServer server;
  server.route("/p/m.example/@v/list", text(500, "denied for " + user + ":" + password));
  server.route("/p/m.example/@v/gone", text(410, "", "text/html"));
  Reply hang;
  hang.never_answer = true;
  server.route("/p/m.example/@v/hang", hang);
  ClosedPort closed;

  std::vector<Outcome> outcomes;
  std::string out;
  auto up = upstream(with_userinfo(server.url()) + "/p");
  outcomes.push_back(get_string(*up, "m.example/@v/list", out));
  outcomes.push_back(get_string(*up, "m.example/@v/gone", out));
  auto opts = options(with_userinfo(server.url()) + "/p");
  opts.total_timeout = 200ms;
  outcomes.push_back(get_string(*make_http_upstream(opts), "m.example/@v/hang", out));
  outcomes.push_back(get_string(*upstream(with_userinfo(closed.url())), "m.example/@v/list", out));

  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].status, Status::failed);
  EXPECT_EQ(outcomes[1].status, Status::not_found);
  EXPECT_TRUE(outcomes[2].timed_out);
  EXPECT_EQ(outcomes[3].status, Status::failed);
  for (const auto& o : outcomes) {
    EXPECT_FALSE(o.message.empty());
    EXPECT_EQ(o.message.find(user), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find(password), std::string::npos) << o.message;
    EXPECT_EQ(o.message.find("@127.0.0.1"), std::string::npos) << o.message;
  }
  EXPECT_NE(outcomes[0].message.find("denied for ***"), std::string::npos) << outcomes[0].message;
}

TEST(Upstream, NoPercentDecodedCredentialsInMessages) {
  // "p%40ss%2Fcanary" is sent as "p@ss/canary"; an upstream echoing it must not leak it either
  // (nor the user name).
  TestServer server;
  server.route("/m.example/@v/list", text(401, "bad password p@ss/canary for bob"));
  const std::string url = "http://bob:p%40ss%2Fcanary@127.0.0.1:" + std::to_string(server.port());
  std::string out;
  const Outcome o = get_string(*upstream(url), "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(server.requests().at(0).header("Authorization"), "Basic Ym9iOnBAc3MvY2FuYXJ5");
  EXPECT_EQ(o.message.find("canary"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find("bad password *** for ***"), std::string::npos) << o.message;
}

// ---------------------------------------------------------------------------------------------
// Network faults and timeouts

TEST(Upstream, ConnectionRefused) {
  ClosedPort closed;
  auto up = upstream(closed.url());
  std::string out;
  const auto start = Clock::now();
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_FALSE(o.timed_out);
  EXPECT_NE(o.message.find(closed.url()), std::string::npos) << o.message;
}

TEST(Upstream, ConnectTimeout) {
  Blackhole hole;
  auto opts = options(hole.url());
  opts.connect_timeout = 300ms;  // the only timeout short enough to fire
  opts.total_timeout = 30s;
  opts.stall_timeout = 30s;
  std::string out;
  const auto start = Clock::now();
  const Outcome o = get_string(*make_http_upstream(opts), "m.example/@v/list", out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(Upstream, ServerThatNeverAnswersHitsTheTotalTimeout) {
  TestServer server;
  Reply hang;
  hang.never_answer = true;
  server.route("/m.example/@v/list", hang);
  auto opts = options(server.url());
  opts.total_timeout = 300ms;
  auto up = make_http_upstream(opts);
  std::string out;
  const auto start = Clock::now();
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(Upstream, SlowAnswerWithinTheTimeoutIsOk) {
  TestServer server;
  Reply slow = text(200, "v1.0.0\n");
  slow.delay = 200ms;
  server.route("/m.example/@v/list", slow);
  auto opts = options(server.url());
  opts.total_timeout = 5s;
  std::string out;
  EXPECT_EQ(get_string(*make_http_upstream(opts), "m.example/@v/list", out).status, Status::ok);
}

TEST(Upstream, StalledBodyHitsTheStallTimeout) {
  TestServer server;
  Reply stall = text(200, pattern(100'000), "application/zip");
  stall.cut_after = 1'000;
  stall.hang_after_cut = true;
  server.route("/m.example/@v/v1.0.0.zip", stall);
  auto opts = options(server.url());
  opts.total_timeout = 30s;
  opts.stall_timeout = 300ms;
  auto up = make_http_upstream(opts);
  std::string out;
  const auto start = Clock::now();
  const Outcome o = get_string(*up, "m.example/@v/v1.0.0.zip", out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.http_status, 200);
  EXPECT_NE(o.message.find("stalled"), std::string::npos) << o.message;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(Upstream, SilentServerHitsTheStallTimeout) {
  TestServer server;
  Reply hang;
  hang.never_answer = true;
  server.route("/m.example/@v/list", hang);
  auto opts = options(server.url());
  opts.total_timeout = 30s;
  opts.stall_timeout = 300ms;
  auto up = make_http_upstream(opts);
  std::string out;
  const auto start = Clock::now();
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(o.http_status, 0);
  EXPECT_NE(o.message.find("stalled"), std::string::npos) << o.message;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(Upstream, TruncatedBodiesFail) {
  const std::string body = pattern(1'000);
  struct Case {
    const char* name;
    Reply reply;
  };
  std::vector<Case> cases;
  for (const std::uint64_t cut : {0u, 1u, 500u, 999u}) {
    Reply r = text(200, body, "application/zip");
    r.cut_after = cut;
    cases.push_back({"content-length", r});
    r.chunked = true;
    r.body = pattern(40'000);
    r.cut_after = cut == 0 ? 0 : cut == 999 ? 39'999 : cut * 40;
    cases.push_back({"chunked", r});
  }
  Reply liar = text(200, body, "application/zip");
  liar.content_length_extra = 1;
  cases.push_back({"content-length larger than body", liar});

  TestServer server;
  auto up = upstream(server.url());
  int i = 0;
  for (const auto& c : cases) {
    const std::string suffix = "m.example/@v/v1.0." + std::to_string(i++) + ".zip";
    server.route("/" + suffix, c.reply);
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::failed) << c.name << " cut after " << c.reply.cut_after.value_or(0);
    EXPECT_FALSE(o.timed_out) << c.name;
    EXPECT_FALSE(o.message.empty());
  }
  // The upstream recovers: complete bodies, with and without chunking, still arrive.
  Reply chunked = text(200, pattern(40'000), "application/zip");
  chunked.chunked = true;
  server.route("/m.example/@v/good-chunked", chunked);
  server.route("/m.example/@v/good", text(200, body, "application/zip"));
  std::string out;
  ASSERT_EQ(get_string(*up, "m.example/@v/good-chunked", out).status, Status::ok);
  EXPECT_EQ(out, pattern(40'000));
  ASSERT_EQ(get_string(*up, "m.example/@v/good", out).status, Status::ok);
  EXPECT_EQ(out, body);
}

// The end of a stored body must be proven by its framing: a Content-Length that every header
// agrees on and that was reached, or a chunked body up to its last chunk. Each response below is
// sent byte for byte by a raw server, then the connection is closed.
TEST(Upstream, RefusesAmbiguousOrUnprovenFraming) {
  const std::string ok_head = "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n";
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"two Content-Length, body of the first",
       ok_head + "Content-Length: 5\r\nContent-Length: 10\r\n\r\nhello"},
      {"two Content-Length, body of the second",
       ok_head + "Content-Length: 10\r\nContent-Length: 5\r\n\r\nhello"},
      {"two Content-Length, body of both",
       ok_head + "Content-Length: 5\r\nContent-Length: 10\r\n\r\nhellohello"},
      {"Content-Length list", ok_head + "Content-Length: 5, 10\r\n\r\nhello"},
      {"Content-Length not a number", ok_head + "Content-Length: 5x\r\n\r\nhello"},
      {"Content-Length and chunked",
       ok_head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"chunked and Content-Length",
       ok_head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"unsupported transfer coding",
       ok_head + "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"chunked twice", ok_head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: "
                                  "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
      {"identity transfer coding", ok_head + "Transfer-Encoding: identity\r\n\r\nhello"},
      {"no length: the body ends when the connection closes", ok_head + "\r\nhello"},
      {"HTTP/1.0, no length", "HTTP/1.0 200 OK\r\nContent-Type: application/zip\r\n\r\nhello"},
      {"shorter than Content-Length", ok_head + "Content-Length: 10\r\n\r\nhello"},
      {"chunked, cut before the last chunk",
       ok_head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
      {"chunked, cut inside a chunk", ok_head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel"},
      {"chunked, cut after the last chunk's size line",
       ok_head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"},
  };
  TestServer server;
  auto up = upstream(server.url());
  int i = 0;
  for (const auto& c : cases) {
    const std::string suffix = "m.example/@v/v1.0." + std::to_string(i++) + ".zip";
    server.route("/" + suffix, testing::raw(c.bytes));
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::failed) << c.name << ": " << o.message;
    EXPECT_EQ(o.http_status, 200) << c.name;
    EXPECT_FALSE(o.message.empty()) << c.name;
  }
}

TEST(Upstream, AcceptsUnambiguousFraming) {
  const std::string ok_head = "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n";
  struct Case {
    const char* name;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"Content-Length", ok_head + "Content-Length: 5\r\n\r\nhello"},
      {"the same Content-Length twice",
       ok_head + "Content-Length: 5\r\ncontent-length:  5\r\n\r\nhello"},
      {"Content-Length, HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
      {"chunked", ok_head + "Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n"},
      {"chunked, any case, with a trailer",
       ok_head + "transfer-encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"},
  };
  TestServer server;
  auto up = upstream(server.url());
  int i = 0;
  for (const auto& c : cases) {
    const std::string suffix = "m.example/@v/v1.0." + std::to_string(i++) + ".zip";
    server.route("/" + suffix, testing::raw(c.bytes));
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::ok) << c.name << ": " << o.message;
    EXPECT_EQ(out, "hello") << c.name;
  }
}

TEST(Upstream, UnrequestedContentEncodingFails) {
  TestServer server;
  Reply r = text(200, "\x1f\x8b garbage", "application/zip");
  r.headers.emplace_back("Content-Encoding", "gzip");
  server.route("/m.example/@v/v1.0.0.zip", r);
  auto up = upstream(server.url());
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/v1.0.0.zip", out);
  EXPECT_EQ(o.status, Status::failed);
  EXPECT_NE(o.message.find("Content-Encoding"), std::string::npos) << o.message;
}

// ---------------------------------------------------------------------------------------------
// Size limits

TEST(Upstream, BodyOfExactlyMaxBytesIsOk) {
  TestServer server;
  server.route("/m.example/@v/list", text(200, pattern(4096)));
  Reply unsized = text(200, pattern(4096));  // chunked: the length is known only at the end
  unsized.content_length = false;
  unsized.chunked = true;
  server.route("/m.example/@v/unsized", unsized);
  auto up = upstream(server.url());
  std::string out;
  EXPECT_EQ(get_string(*up, "m.example/@v/list", out, 4096).status, Status::ok);
  EXPECT_EQ(get_string(*up, "m.example/@v/unsized", out, 4096).status, Status::ok);
  EXPECT_EQ(out.size(), 4096u);
  EXPECT_EQ(get_string(*up, "m.example/@v/list", out, 4095).status, Status::failed);
  EXPECT_EQ(get_string(*up, "m.example/@v/unsized", out, 4095).status, Status::failed);
}

TEST(Upstream, BodyOverMaxBytesFailsWithoutReadingItAll) {
  constexpr std::uint64_t k_size = 64 * k_mib;
  constexpr std::uint64_t k_max = 1 * k_mib;
  struct Case {
    const char* name;
    bool content_length;
    bool chunked;
  };
  // (A body delimited by the close of the connection is refused from its headers alone:
  // RefusesAmbiguousOrUnprovenFraming.)
  for (const Case c : {Case{"content-length", true, false}, Case{"chunked", false, true}}) {
    TestServer server;
    Reply r = text(200, "", "application/zip");
    r.generated_body = k_size;
    r.content_length = c.content_length;
    r.chunked = c.chunked;
    server.route("/m.example/@v/v1.0.0.zip", r);
    ScratchDir dir;
    auto file = fsio::TempFile::create(dir.path());
    auto up = upstream(server.url());
    const Outcome o = up->get("m.example/@v/v1.0.0.zip", file, k_max);
    EXPECT_EQ(o.status, Status::failed) << c.name;
    EXPECT_NE(o.message.find("larger than 1048576 bytes"), std::string::npos) << o.message;
    EXPECT_LE(file.size(), k_max) << c.name;
    if (c.content_length) {
      EXPECT_EQ(file.size(), 0u) << "refused from the headers alone";
    }
    server.stop();
    EXPECT_LT(server.body_bytes_sent(), k_size / 2) << c.name;
  }
}

TEST(Upstream, LocalWriteFailureIsAnException) {
  // A local failure (disk full, file too large) is not an upstream outcome: it propagates.
  TestServer server;
  server.route("/m.example/@v/v1.0.0.zip", text(200, pattern(64 * 1024), "application/zip"));
  ScratchDir dir;
  auto file = fsio::TempFile::create(dir.path());
  auto up = upstream(server.url());

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  const auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  bool threw = false;
  try {
    up->get("m.example/@v/v1.0.0.zip", file, 10 * k_mib);
  } catch (const std::system_error&) {
    threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
}

// ---------------------------------------------------------------------------------------------
// Redirects

TEST(Upstream, FollowsRedirects) {
  TestServer origin;
  TestServer cdn;
  cdn.route("/blobs/m.example/v1.0.0.zip", text(200, "zip bytes", "application/zip"));
  origin.route("/m.example/@v/v1.0.0.zip", redirect(302, "/moved/m.example/@v/v1.0.0.zip"));
  origin.route("/moved/m.example/@v/v1.0.0.zip",
               redirect(307, cdn.url() + "/blobs/m.example/v1.0.0.zip"));
  // The "CDN" is on loopback too: the operator allows it explicitly.
  UpstreamOptions opts = options(origin.url());
  opts.redirect_allow = {*parse_network("127.0.0.1")};
  auto up = make_http_upstream(opts);
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/v1.0.0.zip", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "zip bytes");
  EXPECT_EQ(cdn.hits("/blobs/m.example/v1.0.0.zip"), 1u);
}

// An upstream on loopback may not send stoa to another loopback listener (another service on
// the upstream's host, stoa's own admin port): only its own origin is allowed.
TEST(Upstream, RedirectToAnotherLocalListenerIsRefused) {
  TestServer origin;
  TestServer other;  // say, a loopback-only admin listener
  other.route("/admin/go.mod", text(200, "module m.example\n"));
  const std::string other_port = std::to_string(other.port());
  struct Case {
    const char* name;
    std::string location;
  };
  const std::vector<Case> cases = {
      {"another port", other.url() + "/admin/go.mod"},
      {"another port by name", "http://localhost:" + other_port + "/admin/go.mod"},
      {"another loopback address", "http://127.0.0.2:" + other_port + "/admin/go.mod"},
      {"unspecified address", "http://0.0.0.0:" + other_port + "/admin/go.mod"},
      {"v4-mapped loopback", "http://[::ffff:127.0.0.1]:" + other_port + "/admin/go.mod"},
  };
  auto up = upstream(origin.url());
  int i = 0;
  for (const auto& c : cases) {
    const std::string suffix = "m.example/@v/v1.0." + std::to_string(i++) + ".mod";
    origin.route("/" + suffix, redirect(302, c.location));
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::failed) << c.name << ": " << o.message;
    EXPECT_NE(o.message.find("refused"), std::string::npos) << c.name << ": " << o.message;
    EXPECT_EQ(out, "") << c.name;
  }
  // Not even a connection was made to the other listener.
  EXPECT_EQ(other.connections(), 0u);
  EXPECT_EQ(other.hits("/admin/go.mod"), 0u);
  // The upstream itself still works, and its redirects within its own origin too.
  origin.route("/m.example/@v/list", redirect(302, "/moved/list"));
  origin.route("/moved/list", text(200, "v1.0.0\n"));
  std::string out;
  const Outcome o = get_string(*up, "m.example/@v/list", out);
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "v1.0.0\n");
}

TEST(Upstream, RedirectToTheOriginsListenerByAnotherNameIsAllowed) {
  TestServer origin;
  origin.route("/m.example/@v/list",
               redirect(302, "http://localhost:" + std::to_string(origin.port()) + "/moved"));
  origin.route("/moved", text(200, "v1.0.0\n"));
  std::string out;
  const Outcome o = get_string(*upstream(origin.url()), "m.example/@v/list", out);
  // "localhost" may resolve to ::1 first, where nothing listens: that address is refused
  // (it is not where the origin was reached), and 127.0.0.1 is the one used.
  ASSERT_EQ(o.status, Status::ok) << o.message;
  EXPECT_EQ(out, "v1.0.0\n");
}

TEST(Upstream, RedirectAllowListIsByNetwork) {
  TestServer origin;
  TestServer other;
  other.route("/blob", text(200, "blob"));
  origin.route("/m.example/@v/v1.0.0.zip", redirect(302, other.url() + "/blob"));
  for (const char* network : {"127.0.0.2/32", "10.0.0.0/8", "::1/128"}) {
    UpstreamOptions o = options(origin.url());
    o.redirect_allow = {*parse_network(network)};
    std::string out;
    EXPECT_EQ(get_string(*make_http_upstream(o), "m.example/@v/v1.0.0.zip", out).status,
              Status::failed)
        << network;
  }
  EXPECT_EQ(other.connections(), 0u);
  for (const char* network : {"127.0.0.1/32", "127.0.0.0/8"}) {
    UpstreamOptions o = options(origin.url());
    o.redirect_allow = {*parse_network(network)};
    std::string out;
    const Outcome got = get_string(*make_http_upstream(o), "m.example/@v/v1.0.0.zip", out);
    EXPECT_EQ(got.status, Status::ok) << network << ": " << got.message;
    EXPECT_EQ(out, "blob") << network;
  }
}

// A connection kept from an earlier attempt to an allowed place is checked again before it is
// used for a hop that may not go there.
TEST(Upstream, ReusedConnectionsAreCheckedForEachHop) {
  TestServer first;
  TestServer second;
  const std::string suffix = "m.example/@v/v1.0.0.mod";
  second.route("/" + suffix, text(500, "busy"));
  second.route("/admin", text(200, "module m.example\n"));
  first.route("/" + suffix, redirect(302, second.url() + "/admin"));
  // "second|first": the attempt at `second` fails and leaves its connection in the handle that
  // the attempt at `first` takes next; `first` redirects to `second`, on that very connection.
  auto up = upstream(second.url() + "|" + first.url());
  std::string out;
  const Outcome o = get_string(*up, suffix, out);
  EXPECT_EQ(o.status, Status::failed) << o.message;
  EXPECT_NE(o.message.find("refused"), std::string::npos) << o.message;
  EXPECT_EQ(second.hits("/admin"), 0u);
  EXPECT_EQ(second.connections(), 1u);
}

TEST(Upstream, RedirectToNotFoundIsNotFound) {
  TestServer server;
  server.route("/m.example/@v/list", redirect(301, "/elsewhere"));
  server.route("/elsewhere", text(404, "not found: elsewhere"));
  std::string out;
  const Outcome o = get_string(*upstream(server.url()), "m.example/@v/list", out);
  EXPECT_EQ(o.status, Status::not_found);
  EXPECT_EQ(o.message, "not found: elsewhere");
}

TEST(Upstream, AtMostTenRedirects) {
  for (const int hops : {10, 11}) {
    TestServer server;
    for (int i = 0; i < hops; ++i) {
      server.route("/hop" + std::to_string(i) + "/m.example/@v/list",
                   redirect(302, "/hop" + std::to_string(i + 1) + "/m.example/@v/list"));
    }
    server.route("/hop" + std::to_string(hops) + "/m.example/@v/list", text(200, "v1.0.0\n"));
    std::string out;
    const Outcome o = get_string(*upstream(server.url() + "/hop0"), "m.example/@v/list", out);
    EXPECT_EQ(o.status, hops <= 10 ? Status::ok : Status::failed) << hops << ": " << o.message;
  }
}

TEST(Upstream, RedirectsOnlyToHttpOrHttps) {
  TestServer server;
  server.route("/m.example/@v/list", redirect(302, "file:///etc/passwd"));
  server.route("/m.example/@v/info",
               redirect(302, "ftp://127.0.0.1:" + std::to_string(server.port()) + "/x"));
  auto up = upstream(server.url());
  for (const char* suffix : {"m.example/@v/list", "m.example/@v/info"}) {
    std::string out;
    const Outcome o = get_string(*up, suffix, out);
    EXPECT_EQ(o.status, Status::failed) << suffix;
    EXPECT_EQ(o.http_status, 302) << suffix;
    EXPECT_EQ(out, "") << suffix;
  }
  // Following the ftp:// redirect would have opened a second connection to the server.
  EXPECT_EQ(server.connections(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST(Upstream, ConcurrentGetsFromEightThreads) {
  TestServer a;
  TestServer b;
  const std::string zip = pattern(64'000);
  a.route("/m.example/@v/v1.0.0.zip", text(200, zip, "application/zip"));
  a.route("/m.example/@v/list", text(200, "v1.0.0\n"));
  b.route("/other.example/@v/list", text(200, "v2.0.0\n"));
  auto up = upstream(a.url() + "," + b.url());
  ScratchDir dir;

  constexpr int k_threads = 8;
  constexpr int k_rounds = 15;
  std::latch start(k_threads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < k_rounds; ++i) {
        auto file = fsio::TempFile::create(dir.path());
        Outcome o = up->get("m.example/@v/v1.0.0.zip", file, k_mib);
        if (o.status != Status::ok || read_file(file.path()) != zip) ++failures;
        std::string out;
        o = up->get("m.example/@v/list", out, k_mib);
        if (o.status != Status::ok || out != "v1.0.0\n") ++failures;
        o = up->get("other.example/@v/list", out, k_mib);
        if (o.status != Status::ok || out != "v2.0.0\n") ++failures;
        o = up->get("missing.example/@v/list", out, k_mib);
        if (o.status != Status::not_found) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(a.hits("/m.example/@v/v1.0.0.zip"), std::size_t{k_threads * k_rounds});
  EXPECT_LE(a.connections(), 32u);  // connections are reused, not one per request
}

// ---------------------------------------------------------------------------------------------
// get_once

TEST(GetOnce, Statuses) {
  TestServer server;
  server.route("/self", text(200, "stoa-instance-id"));
  server.route("/moved", redirect(302, "/self"));
  server.route("/error", text(500, "x"));
  Reply hang;
  hang.never_answer = true;
  server.route("/hang", hang);
  ClosedPort closed;

  EXPECT_EQ(get_once(server.url() + "/self", 2s, 1024), "stoa-instance-id");
  EXPECT_EQ(get_once(server.url() + "/moved", 2s, 1024), "stoa-instance-id");
  EXPECT_EQ(get_once(server.url() + "/self", 2s, 4), std::nullopt);
  EXPECT_EQ(get_once(server.url() + "/missing", 2s, 1024), std::nullopt);
  EXPECT_EQ(get_once(server.url() + "/error", 2s, 1024), std::nullopt);
  EXPECT_EQ(get_once(closed.url() + "/self", 2s, 1024), std::nullopt);
  const auto start = Clock::now();
  EXPECT_EQ(get_once(server.url() + "/hang", 300ms, 1024), std::nullopt);
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_EQ(get_once("file:///etc/hostname", 2s, 1024), std::nullopt);
}

}  // namespace
}  // namespace stoa::fetch
