#include "stoa/direct/routing.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "stoa/fsio/testing/scratch_dir.hpp"

namespace stoa::direct {
namespace {

// An upstream answering every call with a fixed outcome and recording the suffixes it saw.
class Recorder final : public fetch::Upstream {
 public:
  explicit Recorder(fetch::Outcome o, std::string body)
      : m_outcome(std::move(o)), m_body(std::move(body)) {}
  fetch::Outcome get(const std::string& suffix, fsio::TempFile& out, std::uint64_t,
                     const Headers&) override {
    seen.push_back(suffix);
    out.write(m_body);
    return m_outcome;
  }
  fetch::Outcome get(const std::string& suffix, std::string& out, std::uint64_t,
                     const Headers&) override {
    seen.push_back(suffix);
    out += m_body;
    return m_outcome;
  }
  std::vector<std::string> seen;

 private:
  fetch::Outcome m_outcome;
  std::string m_body;
};

const fetch::Outcome k_ok{fetch::Status::ok, 200, false, "", false};
const fetch::Outcome k_404{fetch::Status::not_found, 404, false, "not found", true};
const fetch::Outcome k_503_stop{fetch::Status::failed, 503, false, "down", false};
const fetch::Outcome k_503_exhausted{fetch::Status::failed, 503, false, "down", true};

TEST(Routing, PrivateModulesNeverReachTheProxy) {
  Recorder proxy(k_ok, "P");
  Recorder direct(k_ok, "D");
  auto r = make_routing_upstream(&proxy, direct, {"corp.example,*.internal/x", false});
  std::string body;
  for (const auto* s : {"corp.example/a/@v/list", "corp.example/a/b/@latest",
                        "corp.example/!user/a/@v/v1.0.0.info", "git.internal/x/y/@v/list"}) {
    body.clear();
    ASSERT_EQ(r->get(s, body, 100).status, fetch::Status::ok);
    EXPECT_EQ(body, "D") << s;
  }
  EXPECT_TRUE(proxy.seen.empty());
  body.clear();
  ASSERT_EQ(r->get("public.example/a/@v/list", body, 100).status, fetch::Status::ok);
  EXPECT_EQ(body, "P");
  EXPECT_EQ(direct.seen.size(), 4u);
}

TEST(Routing, FallsBackToDirectOnlyWhenTheWalkWasExhausted) {
  struct Case {
    fetch::Outcome proxy;
    bool fallback;
    bool want_direct;
  };
  const Case cases[] = {
      {k_ok, true, false},       {k_404, true, true},   {k_503_exhausted, true, true},
      {k_503_stop, true, false}, {k_404, false, false}, {k_503_exhausted, false, false},
  };
  for (const auto& c : cases) {
    Recorder proxy(c.proxy, "P");
    Recorder direct(k_ok, "D");
    auto r = make_routing_upstream(&proxy, direct, {"", c.fallback});
    fsio::testing::ScratchDir dir;
    auto out = fsio::TempFile::create(dir.path());
    const auto o = r->get("public.example/a/@v/v1.0.0.zip", out, 100);
    EXPECT_EQ(direct.seen.size(), c.want_direct ? 1u : 0u);
    if (c.want_direct) {
      EXPECT_EQ(o.status, fetch::Status::ok);
      EXPECT_EQ(out.size(), 1u);  // the proxy's attempt was cleared
    } else {
      EXPECT_EQ(o.status, c.proxy.status);
    }
  }
}

TEST(Routing, WithoutAProxyEverythingGoesDirectButChecksumDatabaseRequests) {
  Recorder direct(k_ok, "D");
  auto r = make_routing_upstream(nullptr, direct, {"", true});
  std::string body;
  EXPECT_EQ(r->get("any.example/a/@v/list", body, 100).status, fetch::Status::ok);
  EXPECT_EQ(r->get("sumdb/sum.example/lookup/x@v1.0.0", body, 100).status,
            fetch::Status::not_found);
  EXPECT_EQ(direct.seen, std::vector<std::string>{"any.example/a/@v/list"});
}

TEST(Routing, ChecksumDatabaseRequestsGoToTheProxyEvenForPrivatePatterns) {
  Recorder proxy(k_ok, "P");
  Recorder direct(k_ok, "D");
  auto r = make_routing_upstream(&proxy, direct, {"*", true});
  std::string body;
  EXPECT_EQ(r->get("sumdb/sum.example/supported", body, 100).status, fetch::Status::ok);
  EXPECT_TRUE(direct.seen.empty());
}

TEST(Routing, RouteOf) {
  EXPECT_EQ(route_of({"corp.example", false}, true, "corp.example/x"), Route::direct);
  EXPECT_EQ(route_of({"corp.example", false}, true, "Corp.Example/x"), Route::direct);
  EXPECT_EQ(route_of({"corp.example", false}, true, "corp.example.evil/x"), Route::proxy);
  EXPECT_EQ(route_of({"", false}, false, "a.example/x"), Route::direct);
}

}  // namespace
}  // namespace stoa::direct
