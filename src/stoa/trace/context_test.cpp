#include "stoa/trace/context.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

namespace stoa::trace {
namespace {

constexpr std::string_view k_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view k_parent = "00f067aa0ba902b7";

std::string header(std::string_view version, std::string_view trace, std::string_view parent,
                   std::string_view flags) {
  std::string h(version);
  h += '-';
  h += trace;
  h += '-';
  h += parent;
  h += '-';
  h += flags;
  return h;
}

struct Valid {
  std::string value;
  std::uint8_t flags;
};

TEST(Traceparent, ParsesValidHeaders) {
  const std::vector<Valid> cases = {
      {header("00", k_trace, k_parent, "01"), 0x01},
      {header("00", k_trace, k_parent, "00"), 0x00},
      {header("00", k_trace, k_parent, "ff"), 0xff},  // unknown flags are kept, not an error
      {header("00", k_trace, k_parent, "02"), 0x02},
      {" \t" + header("00", k_trace, k_parent, "01") + " ", 0x01},  // optional blanks
      // Higher versions: the first four fields are read as version 00's.
      {header("01", k_trace, k_parent, "01"), 0x01},
      {header("cc", k_trace, k_parent, "01") + "-what-the-future-will-be-like", 0x01},
      {header("fe", k_trace, k_parent, "00") + "-", 0x00},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value);
    const auto parsed = parse_traceparent(c.value);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->trace_id.hex(), k_trace);
    EXPECT_EQ(parsed->span_id.hex(), k_parent);
    EXPECT_EQ(parsed->flags, c.flags);
  }
}

TEST(Traceparent, RefusesInvalidHeaders) {
  const std::string good = header("00", k_trace, k_parent, "01");
  const std::vector<std::string> cases = {
      "",
      "00",
      good.substr(0, 54),                                                // one short
      good + "-",                                                        // version 00 is exact
      good + "0",                                                        //
      header("ff", k_trace, k_parent, "01"),                             // forbidden version
      header("0A", k_trace, k_parent, "01"),                             // uppercase version
      header("0g", k_trace, k_parent, "01"),                             // not hex
      header("00", "4BF92F3577B34DA6A3CE929D0E0E4736", k_parent, "01"),  // uppercase trace id
      header("00", k_trace, "00F067AA0BA902B7", "01"),                   // uppercase parent id
      header("00", k_trace, k_parent, "0A"),                             // uppercase flags
      header("00", "00000000000000000000000000000000", k_parent, "01"),  // zero trace id
      header("00", k_trace, "0000000000000000", "01"),                   // zero parent id
      header("00", "4bf92f3577b34da6a3ce929d0e0e473", std::string(k_parent) + "0", "01"),
      header("00", k_trace.substr(0, 31), k_parent, "01"),  // short trace id
      header("00", std::string(k_trace) + "6", k_parent.substr(0, 15), "01"),
      header("00", k_trace, k_parent, "1"),                                // short flags
      header("00", "4bf92f3577b34da6a3ce929d0e0e473g", k_parent, "01"),    // not hex
      header("00", k_trace, "00f067aa0ba902bz", "01"),                     // not hex
      header("00", k_trace, k_parent, "0x"),                               // not hex
      "00_" + std::string(k_trace) + "-" + std::string(k_parent) + "-01",  // separators
      "00-" + std::string(k_trace) + "_" + std::string(k_parent) + "-01",
      "00-" + std::string(k_trace) + "-" + std::string(k_parent) + "_01",
      "00-" + std::string(k_trace) + "-" + std::string(k_parent) + "-0 1",
      header("01", k_trace, k_parent, "01") + "x",          // future: '-' after flags
      header("01", k_trace, k_parent, "01").substr(0, 54),  // future: too short
      header("01", "00000000000000000000000000000000", k_parent, "01"),
      "00-" + std::string(k_trace) + "-" + std::string(k_parent) + "-01\r\nx: y",
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c);
    EXPECT_FALSE(parse_traceparent(c).has_value());
  }
}

TEST(Traceparent, FormatsVersion00WithTheSampledBitOnly) {
  const auto parsed = parse_traceparent(header("00", k_trace, k_parent, "01"));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(format_traceparent(*parsed), header("00", k_trace, k_parent, "01"));

  SpanContext c = *parsed;
  c.flags = 0xff;
  EXPECT_EQ(format_traceparent(c), header("00", k_trace, k_parent, "01"));
  c.flags = 0x02;
  EXPECT_EQ(format_traceparent(c), header("00", k_trace, k_parent, "00"));

  // A future version is passed on as version 00.
  const auto future = parse_traceparent(header("cc", k_trace, k_parent, "01") + "-later");
  ASSERT_TRUE(future);
  EXPECT_EQ(format_traceparent(*future), header("00", k_trace, k_parent, "01"));
}

TEST(Traceparent, RoundTripsRandomContexts) {
  for (int i = 0; i < 100; ++i) {
    SpanContext c{random_trace_id(), random_span_id(),
                  static_cast<std::uint8_t>(i % 2 == 0 ? SpanContext::k_sampled : 0)};
    const std::string text = format_traceparent(c);
    EXPECT_EQ(text.size(), 55u);
    const auto back = parse_traceparent(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
}

TEST(Tracestate, IsPassedOnOpaquelyWithinBounds) {
  EXPECT_EQ(sanitize_tracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
            "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(sanitize_tracestate("  a=b , c=d\t"), "a=b , c=d");
  EXPECT_EQ(sanitize_tracestate(""), "");
  const std::string at_limit(k_max_tracestate, 'a');
  EXPECT_EQ(sanitize_tracestate(at_limit), at_limit);
  EXPECT_EQ(sanitize_tracestate(at_limit + "a"), "");
  EXPECT_EQ(sanitize_tracestate("a=b\r\nx-injected: 1"), "");
  EXPECT_EQ(sanitize_tracestate("a=\xc3\xa9"), "");
  EXPECT_EQ(sanitize_tracestate(std::string("a=b\0c", 5)), "");
}

TEST(RandomIds, AreValidAndDistinctAcrossThreads) {
  std::vector<std::vector<TraceId>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&ids] {
      for (int i = 0; i < 1000; ++i) ids.push_back(random_trace_id());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> seen;
  for (const auto& ids : per_thread) {
    for (const auto& id : ids) {
      EXPECT_TRUE(id.valid());
      seen.insert(id.hex());
    }
  }
  EXPECT_EQ(seen.size(), 4000u);

  std::set<std::string> spans;
  for (int i = 0; i < 1000; ++i) {
    const SpanId id = random_span_id();
    EXPECT_TRUE(id.valid());
    EXPECT_EQ(id.hex().size(), 16u);
    spans.insert(id.hex());
  }
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(Ids, HexIsLowercaseAndZeroIsInvalid) {
  TraceId t;
  EXPECT_FALSE(t.valid());
  EXPECT_EQ(t.hex(), std::string(32, '0'));
  t.bytes[15] = 0xab;
  EXPECT_TRUE(t.valid());
  EXPECT_EQ(t.hex(), std::string(30, '0') + "ab");
  SpanId s;
  EXPECT_FALSE(s.valid());
  s.bytes[0] = 0xF0;
  EXPECT_EQ(s.hex(), "f0" + std::string(14, '0'));
  EXPECT_FALSE(SpanContext{}.valid());
}

}  // namespace
}  // namespace stoa::trace
