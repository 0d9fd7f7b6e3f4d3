#include "stoa/module/patterns.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/module/path.hpp"

namespace stoa::module {
namespace {

using namespace std::string_literals;

constexpr std::optional<bool> k_bad = std::nullopt;

struct GlobCase {
  std::string pattern;
  std::string name;
  std::optional<bool> want;  // nullopt: malformed pattern
};

TEST(MatchGlob, Table) {
  const GlobCase cases[] = {
      // Literals must match all of the name.
      {"", "", true},
      {"", "a", false},
      {"abc", "abc", true},
      {"abc", "abd", false},
      {"abc", "ab", false},
      {"ab", "abc", false},
      {"a.b", "a.b", true},
      {"a.b", "axb", false},
      {"Abc", "abc", false},

      // '*' runs over anything but '/'.
      {"*", "", true},
      {"*", "abc", true},
      {"*", "a/b", false},
      {"**", "abc", true},
      {"a*", "a", true},
      {"a*", "abc", true},
      {"a*c", "abbbc", true},
      {"a*c", "ab/c", false},
      {"a*/b", "abc/b", true},
      {"*/*", "a/b", true},
      {"*/*", "a/b/c", false},
      {"a*b*c", "axbxc", true},
      {"a*b*c", "axbxcx", false},
      {"*x", "xxx", true},
      {"*.corp.example.com", "git.corp.example.com", true},
      {"*.corp.example.com", "corp.example.com", false},
      {"*.corp.example.com", "a.b.corp.example.com", true},

      // '?' is one rune other than '/'; a byte that is not UTF-8 is one rune.
      {"a?c", "abc", true},
      {"a?c", "a/c", false},
      {"a?c", "ac", false},
      {"?", "", false},
      {"?", "\xc3\xa9", true},
      {"??", "\xc3\xa9", false},
      {"?", "\xe4\xb8\x96", true},
      {"?", "\xf0\x9f\x98\x80", true},
      {"?", "\xff", true},
      {"??", "\xc3", false},
      {"??", "\xc3x", true},
      {"?\xa9", "\xc3\xa9", false},
      // A star skips bytes, not runes: it can stop inside one.
      {"*\xa9", "\xc3\xa9", true},
      {"\xff", "\xff", true},

      // Classes.
      {"[abc]", "b", true},
      {"[abc]", "d", false},
      {"[abc]", "", false},
      {"[abc]", "ab", false},
      {"[a-c]", "b", true},
      {"[a-c]", "B", false},
      {"[^a-c]", "d", true},
      {"[^a-c]", "b", false},
      {"[a-cx-z]", "y", true},
      {"[a-cx-z]", "m", false},
      {"[z-a]", "m", false},
      {"[\\]]", "]", true},
      {"[\\-]", "-", true},
      {"[a\\-z]", "-", true},
      {"[a\\-z]", "b", false},
      {"[\\^a]", "^", true},
      {"[a^]", "^", true},
      {"[*]", "*", true},
      {"[*]", "a", false},
      {"[\xc3\xa9]", "\xc3\xa9", true},
      {"[\xc3\xa0-\xc3\xbc]", "\xc3\xa9", true},
      {"[a-z]", "\xc3\xa9", false},
      {"[^\xc3\xa9]", "e", true},
      {"[^a]", "\xff", true},
      {"[\xef\xbf\xbd]", "\xff", true},  // U+FFFD stands for the invalid byte
      {"[/]", "/", true},                // a class can match '/'
      {"a[^b]c", "a/c", true},
      // Go never moves a chunk once placed: here an exhaustive glob would say true.
      {"*[^x]*c", "a/c", false},

      // Escapes.
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"a\\?b", "a?b", true},
      {"a\\?b", "axb", false},
      {"\\a", "a", true},
      {"\\\\", "\\", true},
      {"\\[", "[", true},
      {"a\\*b*", "a*bcd", true},

      // Malformed patterns.
      {"[", "", k_bad},
      {"[", "a", k_bad},
      {"[a", "a", k_bad},
      {"[a-", "a", k_bad},
      {"[a-]", "a", k_bad},
      {"[-a]", "a", k_bad},
      {"[]", "a", k_bad},
      {"[]a]", "a", k_bad},
      {"[^]", "a", k_bad},
      {"[^]a]", "a", k_bad},
      {"[a-b-c]", "a", k_bad},
      {"\\", "", k_bad},
      {"\\", "\\", k_bad},
      {"a\\", "a", k_bad},
      {"[\\", "a", k_bad},
      {"[\\]", "]", k_bad},
      {"[a-\\", "a", k_bad},
      {"[\xff]", "\xff", k_bad},  // invalid UTF-8 inside a class
      {"[\xc3]", "\xc3", k_bad},
      // ... reported whatever the name, even after the match has failed or succeeded.
      {"x[", "y", k_bad},
      {"a*b[", "zzz", k_bad},
      {"*x*[", "abc", k_bad},
      {"b*[", "a", k_bad},
      {"a*\\", "a", k_bad},
      {"[a]*[", "a", k_bad},
      {"*/[", "a", k_bad},
      {"[]*]", "]", k_bad},  // the ']' closes nothing: "[]" is an empty class
  };
  for (const auto& c : cases) {
    EXPECT_EQ(match_glob(c.pattern, c.name), c.want)
        << "match_glob(\"" << excerpt(c.pattern) << "\", \"" << excerpt(c.name) << "\")";
  }
}

struct PrefixCase {
  std::string globs;
  std::string target;
  bool want;
  bool want_folded;
};

TEST(MatchPrefixPatterns, Table) {
  const std::string goprivate = "*.corp.example.com,rsc.io/private";
  const PrefixCase cases[] = {
      {goprivate, "git.corp.example.com", true, true},
      {goprivate, "git.corp.example.com/team/svc/v2", true, true},
      {goprivate, "corp.example.com/x", false, false},
      {goprivate, "rsc.io/private", true, true},
      {goprivate, "rsc.io/private/sub/pkg", true, true},
      {goprivate, "rsc.io/privately", false, false},
      {goprivate, "rsc.io", false, false},
      {goprivate, "rsc.io/public", false, false},
      {goprivate, "golang.org/x/mod", false, false},
      {goprivate, "Git.Corp.Example.com/x", false, true},
      {goprivate, "rsc.io/Private", false, true},
      {goprivate, "RSC.IO/PRIVATE/X", false, true},

      // A glob with N slashes sees the first N+1 elements of the target.
      {"example.com/*/x", "example.com/a/x", true, true},
      {"example.com/*/x", "example.com/a/x/y/z", true, true},
      {"example.com/*/x", "example.com/a/y", false, false},
      {"example.com/*/x", "example.com/a", false, false},
      {"example.com/*/x", "example.com/a/b/x", false, false},
      {"example.com", "example.com", true, true},
      {"example.com", "example.com/m", true, true},
      {"example.com", "example.comm", false, false},
      {"example.com/m", "example.com", false, false},
      {"*", "", true, true},
      {"*", "anything/at/all", true, true},
      {"*/*", "a", false, false},
      {"*/*", "a/", true, true},

      // One trailing slash is trimmed; empty globs are skipped.
      {"rsc.io/private/", "rsc.io/private/x", true, true},
      {"rsc.io/private//", "rsc.io/private/x", false, false},
      {"rsc.io/private//", "rsc.io/private/", true, true},
      {",,rsc.io/private,,", "rsc.io/private", true, true},
      {"", "rsc.io/private", false, false},
      {",", "", false, false},
      {"/", "", false, false},
      {"/,rsc.io", "rsc.io", true, true},

      // Classes, escapes, and malformed globs (which never match). A comma splits even a class.
      {"example.com/[a-c]*", "example.com/beta/x", true, true},
      {"example.com/[a-c]*", "example.com/delta", false, false},
      {"example.com/[^a-c]*", "example.com/delta", true, true},
      {"example\\.com/m", "example.com/m", true, true},
      {"example\\.com/m", "exampleXcom/m", false, false},
      {"rsc.io/[", "rsc.io/x", false, false},
      {"[,rsc.io", "rsc.io", true, true},
      {"rsc.io\\", "rsc.io", false, false},
      {"[a,b]", "b]", true, true},
      {"[a,b]", "a", false, false},

      // Case folding is broader, never narrower: a negated class still matches as in Go.
      {"Corp.example.com", "corp.example.com/x", false, true},
      {"corp.example.com/[A-Z]*", "corp.example.com/Ab", true, true},
      {"corp.example.com/[A-Z]*", "corp.example.com/ab", false, true},
      {"x.com/[^a]", "x.com/A", true, true},  // lower-cased alone, "[^a]" would refuse "a"
      {"x.com/[^a]", "x.com/a", false, false},
      {"x.com/[a-Z]", "x.com/m", false, true},  // an empty range, until lower-cased

      // Unicode: runes for '?', bytes for literals; only ASCII letters fold.
      {"example.com/\xc3\xa9*", "example.com/\xc3\xa9t\xc3\xa9", true, true},
      {"example.com/?", "example.com/\xc3\xa9", true, true},
      {"example.com/??", "example.com/\xc3\xa9", false, false},
      {"example.com/\xc3\x89", "example.com/\xc3\xa9", false, false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(match_prefix_patterns(c.globs, c.target), c.want)
        << "globs \"" << excerpt(c.globs) << "\", target \"" << excerpt(c.target) << "\"";
    EXPECT_EQ(match_prefix_patterns_folded(c.globs, c.target), c.want_folded)
        << "folded: globs \"" << excerpt(c.globs) << "\", target \"" << excerpt(c.target) << "\"";
  }
}

// ---- Properties over random inputs (the differential test compares with Go itself) ---------

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

class Random {
 public:
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(m_engine() % n); }
  std::string text(std::string_view alphabet, std::size_t max_len) {
    std::string s;
    for (std::size_t n = below(max_len + 1); n > 0; --n) s += alphabet[below(alphabet.size())];
    return s;
  }

 private:
  std::mt19937_64 m_engine{20240611};  // the engine's output is fixed by the standard
};

constexpr std::string_view k_glob_alphabet = "abAB/*?[]^-\\,.xX";
constexpr std::string_view k_name_alphabet = "abAB/.-xX";

TEST(MatchGlob, MalformedDoesNotDependOnTheName) {
  Random rng;
  int bad = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string pattern = rng.text(k_glob_alphabet, 10);
    bool malformed = !match_glob(pattern, "").has_value();
    bad += malformed ? 1 : 0;
    for (int k = 0; k < 4; ++k) {
      std::string name = rng.text(k_name_alphabet, 8);
      EXPECT_EQ(!match_glob(pattern, name).has_value(), malformed) << pattern << " " << name;
    }
  }
  EXPECT_GT(bad, 500);
  EXPECT_LT(bad, 4500);
}

// The folded matcher threads case folding through; it must equal matching lower-cased copies.
TEST(MatchPrefixPatternsFolded, IsExactOrLowerCasedExact) {
  Random rng;
  int exact = 0;
  int only_folded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string globs = rng.text(k_glob_alphabet, 12);
    // Half the targets are the glob's plain characters, some letters' case flipped.
    std::string target;
    if (rng.below(2) == 0) {
      target = rng.text(k_name_alphabet, 12);
    } else {
      for (char c : globs) {
        if (k_name_alphabet.find(c) == std::string_view::npos) continue;
        target += std::isalpha(static_cast<unsigned char>(c)) != 0 && rng.below(3) == 0
                      ? static_cast<char>(c ^ 0x20)
                      : c;
      }
    }
    bool go = match_prefix_patterns(globs, target);
    bool lowered = match_prefix_patterns(lower_ascii(globs), lower_ascii(target));
    bool folded = match_prefix_patterns_folded(globs, target);
    ASSERT_EQ(folded, go || lowered) << "globs \"" << excerpt(globs) << "\", target \"" << target;
    exact += go ? 1 : 0;
    only_folded += folded && !go ? 1 : 0;
  }
  EXPECT_GT(exact, 1000);
  EXPECT_GT(only_folded, 500);
}

// The point of folding: without classes, any case variant of a matching target matches too.
TEST(MatchPrefixPatternsFolded, CaseVariantsOfAMatchStayMatched) {
  Random rng;
  int matched = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string globs = rng.text("abAB/*?\\,.", 10);
    std::string target = rng.text(k_name_alphabet, 10);
    if (!match_prefix_patterns(globs, target)) continue;
    ++matched;
    for (int k = 0; k < 4; ++k) {
      std::string variant = target;
      for (char& c : variant) {
        if (std::isalpha(static_cast<unsigned char>(c)) != 0 && rng.below(2) == 0) {
          c = static_cast<char>(c ^ 0x20);
        }
      }
      EXPECT_TRUE(match_prefix_patterns_folded(globs, variant))
          << "globs \"" << excerpt(globs) << "\" match \"" << target << "\" but not \"" << variant
          << "\"";
    }
  }
  EXPECT_GT(matched, 1000);
}

}  // namespace
}  // namespace stoa::module
