#include "stoa/http/translate.hpp"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>

#include "stoa/http/testing/kept_spans.hpp"
#include "stoa/trace/tracer.hpp"

namespace stoa::http {
namespace {

namespace bhttp = boost::beast::http;

// The header `wire` as the server's parser leaves it.
RequestHeader parse(std::string_view wire) {
  bhttp::request_parser<bhttp::empty_body> parser;
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << wire;
  EXPECT_TRUE(parser.is_header_done()) << wire;
  return parser.release();
}

Exchange exchange() {
  Peer peer{"192.0.2.7", "192.0.2.7", 4242};
  return Exchange("17", peer, std::chrono::steady_clock::now());
}

TEST(Translate, CopiesWhatTheHandlerReads) {
  const trace::Tracer tracer;
  Exchange x = exchange();
  const RequestHeader msg = parse(
      "GET /m/@v/v1.0.0.zip HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"e\"\r\n"
      "Range: bytes=0-9\r\nIf-Range: \"e\"\r\nAuthorization: Basic dTpw\r\n"
      "Accept: */*\r\n\r\n");
  ASSERT_TRUE(translate({}, msg, "", tracer, x));
  EXPECT_EQ(x.request.method, "GET");
  EXPECT_EQ(x.request.target, "/m/@v/v1.0.0.zip");
  EXPECT_EQ(x.request.if_none_match, "\"e\"");
  EXPECT_EQ(x.request.range, "bytes=0-9");
  EXPECT_EQ(x.request.if_range, "\"e\"");
  EXPECT_EQ(x.request.authorization, "Basic dTpw");
  EXPECT_EQ(x.request.log.request_id, "17");
  EXPECT_EQ(x.request.remote_address, "192.0.2.7");
  EXPECT_EQ(x.request.remote_port, 4242);
  EXPECT_TRUE(x.keep_alive);
  // Tracing off: no span, but a made-up trace id for the logs.
  EXPECT_FALSE(x.span.recording());
  EXPECT_FALSE(x.request.trace.trace_id.valid());
  EXPECT_EQ(x.request.log.trace_id.size(), 32u);
}

TEST(Translate, KeepAliveAsTheClientAsked) {
  const trace::Tracer tracer;
  const struct {
    std::string_view wire;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"HEAD / HTTP/1.0\r\nHost: h\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    Exchange x = exchange();
    EXPECT_TRUE(translate({}, parse(c.wire), "", tracer, x)) << c.wire;
    EXPECT_EQ(x.keep_alive, c.keep_alive) << c.wire;
  }
}

TEST(Translate, RefusalsBeforeDispatch) {
  const trace::Tracer tracer;
  const struct {
    std::string_view wire;
    std::string_view prefix;
    int status;
    std::string_view body;
    bool keep_alive;
  } cases[] = {
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "", 400,
       "bad request: request body not allowed\n", false},
      {"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 000\r\n\r\n", "", 0, "", true},
      {"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "", 400,
       "bad request: request body not allowed\n", false},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "", 400,
       "bad request: more than one Host header\n", false},
      {"GET / HTTP/1.1\r\n\r\n", "", 400, "bad request: HTTP/1.1 request without a Host header\n",
       false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "", 0, "", true},
      {"GET /m/@v/list HTTP/1.1\r\nHost: h\r\n\r\n", "/goproxy", 404,
       "not found: outside /goproxy\n", true},
      {"GET /goproxyx/m/@v/list HTTP/1.1\r\nHost: h\r\n\r\n", "/goproxy", 404,
       "not found: outside /goproxy\n", true},
  };
  for (const auto& c : cases) {
    Exchange x = exchange();
    const bool dispatch = translate({}, parse(c.wire), c.prefix, tracer, x);
    EXPECT_EQ(dispatch, c.status == 0) << c.wire;
    if (c.status != 0) {
      EXPECT_EQ(x.response.status, c.status) << c.wire;
      EXPECT_EQ(x.response.body, c.body) << c.wire;
      EXPECT_EQ(x.response.outcome,
                c.status == 404 ? proxy::Outcome::not_found : proxy::Outcome::rejected);
    }
    EXPECT_EQ(x.keep_alive, c.keep_alive) << c.wire;
  }
}

TEST(Translate, ReadErrorsAreAnsweredWithoutAHeader) {
  const trace::Tracer tracer;
  Exchange big = exchange();
  EXPECT_FALSE(translate(bhttp::error::header_limit, RequestHeader{}, "", tracer, big));
  EXPECT_EQ(big.response.status, 431);
  EXPECT_EQ(big.response.body, "request header too large\n");
  EXPECT_FALSE(big.keep_alive);
  EXPECT_TRUE(big.request.method.empty());
  EXPECT_TRUE(big.request.log.trace_id.empty());  // observe() makes one up

  Exchange bad = exchange();
  EXPECT_FALSE(translate(bhttp::error::bad_method, RequestHeader{}, "", tracer, bad));
  EXPECT_EQ(bad.response.status, 400);
  EXPECT_EQ(bad.response.body, "bad request: malformed HTTP request\n");
  EXPECT_EQ(bad.response.outcome, proxy::Outcome::rejected);
}

TEST(Translate, ConnectionGone) {
  EXPECT_TRUE(connection_gone(bhttp::error::end_of_stream));
  EXPECT_TRUE(connection_gone(boost::asio::error::eof));
  EXPECT_TRUE(connection_gone(boost::asio::error::connection_reset));
  EXPECT_TRUE(connection_gone(boost::asio::error::operation_aborted));
  EXPECT_TRUE(connection_gone(boost::asio::ssl::error::stream_truncated));
  EXPECT_FALSE(connection_gone({}));
  EXPECT_FALSE(connection_gone(bhttp::error::header_limit));
  EXPECT_FALSE(connection_gone(bhttp::error::bad_target));
}

TEST(StripPrefix, Table) {
  const struct {
    std::string_view prefix;
    std::string_view target;
    bool inside;
    std::string_view stripped;
  } cases[] = {
      {"", "/m/@v/list", true, "/m/@v/list"},
      {"/goproxy", "/goproxy/m/@v/list", true, "/m/@v/list"},
      {"/goproxy", "/goproxy/", true, "/"},
      {"/goproxy", "/goproxy", false, "/goproxy"},
      {"/goproxy", "/goproxyx/m", false, "/goproxyx/m"},
      {"/goproxy", "/healthz", true, "/healthz"},
      {"/goproxy", "/readyz", true, "/readyz"},
      {"/goproxy", "/metrics", false, "/metrics"},
  };
  for (const auto& c : cases) {
    std::string target(c.target);
    EXPECT_EQ(strip_prefix(c.prefix, target), c.inside) << c.prefix << " " << c.target;
    EXPECT_EQ(target, c.stripped) << c.prefix << " " << c.target;
  }
}

TEST(Translate, ServerSpanIsAChildOfTheClientsTrace) {
  std::vector<std::unique_ptr<trace::SpanData>> spans;
  const trace::Tracer tracer(std::make_unique<testing::KeptSpans>(spans));
  Exchange x = exchange();
  const RequestHeader msg = parse(
      "GET /m/@v/list HTTP/1.1\r\nHost: h\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
      "tracestate: a=1\r\n\r\n");
  ASSERT_TRUE(translate({}, msg, "", tracer, x));
  EXPECT_TRUE(x.span.recording());
  EXPECT_EQ(x.request.trace.trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(x.request.log.trace_id, "0af7651916cd43dd8448eb211c80319c");
  EXPECT_NE(x.request.trace.span_id.hex(), "b7ad6b7169203331");  // the server span's own
  EXPECT_EQ(x.request.tracestate, "a=1");

  // Two traceparents: neither is trusted; a root span of its own.
  Exchange two = exchange();
  const RequestHeader twice = parse(
      "GET / HTTP/1.1\r\nHost: h\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
      "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n\r\n");
  ASSERT_TRUE(translate({}, twice, "", tracer, two));
  EXPECT_TRUE(two.request.trace.trace_id.valid());
  EXPECT_NE(two.request.trace.trace_id.hex(), "0af7651916cd43dd8448eb211c80319c");
}

}  // namespace
}  // namespace stoa::http
