// The version filter seam: a hidden version is absent from list, never the @latest answer, and
// refused for its files and queries; the router is untouched (the fake is plugged in through
// ServiceOptions::version_filter).
#include "stoa/proxy/version_filter.hpp"

#include <gtest/gtest.h>

#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/proxy/testing/service_harness.hpp"

namespace stoa::proxy {
namespace {

using fakes::Responses;
using fakes::ScriptedUpstream;
using fetch::Status;

// Hides one version of one module.
class HideOne final : public VersionFilter {
 public:
  HideOne(std::string module, std::string version)
      : m_module(std::move(module)), m_version(std::move(version)) {}
  using VersionFilter::check;
  Verdict check(std::string_view module, std::string_view version, std::string_view /*time*/,
                const Asked& /*asked*/) const override {
    if (module == m_module && version == m_version)
      return {true, "known vulnerable", "fake", "test"};
    return {};
  }

 private:
  std::string m_module, m_version;
};

TEST(FilterList, DropsHiddenLinesKeepsTheRest) {
  const HideOne f("example.com/m", "v1.1.0");
  EXPECT_EQ(filter_list(f, "example.com/m", "v1.0.0\nv1.1.0\nv1.2.0\n"), "v1.0.0\nv1.2.0\n");
  EXPECT_EQ(filter_list(f, "example.com/m", "v1.1.0 2020-01-01T00:00:00Z\nv1.0.0"), "v1.0.0");
  EXPECT_EQ(filter_list(f, "example.com/other", "v1.1.0\n"), "v1.1.0\n");
  EXPECT_EQ(filter_list(f, "example.com/m", ""), "");
}

class VersionFilterSeamTest : public ::testing::Test {
 protected:
  static ServiceOptions with_filter(const VersionFilter& filter) {
    ServiceOptions o;
    o.version_filter = &filter;
    return o;
  }
  Response get(const std::string& target) { return m_harness.get(target); }

  HideOne m_filter{"example.com/m", "v1.1.0"};
  fakes::ServiceHarness m_harness{with_filter(m_filter)};
  ScriptedUpstream& m_upstream = m_harness.upstream();
};

constexpr const char* k_info_110 = R"({"Version":"v1.1.0","Time":"2020-01-02T00:00:00Z"})";
constexpr const char* k_info_100 = R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})";

TEST_F(VersionFilterSeamTest, AHiddenVersionIsNotListed) {
  m_upstream.set("example.com/m/@v/list", {Status::ok, "v1.0.0\nv1.1.0\n"});
  Response r = get("/example.com/m/@v/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v1.0.0\n");
  EXPECT_EQ(get("/example.com/m/@v/list").body, "v1.0.0\n");  // from the answer cache too
}

TEST_F(VersionFilterSeamTest, AHiddenVersionIsNeverLatest) {
  m_upstream.set("example.com/m/@latest", {Status::ok, k_info_110});
  Response r = get("/example.com/m/@latest");
  // No list to choose another from: 404, the go command then computes latest from the
  // (filtered) list.
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("known vulnerable"), std::string::npos) << r.body;
  EXPECT_EQ(get("/example.com/m/@latest").status, 404);  // cached answer: still hidden
  m_upstream.set("example.com/n/@latest",
                 {Status::ok, R"({"Version":"v1.1.0","Time":"2020-01-02T00:00:00Z"})"});
  EXPECT_EQ(get("/example.com/n/@latest").status, 200);  // another module: not hidden
}

TEST_F(VersionFilterSeamTest, AHiddenLatestIsReplacedByTheNewestAllowedVersion) {
  m_upstream.set("example.com/m/@latest", {Status::ok, k_info_110});
  m_upstream.set("example.com/m/@v/list", {Status::ok, "v1.0.0\nv1.1.0\n"});
  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info_100});
  Response r = get("/example.com/m/@latest");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, k_info_100);
  EXPECT_EQ(get("/example.com/m/@latest").body, k_info_100);  // from what is kept
  EXPECT_EQ(m_upstream.hits("example.com/m/@latest"), 1);
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.0.0.info"), 1);
}

TEST_F(VersionFilterSeamTest, AHiddenVersionIsRefusedForItsFilesAndQueries) {
  m_upstream.set("example.com/m/@v/v1.1.0.info", {Status::ok, k_info_110});
  m_upstream.set("example.com/m/@v/v1.0.0.info", {Status::ok, k_info_100});
  m_upstream.set("example.com/m/@v/master.info", {Status::ok, k_info_110});
  for (const char* file : {"info", "mod", "zip"}) {
    Response r = get(std::string("/example.com/m/@v/v1.1.0.") + file);
    EXPECT_EQ(r.status, 403) << file;
    EXPECT_EQ(r.body, "forbidden: example.com/m@v1.1.0 is filtered: known vulnerable\n") << file;
  }
  EXPECT_EQ(m_upstream.hits("example.com/m/@v/v1.1.0.info"), 0);  // never fetched
  EXPECT_EQ(get("/example.com/m/@v/master.info").status, 403);    // a query resolving to it
  EXPECT_EQ(get("/example.com/m/@v/v1.0.0.info").status, 200);
}

}  // namespace
}  // namespace stoa::proxy
