#include "stoa/html/html.hpp"

#include <gtest/gtest.h>

#include <string>

namespace stoa::html {
namespace {

struct EscapeCase {
  std::string in;
  std::string out;
};

TEST(EscapeText, Table) {
  const std::string fffd = "\xEF\xBF\xBD";
  const EscapeCase cases[] = {
      {"", ""},
      {"example.com/m", "example.com/m"},
      {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
      {"a & b", "a &amp; b"},
      {"&amp;", "&amp;amp;"},
      {R"(" onmouseover="x)", "&quot; onmouseover=&quot;x"},
      {"it's", "it&#39;s"},
      {"javascript:alert(1)", "javascript:alert(1)"},  // as text it is harmless
      {"tab\tand\nnewline", "tab\tand\nnewline"},
      {std::string("nul\0here", 8), "nul" + fffd + "here"},
      {"cr\rlf", "cr" + fffd + "lf"},
      {"esc\x1b[31m", "esc" + fffd + "[31m"},
      {"del\x7f", "del" + fffd},
      {"c1\xC2\x85", "c1" + fffd},                                  // U+0085 NEL
      {"rlo\xE2\x80\xAEgpj.exe", "rlo" + fffd + "gpj.exe"},         // U+202E
      {"lre\xE2\x80\xAA", "lre" + fffd},                            // U+202A
      {"rli\xE2\x81\xA7x\xE2\x81\xA9", "rli" + fffd + "x" + fffd},  // U+2067, U+2069
      {"rlm\xE2\x80\x8F", "rlm" + fffd},                            // U+200F
      {"alm\xD8\x9C", "alm" + fffd},                                // U+061C
      {"caf\xC3\xA9", "caf\xC3\xA9"},                               // é kept
      {"\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC"},     // CJK kept
      {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},                     // emoji kept
      {"bad\xFF", "bad" + fffd},
      {"\xC0\xBC", fffd + fffd},             // overlong '<': two invalid bytes, never a '<'
      {"\xE0\x80\xBC", fffd + fffd + fffd},  // overlong '<' in three bytes
      {"\xED\xA0\x80", fffd + fffd + fffd},  // a surrogate
      {"trunc\xE2\x80", "trunc" + fffd + fffd},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(escape_text(c.in), c.out) << c.in;
  }
}

TEST(EscapeText, OutputHasNoMarkupCharacters) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  const std::string out = escape_text(all);
  for (const char c : std::string("<>\"'")) {
    EXPECT_EQ(out.find(c), std::string::npos) << c;
  }
  // Every '&' starts one of the entities the escaper writes.
  for (std::size_t i = out.find('&'); i != std::string::npos; i = out.find('&', i + 1)) {
    const std::string_view rest = std::string_view(out).substr(i);
    EXPECT_TRUE(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
                rest.starts_with("&quot;") || rest.starts_with("&#39;"));
  }
}

TEST(PercentEncode, Table) {
  EXPECT_EQ(percent_encode("example.com/m"), "example.com%2Fm");
  EXPECT_EQ(percent_encode("example.com/m", "/"), "example.com/m");
  EXPECT_EQ(percent_encode("a b?c#d&e=f"), "a%20b%3Fc%23d%26e%3Df");
  EXPECT_EQ(percent_encode("\"<>'"), "%22%3C%3E%27");
  EXPECT_EQ(percent_encode(std::string("\0\xff", 2)), "%00%FF");
  EXPECT_EQ(percent_encode("100%", "%"), "100%25");  // '%' is always encoded
  EXPECT_EQ(percent_encode("v1.0.0-rc.1~x_y"), "v1.0.0-rc.1~x_y");
}

TEST(Url, LocalPaths) {
  EXPECT_EQ(Url::local("/")->segment("m").segment("example.com/a b", true).str(),
            "/m/example.com/a%20b");
  EXPECT_EQ(Url::local("/ui/")->segment("search").query("q", "x&y=<z>").query("page", "2").str(),
            "/ui/search?q=x%26y%3D%3Cz%3E&page=2");
  EXPECT_EQ(Url::local("/goproxy")->segment("-").segment("style.css").str(),
            "/goproxy/-/style.css");
  EXPECT_FALSE(Url::local(""));
  EXPECT_FALSE(Url::local("ui"));
  EXPECT_FALSE(Url::local("//evil.example"));  // scheme-relative: another host
  EXPECT_FALSE(Url::local("/a b"));
  EXPECT_FALSE(Url::local("/a\"b"));
  EXPECT_FALSE(Url::local("/a<b"));
  EXPECT_FALSE(Url::local("/a\\b"));
  // A segment never leaves its place: a module path of ".." or with "?" or "#" stays a path.
  EXPECT_EQ(Url::local("/m")->segment("a?b#c").str(), "/m/a%3Fb%23c");
  EXPECT_EQ(Url::local("/m")->segment("javascript:alert(1)").str(), "/m/javascript%3Aalert%281%29");
}

TEST(Url, External) {
  const char* good[] = {"https://proxy.example.com", "http://127.0.0.1:8080/goproxy",
                        "HTTPS://Example.com/x?y=z#f", "https://pkg.example/vuln/GO-2024-0001"};
  for (const char* s : good) {
    ASSERT_TRUE(Url::external(s)) << s;
    EXPECT_EQ(Url::external(s)->str(), s);
  }
  const char* bad[] = {"javascript:alert(1)",
                       "JavaScript:alert(1)",
                       " javascript:alert(1)",
                       "java\tscript:alert(1)",
                       "data:text/html,<script>alert(1)</script>",
                       "vbscript:msgbox",
                       "file:///etc/passwd",
                       "//evil.example/x",
                       "/local/path",
                       "http:/evil",
                       "https://",
                       "http:///x",
                       "https://a b",
                       "https://a\"onclick=\"x",
                       "https://a<script>",
                       "https://a\\b",
                       "https://a\nb",
                       "https://example.com/\xE2\x80\xAE",
                       ""};
  for (const char* s : bad) EXPECT_FALSE(Url::external(s)) << s;
}

TEST(Html, BuildsEscapedMarkup) {
  Html h;
  h.open("p", {{"class", "note \"x\""}, {"title", "<b>&"}})
      .text("<i>hi</i>")
      .close("p")
      .element("a", "go <there>", {{"href", *Url::local("/m/x")}})
      .empty("input", {{"name", "q"}, {"value", "\" autofocus onfocus=\"alert(1)"}})
      .markup("<hr>");
  EXPECT_EQ(h.str(),
            "<p class=\"note &quot;x&quot;\" title=\"&lt;b&gt;&amp;\">&lt;i&gt;hi&lt;/i&gt;</p>"
            "<a href=\"/m/x\">go &lt;there&gt;</a>"
            "<input name=\"q\" value=\"&quot; autofocus onfocus=&quot;alert(1)\"><hr>");
}

TEST(Html, ExternalLinkIsEscapedToo) {
  Html h;
  h.element("a", "x", {{"href", *Url::external("https://e.example/?a=1&b=2")}});
  EXPECT_EQ(h.str(), "<a href=\"https://e.example/?a=1&amp;b=2\">x</a>");
}

TEST(Html, AppendAndTake) {
  Html a;
  a.element("li", "1");
  Html b;
  b.open("ul").append(a).close("ul");
  EXPECT_EQ(b.take(), "<ul><li>1</li></ul>");
}

// These must not compile (kept here as documentation; uncomment one to see the error):
//   Html().open("a", {{"onclick", "x"}});         // an event handler
//   Html().open("a", {{"href", "javascript:x"}});  // a URL attribute given a string
//   Html().open("p", {{"style", "x"}});            // style
//   std::string tag = "p"; Html().open(tag);       // markup from a runtime string

}  // namespace
}  // namespace stoa::html
