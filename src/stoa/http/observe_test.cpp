#include "stoa/http/observe.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "stoa/http/testing/kept_spans.hpp"
#include "stoa/metrics/metrics.hpp"

namespace stoa::http {
namespace {

struct ObserveTest : ::testing::Test {
  std::ostringstream lines;
  std::shared_ptr<spdlog::logger> access = [this] {
    auto log = std::make_shared<spdlog::logger>(
        "access", std::make_shared<spdlog::sinks::ostream_sink_st>(lines));
    log->set_pattern("%v");
    return log;
  }();
  metrics::Registry registry;
  std::vector<std::unique_ptr<trace::SpanData>> spans;
  trace::Tracer tracer{std::make_unique<testing::KeptSpans>(spans)};

  Exchange answered(int status, std::string_view endpoint) {
    Exchange x("5", Peer{"192.0.2.1", "192.0.2.1", 1000}, std::chrono::steady_clock::now());
    x.request.method = "GET";
    x.request.target = "/m/@v/v1.0.0.zip";
    x.span = tracer.start_span("HTTP request", nullptr, trace::Kind::server);
    x.request.log.trace_id = x.span.context().trace_id.hex();
    x.response.status = status;
    x.response.endpoint = endpoint;
    x.response.outcome = status == 200 ? proxy::Outcome::hit : proxy::Outcome::failed;
    x.body_bytes = 321;
    return x;
  }
};

TEST_F(ObserveTest, AccessLineMetricsAndSpan) {
  Observer observer(registry, access, LogFormat::text);
  Exchange x = answered(200, "zip");
  observer.observe(x, "192.0.2.1");

  const std::string line = lines.str();
  EXPECT_NE(line.find(" access request_id=5 remote=192.0.2.1 method=\"GET\" "
                      "path=\"/m/@v/v1.0.0.zip\" status=200 bytes=321 duration_us="),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" outcome=hit trace_id=" + x.request.log.trace_id + "\n"), std::string::npos)
      << line;

  const std::string m = registry.render();
  EXPECT_NE(m.find("stoa_http_requests_total{endpoint=\"zip\",code=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("stoa_http_response_bytes_total{endpoint=\"zip\"} 321\n"), std::string::npos);
  EXPECT_NE(m.find("stoa_cache_answers_total{outcome=\"hit\"} 1\n"), std::string::npos);

  ASSERT_EQ(spans.size(), 1u);
  const trace::SpanData& span = *spans[0];
  EXPECT_EQ(span.name, "GET zip");
  EXPECT_EQ(span.status, trace::StatusCode::unset);
  std::map<std::string, trace::AttributeValue> attrs;
  for (std::size_t i = 0; i < span.attributes.size(); ++i)
    attrs[span.attributes[i].key] = span.attributes[i].value;
  EXPECT_EQ(attrs["http.request.method"], trace::AttributeValue(std::string("GET")));
  EXPECT_EQ(attrs["url.path"], trace::AttributeValue(std::string("/m/@v/v1.0.0.zip")));
  EXPECT_EQ(attrs["http.response.status_code"], trace::AttributeValue(std::int64_t{200}));
  EXPECT_EQ(attrs["stoa.outcome"], trace::AttributeValue(std::string("hit")));
  EXPECT_EQ(attrs["stoa.request_id"], trace::AttributeValue(std::string("5")));
}

TEST_F(ObserveTest, FailedSendIsAnErrorSpanAndLogged) {
  Observer observer(registry, access, LogFormat::json);
  Exchange x = answered(502, "info");
  x.error = "write stalled";
  x.body_bytes = 0;
  observer.observe(x, "192.0.2.1");
  EXPECT_NE(lines.str().find(R"("status":502,"bytes":0,)"), std::string::npos) << lines.str();
  EXPECT_NE(lines.str().find(R"(,"error":"write stalled"})"), std::string::npos) << lines.str();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0]->status, trace::StatusCode::error);
  EXPECT_EQ(spans[0]->status_message, "write stalled");
  EXPECT_EQ(registry.render().find("stoa_http_response_bytes_total{endpoint=\"info\"}"),
            std::string::npos);
}

TEST_F(ObserveTest, RefusedBeforeParsingStillGetsATraceIdAndDashes) {
  Observer observer(registry, access, LogFormat::text);
  Exchange x("6", Peer{"unix", "", 0}, std::chrono::steady_clock::now());
  x.response = proxy::error_response(431, "request header too large", proxy::Outcome::rejected);
  observer.observe(x, "unix");
  EXPECT_EQ(x.request.log.trace_id.size(), 32u);
  const std::string line = lines.str();
  EXPECT_NE(line.find(" access request_id=6 remote=unix method=\"-\" path=\"-\" status=431 "),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(" trace_id=" + x.request.log.trace_id), std::string::npos) << line;
  EXPECT_TRUE(spans.empty());  // no span was started
  EXPECT_NE(registry.render().find("stoa_http_requests_total{endpoint=\"other\",code=\"431\"} 1\n"),
            std::string::npos);
}

TEST_F(ObserveTest, ConnectionsOpenAndAccepted) {
  Observer observer(registry, nullptr, LogFormat::text);
  {
    const Observer::Connection a(observer);
    const Observer::Connection b(observer);
    EXPECT_NE(registry.render().find("stoa_http_connections 2\n"), std::string::npos);
  }
  EXPECT_NE(registry.render().find("stoa_http_connections 0\n"), std::string::npos);
  EXPECT_NE(registry.render().find("stoa_http_connections_accepted_total 2\n"), std::string::npos);
  Exchange x = answered(200, "mod");
  observer.observe(x, "192.0.2.1");  // no access log: metrics only
  EXPECT_TRUE(lines.str().empty());
  EXPECT_NE(registry.render().find("stoa_http_requests_total{endpoint=\"mod\",code=\"200\"} 1\n"),
            std::string::npos);
}

}  // namespace
}  // namespace stoa::http
