#pragma once
// HTML built so that every byte of text that did not come from stoa's own source code is
// escaped: markup (tag names, attribute names, fixed fragments) can only be a `Literal`, whose
// constructor is consteval, so it is a string literal of the source; everything else (module
// paths, versions, go.mod text, file names inside zips, upstream error texts, rule messages,
// search terms) goes through `escape_text`; URLs in attributes only as a checked `Url`.
//
// Text is shown, never interpreted: invalid UTF-8, NUL, C0 and C1 control characters (but tab
// and newline), DEL, and the Unicode bidirectional controls (embeddings, overrides, isolates,
// the marks) become U+FFFD, so a name cannot reorder what is shown around it nor hide in
// invisible bytes. Attribute values are always double-quoted. URL attributes (href, src,
// action, ...) take a `Url`: a same-site path built from escaped segments, or an absolute
// http(s) URL that passed `Url::external`; `javascript:`, `data:` and every other scheme are
// refused there, so no attacker-chosen string becomes a link that runs code. Event-handler and
// style attributes cannot be named at all (a compile error).
//
// Pure; thread-safe (no shared state).

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace stoa::html {

// Markup written in stoa's source: a string literal (checked at compile time to hold no NUL).
class Literal {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): literals convert implicitly, by design
  consteval Literal(const char* s) : m_s(s) {
    for (const char* p = s; *p != 0; ++p) ++m_n;
  }
  constexpr std::string_view view() const { return {m_s, m_n}; }

 private:
  const char* m_s;
  std::size_t m_n = 0;
};

// `s` as the content of an element or of a double-quoted attribute value (see above). The
// output holds no '<', '>', '&' (but in entities), '"', '\'', and is valid UTF-8.
std::string escape_text(std::string_view s);
void append_escaped(std::string& out, std::string_view s);

// Percent-encodes every byte of `s` except the unreserved ones of RFC 3986 (A-Z a-z 0-9 - . _ ~)
// and those in `keep` (e.g. "/" for a path made of module path elements).
std::string percent_encode(std::string_view s, std::string_view keep = {});

// A URL that may be put in an href or src. Made only by the factories below.
class Url {
 public:
  // A path on this site: `base` must start with '/' and hold only the characters of an
  // already-encoded path (checked: nullopt otherwise), e.g. the configured path prefix.
  static std::optional<Url> local(std::string_view base);
  // An absolute http:// or https:// URL with a host, without white space, control characters,
  // backslashes, quotes or angle brackets; nullopt for anything else (javascript:, data:,
  // vbscript:, file:, relative or scheme-relative URLs, "http:/x").
  static std::optional<Url> external(std::string_view s);

  // Appends `segment` percent-encoded ('/' kept when `keep_slash`), after a '/' when the URL
  // does not end with one.
  Url& segment(std::string_view segment, bool keep_slash = false);
  // Appends "?name=value" or "&name=value", both percent-encoded.
  Url& query(std::string_view name, std::string_view value);
  // Appends "#id", `id` percent-encoded.
  Url& fragment(std::string_view id);

  const std::string& str() const { return m_s; }

 private:
  explicit Url(std::string s) : m_s(std::move(s)) {}
  std::string m_s;
};

// The name of a plain attribute: a literal that is not a URL attribute, not an event handler
// ("on..."), not "style" and not "srcdoc" (a compile error otherwise).
class AttrName {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): literals convert implicitly, by design
  consteval AttrName(const char* s) : m_name(s) {
    const std::string_view n = m_name.view();
    if (n.empty() || n.starts_with("on") || n == "style" || n == "href" || n == "src" ||
        n == "action" || n == "formaction" || n == "srcdoc" || n == "srcset" || n == "xlink:href" ||
        n == "poster" || n == "background" || n == "cite" || n == "data" || n == "ping") {
      throw "not a plain attribute name";  // at compile time: the program does not build
    }
    for (const char c : n) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == ':')) {
        throw "an attribute name is lowercase ASCII letters, digits, '-' and ':'";
      }
    }
  }
  constexpr std::string_view view() const { return m_name.view(); }

 private:
  Literal m_name;
};

// A URL attribute's name: one of the attributes that take a URL.
class UrlAttrName {
 public:
  // NOLINTNEXTLINE(google-explicit-constructor): literals convert implicitly, by design
  consteval UrlAttrName(const char* s) : m_name(s) {
    const std::string_view n = m_name.view();
    if (n != "href" && n != "src" && n != "action") throw "not a URL attribute";
  }
  constexpr std::string_view view() const { return m_name.view(); }

 private:
  Literal m_name;
};

struct Attr {
  Attr(AttrName n, std::string_view v) : name(n.view()), value(v) {}
  Attr(UrlAttrName n, const Url& url) : name(n.view()), value(url.str()) {}
  std::string_view name;   // a literal's
  std::string_view value;  // escaped when written
};

// A document or fragment under construction. Tags are literals; text is escaped.
class Html {
 public:
  // "<tag a="v" ...>"; tags must be closed by the caller.
  Html& open(Literal tag, std::initializer_list<Attr> attrs = {});
  Html& close(Literal tag);
  // A void element ("<meta ...>", "<input ...>").
  Html& empty(Literal tag, std::initializer_list<Attr> attrs = {});
  // <tag attrs>text</tag>
  Html& element(Literal tag, std::string_view text, std::initializer_list<Attr> attrs = {});
  Html& text(std::string_view s);
  Html& markup(Literal fixed);
  Html& append(const Html& other);

  const std::string& str() const { return m_out; }
  std::string take() { return std::move(m_out); }

 private:
  void start_tag(Literal tag, std::initializer_list<Attr> attrs);
  std::string m_out;
};

}  // namespace stoa::html
