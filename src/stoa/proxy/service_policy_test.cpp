// The service's policy, direct-fetch hooks, /index access rules and credential checks, each
// through a whole Service (service_test.cpp holds the miss, hit, flight and replica paths).
#include "stoa/proxy/service.hpp"
#include "stoa/proxy/testing/fakes.hpp"
#include "stoa/proxy/testing/service_harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "stoa/index/index.hpp"

namespace stoa::proxy {
namespace {

using fakes::body_of;
using fakes::header_map;
using fakes::make_request;
using fakes::Responses;
using fakes::ScriptedUpstream;
using fetch::Status;

constexpr const char* k_info = R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})";

}  // namespace
}  // namespace stoa::proxy

namespace stoa::proxy {
namespace {

// Direct fetching's two hooks: modules that go direct run on their own pool, and requests from
// stoa's own go command are refused with 508 before any fetch starts or is joined.
class DirectHooksTest : public ::testing::Test {
 protected:
  DirectHooksTest() : m_direct_pool(1, 8), m_h(options(m_direct_pool), {1, 8}) {
    m_h.upstream().set("direct.example/m/@v/list", {Status::ok, "v1.0.0\n"});
    m_h.upstream().set("proxy.example/m/@v/list", {Status::ok, "v1.0.0\n"});
  }
  ~DirectHooksTest() override { m_direct_pool.shutdown(); }
  static ServiceOptions options(fetch::WorkerPool& direct_pool) {
    ServiceOptions o;
    o.instance_id = "test-instance";
    o.direct_pool = &direct_pool;
    o.goes_direct = [](std::string_view module) { return module.starts_with("direct.example/"); };
    o.from_own_fetcher = [](const HttpRequest& r) { return r.remote_port == 4242; };
    return o;
  }
  Response get(const std::string& target, std::uint16_t port = 1) {
    HttpRequest r = make_request("GET", target);
    r.remote_address = "127.0.0.1";
    r.remote_port = port;
    return m_h.handle(r);
  }

  fetch::WorkerPool m_direct_pool;
  fakes::ServiceHarness m_h;
};

TEST_F(DirectHooksTest, DirectModulesRunOnTheirOwnPool) {
  // With the proxy pool gone, proxy modules are refused as busy; direct ones still fetch.
  m_h.pool().shutdown();
  EXPECT_EQ(get("/proxy.example/m/@v/list").status, 503);
  const Response r = get("/direct.example/m/@v/list");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r), "v1.0.0\n");
}

TEST_F(DirectHooksTest, OwnGoCommandIsRefusedWithoutFetching) {
  const Response r = get("/direct.example/m/@v/list", 4242);
  EXPECT_EQ(r.status, 508);
  EXPECT_EQ(m_h.upstream().hits("direct.example/m/@v/list"), 0);
  EXPECT_EQ(get("/direct.example/m/@v/list", 4243).status, 200);
  EXPECT_EQ(m_h.upstream().hits("direct.example/m/@v/list"), 1);
}

}  // namespace
}  // namespace stoa::proxy

namespace stoa::proxy {
namespace {

// The policy in the service: each action's answer, and which of them may touch the upstream
// or the store.
class PolicyServiceTest : public ::testing::Test {
 protected:
  PolicyServiceTest() {
    auto snap = std::make_shared<policy::Snapshot>();
    auto parsed = policy::parse_rules(R"(
[[rule]]
name = "bad-old"
modules = "example.com/lib"
versions = "<v1.2.0"
action = "deny"
message = "too old"
[[rule]]
modules = "example.com/moved"
action = "redirect"
to = "https://elsewhere.example/base/"
[[rule]]
name = "frozen"
modules = "example.com/frozen"
action = "offline"
[[rule]]
modules = "corp.example/*"
action = "private"
readers = ["reader"]
[[rule]]
modules = "example.com/pass"
action = "passthrough"
[[rule]]
modules = "gated.example/*"
readers = ["reader"]
[[rule]]
name = "fips-snapshots"
modules = "golang.org/fips140"
action = "cache"
)",
                                      "rules");
    snap->rules = std::get<policy::RuleSet>(std::move(parsed));
    // Tokens "reader-token" and "other-token" (their SHA-256).
    auto creds = policy::Credentials::parse(
        "reader:" + policy::hash_password("pw", 4).value_or("?") + "\n", "users",
        "reader ba5005a40cf5212e4ac0190104cc127edab013294bb71279a975b27a80982d45\nother "
        "6c67163bbed989f232b31acc4f04df54b31285bfc01bd022c735b71e041a4754\n",
        "t");
    m_token_ok = std::holds_alternative<std::unique_ptr<policy::Credentials>>(creds);
    if (m_token_ok) snap->credentials = std::move(std::get<0>(creds));
    m_policy = std::make_unique<policy::Policy>(snap);
    ServiceOptions o;
    o.policy = m_policy.get();
    m_h.emplace(o);
  }
  Response get(const std::string& target, const std::string& authorization = "") {
    HttpRequest req = make_request("GET", target);
    req.authorization = authorization;
    return m_h->handle(req);
  }
  void put(const std::string& key, const std::string& body) {
    auto t = m_h->store().stage();
    t.write(body);
    m_h->store().put(key, std::move(t));
  }

  std::unique_ptr<policy::Policy> m_policy;
  bool m_token_ok = false;
  std::optional<fakes::ServiceHarness> m_h;
};

TEST_F(PolicyServiceTest, DenyAndRedirectNeverAskUpstream) {
  Response r = get("/example.com/lib/@v/v1.1.0.zip");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "forbidden: example.com/lib@v1.1.0 is denied by rule \"bad-old\": too old\n");
  m_h->upstream().set("example.com/lib/@v/v1.2.0.info",
                      {Status::ok, R"({"Version":"v1.2.0","Time":"2020-01-01T00:00:00Z"})"});
  EXPECT_EQ(get("/example.com/lib/@v/v1.2.0.info").status, 200);  // outside the range
  r = get("/example.com/moved/x/@v/list");
  EXPECT_EQ(r.status, 302);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "https://elsewhere.example/base/example.com/moved/x/@v/list");
  EXPECT_EQ(m_h->upstream().hits("example.com/lib/@v/v1.1.0.zip"), 0);
  EXPECT_EQ(m_h->upstream().hits("example.com/moved/x/@v/list"), 0);
  EXPECT_NE(m_h->registry().render().find(
                "stoa_policy_refusals_total{action=\"deny\",reason=\"denied\"} 1"),
            std::string::npos);
}

TEST_F(PolicyServiceTest, ARuleNamingTheFipsModuleAllowsIt) {
  m_h->upstream().set("golang.org/fips140/@v/v1.0.0.info",
                      {Status::ok, R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"})"});
  EXPECT_EQ(get("/golang.org/fips140/@v/v1.0.0.info").status, 200);
  EXPECT_EQ(m_h->upstream().hits("golang.org/fips140/@v/v1.0.0.info"), 1);
}

TEST_F(PolicyServiceTest, OfflineServesOnlyTheStore) {
  put("example.com/frozen/@v/v1.0.0.info", k_info);
  EXPECT_EQ(get("/example.com/frozen/@v/v1.0.0.info").status, 200);
  EXPECT_EQ(get("/example.com/frozen/@v/list").body, "v1.0.0\n");
  EXPECT_EQ(get("/example.com/frozen/@latest").status, 200);
  Response r = get("/example.com/frozen/@v/v1.1.0.info");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("rule \"frozen\" is offline"), std::string::npos) << r.body;
  EXPECT_EQ(get("/example.com/frozen/@v/master.info").status, 404);
  for (const auto* k : {"example.com/frozen/@v/list", "example.com/frozen/@latest",
                        "example.com/frozen/@v/v1.1.0.info", "example.com/frozen/@v/master.info"}) {
    EXPECT_EQ(m_h->upstream().hits(k), 0) << k;
  }
}

TEST_F(PolicyServiceTest, PrivateWithoutSourceIsStoreOnlyAndHidesFromNonReaders) {
  ASSERT_TRUE(m_token_ok);
  put("corp.example/a/@v/v1.0.0.info", k_info);
  Response r = get("/corp.example/a/@v/v1.0.0.info");
  EXPECT_EQ(r.status, 401);
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(get("/corp.example/a/@v/v1.0.0.info", "Bearer wrong").status, 401);
  EXPECT_EQ(get("/corp.example/a/@v/v1.0.0.info", "Bearer reader-token").status, 200);
  const Response absent = get("/corp.example/a/@v/v1.0.1.info", "Bearer reader-token");
  EXPECT_EQ(absent.status, 404);
  EXPECT_EQ(absent.body, "not found: corp.example/a@v1.0.1\n");
  EXPECT_EQ(get("/corp.example/b/@v/list", "Bearer reader-token").body,
            "not found: corp.example/b\n");
  // Authenticated but not a reader: the answer of a module that does not exist.
  const Response hidden = get("/corp.example/a/@v/v1.0.1.info", "Bearer other-token");
  EXPECT_EQ(hidden.status, absent.status);
  EXPECT_EQ(hidden.body, absent.body);
  EXPECT_EQ(hidden.content_type, absent.content_type);
  EXPECT_EQ(hidden.cache_control, absent.cache_control);
  EXPECT_EQ(get("/corp.example/a/@v/v1.0.0.info", "Bearer other-token").status, 404);
  EXPECT_EQ(m_h->upstream().hits("corp.example/a/@v/v1.0.1.info"), 0);
  EXPECT_EQ(m_h->upstream().hits("corp.example/b/@v/list"), 0);
}

// Every answer that depends on who asks (a restricted module: private, or with readers) is
// "private" or "no-store", so that no shared cache in front of stoa keeps it and hands it to
// another client; the answers of unrestricted modules stay "public", credentials sent or not.
TEST_F(PolicyServiceTest, RestrictedAnswersAreNeverForSharedCaches) {
  ASSERT_TRUE(m_token_ok);
  const std::string token = "Bearer reader-token";
  put("corp.example/a/@v/v1.0.0.info", k_info);
  m_h->upstream().set("gated.example/m/@v/v1.0.0.info", {Status::ok, k_info});
  m_h->upstream().set("gated.example/m/@v/list", {Status::ok, "v1.0.0\n"});
  m_h->upstream().set("gated.example/m/@latest", {Status::ok, k_info});
  m_h->upstream().set("gated.example/m/@v/main.info", {Status::ok, k_info});
  m_h->upstream().set("example.com/lib/@v/v1.2.0.info",
                      {Status::ok, R"({"Version":"v1.2.0","Time":"2020-01-01T00:00:00Z"})"});
  const std::string immutable = "private, max-age=31536000, immutable";
  struct Case {
    std::string target, authorization, cache_control;
    int status;
  };
  const std::vector<Case> cases = {
      {"/corp.example/a/@v/v1.0.0.info", token, immutable, 200},  // stored
      {"/corp.example/a/@v/v1.0.0.info", token, immutable, 200},  // memory cache
      {"/corp.example/a/@v/list", token, "private, max-age=60", 200},
      {"/corp.example/a/@v/v1.0.0.info", "", "no-store", 401},
      {"/corp.example/a/@v/v1.0.0.info", "Bearer other-token", "no-store", 404},
      {"/corp.example/a/@v/v1.0.1.info", token, "no-store", 404},
      {"/gated.example/m/@v/v1.0.0.info", token, immutable, 200},  // fetched
      {"/gated.example/m/@v/v1.0.0.info", token, immutable, 200},  // stored
      {"/gated.example/m/@v/v1.0.0.info", token, immutable, 200},  // memory cache
      {"/gated.example/m/@v/list", token, "private, max-age=60", 200},
      {"/gated.example/m/@v/list", token, "private, max-age=", 200},  // kept: what is left
      {"/gated.example/m/@latest", token, "private, max-age=60", 200},
      {"/gated.example/m/@v/main.info", token, "private, max-age=60", 200},
      {"/gated.example/m/@v/list", "", "no-store", 401},
      {"/example.com/lib/@v/v1.2.0.info", "", "public, max-age=31536000, immutable", 200},
      {"/example.com/lib/@v/v1.2.0.info", token, "public, max-age=31536000, immutable", 200},
  };
  for (const auto& c : cases) {
    const Response r = get(c.target, c.authorization);
    EXPECT_EQ(r.status, c.status) << c.target << " " << c.authorization;
    std::string got = header_map(r)["Cache-Control"];
    if (c.cache_control.ends_with('=')) got = got.substr(0, c.cache_control.size());
    EXPECT_EQ(got, c.cache_control) << c.target << " " << c.authorization;
  }
}

TEST_F(PolicyServiceTest, BcryptChecksNeverRunOnTheCallersThread) {
  ASSERT_TRUE(m_token_ok);
  put("corp.example/a/@v/v1.0.0.info", k_info);
  const std::string good = "Basic cmVhZGVyOnB3";   // reader:pw
  const std::string wrong = "Basic cmVhZGVyOnB4";  // reader:px
  HttpRequest req = make_request("GET", "/corp.example/a/@v/v1.0.0.info");
  req.authorization = good;
  EXPECT_FALSE(m_h->service().respond_now(req));  // unchecked credentials: not on this thread
  EXPECT_EQ(get(req.target, good).status, 200);   // checked on a worker
  EXPECT_TRUE(m_h->service().respond_now(req));   // remembered: answered at once
  EXPECT_EQ(get(req.target, wrong).status, 401);
  req.authorization = wrong;
  const auto again = m_h->service().respond_now(req);  // a remembered failure is cheap too
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 401);
}

TEST_F(PolicyServiceTest, OperationalEndpointsFollowTheirAccessMode) {
  ASSERT_TRUE(m_token_ok);
  using Access = ServiceOptions::OperationalAccess;
  auto service = [&](Access access) {
    ServiceOptions o;
    o.policy = m_policy.get();
    o.operational_access = access;
    return std::make_unique<fakes::ServiceHarness>(o);
  };
  auto ask = [](fakes::ServiceHarness& h, const std::string& target,
                const std::string& authorization) {
    HttpRequest req = make_request("GET", target);
    req.authorization = authorization;
    return h.handle(req);
  };
  const std::string token = "Bearer reader-token";
  const std::string good = "Basic cmVhZGVyOnB3";   // reader:pw
  const std::string wrong = "Basic cmVhZGVyOnB4";  // reader:px

  auto anyone = service(Access::anyone);
  EXPECT_EQ(ask(*anyone, "/metrics", "").status, 200);
  EXPECT_EQ(ask(*anyone, "/index", "").status, 404) << "no index: as before";

  auto authenticated = service(Access::authenticated);
  for (const std::string target : {"/metrics", "/index?limit=1", "/catalog"}) {
    const Response anonymous = ask(*authenticated, target, "");
    EXPECT_EQ(anonymous.status, 401) << target;
    EXPECT_EQ(anonymous.endpoint, "internal") << target;
    bool challenge = false;
    for (const auto& [k, v] : anonymous.headers)
      challenge = challenge || (k == "WWW-Authenticate" && v == "Basic realm=\"stoa\"");
    EXPECT_TRUE(challenge) << target;
    EXPECT_EQ(ask(*authenticated, target, "Bearer nobody-token").status, 401) << target;
    EXPECT_EQ(ask(*authenticated, target, wrong).status, 401) << target;
  }
  EXPECT_EQ(ask(*authenticated, "/metrics", token).status, 200);
  EXPECT_EQ(ask(*authenticated, "/index", token).status, 404) << "no index: past the gate";
  HttpRequest basic = make_request("GET", "/metrics");
  basic.authorization = good;
  EXPECT_FALSE(authenticated->service().respond_now(basic))
      << "a first bcrypt check: not on this thread";
  EXPECT_EQ(ask(*authenticated, "/metrics", good).status, 200);
  EXPECT_TRUE(authenticated->service().respond_now(basic)) << "remembered: answered at once";
  EXPECT_EQ(authenticated->service().respond_now(make_request("GET", "/healthz"))->status, 200);

  auto admin_only = service(Access::admin_only);
  for (const std::string target : {"/metrics", "/index", "/catalog?limit=5"}) {
    EXPECT_EQ(ask(*admin_only, target, "").status, 404) << target;
    EXPECT_EQ(ask(*admin_only, target, token).status, 404) << target;
  }
  const auto direct = admin_only->service().operational_now(make_request("GET", "/metrics"));
  ASSERT_TRUE(direct) << "the admin listener's way in ignores the mode";
  EXPECT_EQ(direct->status, 200);
  EXPECT_EQ(admin_only->service().respond_now(make_request("GET", "/readyz"))->status, 200);
}

TEST_F(PolicyServiceTest, PassthroughServesWithoutStoring) {
  m_h->upstream().set("example.com/pass/@v/v1.0.0.info", {Status::ok, k_info});
  for (int i = 0; i < 2; ++i) {
    Response r = get("/example.com/pass/@v/v1.0.0.info");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r), k_info);
  }
  EXPECT_EQ(m_h->upstream().hits("example.com/pass/@v/v1.0.0.info"), 2);
  EXPECT_FALSE(m_h->store().get("example.com/pass/@v/v1.0.0.info"));
}

}  // namespace
}  // namespace stoa::proxy

namespace stoa::proxy {
namespace {

// /index and /catalog list to each client only what it could read, in every spelling the rules
// cover, and name as Origin the source that served each version.
class IndexPolicyTest : public ::testing::Test {
 protected:
  IndexPolicyTest() {
    auto snap = std::make_shared<policy::Snapshot>();
    auto parsed = policy::parse_rules(R"(
[[rule]]
name = "corp"
modules = "corp.example/secret"
action = "private"
readers = ["reader"]
upstream = "http://user:pw@corp-proxy.example/go|http://backup.example"
[[rule]]
modules = "example.com/gated"
readers = ["reader"]
[[rule]]
modules = "example.com/denied"
action = "deny"
)",
                                      "rules");
    snap->rules = std::get<policy::RuleSet>(std::move(parsed));
    auto corp = std::make_unique<ScriptedUpstream>();
    m_corp = corp.get();
    snap->sources.resize(snap->rules.rules.size());
    snap->sources[0] = std::move(corp);
    // Tokens "reader-token" and "other-token" (their SHA-256).
    auto creds = policy::Credentials::parse(
        "", "users",
        "reader ba5005a40cf5212e4ac0190104cc127edab013294bb71279a975b27a80982d45\nother "
        "6c67163bbed989f232b31acc4f04df54b31285bfc01bd022c735b71e041a4754\n",
        "t");
    snap->credentials = std::move(std::get<0>(creds));
    m_policy = std::make_unique<policy::Policy>(snap);
    ServiceOptions o;
    o.policy = m_policy.get();
    o.index = m_index.get();
    o.origin = "http://global.example";
    m_h.emplace(o);
  }
  Response get(const std::string& target, const std::string& authorization = "") {
    HttpRequest req = make_request("GET", target);
    req.authorization = authorization;
    return m_h->handle(req);
  }
  // Path@Version Origin, one per listed version, through every /catalog page.
  std::string catalog(const std::string& authorization, int limit) {
    std::string out, cursor;
    for (int i = 0; i < 100; ++i) {
      const Response r = get(
          "/catalog?limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor),
          authorization);
      EXPECT_EQ(r.status, 200) << r.body;
      const auto doc = boost::json::parse(r.body).as_object();
      for (const auto& v : doc.at("Versions").as_array()) {
        const auto& e = v.as_object();
        out += std::string(e.at("Path").as_string()) + "@" +
               std::string(e.at("Version").as_string()) + " " +
               std::string(e.at("Origin").as_string()) + "\n";
      }
      if (!doc.contains("Next")) return out;
      cursor = std::string(doc.at("Next").as_string());
    }
    return out + "(no end)";
  }

  ScriptedUpstream* m_corp = nullptr;  // the corp rule's own upstream
  std::unique_ptr<index::Index> m_index = index::make_sqlite_index(":memory:");
  std::unique_ptr<policy::Policy> m_policy;
  std::optional<fakes::ServiceHarness> m_h;
};

TEST_F(IndexPolicyTest, ListsOnlyWhatTheClientCouldReadWithTheSourceThatServedIt) {
  const std::string reader = "Bearer reader-token";
  // Stored first, so anonymous pages must read past them.
  for (const std::string m : {"corp.example/secret", "corp.example/!secret"}) {
    m_corp->set(m + "/@v/v1.0.0.info", {Status::ok, k_info});
    ASSERT_EQ(get("/" + m + "/@v/v1.0.0.info", reader).status, 200) << m;
    EXPECT_EQ(get("/" + m + "/@v/v1.0.0.info").status, 401) << m;
  }
  for (const std::string m : {"example.com/gated", "example.com/!gated", "example.com/pub"}) {
    m_h->upstream().set(m + "/@v/v1.0.0.info", {Status::ok, k_info});
    ASSERT_EQ(get("/" + m + "/@v/v1.0.0.info", reader).status, 200) << m;
  }
  EXPECT_EQ(get("/example.com/!gated/@v/v1.0.0.info").status, 401);  // readers in every spelling
  m_index->record({"example.com/denied", "v1.0.0", "", "", -1, 1, "http://global.example"});

  const std::string corp_origin = "http://corp-proxy.example/go|http://backup.example";
  const std::string all = "corp.example/Secret@v1.0.0 " + corp_origin + "\n" +
                          "corp.example/secret@v1.0.0 " + corp_origin + "\n" +
                          "example.com/Gated@v1.0.0 http://global.example\n" +
                          "example.com/gated@v1.0.0 http://global.example\n" +
                          "example.com/pub@v1.0.0 http://global.example\n";
  EXPECT_EQ(catalog(reader, 100), all);
  EXPECT_EQ(catalog(reader, 1), all);
  const std::string pub = "example.com/pub@v1.0.0 http://global.example\n";
  for (const std::string who : {"", "Bearer other-token", "Bearer wrong", "Basic garbage"}) {
    EXPECT_EQ(catalog(who, 100), pub) << who;
    EXPECT_EQ(catalog(who, 1), pub) << who;
    // The feed: a page of one is the public version, not an empty page that reads as the end.
    const Response feed = get("/index?limit=1", who);
    EXPECT_EQ(feed.status, 200);
    EXPECT_NE(feed.body.find("\"Path\":\"example.com/pub\""), std::string::npos) << feed.body;
    std::string lower = feed.body + get("/index", who).body;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto* hidden : {"corp.example", "gated", "denied"}) {
      EXPECT_EQ(lower.find(hidden), std::string::npos) << who << ": " << lower;
    }
  }
  EXPECT_NE(get("/index", reader).body.find("\"Path\":\"corp.example/Secret\""), std::string::npos);
}

TEST_F(IndexPolicyTest, FailedLoginsAreLimitedHereToo) {
  // /index and /catalog list more to a reader: wrong credentials count, and a limited address
  // gets 429 for any credentials (else the listing would tell a right guess from a wrong one).
  ServiceOptions o;
  o.policy = m_policy.get();
  o.index = m_index.get();
  o.login_limit = {2, std::chrono::seconds(60), 100};
  fakes::ServiceHarness limited_service(o);
  auto get_from = [&](const std::string& target, const std::string& auth) {
    HttpRequest req = make_request("GET", target);
    req.authorization = auth;
    req.remote_address = "192.0.2.1";
    return limited_service.handle(req);
  };
  EXPECT_EQ(get_from("/catalog", "Bearer wrong-1").status, 200);  // anonymous's listing
  EXPECT_EQ(get_from("/index", "Bearer wrong-2").status, 200);
  const Response limited = get_from("/catalog", "Bearer reader-token");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.endpoint, "internal");
  EXPECT_EQ(get_from("/index", "Bearer reader-token").status, 429);
  EXPECT_EQ(get_from("/catalog", "").status, 200);  // no credentials: nothing to limit
  EXPECT_NE(limited_service.registry().render().find("stoa_login_failures_total 2"),
            std::string::npos);
}

// Credential checks on their own bounded pool, and the failed-login limit per address.
class LoginServiceTest : public ::testing::Test {
 protected:
  LoginServiceTest() : m_auth_pool(1, 2) {
    auto snap = std::make_shared<policy::Snapshot>();
    auto parsed = policy::parse_rules(R"(
[[rule]]
modules = "corp.example/*"
action = "private"
readers = ["reader"]
)",
                                      "rules");
    snap->rules = std::get<policy::RuleSet>(std::move(parsed));
    auto creds = policy::Credentials::parse(
        "reader:" + policy::hash_password("pw", 4).value_or("?") + "\n", "users", "", "t");
    m_creds_ok = std::holds_alternative<std::unique_ptr<policy::Credentials>>(creds);
    if (m_creds_ok) snap->credentials = std::move(std::get<0>(creds));
    m_policy = std::make_unique<policy::Policy>(snap);
    ServiceOptions o;
    o.policy = m_policy.get();
    o.auth_pool = &m_auth_pool;
    o.login_limit = {3, std::chrono::seconds(60), 100};
    o.now = [this] {
      std::lock_guard l(m_now_mutex);
      return m_now;
    };
    m_h.emplace(o, fakes::HarnessPool{2, 16});
    auto t = m_h->store().stage();
    t.write(k_info);
    m_h->store().put("corp.example/a/@v/v1.0.0.info", std::move(t));
  }
  ~LoginServiceTest() override { m_auth_pool.shutdown(); }
  Response get(const std::string& target, const std::string& authorization,
               const std::string& address) {
    HttpRequest req = make_request("GET", target);
    req.authorization = authorization;
    req.remote_address = address;
    return m_h->handle(req);
  }
  void advance(std::chrono::seconds d) {
    std::lock_guard l(m_now_mutex);
    m_now += d;
  }
  bool metric(const std::string& line) {
    return m_h->registry().render().find(line) != std::string::npos;
  }
  static std::string header(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  static constexpr const char* k_private = "/corp.example/a/@v/v1.0.0.info";
  static constexpr const char* k_good = "Basic cmVhZGVyOnB3";  // reader:pw
  // reader:wrong0, reader:wrong1, ...: each a first check (a bcrypt run).
  static std::string wrong(int i) {
    static const char* k[] = {"Basic cmVhZGVyOndyb25nMA==", "Basic cmVhZGVyOndyb25nMQ==",
                              "Basic cmVhZGVyOndyb25nMg==", "Basic cmVhZGVyOndyb25nMw=="};
    return k[i];
  }

  fetch::WorkerPool m_auth_pool;  // one worker, two waiting
  std::unique_ptr<policy::Policy> m_policy;
  std::mutex m_now_mutex;
  std::chrono::steady_clock::time_point m_now{std::chrono::hours(1)};
  bool m_creds_ok = false;
  std::optional<fakes::ServiceHarness> m_h;  // last: its service reads the members above
};

TEST_F(LoginServiceTest, FailedLoginsFromOneAddressAreRefusedWithoutACheck) {
  ASSERT_TRUE(m_creds_ok);
  const std::string a = "192.0.2.1", b = "192.0.2.2";
  // The right password is remembered from another client first: the limit must not let `a`
  // test guesses against that remembered answer either.
  EXPECT_EQ(get(k_private, k_good, b).status, 200);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(k_private, wrong(i), a).status, 401) << i;
  Response r = get(k_private, k_good, a);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(header(r, "Retry-After"), "60");
  EXPECT_EQ(r.body, "too many failed logins from this address; retry in 60 s\n");
  // A new guess is answered on the calling thread: no check is queued for it.
  HttpRequest req = make_request("GET", k_private);
  req.authorization = wrong(3);
  req.remote_address = a;
  const auto now = m_h->service().respond_now(req);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->status, 429);
  // Other addresses, and requests of `a` that need no credentials, are served as usual.
  EXPECT_EQ(get(k_private, k_good, b).status, 200);
  EXPECT_EQ(get(k_private, wrong(3), "192.0.2.3").status, 401);
  m_h->upstream().set("example.com/pub/@v/v1.0.0.info", {Status::ok, k_info});
  EXPECT_EQ(get("/example.com/pub/@v/v1.0.0.info", "", a).status, 200);
  EXPECT_EQ(get("/example.com/pub/@v/v1.0.0.info", wrong(3), a).status, 200);  // not checked
  EXPECT_EQ(get(k_private, "", a).status, 401);  // no credentials: nothing to limit
  advance(std::chrono::seconds(30));
  EXPECT_EQ(header(get(k_private, k_good, a), "Retry-After"), "30");
  advance(std::chrono::seconds(30));  // the window is over
  EXPECT_EQ(get(k_private, k_good, a).status, 200);
  EXPECT_TRUE(metric("stoa_auth_rejected_total{reason=\"rate_limited\"} 3"))
      << m_h->registry().render();
  EXPECT_TRUE(metric("stoa_login_failures_total 4")) << m_h->registry().render();
  EXPECT_TRUE(metric("stoa_login_limit_addresses 2")) << m_h->registry().render();
}

TEST_F(LoginServiceTest, CredentialChecksHaveTheirOwnBoundedQueue) {
  ASSERT_TRUE(m_creds_ok);
  // The one auth worker is held, and its queue filled.
  std::promise<void> started;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  ASSERT_TRUE(m_auth_pool.try_submit([&started, released] {
    started.set_value();
    released.wait();
  }));
  started.get_future().wait();
  ASSERT_TRUE(m_auth_pool.try_submit([released] { released.wait(); }));
  Responses waiting;  // a check that waits in the queue
  HttpRequest req = make_request("GET", k_private);
  req.authorization = k_good;
  req.remote_address = "192.0.2.1";
  m_h->service().handle(req, waiting.sink());
  // The queue is full: refused at once, without a check.
  const Response busy = get(k_private, wrong(0), "192.0.2.1");
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(header(busy, "Retry-After"), "1");
  EXPECT_EQ(busy.body, "stoa is busy checking credentials; retry shortly\n");
  EXPECT_TRUE(metric("stoa_auth_rejected_total{reason=\"busy\"} 1")) << m_h->registry().render();
  EXPECT_TRUE(metric("stoa_auth_queue_depth 2")) << m_h->registry().render();
  // Misses never wait behind credential checks.
  m_h->upstream().set("example.com/pub/@v/v1.0.0.info", {Status::ok, k_info});
  EXPECT_EQ(get("/example.com/pub/@v/v1.0.0.info", "", "192.0.2.9").status, 200);
  release.set_value();
  EXPECT_EQ(waiting.wait_for(1).front().status, 200);
  EXPECT_TRUE(metric("stoa_login_failures_total 0")) << m_h->registry().render();
}

}  // namespace
}  // namespace stoa::proxy
