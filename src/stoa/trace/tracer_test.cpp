#include "stoa/trace/tracer.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>

#include "stoa/trace/testing/allocation_counter.hpp"

namespace stoa::trace {
namespace {

using testing::AllocationCounter;

std::string numbered(std::string_view prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

// Keeps every submitted span.
class RecordingExporter final : public Exporter {
 public:
  void submit(std::unique_ptr<SpanData> span) noexcept override {
    std::lock_guard lock(m_mutex);
    m_spans.push_back(std::move(span));
  }
  ExporterStats stats() const override {
    std::lock_guard lock(m_mutex);
    ExporterStats s;
    s.spans_exported = m_spans.size();
    return s;
  }
  void shutdown(std::chrono::steady_clock::time_point) override {
    std::lock_guard lock(m_mutex);
    m_shut_down = true;
  }

  std::size_t size() const {
    std::lock_guard lock(m_mutex);
    return m_spans.size();
  }
  const SpanData& at(std::size_t i) const {
    std::lock_guard lock(m_mutex);
    return *m_spans.at(i);
  }
  bool shut_down() const {
    std::lock_guard lock(m_mutex);
    return m_shut_down;
  }
  void clear() {
    std::lock_guard lock(m_mutex);
    m_spans.clear();
  }

 private:
  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<SpanData>> m_spans;
  bool m_shut_down = false;
};

struct Recording {
  RecordingExporter* exporter;
  Tracer tracer;
};

Recording recording_tracer(Sampler sampler = {}) {
  auto exporter = std::make_unique<RecordingExporter>();
  RecordingExporter* raw = exporter.get();
  return {raw, Tracer(std::move(exporter), sampler)};
}

const SpanContext k_remote =
    *parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

std::int64_t now_nanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Attribute* find(const SpanData& d, std::string_view key) {
  for (std::size_t i = 0; i < d.attributes.size(); ++i) {
    if (d.attributes[i].key == key) return &d.attributes[i];
  }
  return nullptr;
}

TEST(Disabled, InertSpansCarryTheParentContext) {
  const Tracer tracer;
  EXPECT_FALSE(tracer.enabled());
  Span root = tracer.start_span("root", nullptr, Kind::server);
  EXPECT_FALSE(root.recording());
  EXPECT_FALSE(root.context().valid());  // nothing to propagate

  Span server = tracer.start_span("request", &k_remote, Kind::server);
  EXPECT_FALSE(server.recording());
  EXPECT_EQ(server.context(), k_remote);  // the incoming traceparent is passed on unchanged
  Span child = tracer.start_span("fetch", &server.context(), Kind::client);
  EXPECT_EQ(format_traceparent(child.context()),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

  const ExporterStats s = tracer.stats();
  EXPECT_EQ(s.spans_exported + s.spans_dropped + s.queued, 0u);
}

TEST(AllocationCounter, SeesAllocationsOfThisThread) {
  const AllocationCounter counter;
  auto one = std::make_unique<int>(1);
  std::vector<int> two(100);
  EXPECT_EQ(counter.count(), 2u);
  std::thread([] { std::vector<int> elsewhere(100); }).join();
  EXPECT_LE(counter.count(), 3u);  // the thread's own state may be allocated here; its vector not
}

TEST(Disabled, SpansAllocateNothing) {
  const Tracer tracer;
  const AllocationCounter counter;
  for (int i = 0; i < 1000; ++i) {
    Span server = tracer.start_span("a span name longer than any small-string buffer", &k_remote,
                                    Kind::server);
    server.set_attribute("http.request.method", "GET");
    server.set_attribute("url.path", std::string_view("/example.com/m/@v/list"));
    server.set_attribute("http.response.status_code", 200);
    server.set_attribute("stoa.cache_hit", true);
    server.update_name("GET a span name longer than any small-string buffer");
    server.set_status(StatusCode::error, "a message longer than any small-string buffer");
    Span child = tracer.start_span("store.get", &server.context());
    child.end();
    Span moved = std::move(server);
  }
  EXPECT_EQ(counter.count(), 0u);
}

TEST(Unsampled, SpansAllocateNothingAndRecordNothing) {
  auto [exporter, tracer] =
      recording_tracer(Sampler{Sampler::Root::always_off, /*parent_based=*/false, 1.0});
  static_cast<void>(random_span_id());  // seeds this thread's generator outside the count
  const AllocationCounter counter;
  for (int i = 0; i < 1000; ++i) {
    Span server =
        tracer.start_span("a span name longer than any small-string buffer", nullptr, Kind::server);
    server.set_attribute("http.response.status_code", 200);
    Span child = tracer.start_span("store.get", &server.context());
    EXPECT_TRUE(server.context().valid());
    EXPECT_FALSE(server.context().sampled());
    EXPECT_EQ(child.context().trace_id, server.context().trace_id);
  }
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_EQ(exporter->size(), 0u);
}

TEST(Enabled, RootSpanStartsATraceAndIsExportedOnEnd) {
  auto [exporter, tracer] = recording_tracer();
  const std::int64_t before = now_nanos();
  Span span = tracer.start_span("GET zip", nullptr, Kind::server);
  EXPECT_TRUE(span.recording());
  EXPECT_TRUE(span.context().valid());
  EXPECT_TRUE(span.context().sampled());
  EXPECT_EQ(exporter->size(), 0u);
  span.end();
  const std::int64_t after = now_nanos();
  EXPECT_FALSE(span.recording());
  EXPECT_TRUE(span.context().valid());  // still usable for late children and propagation
  ASSERT_EQ(exporter->size(), 1u);
  const SpanData& d = exporter->at(0);
  EXPECT_EQ(d.name, "GET zip");
  EXPECT_EQ(d.kind, Kind::server);
  EXPECT_EQ(d.context, span.context());
  EXPECT_FALSE(d.parent_span_id.valid());
  EXPECT_GE(d.start_unix_nanos, before);
  EXPECT_LE(d.start_unix_nanos, d.end_unix_nanos);
  EXPECT_LE(d.end_unix_nanos, after);
  EXPECT_EQ(d.status, StatusCode::unset);
}

TEST(Enabled, ChildrenShareTheTraceAndLinkToTheirParent) {
  auto [exporter, tracer] = recording_tracer();
  {
    Span server = tracer.start_span("request", &k_remote, Kind::server);
    Span store = tracer.start_span("store.get", &server.context());
    Span fetch = tracer.start_span("upstream.fetch", &store.context(), Kind::client);
    EXPECT_EQ(server.context().trace_id, k_remote.trace_id);
    EXPECT_NE(server.context().span_id, k_remote.span_id);
    EXPECT_EQ(store.context().trace_id, k_remote.trace_id);
    EXPECT_EQ(fetch.context().trace_id, k_remote.trace_id);
    EXPECT_NE(store.context().span_id, server.context().span_id);
  }  // destroyed in reverse order: fetch, store, server
  ASSERT_EQ(exporter->size(), 3u);
  const SpanData& fetch = exporter->at(0);
  const SpanData& store = exporter->at(1);
  const SpanData& server = exporter->at(2);
  EXPECT_EQ(fetch.name, "upstream.fetch");
  EXPECT_EQ(fetch.kind, Kind::client);
  EXPECT_EQ(server.parent_span_id, k_remote.span_id);  // the remote parent
  EXPECT_EQ(store.parent_span_id, server.context.span_id);
  EXPECT_EQ(fetch.parent_span_id, store.context.span_id);
  EXPECT_EQ(store.kind, Kind::internal);
}

TEST(Enabled, InvalidParentStartsANewTrace) {
  auto [exporter, tracer] = recording_tracer();
  const SpanContext invalid;
  Span span = tracer.start_span("x", &invalid);
  span.end();
  ASSERT_EQ(exporter->size(), 1u);
  EXPECT_TRUE(exporter->at(0).context.valid());
  EXPECT_FALSE(exporter->at(0).parent_span_id.valid());
}

TEST(Span, EndsOnceWhetherEndedOrDestroyedOrMoved) {
  auto [exporter, tracer] = recording_tracer();
  {
    Span a = tracer.start_span("a");
    a.end();
    a.end();
  }
  EXPECT_EQ(exporter->size(), 1u);
  {
    Span b = tracer.start_span("b");
    Span c = std::move(b);
    EXPECT_FALSE(b.recording());  // NOLINT(bugprone-use-after-move): moved-from is inert
    EXPECT_TRUE(c.recording());
  }
  ASSERT_EQ(exporter->size(), 2u);
  EXPECT_EQ(exporter->at(1).name, "b");
  {
    Span d = tracer.start_span("d");
    d = tracer.start_span("e");  // ends "d"
    ASSERT_EQ(exporter->size(), 3u);
    EXPECT_EQ(exporter->at(2).name, "d");
    Span& self = d;
    d = std::move(self);  // self-move: nothing happens
    EXPECT_TRUE(d.recording());
  }
  ASSERT_EQ(exporter->size(), 4u);
  EXPECT_EQ(exporter->at(3).name, "e");
}

TEST(Span, AttributesReplaceByKeyAndOverflowIsCounted) {
  auto [exporter, tracer] = recording_tracer();
  {
    Span s = tracer.start_span("s");
    s.set_attribute("literal", "text");  // a string, not a bool
    s.set_attribute("int", 200);
    s.set_attribute("unsigned", 7u);
    s.set_attribute("int64", std::int64_t{-5});
    s.set_attribute("bool", false);
    s.set_attribute("replaced", 1);
    s.set_attribute("replaced", std::string("now a string"));
    s.set_attribute("null", static_cast<const char*>(nullptr));
    s.update_name("renamed");
    for (int i = 0; i < 70; ++i) s.set_attribute(numbered("k", i), i);
  }
  ASSERT_EQ(exporter->size(), 1u);
  const SpanData& d = exporter->at(0);
  EXPECT_EQ(d.attributes.size(), AttributeList::k_max);
  EXPECT_EQ(d.attributes.dropped(), 7u + 70u - AttributeList::k_max);
  EXPECT_EQ(std::get<std::string>(find(d, "literal")->value), "text");
  EXPECT_EQ(std::get<std::int64_t>(find(d, "int")->value), 200);
  EXPECT_EQ(std::get<std::int64_t>(find(d, "unsigned")->value), 7);
  EXPECT_EQ(std::get<std::int64_t>(find(d, "int64")->value), -5);
  EXPECT_EQ(std::get<bool>(find(d, "bool")->value), false);
  EXPECT_EQ(std::get<std::string>(find(d, "replaced")->value), "now a string");
  EXPECT_EQ(std::get<std::string>(find(d, "null")->value), "");
  EXPECT_NE(find(d, "k56"), nullptr);
  EXPECT_EQ(find(d, "k57"), nullptr);
  EXPECT_EQ(d.attributes[0].key, "literal");  // insertion order
  EXPECT_EQ(d.name, "renamed");
}

TEST(Span, StatusFollowsOpenTelemetryRules) {
  auto [exporter, tracer] = recording_tracer();
  {
    Span a = tracer.start_span("a");
    a.set_status(StatusCode::error, "upstream 503");
    a.set_status(StatusCode::unset);  // ignored
    Span b = tracer.start_span("b");
    b.set_status(StatusCode::ok, "ignored for ok");
    b.set_status(StatusCode::error, "ok is final");
    Span c = tracer.start_span("c");
    c.set_status(StatusCode::error, "first");
    c.set_status(StatusCode::error, "second");
  }
  ASSERT_EQ(exporter->size(), 3u);
  EXPECT_EQ(exporter->at(2).status, StatusCode::error);
  EXPECT_EQ(exporter->at(2).status_message, "upstream 503");
  EXPECT_EQ(exporter->at(1).status, StatusCode::ok);
  EXPECT_EQ(exporter->at(1).status_message, "");
  EXPECT_EQ(exporter->at(0).status_message, "second");
}

TEST(Sampler, Decisions) {
  const TraceId id = random_trace_id();
  SpanContext sampled = k_remote;
  SpanContext unsampled = k_remote;
  unsampled.flags = 0;
  const Sampler parent_on{Sampler::Root::always_on, true, 1.0};
  const Sampler parent_off{Sampler::Root::always_off, true, 1.0};
  const Sampler on{Sampler::Root::always_on, false, 1.0};
  const Sampler off{Sampler::Root::always_off, false, 1.0};
  EXPECT_TRUE(parent_on.sample(nullptr, id));
  EXPECT_TRUE(parent_on.sample(&sampled, id));
  EXPECT_FALSE(parent_on.sample(&unsampled, id));
  EXPECT_FALSE(parent_off.sample(nullptr, id));
  EXPECT_TRUE(parent_off.sample(&sampled, id));
  EXPECT_TRUE(on.sample(&unsampled, id));
  EXPECT_FALSE(off.sample(&sampled, id));
}

TEST(Sampler, RatioIsDeterministicInTheTraceId) {
  const Sampler none{Sampler::Root::trace_id_ratio, false, 0.0};
  const Sampler all{Sampler::Root::trace_id_ratio, false, 1.0};
  const Sampler quarter{Sampler::Root::trace_id_ratio, false, 0.25};
  int sampled = 0;
  constexpr int k_ids = 20000;
  for (int i = 0; i < k_ids; ++i) {
    const TraceId id = random_trace_id();
    EXPECT_FALSE(none.sample(nullptr, id));
    EXPECT_TRUE(all.sample(nullptr, id));
    const bool decision = quarter.sample(nullptr, id);
    EXPECT_EQ(quarter.sample(nullptr, id), decision);
    sampled += decision ? 1 : 0;
  }
  // 5000 expected; the standard deviation is about 61.
  EXPECT_GT(sampled, 4500);
  EXPECT_LT(sampled, 5500);

  TraceId low;  // last 7 bytes zero: below any positive ratio
  low.bytes[0] = 0xff;
  EXPECT_TRUE(Sampler({Sampler::Root::trace_id_ratio, false, 1e-9}).sample(nullptr, low));
  TraceId high;
  high.bytes.fill(0xff);
  EXPECT_FALSE(Sampler({Sampler::Root::trace_id_ratio, false, 0.999}).sample(nullptr, high));
}

TEST(Sampler, UnsampledParentsHaveUnrecordedChildren) {
  auto [exporter, tracer] = recording_tracer();  // parentbased_always_on
  SpanContext unsampled = k_remote;
  unsampled.flags = 0;
  {
    Span server = tracer.start_span("request", &unsampled, Kind::server);
    EXPECT_FALSE(server.recording());
    EXPECT_EQ(server.context().trace_id, k_remote.trace_id);
    EXPECT_NE(server.context().span_id, k_remote.span_id);  // a fresh id for propagation
    EXPECT_EQ(format_traceparent(server.context()).substr(52), "-00");
    Span child = tracer.start_span("child", &server.context());
    EXPECT_FALSE(child.recording());
  }
  EXPECT_EQ(exporter->size(), 0u);
}

TEST(Tracer, ShutdownReachesTheExporter) {
  auto [exporter, tracer] = recording_tracer();
  EXPECT_FALSE(exporter->shut_down());
  tracer.shutdown(std::chrono::steady_clock::now());
  EXPECT_TRUE(exporter->shut_down());
  Tracer disabled;
  disabled.shutdown(std::chrono::steady_clock::now());  // nothing to do
}

// Not a benchmark (this binary may be built with sanitizers): prints what one span costs here.
TEST(Cost, DisabledAndRecordingSpans) {
  constexpr int k_spans = 200'000;
  const auto per_span = [](auto&& body) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < k_spans; ++i) body();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::nano>(elapsed).count() / k_spans;
  };
  const Tracer disabled;
  const AllocationCounter counter;
  const double inert = per_span([&] {
    Span s = disabled.start_span("request", &k_remote, Kind::server);
    s.set_attribute("http.response.status_code", 200);
  });
  EXPECT_EQ(counter.count(), 0u);

  auto [exporter, tracer] = recording_tracer();
  int n = 0;
  const double recording = per_span([&] {
    Span s = tracer.start_span("request", &k_remote, Kind::server);
    s.set_attribute("http.response.status_code", 200);
    s.end();
    if (++n % 1000 == 0) exporter->clear();
  });
  std::printf(
      "[ cost     ] disabled: %.1f ns/span; recording (to an in-memory exporter): %.1f ns/span\n",
      inert, recording);
  RecordProperty("disabled_ns_per_span", std::to_string(inert));
  RecordProperty("recording_ns_per_span", std::to_string(recording));
}

}  // namespace
}  // namespace stoa::trace
