#include "stoa/web/pages.hpp"

#include <gtest/gtest.h>

#include <regex>

namespace stoa::web {
namespace {

const std::string k_evil =
    "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>javascript:alert(3)"
    "\xE2\x80\xAE"
    "gpj.exe" +
    std::string("\0nul", 4);

Frame frame() { return {*Url::local("/ui/"), *Url::local("/"), "1.0"}; }

// No element or attribute that the hostile text could have opened, and no bidi override or NUL.
void expect_inert(const std::string& page) {
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);
  // Every '<' starts a well-formed tag of the page's own, whose attributes are all quoted and
  // none an event handler: hostile text became text, never a tag or an attribute.
  const std::regex tag(R"(^<(!DOCTYPE html|/?[a-z0-9]+((\s+[a-z][a-z0-9:-]*="[^"<>]*")*))\s*>)");
  const std::regex attr(R"(\s([a-z][a-z0-9:-]*)=")");
  for (std::size_t i = page.find('<'); i != std::string::npos; i = page.find('<', i + 1)) {
    std::smatch m;
    const std::string rest = page.substr(i, 4096);
    ASSERT_TRUE(std::regex_search(rest, m, tag)) << rest.substr(0, 200);
    const std::string attrs = m[2];
    for (auto it = std::sregex_iterator(attrs.begin(), attrs.end(), attr);
         it != std::sregex_iterator(); ++it) {
      EXPECT_FALSE((*it)[1].str().starts_with("on")) << m[0];
    }
  }
  EXPECT_EQ(page.find("\"javascript:"), std::string::npos);
  EXPECT_EQ(page.find("\xE2\x80\xAE"), std::string::npos);
  EXPECT_EQ(page.find('\0'), std::string::npos);
  // Every href is a path of this site or an escaped URL.
  const std::regex href("href=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(page.begin(), page.end(), href); it != std::sregex_iterator();
       ++it) {
    const std::string url = (*it)[1];
    EXPECT_TRUE(url.starts_with("/")) << url;
    EXPECT_FALSE(url.starts_with("//")) << url;
  }
}

TEST(Pages, ModulePageWithEveryFieldHostile) {
  ModuleView v;
  v.path = k_evil;
  VersionRow r;
  r.entry.module = k_evil;
  r.entry.version = k_evil;
  r.entry.zip_h1 = k_evil;
  r.entry.mod_h1 = k_evil;
  r.entry.origin = k_evil;
  r.time = k_evil;
  r.marks.emplace_back("denied", k_evil);
  r.marks.emplace_back("retracted", k_evil);
  v.versions.push_back(r);
  v.gomod = k_evil;
  v.files.push_back({k_evil, 1});
  v.vulndb = true;
  v.vulns.push_back({k_evil, {k_evil}, k_evil});
  const std::string page = module_page(frame(), v);
  expect_inert(page);
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("go get &lt;script&gt;"), std::string::npos);
  // The module link keeps the hostile path inside a percent-encoded segment.
  EXPECT_NE(page.find("href=\"/ui/m/%3Cscript%3Ealert%281%29%3C/script%3E"), std::string::npos);
}

TEST(Pages, SearchAndHomeEscapeEverything) {
  SearchView s;
  s.query = k_evil;
  s.modules.push_back({k_evil, k_evil, 1, 0, 0});
  s.total = 1;
  s.more = true;
  s.page = 1;
  const std::string sp = search_page(frame(), s);
  expect_inert(sp);
  EXPECT_NE(sp.find("rel=\"next\""), std::string::npos);
  EXPECT_NE(sp.find("rel=\"prev\""), std::string::npos);
  EXPECT_NE(sp.find("value=\"&lt;script&gt;"), std::string::npos);  // the search box keeps it

  HomeView h;
  h.goproxy = k_evil;
  index::Entry e;
  e.module = k_evil;
  e.version = k_evil;
  h.recent.push_back(e);
  h.upstreams.push_back({k_evil, 1, 2});
  expect_inert(home_page(frame(), h));
  expect_inert(not_found_page(frame(), k_evil));

  StatusView st;
  st.endpoints.push_back({k_evil, {1, 2}});
  st.fetches.push_back({k_evil, 3});
  st.last_errors.push_back(k_evil);
  st.errors_shown = true;
  st.charts.push_back({k_evil, k_evil, {1, 2, 3}});
  expect_inert(status_page(frame(), st));
}

TEST(Pages, SetupFromConfiguration) {
  SetupView v;
  v.goproxy = "https://proxy.example.com/goproxy";
  v.private_globs = "corp.example/*";
  v.auth = true;
  v.host = "proxy.example.com";
  v.sumdb = "sum.example";
  v.vulndb = true;
  const auto snippets = setup_snippets(v);
  ASSERT_EQ(snippets.size(), 7u);
  EXPECT_EQ(snippets[0].first, "bash / zsh");
  EXPECT_NE(snippets[0].second.find("export GOPROXY='https://proxy.example.com/goproxy'\n"),
            std::string::npos);
  EXPECT_NE(snippets[0].second.find("export GONOSUMDB='corp.example/*'"), std::string::npos);
  EXPECT_NE(snippets[0].second.find("GOAUTH=netrc"), std::string::npos);
  EXPECT_NE(snippets[0].second.find("machine proxy.example.com login USER"), std::string::npos);
  EXPECT_NE(snippets[0].second.find(
                "GOSUMDB='sum.example https://proxy.example.com/goproxy/sumdb/sum.example'"),
            std::string::npos);
  EXPECT_NE(snippets[1].second.find("set -gx GOPROXY"), std::string::npos);
  EXPECT_NE(snippets[2].second.find("$env:GOPROXY = 'https://proxy.example.com/goproxy'"),
            std::string::npos);
  EXPECT_NE(snippets[3].second.find("ENV GOPROXY=https://proxy.example.com/goproxy"),
            std::string::npos);
  EXPECT_NE(snippets[4].second.find("GOPROXY: \"https://proxy.example.com/goproxy\""),
            std::string::npos);
  EXPECT_NE(snippets[6].second.find("govulncheck -db 'https://proxy.example.com/goproxy/vulndb'"),
            std::string::npos);
  const std::string page = setup_page(frame(), v);
  EXPECT_NE(page.find("go env -w GOPROXY=https://proxy.example.com/goproxy"), std::string::npos);
  EXPECT_NE(page.find("href=\"/ui/setup#s5\""), std::string::npos);

  SetupView plain;
  plain.goproxy = "http://127.0.0.1:8080";
  const auto few = setup_snippets(plain);
  EXPECT_EQ(few.size(), 6u);
  EXPECT_EQ(few[0].second, "export GOPROXY='http://127.0.0.1:8080'\n");
  // A quote in a configured value cannot end the shell word.
  plain.goproxy = "http://x/'$(id)'";
  EXPECT_EQ(setup_snippets(plain)[0].second, "export GOPROXY='http://x/'\\''$(id)'\\'''\n");
}

TEST(Pages, ChartHasNumbersOnly) {
  const Html h = chart({"requests", "per second", {0, 1, 4, 2}});
  EXPECT_NE(h.str().find("<polyline points=\"0.0,58.0 100.0,44.0 200.0,2.0 300.0,30.0 \""),
            std::string::npos)
      << h.str();
  EXPECT_NE(h.str().find("viewbox=\"0 0 300 60\""), std::string::npos);
}

TEST(Pages, FormatBytes) {
  EXPECT_EQ(format_bytes(-1), "-");
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(5LL << 30), "5.0 GiB");
}

}  // namespace
}  // namespace stoa::web
