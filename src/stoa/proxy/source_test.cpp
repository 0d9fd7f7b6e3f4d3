// The source seam: sources in front of the upstream answer for the modules they own, shadow any
// upstream of the same path, and pass the others on; the router is untouched (the fake is
// plugged in through ServiceOptions::sources).
#include "stoa/proxy/source.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>

#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/proxy/testing/service_harness.hpp"

namespace stoa::proxy {
namespace {

using fakes::Responses;
using fakes::ScriptedUpstream;
using fetch::Status;

// A source holding the files of the modules it owns (as a published-modules source would).
class FakeSource final : public Source {
 public:
  FakeSource(std::string owned, std::string origin)
      : m_owned(std::move(owned)), m_origin(std::move(origin)) {}
  void set(const std::string& key, std::string body) {
    std::lock_guard l(m_mutex);
    m_files[key] = std::move(body);
  }
  void fail_with(Status s) { m_fail = s; }
  int hits() const { return m_hits.load(); }

  std::string origin() const override { return m_origin; }
  bool owns(std::string_view module) const override { return module == m_owned; }
  fetch::Outcome get(const std::string& key, fsio::TempFile& out, std::uint64_t max,
                     const fetch::Upstream::Headers& h) override {
    std::string body;
    auto o = get(key, body, max, h);
    if (o.status == Status::ok) out.write(body);
    return o;
  }
  fetch::Outcome get(const std::string& key, std::string& out, std::uint64_t /*max*/,
                     const fetch::Upstream::Headers& /*h*/) override {
    ++m_hits;
    if (m_fail != Status::ok) return {m_fail, 503, false, "fake failure"};
    std::lock_guard l(m_mutex);
    const auto it = m_files.find(key);
    if (it == m_files.end()) return {Status::not_found, 404, false, "not published here", true};
    out = it->second;
    return {Status::ok, 200, false, {}};
  }

 private:
  std::string m_owned, m_origin;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_files;
  std::atomic<int> m_hits{0};
  Status m_fail = Status::ok;
};

TEST(SourceChain, FirstThatHasItAnswersAnOwnerIsFinalAFailureStops) {
  auto a = std::make_shared<FakeSource>("example.com/pub", "published");
  auto b = std::make_shared<FakeSource>("", "upstream");
  a->set("example.com/pub/@v/list", "v1.0.0\n");
  b->set("example.com/other/@v/list", "v2.0.0\n");
  b->set("example.com/pub/@v/v9.0.0.info", "{}");
  const SourceChain chain({a, b});
  std::string out;
  auto got = chain.get("example.com/pub", "example.com/pub/@v/list", out, 1 << 20, {});
  EXPECT_EQ(got.outcome.status, Status::ok);
  EXPECT_EQ(got.origin, "published");
  EXPECT_EQ(out, "v1.0.0\n");
  // Not held by the first source, which does not own the module: the next one answers.
  got = chain.get("example.com/other", "example.com/other/@v/list", out, 1 << 20, {});
  EXPECT_EQ(got.outcome.status, Status::ok);
  EXPECT_EQ(got.origin, "upstream");
  // Owned: its 404 is final, the upstream that has a v9.0.0 is not asked.
  const int before = b->hits();
  got = chain.get("example.com/pub", "example.com/pub/@v/v9.0.0.info", out, 1 << 20, {});
  EXPECT_EQ(got.outcome.status, Status::not_found);
  EXPECT_EQ(b->hits(), before);
  // A failure ends the walk: it might hide the file.
  a->fail_with(Status::failed);
  got = chain.get("example.com/other", "example.com/other/@v/list", out, 1 << 20, {});
  EXPECT_EQ(got.outcome.status, Status::failed);
  EXPECT_EQ(b->hits(), before);
  // No source at all: not found.
  EXPECT_EQ(SourceChain().get("m", "m/@v/list", out, 1, {}).outcome.status, Status::not_found);
}

class SourceSeamTest : public ::testing::Test {
 protected:
  static ServiceOptions with_source(std::shared_ptr<Source> source) {
    ServiceOptions o;
    o.sources = {std::move(source)};
    return o;
  }
  Response get(const std::string& target) { return m_harness.get(target); }

  std::shared_ptr<FakeSource> m_published =
      std::make_shared<FakeSource>("example.com/pub", "published");
  fakes::ServiceHarness m_harness{with_source(m_published)};
  ScriptedUpstream& m_upstream = m_harness.upstream();
};

constexpr const char* k_info = R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})";

TEST_F(SourceSeamTest, APublishedModuleShadowsTheUpstream) {
  m_published->set("example.com/pub/@v/v1.0.0.info", k_info);
  m_published->set("example.com/pub/@v/list", "v1.0.0\n");
  // The upstream has another version of the same path: it must never be served.
  m_upstream.set("example.com/pub/@v/v1.0.0.info", {Status::ok, k_info});
  m_upstream.set("example.com/pub/@v/v6.6.6.info",
                 {Status::ok, R"({"Version":"v6.6.6","Time":"2020-01-01T00:00:00Z"})"});
  m_upstream.set("example.com/pub/@v/list", {Status::ok, "v1.0.0\nv6.6.6\n"});

  Response r = get("/example.com/pub/@v/v1.0.0.info");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(fakes::body_of(r), k_info);
  EXPECT_EQ(get("/example.com/pub/@v/list").body, "v1.0.0\n");
  EXPECT_EQ(get("/example.com/pub/@v/v6.6.6.info").status, 404);
  EXPECT_EQ(m_upstream.hits("example.com/pub/@v/v1.0.0.info"), 0);
  EXPECT_EQ(m_upstream.hits("example.com/pub/@v/v6.6.6.info"), 0);
  EXPECT_EQ(m_upstream.hits("example.com/pub/@v/list"), 0);
  // Stored like any other file: a second request is a hit, the source is not asked again.
  const int hits = m_published->hits();
  EXPECT_EQ(get("/example.com/pub/@v/v1.0.0.info").outcome, Outcome::hit);
  EXPECT_EQ(m_published->hits(), hits);
}

TEST_F(SourceSeamTest, OtherModulesPassToTheUpstream) {
  m_upstream.set("example.com/other/@v/v1.0.0.info", {Status::ok, k_info});
  Response r = get("/example.com/other/@v/v1.0.0.info");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(m_upstream.hits("example.com/other/@v/v1.0.0.info"), 1);
  EXPECT_EQ(m_published->hits(), 1);  // asked first, did not have it
}

}  // namespace
}  // namespace stoa::proxy
