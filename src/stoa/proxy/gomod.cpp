#include "stoa/proxy/gomod.hpp"

#include <algorithm>
#include <iterator>
#include <vector>

#include "stoa/module/path.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/modzip/unicode.hpp"
#include "stoa/text/ascii.hpp"

namespace stoa::proxy {
namespace {

namespace uni = modzip::detail;

struct PrintRange {
  char32_t lo, hi;
};
#include "stoa/proxy/gomod_tables.inc"

// modfile's isIdent: not a space, printable, not one of the punctuation tokens.
bool is_ident(char32_t r) {
  if (r < 0x80) {
    return r > 0x20 && r < 0x7f &&
           std::string_view("()[]{},").find(static_cast<char>(r)) == std::string_view::npos;
  }
  const auto* end = std::end(k_print_ranges);
  const auto* it = std::upper_bound(std::begin(k_print_ranges), end, r,
                                    [](char32_t v, const PrintRange& pr) { return v < pr.lo; });
  return it != std::begin(k_print_ranges) && r <= std::prev(it)->hi;
}

enum class Tok { eof, eol_comment, ident, string, comment, newline, punct };

struct Token {
  Tok kind;
  std::string_view text;
  bool is_eol() const {
    return kind == Tok::eof || kind == Tok::eol_comment || kind == Tok::newline;
  }
  bool is(char c) const { return kind == Tok::punct && text[0] == c; }
};

// modfile's lexer (read.go readToken) over the whole input; false on a lexical error.
bool lex(std::string_view s, std::vector<Token>& out, std::string& problem) {
  std::size_t pos = 0;
  const auto peek = [&]() -> char32_t {
    if (pos >= s.size()) return 0;
    std::size_t i = pos;
    return uni::decode_rune(s, i);
  };
  const auto read = [&]() -> char32_t { return uni::decode_rune(s, pos); };
  const auto prefix = [&](std::string_view p) { return s.substr(pos, p.size()) == p; };
  for (;;) {
    while (pos < s.size()) {
      const char32_t c = peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        read();
        continue;
      }
      if (prefix("//")) {
        const std::size_t start = pos;
        const std::size_t nl = s.rfind('\n', pos == 0 ? std::string_view::npos : pos - 1);
        const std::size_t line = nl == std::string_view::npos || pos == 0 ? 0 : nl + 1;
        const bool suffix =
            s.substr(line, pos - line).find_first_not_of(" \t\r") != std::string_view::npos;
        read();
        read();
        while (pos < s.size() && read() != '\n') {
        }
        out.push_back({suffix ? Tok::eol_comment : Tok::comment, s.substr(start, pos - start)});
        goto next;
      }
      if (prefix("/*")) {
        problem = "mod files must use // comments";
        return false;
      }
      break;
    }
    if (pos >= s.size()) {
      out.push_back({Tok::eof, {}});
      return true;
    }
    {
      const std::size_t start = pos;
      const char32_t c = peek();
      if (c == '\n' || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
          c == ',') {
        read();
        out.push_back({c == '\n' ? Tok::newline : Tok::punct, s.substr(start, 1)});
        continue;
      }
      if (c == '"' || c == '`') {
        read();
        for (;;) {
          if (pos >= s.size()) {
            problem = "unexpected EOF in string";
            return false;
          }
          if (peek() == '\n') {
            problem = "unexpected newline in string";
            return false;
          }
          const char32_t r = read();
          if (r == c) break;
          if (r == '\\' && c != '`') {
            if (pos >= s.size()) {
              problem = "unexpected EOF in string";
              return false;
            }
            read();
          }
        }
        out.push_back({Tok::string, s.substr(start, pos - start)});
        continue;
      }
      if (!is_ident(c)) {
        problem = "unexpected input character at offset " + std::to_string(pos);
        return false;
      }
      while (is_ident(peek())) {
        if (prefix("//")) break;
        if (prefix("/*")) {
          problem = "mod files must use // comments";
          return false;
        }
        read();
      }
      out.push_back({Tok::ident, s.substr(start, pos - start)});
    }
  next:;
  }
}

struct Line {
  std::vector<std::string_view> tokens;
};
struct Stmt {
  std::vector<std::string_view> tokens;  // a line's tokens, or a block's header
  bool block = false;
  std::vector<Line> lines;  // a block's lines
};

// modfile's parser (read.go parseFile, parseStmt, parseLineBlock, parseLine).
class Parser {
 public:
  explicit Parser(const std::vector<Token>& toks) : m_toks(toks) {}

  bool parse(std::vector<Stmt>& out, std::string& problem) {
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::newline || t.kind == Tok::comment) {
        take();
      } else if (t.kind == Tok::eof) {
        return true;
      } else if (!statement(out, problem)) {
        return false;
      }
    }
  }

 private:
  const Token& peek() const { return m_toks[m_pos]; }
  const Token& take() {
    const Token& t = m_toks[m_pos];
    if (t.kind != Tok::eof) ++m_pos;
    return t;
  }
  bool statement(std::vector<Stmt>& out, std::string& problem) {
    Stmt st;
    st.tokens.push_back(take().text);
    for (;;) {
      const Token& t = take();
      if (t.is_eol()) {
        out.push_back(std::move(st));
        return true;
      }
      if (!t.is('(')) {
        st.tokens.push_back(t.text);
        continue;
      }
      if (peek().is_eol()) {
        st.block = true;
        if (!block(st, problem)) return false;
        out.push_back(std::move(st));
        return true;
      }
      if (peek().is(')')) {
        const Token& rparen = take();
        if (peek().is_eol()) {
          take();
          st.block = true;
          out.push_back(std::move(st));
          return true;
        }
        st.tokens.push_back(t.text);
        st.tokens.push_back(rparen.text);
      } else {
        st.tokens.push_back(t.text);
      }
    }
  }
  bool block(Stmt& st, std::string& problem) {
    for (;;) {
      const Token& t = peek();
      if (t.kind == Tok::eol_comment || t.kind == Tok::newline || t.kind == Tok::comment) {
        take();
      } else if (t.kind == Tok::eof) {
        problem = "syntax error (unterminated block)";
        return false;
      } else if (t.is(')')) {
        take();
        if (!peek().is_eol()) {
          problem = "syntax error (expected newline after closing paren)";
          return false;
        }
        take();
        return true;
      } else {
        Line line;
        line.tokens.push_back(take().text);
        for (const Token* u = &take(); !u->is_eol(); u = &take()) line.tokens.push_back(u->text);
        st.lines.push_back(std::move(line));
      }
    }
  }

  const std::vector<Token>& m_toks;
  std::size_t m_pos = 0;
};

bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

// A run of digits at s[i] that is "0" or has no leading zero; advances i. False if none.
bool number(std::string_view s, std::size_t& i) {
  const std::size_t start = i;
  while (i < s.size() && is_ascii_digit(s[i])) ++i;
  return i > start && (s[start] != '0' || i - start == 1);
}

// GoVersionRE: ^([1-9][0-9]*)\.(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?([a-z]+[0-9]+)?$
bool is_go_version(std::string_view s) {
  std::size_t i = 0;
  if (s.empty() || s[0] == '0' || !number(s, i) || i >= s.size() || s[i] != '.') return false;
  ++i;
  if (!number(s, i)) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!number(s, i)) return false;
  }
  if (i == s.size()) return true;
  const std::size_t letters = i;
  while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
  if (i == letters) return false;
  const std::size_t digits = i;
  while (i < s.size() && is_ascii_digit(s[i])) ++i;
  return i > digits && i == s.size();
}

// laxGoVersionRE: ^v?(([1-9][0-9]*)\.(0|[1-9][0-9]*))([^0-9].*)$ ('.' is any rune but '\n').
bool is_lax_go_version(std::string_view s) {
  std::size_t i = 0;
  if (!s.empty() && s[0] == 'v') ++i;
  if (i >= s.size() || s[i] == '0' || !number(s, i) || i >= s.size() || s[i] != '.') return false;
  ++i;
  // [^0-9] matches any rune, '\n' included (Go's Perl flags); '.' matches any but '\n'.
  if (!number(s, i) || i >= s.size()) return false;
  return s.find('\n', i + 1) == std::string_view::npos;
}

// strconv.Unquote of a "double-quoted" literal.
std::optional<std::string> unquote(std::string_view t) {
  if (t.size() < 2 || t.front() != '"' || t.back() != '"') return std::nullopt;
  std::string out;
  const std::string_view in = t.substr(1, t.size() - 2);
  for (std::size_t i = 0; i < in.size();) {
    const char c = in[i];
    if (c == '"' || c == '\n') return std::nullopt;
    if (static_cast<unsigned char>(c) >= 0x80) {
      uni::append_rune(out, uni::decode_rune(in, i));
      continue;
    }
    if (c != '\\') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 >= in.size()) return std::nullopt;
    const char e = in[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        out += '\a';
        continue;
      case 'b':
        out += '\b';
        continue;
      case 'f':
        out += '\f';
        continue;
      case 'n':
        out += '\n';
        continue;
      case 'r':
        out += '\r';
        continue;
      case 't':
        out += '\t';
        continue;
      case 'v':
        out += '\v';
        continue;
      case '\\':
        out += '\\';
        continue;
      case '"':
        out += '"';
        continue;
      case 'x':
      case 'u':
      case 'U': {
        const std::size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (i + n > in.size()) return std::nullopt;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < n; ++k) {
          const int h = text::hex_value(in[i + k]);
          if (h < 0) return std::nullopt;
          v = v << 4 | static_cast<std::uint32_t>(h);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) return std::nullopt;
          uni::append_rune(out, v);
        }
        continue;
      }
      default:
        break;
    }
    if (e < '0' || e > '7' || i + 2 > in.size()) return std::nullopt;
    std::uint32_t v = static_cast<std::uint32_t>(e - '0');
    for (std::size_t k = 0; k < 2; ++k) {
      const char d = in[i + k];
      if (d < '0' || d > '7') return std::nullopt;
      v = v << 3 | static_cast<std::uint32_t>(d - '0');
    }
    i += 2;
    if (v > 255) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

// modfile's parseString.
std::optional<std::string> parse_string(std::string_view t) {
  if (!t.empty() && t.front() == '"') return unquote(t);
  if (t.find_first_of("\"'`") != std::string_view::npos) return std::nullopt;
  return std::string(t);
}

struct Checker {
  GoModHead head;
  bool have_go = false;
  std::string problem;

  // modfile's (*File).add in lax mode; false on an error.
  bool add(std::string_view verb, const std::vector<std::string_view>& args) {
    if (verb == "go") {
      if (have_go) return fail("repeated go statement");
      if (args.size() != 1) return fail("go directive expects exactly one argument");
      if (!is_go_version(args[0]) && !is_lax_go_version(args[0])) {
        return fail("invalid go version");
      }
      have_go = true;
    } else if (verb == "module") {
      if (head.has_module) return fail("repeated module statement");
      head.has_module = true;
      if (args.size() != 1) return fail("usage: module module/path");
      auto path = parse_string(args[0]);
      if (!path) return fail("invalid quoted string in module statement");
      head.module_path = std::move(*path);
    } else if (verb == "require") {
      if (args.size() != 2) return fail("usage: require module/path v1.2.3");
      const auto path = parse_string(args[0]);
      if (!path) return fail("invalid quoted string in require");
      const auto version = parse_string(args[1]);
      if (!version) return fail("invalid quoted string in require");
      // module.CanonicalVersion (semver::canonical keeps "+incompatible" as it does).
      const std::string cv = module::semver::canonical(*version);
      if (cv.empty()) return fail("require: version must be of the form v1.2.3");
      const auto major = module::split_path_version(*path);
      if (!major) return fail("require: invalid module path");
      if (module::check_path_major(cv, major->major)) return fail("require: wrong major version");
    } else if (verb == "ignore") {
      if (args.size() != 1) return fail("ignore directive expects exactly one argument");
      if (!parse_string(args[0])) return fail("invalid quoted string in ignore");
    }
    return true;  // retract errors are dropped in lax mode; other verbs are ignored
  }
  bool fail(std::string why) {
    problem = std::move(why);
    return false;
  }
};

}  // namespace

std::optional<GoModHead> parse_go_mod_lax(std::string_view body, std::string* problem) {
  std::string why;
  std::vector<Token> toks;
  std::vector<Stmt> stmts;
  Checker check;
  const auto failed = [&](std::string text) -> std::optional<GoModHead> {
    if (problem != nullptr) *problem = std::move(text);
    return std::nullopt;
  };
  if (!lex(body, toks, why)) return failed("go.mod syntax: " + why);
  if (!Parser(toks).parse(stmts, why)) return failed("go.mod syntax: " + why);
  static constexpr std::string_view k_blocks[] = {"module",  "godebug", "require", "exclude",
                                                  "replace", "retract", "tool",    "ignore"};
  for (const auto& st : stmts) {
    if (!st.block) {
      const std::vector<std::string_view> args(st.tokens.begin() + 1, st.tokens.end());
      if (!check.add(st.tokens[0], args)) return failed("go.mod: " + check.problem);
      continue;
    }
    if (st.tokens.size() > 1 ||
        std::find(std::begin(k_blocks), std::end(k_blocks), st.tokens[0]) == std::end(k_blocks)) {
      continue;
    }
    for (const auto& line : st.lines) {
      if (!check.add(st.tokens[0], line.tokens)) return failed("go.mod: " + check.problem);
    }
  }
  return check.head;
}

}  // namespace stoa::proxy
