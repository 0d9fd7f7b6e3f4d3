#include "stoa/trace/otlp.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <mutex>
#include <set>

#include "stoa/trace/testing/otlp_receiver.hpp"

namespace stoa::trace {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using testing::ClosedPort;
using testing::OtlpReceiver;
using testing::ReceivedRequest;

std::string numbered(std::string_view prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

std::unique_ptr<SpanData> make_span(std::uint8_t id, std::uint8_t parent, std::string name,
                                    Kind kind) {
  auto d = std::make_unique<SpanData>();
  for (std::size_t i = 0; i < 16; ++i) d->context.trace_id.bytes[i] = static_cast<std::uint8_t>(i);
  d->context.span_id.bytes[7] = id;
  d->context.flags = SpanContext::k_sampled;
  d->parent_span_id.bytes[7] = parent;
  d->name = std::move(name);
  d->kind = kind;
  d->start_unix_nanos = 1'700'000'000'123'456'789;
  d->end_unix_nanos = 1'700'000'000'223'456'789;
  return d;
}

TEST(ExportRequest, GoldenBatch) {
  TraceOptions resource;
  resource.service_name = "stoa";
  resource.service_version = "1.2.3";
  resource.resource_attributes = {{"deployment.environment", "prod \"eu\""}};

  std::vector<std::unique_ptr<SpanData>> spans;
  spans.push_back(make_span(0xb7, 0x00, "GET /@v/list", Kind::server));
  spans.back()->attributes.slot("http.response.status_code")->value = std::int64_t{200};
  spans.back()->status = StatusCode::ok;
  spans.push_back(make_span(0xc8, 0xb7, "upstream.fetch", Kind::client));
  spans.back()->attributes.slot("url.full")->value = std::string("https://proxy.example.com/x");
  spans.back()->attributes.slot("retry")->value = false;
  spans.back()->status = StatusCode::error;
  spans.back()->status_message = "HTTP 503";
  spans.push_back(make_span(0xd9, 0xc8, "store.put", Kind::internal));
  for (int i = 0; i < 70; ++i) spans.back()->attributes.slot(numbered("k", i));

  std::string body;
  append_export_request(body, resource, std::span(spans).first(2));
  EXPECT_EQ(
      body,
      R"({"resourceSpans":[{"resource":{"attributes":[)"
      R"({"key":"service.name","value":{"stringValue":"stoa"}},)"
      R"({"key":"service.version","value":{"stringValue":"1.2.3"}},)"
      R"({"key":"deployment.environment","value":{"stringValue":"prod \"eu\""}}]},)"
      R"("scopeSpans":[{"scope":{"name":"stoa","version":"1.2.3"},"spans":[)"
      R"({"traceId":"000102030405060708090a0b0c0d0e0f","spanId":"00000000000000b7",)"
      R"("name":"GET /@v/list","kind":2,)"
      R"("startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000223456789",)"
      R"("attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}],)"
      R"("status":{"code":1}},)"
      R"({"traceId":"000102030405060708090a0b0c0d0e0f","spanId":"00000000000000c8",)"
      R"("parentSpanId":"00000000000000b7","name":"upstream.fetch","kind":3,)"
      R"("startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000223456789",)"
      R"("attributes":[{"key":"url.full","value":{"stringValue":"https://proxy.example.com/x"}},)"
      R"({"key":"retry","value":{"boolValue":false}}],)"
      R"("status":{"code":2,"message":"HTTP 503"}}]}]}]})");

  // The whole batch, read back as a receiver would.
  body.clear();
  append_export_request(body, resource, spans);
  const json::value v = json::parse(body);
  const json::object& rs = v.at("resourceSpans").as_array().at(0).as_object();
  const json::array& rattrs = rs.at("resource").at("attributes").as_array();
  EXPECT_EQ(rattrs.size(), 3u);
  EXPECT_EQ(rattrs.at(0).at("value").at("stringValue"), "stoa");
  const json::object& scope_spans = rs.at("scopeSpans").as_array().at(0).as_object();
  EXPECT_EQ(scope_spans.at("scope").at("name"), "stoa");
  const json::array& out = scope_spans.at("spans").as_array();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_FALSE(out.at(0).as_object().contains("parentSpanId"));
  EXPECT_EQ(out.at(1).at("parentSpanId"), out.at(0).at("spanId"));
  EXPECT_EQ(out.at(2).at("parentSpanId"), out.at(1).at("spanId"));
  EXPECT_EQ(out.at(2).at("kind"), 1);
  EXPECT_TRUE(out.at(2).at("startTimeUnixNano").is_string());
  EXPECT_FALSE(out.at(2).as_object().contains("status"));
  EXPECT_EQ(out.at(2).at("attributes").as_array().size(), AttributeList::k_max);
  EXPECT_EQ(out.at(2).at("droppedAttributesCount"), 70 - 64);
}

// ---------------------------------------------------------------------------------------------
// The exporter against a real local receiver

// Every span of every recorded request, parsed.
std::vector<json::object> spans_of(const std::vector<ReceivedRequest>& requests) {
  std::vector<json::object> spans;
  for (const auto& r : requests) {
    const json::value v = json::parse(r.body);
    for (const auto& rs : v.at("resourceSpans").as_array()) {
      for (const auto& ss : rs.at("scopeSpans").as_array()) {
        for (const auto& s : ss.at("spans").as_array()) spans.push_back(s.as_object());
      }
    }
  }
  return spans;
}

std::string str(const json::value& v) { return json::value_to<std::string>(v); }

TraceOptions options_for(const std::string& base_url) {
  TraceOptions o;
  o.endpoint = base_url + "/v1/traces";
  o.queue_size = 64;
  o.max_batch = 16;
  o.schedule_delay = std::chrono::hours(1);  // tests that want the timer set it
  o.export_timeout = milliseconds(5000);
  return o;
}

void end_spans(const Tracer& tracer, int n) {
  for (int i = 0; i < n; ++i) tracer.start_span(numbered("s", i)).end();
}

// Collects on_error messages (the exporter thread calls it).
struct Messages {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view m) {
      std::lock_guard lock(mutex);
      lines.emplace_back(m);
    };
  }
};

TEST(Exporter, DeliversSpansWithParentLinksAndHeaders) {
  OtlpReceiver receiver;
  TraceOptions o = options_for(receiver.url());
  o.headers["authorization"] = "Bearer s3cret";
  o.service_name = "stoa-test";
  Tracer tracer = make_tracer(o);
  ASSERT_TRUE(tracer.enabled());

  const auto remote = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  std::string server_id, child_id;
  {
    Span server = tracer.start_span("GET .zip", &*remote, Kind::server);
    server.set_attribute("http.response.status_code", 200);
    Span child = tracer.start_span("upstream.fetch", &server.context(), Kind::client);
    child.set_status(StatusCode::error, "HTTP 503");
    Span grandchild = tracer.start_span("store.put", &child.context());
    server_id = server.context().span_id.hex();
    child_id = child.context().span_id.hex();
  }
  tracer.shutdown(Clock::now() + milliseconds(5000));

  const auto requests = receiver.requests();
  ASSERT_FALSE(requests.empty());
  for (const auto& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/v1/traces");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("authorization"), "Bearer s3cret");
    EXPECT_EQ(r.header("user-agent").substr(0, 5), "stoa/");
    EXPECT_EQ(r.header("expect"), "");
  }
  const json::value first = json::parse(requests.front().body);
  EXPECT_EQ(first.at("resourceSpans")
                .at(0)
                .at("resource")
                .at("attributes")
                .at(0)
                .at("value")
                .at("stringValue"),
            "stoa-test");

  const auto spans = spans_of(requests);
  ASSERT_EQ(spans.size(), 3u);
  std::map<std::string, json::object> by_name;
  for (const auto& s : spans) {
    EXPECT_EQ(str(s.at("traceId")), "4bf92f3577b34da6a3ce929d0e0e4736");
    by_name[str(s.at("name"))] = s;
  }
  EXPECT_EQ(str(by_name.at("GET .zip").at("spanId")), server_id);
  EXPECT_EQ(str(by_name.at("GET .zip").at("parentSpanId")), "00f067aa0ba902b7");
  EXPECT_EQ(by_name.at("GET .zip").at("kind"), 2);
  EXPECT_EQ(str(by_name.at("upstream.fetch").at("parentSpanId")), server_id);
  EXPECT_EQ(by_name.at("upstream.fetch").at("kind"), 3);
  EXPECT_EQ(by_name.at("upstream.fetch").at("status").at("code"), 2);
  EXPECT_EQ(str(by_name.at("store.put").at("parentSpanId")), child_id);

  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.spans_exported, 3u);
  EXPECT_EQ(s.spans_dropped + s.spans_failed + s.export_failures + s.queued, 0u);
}

TEST(Exporter, SendsAFullBatchAtOnceAndShutdownFlushesTheRest) {
  OtlpReceiver receiver;
  TraceOptions o = options_for(receiver.url());
  o.max_batch = 4;  // and the timer never fires
  Tracer tracer = make_tracer(o);
  end_spans(tracer, 4);
  ASSERT_TRUE(receiver.wait_for_requests(1, milliseconds(5000)));
  EXPECT_EQ(spans_of(receiver.requests()).size(), 4u);

  end_spans(tracer, 3);
  tracer.shutdown(Clock::now() + milliseconds(5000));
  const auto requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(spans_of({requests[1]}).size(), 3u);
  EXPECT_EQ(tracer.stats().spans_exported, 7u);
}

TEST(Exporter, SendsAPartialBatchOnTheTimer) {
  OtlpReceiver receiver;
  TraceOptions o = options_for(receiver.url());
  o.schedule_delay = milliseconds(50);
  Tracer tracer = make_tracer(o);
  end_spans(tracer, 1);
  ASSERT_TRUE(receiver.wait_for_requests(1, milliseconds(5000)));  // no shutdown needed
  EXPECT_EQ(spans_of(receiver.requests()).size(), 1u);
}

TEST(Exporter, AFullQueueDropsAndCountsWithoutBlocking) {
  OtlpReceiver receiver;
  receiver.hold();
  TraceOptions o = options_for(receiver.url());
  o.queue_size = 8;
  o.max_batch = 2;
  o.export_timeout = milliseconds(20000);
  Tracer tracer = make_tracer(o);

  end_spans(tracer, 2);  // a full batch: its POST is now stuck in the receiver
  ASSERT_TRUE(receiver.wait_for_requests(1, milliseconds(5000)));

  const auto start = Clock::now();
  end_spans(tracer, 8 + 5);
  const auto elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, milliseconds(1000));
  ExporterStats s = tracer.stats();
  EXPECT_EQ(s.queued, 8u);
  EXPECT_EQ(s.spans_dropped, 5u);
  EXPECT_EQ(s.spans_exported, 0u);

  receiver.release();
  tracer.shutdown(Clock::now() + milliseconds(10000));
  s = tracer.stats();
  EXPECT_EQ(s.spans_exported, 10u);
  EXPECT_EQ(s.spans_dropped, 5u);
  EXPECT_EQ(s.export_failures, 0u);
  EXPECT_EQ(spans_of(receiver.requests()).size(), 10u);
}

TEST(Exporter, AReceiverThatIsDownCountsFailuresWithoutBlocking) {
  const ClosedPort port;
  TraceOptions o = options_for(port.url());
  o.endpoint = port.url().insert(7, "user:pa55word@");
  o.endpoint += "/v1/traces";
  o.headers["authorization"] = "Bearer s3cret";
  o.queue_size = 8;
  o.max_batch = 2;
  o.schedule_delay = milliseconds(20);
  Messages messages;
  o.on_error = messages.sink();
  Tracer tracer = make_tracer(o);

  const auto start = Clock::now();
  end_spans(tracer, 10);
  EXPECT_LT(Clock::now() - start, milliseconds(1000));
  tracer.shutdown(Clock::now() + milliseconds(5000));
  EXPECT_LT(Clock::now() - start, milliseconds(5000));

  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.spans_exported, 0u);
  EXPECT_GE(s.export_failures, 1u);
  EXPECT_EQ(s.spans_failed + s.spans_dropped, 10u);
  std::lock_guard lock(messages.mutex);
  ASSERT_FALSE(messages.lines.empty());
  EXPECT_NE(messages.lines[0].find("trace export failed"), std::string::npos);
  for (const auto& m : messages.lines) {
    EXPECT_EQ(m.find("s3cret"), std::string::npos) << m;
    EXPECT_EQ(m.find("pa55word"), std::string::npos) << m;
  }
}

TEST(Exporter, AnErrorStatusIsAFailureAndIsNotRetried) {
  OtlpReceiver receiver;
  receiver.set_status(503);
  Messages messages;
  TraceOptions o = options_for(receiver.url());
  o.on_error = messages.sink();
  Tracer tracer = make_tracer(o);
  end_spans(tracer, 3);
  tracer.shutdown(Clock::now() + milliseconds(5000));
  EXPECT_EQ(receiver.requests().size(), 1u);
  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.export_failures, 1u);
  EXPECT_EQ(s.spans_failed, 3u);
  EXPECT_EQ(s.spans_exported, 0u);
  std::lock_guard lock(messages.mutex);
  ASSERT_EQ(messages.lines.size(), 1u);
  EXPECT_NE(messages.lines[0].find("HTTP status 503"), std::string::npos) << messages.lines[0];
}

TEST(Exporter, ShutdownGivesUpOnAHungReceiverAtTheDeadline) {
  OtlpReceiver receiver;
  receiver.hold(std::chrono::seconds(30));
  TraceOptions o = options_for(receiver.url());
  o.max_batch = 1;
  o.export_timeout = std::chrono::seconds(20);
  Tracer tracer = make_tracer(o);
  end_spans(tracer, 1);
  ASSERT_TRUE(receiver.wait_for_requests(1, milliseconds(5000)));
  end_spans(tracer, 1);  // queued behind the stuck POST

  const auto start = Clock::now();
  tracer.shutdown(start + milliseconds(200));
  // libcurl checks for the abort at least about once a second while it waits.
  EXPECT_LT(Clock::now() - start, milliseconds(4000));
  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.export_failures, 1u);
  EXPECT_EQ(s.spans_failed, 1u);
  EXPECT_EQ(s.spans_dropped, 1u);  // still queued at the deadline
  EXPECT_EQ(s.queued, 0u);
  receiver.release();
}

TEST(Exporter, SpansEndedAfterShutdownAreDropped) {
  OtlpReceiver receiver;
  Tracer tracer = make_tracer(options_for(receiver.url()));
  tracer.shutdown(Clock::now() + milliseconds(1000));
  tracer.shutdown(Clock::now() + milliseconds(1000));  // idempotent
  end_spans(tracer, 2);
  EXPECT_EQ(tracer.stats().spans_dropped, 2u);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(Exporter, DestroyingTheTracerFlushes) {
  OtlpReceiver receiver;
  {
    Tracer tracer = make_tracer(options_for(receiver.url()));
    end_spans(tracer, 5);
  }
  EXPECT_EQ(spans_of(receiver.requests()).size(), 5u);
}

TEST(MakeTracer, DisabledWithoutAnEndpointAndValidatesOptions) {
  EXPECT_FALSE(make_tracer(TraceOptions{}).enabled());
  EXPECT_THROW(make_otlp_http_exporter(TraceOptions{}), std::invalid_argument);
  TraceOptions bad;
  bad.endpoint = "ftp://x";
  EXPECT_THROW(make_tracer(bad), std::invalid_argument);
}

// Not a benchmark (this binary may be built with sanitizers): prints what a recorded span costs
// on the serving thread when it goes to the real exporter.
TEST(Cost, RecordingSpansToTheOtlpExporter) {
  OtlpReceiver receiver;
  TraceOptions o = options_for(receiver.url());
  o.queue_size = 2048;
  o.max_batch = 512;
  o.schedule_delay = milliseconds(1000);
  Tracer tracer = make_tracer(o);
  const auto remote = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  constexpr int k_spans = 100'000;
  const auto start = Clock::now();
  for (int i = 0; i < k_spans; ++i) {
    Span s = tracer.start_span("GET .zip", &*remote, Kind::server);
    s.set_attribute("http.response.status_code", 200);
    s.set_attribute("stoa.outcome", "hit");
  }
  const double ns =
      std::chrono::duration<double, std::nano>(Clock::now() - start).count() / k_spans;
  tracer.shutdown(Clock::now() + milliseconds(10000));
  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.spans_exported + s.spans_dropped + s.spans_failed, std::uint64_t{k_spans});
  std::printf("[ cost     ] recording to OTLP: %.1f ns/span (%llu exported, %llu dropped)\n", ns,
              static_cast<unsigned long long>(s.spans_exported),
              static_cast<unsigned long long>(s.spans_dropped));
  RecordProperty("otlp_ns_per_span", std::to_string(ns));
}

}  // namespace
}  // namespace stoa::trace
