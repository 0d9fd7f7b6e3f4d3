#include "stoa/web/site.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <map>

#include "stoa/fsio/testing/scratch_dir.hpp"
#include "stoa/store/memory.hpp"

namespace stoa::web {
namespace {

// A zip of stored (uncompressed) files, enough for a central directory to list.
std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  std::string central;
  const auto u16 = [](std::string& s, unsigned v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
  };
  const auto u32 = [&](std::string& s, unsigned long v) {
    u16(s, static_cast<unsigned>(v & 0xffff));
    u16(s, static_cast<unsigned>((v >> 16) & 0xffff));
  };
  for (const auto& [name, data] : files) {
    const unsigned long crc =
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    const auto offset = out.size();
    u32(out, 0x04034b50);
    u16(out, 20), u16(out, 0), u16(out, 0), u16(out, 0), u16(out, 0);
    u32(out, crc), u32(out, data.size()), u32(out, data.size());
    u16(out, static_cast<unsigned>(name.size())), u16(out, 0);
    out += name + data;
    u32(central, 0x02014b50);
    u16(central, 20), u16(central, 20), u16(central, 0), u16(central, 0), u16(central, 0),
        u16(central, 0);
    u32(central, crc), u32(central, data.size()), u32(central, data.size());
    u16(central, static_cast<unsigned>(name.size())), u16(central, 0), u16(central, 0),
        u16(central, 0), u16(central, 0);
    u32(central, 0), u32(central, offset);
    central += name;
  }
  const auto cd_offset = out.size();
  out += central;
  u32(out, 0x06054b50);
  u16(out, 0), u16(out, 0), u16(out, static_cast<unsigned>(files.size())),
      u16(out, static_cast<unsigned>(files.size()));
  u32(out, central.size()), u32(out, cd_offset), u16(out, 0);
  return out;
}

class SiteTest : public ::testing::Test {
 protected:
  SiteTest()
      : m_store(store::make_memory_store(m_dir.path())),
        m_index(index::make_sqlite_index(":memory:")),
        m_pool(1, 8) {
    auto snap = std::make_shared<policy::Snapshot>();
    auto parsed = policy::parse_rules(R"(
[[rule]]
modules = "corp.example/secret"
action = "private"
readers = ["reader"]
[[rule]]
modules = "example.com/gated"
readers = ["reader"]
)",
                                      "rules");
    snap->rules = std::get<policy::RuleSet>(std::move(parsed));
    snap->sources.resize(snap->rules.rules.size());
    // Token "reader-token" (its SHA-256).
    auto creds = policy::Credentials::parse(
        "", "users", "reader ba5005a40cf5212e4ac0190104cc127edab013294bb71279a975b27a80982d45\n",
        "t");
    snap->credentials = std::move(std::get<0>(creds));
    m_policy = std::make_unique<policy::Policy>(snap);
    SiteOptions o;
    o.ui_path = "/";
    o.external_url = "https://proxy.example.com";
    o.version = "test";
    m_site = std::make_unique<Site>(
        o, *m_store, m_index.get(), m_policy.get(), nullptr, nullptr, m_registry, m_pool,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()));
  }
  ~SiteTest() override { m_pool.shutdown(); }

  void put(const std::string& key, const std::string& body) {
    auto t = m_store->stage();
    t.write(body);
    m_store->put(key, std::move(t));
  }
  void add(const std::string& module, const std::string& version, bool indexed = true) {
    put(module + "/@v/" + version + ".info",
        R"({"Version":")" + version + R"(","Time":"2024-01-02T03:04:05Z"})");
    put(module + "/@v/" + version + ".mod",
        "module " + module + "\n\n// <script>alert(1)</script>\n");
    put(module + "/@v/" + version + ".zip",
        stored_zip({{module + "@" + version + "/go.mod", "module " + module + "\n"},
                    {module + "@" + version + "/<img src=x onerror=alert(1)>.go", "package x\n"}}));
    if (indexed) {
      index::Entry e;
      e.module = module;
      e.version = version;
      e.zip_size = 300;
      e.stored_ns = 1'700'000'000'000'000'000;
      e.origin = "javascript:alert(1)";
      m_index->record(e);
    }
  }
  proxy::Response get(const std::string& target, const std::string& authorization = "") {
    proxy::HttpRequest req;
    req.method = "GET";
    req.target = target;
    req.authorization = authorization;
    if (auto now = m_site->respond_now(req)) return std::move(*now);
    return m_site->render(req);
  }
  static std::map<std::string, std::string> headers(const proxy::Response& r) {
    return {r.headers.begin(), r.headers.end()};
  }

  metrics::Registry m_registry;
  fsio::testing::ScratchDir m_dir;
  std::unique_ptr<store::Store> m_store;
  std::unique_ptr<index::Index> m_index;
  fetch::WorkerPool m_pool;
  std::unique_ptr<policy::Policy> m_policy;
  std::unique_ptr<Site> m_site;
};

const std::string k_reader = "Bearer reader-token";

TEST_F(SiteTest, OwnsOnlyItsTargets) {
  EXPECT_TRUE(m_site->owns("/"));
  EXPECT_TRUE(m_site->owns("/search?q=x"));
  EXPECT_TRUE(m_site->owns("/m/example.com/pub"));
  EXPECT_TRUE(m_site->owns("/-/style.css"));
  EXPECT_TRUE(m_site->owns("/version"));
  EXPECT_TRUE(m_site->owns("/robots.txt"));
  EXPECT_FALSE(m_site->owns("/example.com/pub/@v/list"));
  EXPECT_FALSE(m_site->owns("/example.com/pub/@latest"));
  EXPECT_FALSE(m_site->owns("/metrics"));
  EXPECT_FALSE(m_site->owns("/healthz"));
  EXPECT_FALSE(m_site->owns("/sumdb/sum.example/supported"));
}

TEST_F(SiteTest, EveryAnswerCarriesTheSecurityHeaders) {
  add("example.com/pub", "v1.0.0");
  for (const char* t : {"/", "/search?q=pub", "/m/example.com/pub", "/m/nothing.example/x",
                        "/setup", "/status", "/-/style.css", "/version", "/robots.txt", "/nope"}) {
    const auto r = get(t);
    const auto h = headers(r);
    EXPECT_EQ(h.count("Content-Security-Policy"), 1u) << t;
    EXPECT_EQ(h.at("Content-Security-Policy").find("script-src"), std::string::npos) << t;
    EXPECT_NE(h.at("Content-Security-Policy").find("default-src 'none'"), std::string::npos) << t;
    EXPECT_EQ(h.at("X-Content-Type-Options"), "nosniff") << t;
    EXPECT_EQ(h.at("X-Frame-Options"), "DENY") << t;
    EXPECT_EQ(h.at("Referrer-Policy"), "no-referrer") << t;
  }
  EXPECT_EQ(get("/robots.txt").body, "User-agent: *\nDisallow: /\n");
  EXPECT_NE(get("/version").body.find("\"version\":"), std::string::npos);
  EXPECT_EQ(get("/nope").status, 404);
}

TEST_F(SiteTest, ModulePage) {
  add("example.com/pub", "v1.0.0");
  add("example.com/pub", "v1.10.0");
  add("example.com/pub", "v1.1.0", false);  // stored, not indexed
  const auto r = get("/m/example.com/pub");
  ASSERT_EQ(r.status, 200);
  const std::string& b = r.body;
  // Newest first in semver order.
  const auto v110 = b.find(">v1.10.0</a>");
  const auto v11 = b.find(">v1.1.0</a>");
  const auto v10 = b.find(">v1.0.0</a>");
  ASSERT_NE(v110, std::string::npos);
  ASSERT_NE(v11, std::string::npos);
  ASSERT_NE(v10, std::string::npos);
  EXPECT_LT(v110, v11);
  EXPECT_LT(v11, v10);
  EXPECT_NE(b.find("go get example.com/pub@v1.10.0"), std::string::npos);
  EXPECT_NE(b.find("2024-01-02T03:04:05Z"), std::string::npos);
  // The zip's file list, from its central directory, escaped.
  EXPECT_NE(b.find("example.com/pub@v1.10.0/&lt;img src=x onerror=alert(1)&gt;.go"),
            std::string::npos);
  EXPECT_EQ(b.find("<img"), std::string::npos);
  EXPECT_EQ(b.find("<script"), std::string::npos);
  EXPECT_NE(b.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);  // go.mod
  EXPECT_NE(b.find("<dd>javascript:alert(1)</dd>"), std::string::npos);  // origin: text only
  EXPECT_EQ(b.find("href=\"javascript"), std::string::npos);

  const auto one = get("/m/example.com/pub/%40v1.1.0");
  ASSERT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("go get example.com/pub@v1.1.0"), std::string::npos);
  EXPECT_EQ(get("/m/example.com/pub/%40v9.9.9").status, 404);
  EXPECT_EQ(get("/m/example.com/none").status, 404);
  EXPECT_EQ(get("/m/%ZZ").status, 404);
  EXPECT_EQ(get("/m/not a path").status, 404);
}

TEST_F(SiteTest, PrivateModulesLookLikeNothingToAnonymousClients) {
  const auto before = get("/m/corp.example/secret");
  const auto before_anon_version = get("/m/corp.example/secret/%40v1.0.0");
  add("corp.example/secret", "v1.0.0", false);  // private: never in the index
  add("example.com/gated", "v1.0.0");
  for (const std::string& auth : {std::string(), std::string("Bearer wrong")}) {
    const auto after = get("/m/corp.example/secret", auth);
    EXPECT_EQ(after.status, 404);
    EXPECT_EQ(after.status, before.status);
    EXPECT_EQ(after.body, before.body);
    EXPECT_EQ(get("/m/corp.example/secret/%40v1.0.0", auth).body, before_anon_version.body);
    EXPECT_EQ(get("/m/example.com/gated", auth).status, 404);
    EXPECT_EQ(get("/search?q=gated", auth).body.find("example.com/gated"), std::string::npos);
    EXPECT_EQ(get("/", auth).body.find("example.com/gated"), std::string::npos);
  }
  const auto reader = get("/m/corp.example/secret", k_reader);
  EXPECT_EQ(reader.status, 200);
  EXPECT_NE(reader.body.find(">v1.0.0</a>"), std::string::npos);
  EXPECT_EQ(get("/m/example.com/gated", k_reader).status, 200);
  EXPECT_NE(get("/search?q=gated", k_reader).body.find("example.com/gated"), std::string::npos);
  EXPECT_NE(get("/", k_reader).body.find("example.com/gated@v1.0.0"), std::string::npos);
}

TEST_F(SiteTest, SearchPagesAndEscapes) {
  for (int i = 0; i < 60; ++i) add("example.com/m" + std::to_string(100 + i), "v1.0.0");
  auto r = get("/search?q=example.com%2Fm1");
  EXPECT_NE(r.body.find("60 modules"), std::string::npos);
  EXPECT_NE(r.body.find("rel=\"next\""), std::string::npos);
  r = get("/search?q=example.com%2Fm1&page=1");
  EXPECT_NE(r.body.find("example.com/m159"), std::string::npos);
  EXPECT_EQ(r.body.find("rel=\"next\""), std::string::npos);
  r = get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E+x");
  EXPECT_EQ(r.body.find("<script"), std::string::npos);
  EXPECT_NE(r.body.find("&lt;script&gt;alert(1)&lt;/script&gt; x"), std::string::npos);
  r = get("/search?q=" + std::string(100'000, 'a'));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.body.size(), 20'000u);
}

TEST_F(SiteTest, SearchSeesVersionsRecordedLater) {
  SiteOptions o;
  o.catalog_ttl = std::chrono::seconds(0);  // look for new entries at every page
  Site site(o, *m_store, m_index.get(), nullptr, nullptr, nullptr, m_registry, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()));
  proxy::HttpRequest req;
  req.method = "GET";
  req.target = "/search?q=late";
  add("example.com/early", "v1.0.0");
  EXPECT_NE(site.render(req).body.find("0 modules"), std::string::npos);
  add("example.com/late", "v1.0.0");
  add("example.com/later", "v1.0.0");
  EXPECT_NE(site.render(req).body.find("2 modules"), std::string::npos);
}

TEST_F(SiteTest, SetupUsesTheExternalUrlAndPrivatePatterns) {
  const auto r = get("/setup");
  EXPECT_NE(r.body.find("go env -w GOPROXY=https://proxy.example.com"), std::string::npos);
  EXPECT_NE(r.body.find("GONOSUMDB=&#39;corp.example/secret&#39;"), std::string::npos);
  EXPECT_NE(r.body.find("GOAUTH=netrc"), std::string::npos);
  EXPECT_NE(r.body.find("machine proxy.example.com login USER"), std::string::npos);
}

TEST_F(SiteTest, DeniedVersionsAreMarkedThroughTheFilter) {
  // A filter that hides v1.1.0 with a hostile reason.
  class Deny : public proxy::VersionFilter {
   public:
    Verdict check(std::string_view, std::string_view version, std::string_view,
                  const Asked&) const override {
      if (version != "v1.1.0") return {};
      return {true, "<script>alert(1)</script>", "rule", "deny"};
    }
  } filter;
  SiteOptions o;
  o.external_url = "http://x";
  Site site(o, *m_store, m_index.get(), nullptr, &filter, nullptr, m_registry, m_pool,
            std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::null_sink_mt>()));
  add("example.com/pub", "v1.1.0");
  put("example.com/pub/@v/v1.2.0.info", R"({"Version":"v1.2.0"})");
  put("example.com/pub/@v/v1.2.0.mod", "module example.com/pub\nretract v1.0.0 // oops\n");
  add("example.com/pub", "v1.0.0");
  proxy::HttpRequest req;
  req.method = "GET";
  req.target = "/m/example.com/pub";
  const auto r = site.render(req);
  EXPECT_NE(r.body.find("<b>deny</b>: &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("<b>retracted</b>: oops"), std::string::npos);
  EXPECT_NE(r.body.find("The zip of this version is not stored"), std::string::npos);
}

}  // namespace
}  // namespace stoa::web
