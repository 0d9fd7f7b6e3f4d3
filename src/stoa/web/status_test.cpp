#include "stoa/web/status.hpp"

#include <gtest/gtest.h>

#include "stoa/metrics/metrics.hpp"

namespace stoa::web {
namespace {

TEST(Exposition, ParsesWhatTheRegistryRenders) {
  metrics::Registry reg;
  auto& requests = reg.counter("stoa_http_requests_total", "h", {"endpoint", "code"});
  requests.with({"info", "200"}).inc(7);
  requests.with({"zip", "200"}).inc(3);
  requests.with({"a\"b\\c\nd", "404"}).inc(1);
  auto& answers = reg.counter("stoa_cache_answers_total", "h", {"outcome"});
  answers.with({"hit"}).inc(3);
  answers.with({"miss"}).inc(1);
  const auto s = parse_exposition(reg.render());
  EXPECT_EQ(sum(s, "stoa_http_requests_total"), 11);
  EXPECT_EQ(sum(s, "stoa_http_requests_total", {{"endpoint", "info"}}), 7);
  EXPECT_EQ(sum(s, "stoa_http_requests_total", {{"endpoint", "a\"b\\c\nd"}}), 1);
  const StatusView v = status_of(s);
  EXPECT_DOUBLE_EQ(v.hit_ratio, 0.75);
  ASSERT_EQ(v.endpoints.size(), 3u);
}

TEST(Exposition, SkipsMalformedLines) {
  const auto s =
      parse_exposition("# HELP x\nx 1\ny{a=\"1\" 2\nz{a=\"1\"} nope\n{} 3\nw{a=\"\\\"\"} 4\n");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "x");
  EXPECT_EQ(s[1].labels.at("a"), "\"");
}

TEST(History, RatesBetweenSamplesBounded) {
  History h(3);
  for (int i = 0; i < 5; ++i) {
    h.add(parse_exposition("stoa_http_requests_total{endpoint=\"info\"} " + std::to_string(i * 10) +
                           "\n"),
          i * 2.0);
  }
  const auto series = h.series();
  ASSERT_FALSE(series.empty());
  EXPECT_EQ(series[0].points.size(), 2u);  // three points kept, two rates
  EXPECT_DOUBLE_EQ(series[0].points.back(), 5.0);
}

}  // namespace
}  // namespace stoa::web
