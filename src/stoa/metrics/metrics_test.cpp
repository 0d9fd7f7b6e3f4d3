#include "stoa/metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace stoa::metrics {
namespace {

TEST(Escape, LabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\n"
                               "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_help("x\\y\n\"z\""), "x\\\\y\\n\"z\"");
}

TEST(FormatValue, Specials) {
  EXPECT_EQ(format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(format_value(0.0 / 0.0), "NaN");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(3), "3");
}

TEST(Registry, RendersTheExpositionFormat) {
  Registry r;
  auto& req = r.counter("stoa_requests_total", "Requests by kind\nand code.", {"kind", "code"});
  req.with({"zip", "200"}).inc(3);
  req.with({"info", "404"}).inc();
  r.gauge("stoa_in_flight", "Fetches in flight.").with({}).set(2);
  auto& h = r.histogram("stoa_seconds", "Latency.", {"kind"}, {0.1, 1});
  h.with({"a\"b"}).observe(0.05);
  h.with({"a\"b"}).observe(0.5);
  h.with({"a\"b"}).observe(5);
  r.callback_gauge("stoa_answer", "Computed.", [] { return 42.0; });
  EXPECT_EQ(r.render(),
            "# HELP stoa_requests_total Requests by kind\\nand code.\n"
            "# TYPE stoa_requests_total counter\n"
            "stoa_requests_total{kind=\"info\",code=\"404\"} 1\n"
            "stoa_requests_total{kind=\"zip\",code=\"200\"} 3\n"
            "# HELP stoa_in_flight Fetches in flight.\n"
            "# TYPE stoa_in_flight gauge\n"
            "stoa_in_flight 2\n"
            "# HELP stoa_seconds Latency.\n"
            "# TYPE stoa_seconds histogram\n"
            "stoa_seconds_bucket{kind=\"a\\\"b\",le=\"0.1\"} 1\n"
            "stoa_seconds_bucket{kind=\"a\\\"b\",le=\"1\"} 2\n"
            "stoa_seconds_bucket{kind=\"a\\\"b\",le=\"+Inf\"} 3\n"
            "stoa_seconds_sum{kind=\"a\\\"b\"} 5.55\n"
            "stoa_seconds_count{kind=\"a\\\"b\"} 3\n"
            "# HELP stoa_answer Computed.\n"
            "# TYPE stoa_answer gauge\n"
            "stoa_answer 42\n");
}

TEST(Histogram, BoundaryGoesIntoItsBucket) {
  Histogram h({1, 2});
  h.observe(1);
  h.observe(2);
  h.observe(2.0001);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(s.count, 3u);
}

TEST(Counter, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.counter("c", "c").with({});
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.value(), 80000u);
}

TEST(Family, ChildrenAreStable) {
  Family<Counter> f("f", "f", {"l"});
  Counter& a = f.with({"a"});
  for (int i = 0; i < 1000; ++i) f.with({std::to_string(i)});
  EXPECT_EQ(&a, &f.with({"a"}));
}

}  // namespace
}  // namespace stoa::metrics
