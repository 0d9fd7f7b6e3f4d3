#include "stoa/module/path.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace stoa::module {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

struct CheckCase {
  std::string_view input;
  std::optional<std::string_view> reason;  // nullopt: valid; else a substring of the reason
};

void expect_check(std::optional<std::string> got, const CheckCase& c) {
  if (!c.reason) {
    EXPECT_FALSE(got.has_value()) << "input \"" << excerpt(c.input) << "\": " << got.value_or("");
  } else {
    ASSERT_TRUE(got.has_value()) << "input \"" << excerpt(c.input) << "\" accepted";
    EXPECT_NE(got->find(*c.reason), std::string::npos)
        << "input \"" << excerpt(c.input) << "\": reason \"" << *got << "\" lacks \"" << *c.reason
        << "\"";
  }
}

TEST(CheckPath, Table) {
  const CheckCase cases[] = {
      {"github.com/Azure/azure-sdk", std::nullopt},
      {"example.com", std::nullopt},
      {"example.com/a-b_c~d.e", std::nullopt},
      {"gopkg.in/yaml.v2", std::nullopt},
      {"gopkg.in/yaml.v0", std::nullopt},
      {"gopkg.in/check.v1-unstable", std::nullopt},
      {"example.com/m/v2", std::nullopt},
      {"example.com/m/v10", std::nullopt},
      {"example.com/m/v1x", std::nullopt},
      {"example.com/m/x2", std::nullopt},
      {"1.2.3.4/x", std::nullopt},
      {"example.com/x~y", std::nullopt},
      {"example.com/con.d/x", "disallowed as path element component on Windows"},
      {"example.com/x~1y", std::nullopt},
      {"", "empty string"},
      {"-example.com", "leading dash"},
      {"example.com//x", "double slash"},
      {"example.com/x/", "trailing slash"},
      {"/example.com", "empty path element"},
      {"example", "missing dot in first path element"},
      {"Example.com", "invalid char 'E' in first path element"},
      {"ex_ample.com", "invalid char '_' in first path element"},
      {"ex~ample.com", "invalid char '~' in first path element"},
      {"example.com/a+b", "invalid char '+'"},
      {"example.com/a b", "invalid char ' '"},
      {"example.com/a@b", "invalid char '@'"},
      {"example.com/a!b", "invalid char '!'"},
      {"example.com/a\\b", "invalid char '\\\\'"},
      {"example.com/caf\xc3\xa9", "invalid char '\\xc3'"},
      {"example.com/\xff", "invalid char '\\xff'"},
      {"example.com/.x", "leading dot in path element"},
      {"example.com/x.", "trailing dot in path element"},
      {"example.com/..", "invalid path element \"..\""},
      {"example.com/.", "invalid path element \".\""},
      {"example.com/CON", "\"CON\" disallowed"},
      {"example.com/nul.txt", "\"nul\" disallowed"},
      {"example.com/Lpt9", "disallowed"},
      {"example.com/com0", std::nullopt},
      {"example.com/x~1", "trailing tilde and digits"},
      {"example.com/x~12.go", "trailing tilde and digits"},
      {"example.com/m/v1", "invalid version"},
      {"example.com/m/v0", "invalid version"},
      {"example.com/m/v02", "invalid version"},
      {"example.com/m/v2.0", "invalid version"},
      {"gopkg.in/yaml", "invalid version"},
      {"gopkg.in/yaml.v02", "invalid version"},
      {"a\0b.c"sv, "invalid char '\\x00'"},
  };
  for (const auto& c : cases) expect_check(check_path(c.input), c);
}

TEST(CheckPath, LengthLimits) {
  std::string element(k_max_element_bytes, 'a');
  EXPECT_FALSE(check_path("example.com/" + element));
  expect_check(check_path("example.com/" + element + "a"), {"", "path element longer than 255"});

  std::string path = "example.com";
  while (path.size() + 1 + 100 <= k_max_path_bytes) path += "/" + std::string(100, 'b');
  path += "/" + std::string(k_max_path_bytes - path.size() - 1, 'c');
  ASSERT_EQ(path.size(), k_max_path_bytes);
  EXPECT_FALSE(check_path(path));
  expect_check(check_path(path + "c"), {"", "longer than 512 bytes"});

  // The limits carry over to escaping, which validates first.
  EXPECT_TRUE(escape_path(path));
  EXPECT_FALSE(escape_path(path + "c"));
  EXPECT_FALSE(unescape_path(path + "c"));
  // The escaped form may be longer than the limit when the decoded path is not.
  std::string upper = "example.com/" + std::string(k_max_element_bytes, 'X');
  auto escaped = escape_path(upper);
  ASSERT_TRUE(escaped);
  EXPECT_GT(escaped->size(), k_max_path_bytes);
  EXPECT_EQ(unescape_path(*escaped), upper);
}

TEST(CheckImportPath, Table) {
  const CheckCase cases[] = {
      {"example.com/a+b", std::nullopt},
      {"fmt", std::nullopt},
      {"Example", std::nullopt},
      {"example.com/.hidden", std::nullopt},
      {"example.com/m/v1", std::nullopt},
      {"", "empty string"},
      {"-x", "leading dash"},
      {"a//b", "double slash"},
      {"a/", "trailing slash"},
      {"a/b.", "trailing dot"},
      {"a/...", "invalid path element"},
      {"a/b@c", "invalid char '@'"},
      {"a/aux", "disallowed"},
      {"a/b~3", "trailing tilde and digits"},
  };
  for (const auto& c : cases) expect_check(check_import_path(c.input), c);
}

struct EscapeCase {
  std::string_view input;
  std::optional<std::string_view> output;
};

TEST(EscapePath, Table) {
  const EscapeCase cases[] = {
      {"github.com/Azure/azure-sdk", "github.com/!azure/azure-sdk"},
      {"github.com/BurntSushi/TOML", "github.com/!burnt!sushi/!t!o!m!l"},
      {"example.com/m", "example.com/m"},
      {"Example.com/m", std::nullopt},
      {"example.com/a!b", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(escape_path(c.input), c.output) << c.input;
    if (c.output) {
      EXPECT_EQ(unescape_path(*c.output), c.input) << c.input;
    }
  }
}

TEST(UnescapePath, Table) {
  const EscapeCase cases[] = {
      {"github.com/!azure/azure-sdk", "github.com/Azure/azure-sdk"},
      {"example.com/!a!b!c", "example.com/ABC"},
      {"example.com/m", "example.com/m"},
      {"github.com/Azure/x", std::nullopt},  // uppercase must be escaped
      {"example.com/!", std::nullopt},       // trailing bang
      {"example.com/!!a", std::nullopt},     // bang not followed by a-z
      {"example.com/!1", std::nullopt},
      {"example.com/!-", std::nullopt},
      {"example.com/\xc3\xa9", std::nullopt},
      {"!example.com/m", std::nullopt},  // decodes to uppercase in the first element
      {"example.com/m/v1", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(unescape_path(c.input), c.output) << c.input;
}

TEST(DecodeCase, Table) {
  const EscapeCase cases[] = {
      {"", ""},
      {"!a", "A"},
      {"a!zb", "aZb"},
      {"!!", std::nullopt},
      {"!", std::nullopt},
      {"A", std::nullopt},
      {"\x80", std::nullopt},
      {"x y/..", "x y/.."},  // no validation beyond the encoding
  };
  for (const auto& c : cases) EXPECT_EQ(decode_case(c.input), c.output) << c.input;
}

TEST(EscapeVersion, Table) {
  const EscapeCase cases[] = {
      {"v1.0.0", "v1.0.0"},
      {"v1.0.0-RC1", "v1.0.0-!r!c1"},
      {"master", "master"},
      {"Main", "!main"},
      {".hidden", ".hidden"},  // versions follow the file-name rules: a leading dot is fine
      {"-x", "-x"},            // and so is a leading dash (parse_request rejects it itself)
      {"a b#c", "a b#c"},
      {"v1!", std::nullopt},
      {"", std::nullopt},
      {"v1.", std::nullopt},
      {"...", std::nullopt},
      {"a/b", std::nullopt},
      {"a:b", std::nullopt},
      {"COM1", std::nullopt},
      {"prn.v1", std::nullopt},
      {"x~1", "x~1"},  // no tilde rule for file names
      {"caf\xc3\xa9", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(escape_version(c.input), c.output) << c.input;
}

TEST(UnescapeVersion, Table) {
  const EscapeCase cases[] = {
      {"v1.0.0-!r!c1", "v1.0.0-RC1"},
      {"v1.0.0", "v1.0.0"},
      {"v1.0.0-RC1", std::nullopt},
      {"!", std::nullopt},
      {"!c!o!n", std::nullopt},  // decodes to a Windows reserved name
      {"", std::nullopt},
      {"a/b", std::nullopt},
      {"v1.", std::nullopt},
      {"\xc3\xa9", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(unescape_version(c.input), c.output) << c.input;
}

TEST(SplitPathVersion, Table) {
  struct Case {
    std::string_view input;
    std::optional<std::pair<std::string_view, std::string_view>> output;
  };
  const Case cases[] = {
      {"example.com/m", {{"example.com/m", ""}}},
      {"example.com/m/v2", {{"example.com/m", "/v2"}}},
      {"example.com/m/v123", {{"example.com/m", "/v123"}}},
      {"example.com/m/v1", std::nullopt},
      {"example.com/m/v0", std::nullopt},
      {"example.com/m/v02", std::nullopt},
      {"example.com/m/v2.1", std::nullopt},
      {"example.com/m/v", {{"example.com/m/v", ""}}},
      {"example.com/m/xv2", {{"example.com/m/xv2", ""}}},
      {"v2", {{"v2", ""}}},
      {"/v2", {{"", "/v2"}}},
      {"x/v2", {{"x", "/v2"}}},
      {"", {{"", ""}}},
      {"gopkg.in/yaml.v2", {{"gopkg.in/yaml", ".v2"}}},
      {"gopkg.in/user/yaml.v3", {{"gopkg.in/user/yaml", ".v3"}}},
      {"gopkg.in/yaml.v0", {{"gopkg.in/yaml", ".v0"}}},
      {"gopkg.in/check.v1-unstable", {{"gopkg.in/check", ".v1-unstable"}}},
      {"gopkg.in/yaml.v02", std::nullopt},
      {"gopkg.in/yaml", std::nullopt},
      {"gopkg.in/yaml.v", std::nullopt},
      {"gopkg.in/yaml/v2", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = split_path_version(c.input);
    ASSERT_EQ(got.has_value(), c.output.has_value()) << c.input;
    if (!got) continue;
    EXPECT_EQ(got->prefix, c.output->first) << c.input;
    EXPECT_EQ(got->major, c.output->second) << c.input;
  }
}

TEST(CheckPathMajor, Table) {
  struct Case {
    std::string_view version;
    std::string_view path_major;
    std::optional<std::string_view> reason;
  };
  const Case cases[] = {
      {"v1.2.3", "", std::nullopt},
      {"v0.1.0", "", std::nullopt},
      {"v2.0.0+incompatible", "", std::nullopt},
      {"v2.0.0", "", "should be v0 or v1, not v2"},
      {"v2.0.0", "/v2", std::nullopt},
      {"v2.0.0+incompatible", "/v2", std::nullopt},
      {"v3.0.0", "/v2", "should be v2, not v3"},
      {"v1.0.0", "/v2", "should be v2, not v1"},
      {"v1.0.0", ".v1", std::nullopt},
      {"v0.0.0-20190101000000-abcdefabcdef", ".v1", std::nullopt},
      {"v0.1.0", ".v1", "should be v1, not v0"},
      {"v1.5.0", ".v1-unstable", std::nullopt},
      {"v0.0.0", ".v0", std::nullopt},
      {"bogus", "", "should be v0 or v1, not "},
      {"v2.0.0", "v2", "should be v2, not v2"},  // a suffix without separator never matches
  };
  for (const auto& c : cases) {
    auto got = check_path_major(c.version, c.path_major);
    ASSERT_EQ(got.has_value(), c.reason.has_value()) << c.version << " " << c.path_major;
    if (got) {
      EXPECT_EQ(*got, *c.reason);
    }
  }
}

TEST(Excerpt, Table) {
  struct Case {
    std::string input;
    std::size_t max;
    std::string output;
  };
  const Case cases[] = {
      {"plain text", 200, "plain text"},
      {"a\"b\\c", 200, "a\\\"b\\\\c"},
      {"nl\nnul\0"s, 200, "nl\\x0anul\\x00"},
      {"\x7f\x80\xff", 200, "\\x7f\\x80\\xff"},
      {"abcdef", 3, "abc..."},
      {"abc", 3, "abc"},
      {"\xff\xff", 8, "\\xff\\xff"},
      {"\xff\xff", 7, "\\xff..."},  // never cut inside an escape
      {"a\"", 2, "a..."},
      {"", 0, ""},
      {"a", 0, "..."},
      {std::string(1000, 'x'), 200, std::string(200, 'x') + "..."},
  };
  for (const auto& c : cases) EXPECT_EQ(excerpt(c.input, c.max), c.output);
}

}  // namespace
}  // namespace stoa::module
