#include "stoa/http/request_metrics.hpp"

#include <gtest/gtest.h>

namespace stoa::http {
namespace {

TEST(RequestMetrics, CountsByEndpointCodeAndOutcome) {
  metrics::Registry r;
  RequestMetrics m(r);
  m.record("zip", 200, proxy::Outcome::hit, 0.001, 100);
  m.record("zip", 200, proxy::Outcome::miss, 0.5, 50);
  m.record("info", 404, proxy::Outcome::not_found, 0.002, 20);
  m.record("nonsense", 418, proxy::Outcome::rejected, 0.0, 0);  // unknown endpoint, rare code
  m.record("sumdb", 200, proxy::Outcome::miss, 0.01, 10);       // docs: endpoint="sumdb"
  const std::string out = r.render();
  EXPECT_NE(out.find("stoa_http_requests_total{endpoint=\"zip\",code=\"200\"} 2\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("stoa_http_requests_total{endpoint=\"info\",code=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("stoa_http_requests_total{endpoint=\"other\",code=\"418\"} 1\n"),
            std::string::npos);
  EXPECT_NE(out.find("stoa_http_requests_total{endpoint=\"sumdb\",code=\"200\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("stoa_http_response_bytes_total{endpoint=\"zip\"} 150\n"), std::string::npos);
  EXPECT_NE(out.find("stoa_cache_answers_total{outcome=\"hit\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("stoa_cache_answers_total{outcome=\"not-found\"} 1\n"), std::string::npos);
  EXPECT_NE(out.find("stoa_http_request_duration_seconds_count{endpoint=\"zip\"} 2\n"),
            std::string::npos);
  m.connections().add(2);
  m.connections().add(-1);
  m.accepted().inc();
  m.accepted().inc();
  EXPECT_NE(r.render().find("stoa_http_connections 1\n"), std::string::npos);
  EXPECT_NE(r.render().find("stoa_http_connections_accepted_total 2\n"), std::string::npos);
}

}  // namespace
}  // namespace stoa::http
