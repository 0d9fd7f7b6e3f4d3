// Differential tests: stoa::module against golang.org/x/mod, through the oracle program built
// from tests/oracle/modcheck (see its main.go for the line protocol). Every input is fed to both
// and the verdicts must be identical, except where stoa's own length limits make it stricter.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/module/path.hpp"
#include "stoa/module/patterns.hpp"
#include "stoa/module/request.hpp"
#include "stoa/module/semver.hpp"
#include "stoa/module/version_list.hpp"

extern char** environ;

namespace stoa::module {
namespace {

using namespace std::string_literals;

// ---- Go string quoting --------------------------------------------------------------------

// A Go string literal for any bytes (strconv.Unquote accepts \xNN for arbitrary bytes).
std::string go_quote(std::string_view s) {
  constexpr std::string_view k_hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += k_hex[b >> 4];
      out += k_hex[b & 0xf];
    }
  }
  return out + "\"";
}

// go_quote of at most the first 300 bytes, for failure messages.
std::string shown(std::string_view s) {
  constexpr std::size_t k_max = 300;
  if (s.size() <= k_max) return go_quote(s);
  return go_quote(s.substr(0, k_max)) + "... (" + std::to_string(s.size()) + " bytes)";
}

void append_utf8(std::string& out, std::uint32_t r) {
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xc0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xe0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (r & 0x3f));
  }
}

// Decodes what strconv.Quote produces; nullopt on anything else.
std::optional<std::string> go_unquote(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return std::nullopt;
  q = q.substr(1, q.size() - 2);
  std::string out;
  auto hex_digits = [&](std::size_t at, std::size_t n) -> std::optional<std::uint32_t> {
    if (at + n > q.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t k = at; k < at + n; ++k) {
      char c = q[k];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return v;
  };
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] != '\\') {
      out += q[i];
      continue;
    }
    if (++i == q.size()) return std::nullopt;
    switch (q[i]) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x':
      case 'u':
      case 'U': {
        std::size_t n = q[i] == 'x' ? 2 : (q[i] == 'u' ? 4 : 8);
        auto v = hex_digits(i + 1, n);
        if (!v) return std::nullopt;
        if (q[i] == 'x') {
          out += static_cast<char>(*v);
        } else {
          append_utf8(out, *v);
        }
        i += n;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return out;
}

TEST(GoQuote, RoundTrips) {
  const std::string cases[] = {"", "plain", "\"\\", "\0\x01\x7f\x80\xff"s, "tab\there"};
  for (const auto& s : cases) EXPECT_EQ(go_unquote(go_quote(s)), s);
  EXPECT_EQ(go_unquote(R"("\u00e9\U0001f600\n")"), "\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(go_unquote(R"("bad\q")"), std::nullopt);
  EXPECT_EQ(go_unquote(R"("\x4")"), std::nullopt);
}

// ---- The oracle ---------------------------------------------------------------------------

struct Query {
  std::string op;
  std::string a;
  std::optional<std::string> b;
};

// Runs every query through the oracle in one process: input and output go through files, so
// neither side can block on a full pipe. Fails the test (and returns empty) on any trouble.
std::vector<std::string> run_oracle(const std::vector<Query>& queries) {
  const char* bin_dir = std::getenv("STOA_BINARY_DIR");
  std::string oracle = bin_dir != nullptr ? std::string(bin_dir) + "/oracle/modcheck"
                                          : std::string(STOA_MODCHECK_PATH);
  if (::access(oracle.c_str(), X_OK) != 0) {
    ADD_FAILURE() << "oracle " << oracle << " is missing: build target stoa_modcheck_oracle";
    return {};
  }

  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string base = ::testing::TempDir() + "modcheck_" + info->test_suite_name() + "_" +
                     info->name() + "_" + std::to_string(::getpid());
  std::string in_path = base + ".in";
  std::string out_path = base + ".out";
  {
    std::ofstream in(in_path, std::ios::binary | std::ios::trunc);
    for (const auto& q : queries) {
      in << q.op << '\t' << go_quote(q.a);
      if (q.b) in << '\t' << go_quote(*q.b);
      in << '\n';
    }
    if (!in.flush()) {
      ADD_FAILURE() << "cannot write " << in_path;
      return {};
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> argv = {oracle.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, oracle.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << oracle << ": error " << rc;
    return {};
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  std::remove(in_path.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "oracle failed with status " << status;
    std::remove(out_path.c_str());
    return {};
  }

  std::vector<std::string> answers;
  {
    std::ifstream out(out_path, std::ios::binary);
    for (std::string line; std::getline(out, line);) {
      auto answer = go_unquote(line);
      if (!answer) {
        ADD_FAILURE() << "oracle printed an unquoted line: " << line;
        return {};
      }
      answers.push_back(std::move(*answer));
    }
  }
  std::remove(out_path.c_str());
  if (answers.size() != queries.size()) {
    ADD_FAILURE() << "oracle answered " << answers.size() << " of " << queries.size() << " queries";
    return {};
  }
  return answers;
}

// ---- Inputs -------------------------------------------------------------------------------

// SplitMix64: tiny, deterministic everywhere, state owned by the caller.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

 private:
  std::uint64_t m_state;
};

std::vector<std::string> hand_paths() {
  std::vector<std::string> v = {
      "",
      "/",
      "//",
      "a",
      "a.b",
      "a.b/",
      "/a.b",
      "a.b//c",
      "-a.b",
      "a.b/-c",
      "a.b/c-",
      "example.com",
      "example.com/m",
      "Example.com/m",
      "example.COM/m",
      "eXample.com",
      "github.com/Azure/azure-sdk-for-go",
      "github.com/!azure/azure-sdk-for-go",
      "github.com/!Azure/x",
      "github.com/!!azure/x",
      "github.com/azure!/x",
      "github.com/!/x",
      "github.com/!",
      "github.com/!a",
      "github.com/!z!z",
      "github.com/!0",
      "github.com/!-x",
      "github.com/BurntSushi/toml",
      "github.com/!burnt!sushi/toml",
      "golang.org/x/mod",
      "golang.org/x/mod/v2",
      "golang.org/x/mod/v1",
      "golang.org/x/mod/v0",
      "golang.org/x/mod/v02",
      "golang.org/x/mod/v10",
      "golang.org/x/mod/v2.0",
      "golang.org/x/mod/v2/",
      "golang.org/x/v2/mod",
      "golang.org/x/mod/V2",
      "golang.org/x/mod/vv2",
      "golang.org/x/mod/v",
      "golang.org/x/mod/2",
      "golang.org/x/mod/v2x",
      "golang.org/v2",
      "golang.org/v1",
      "v2",
      "x/v2",
      "/v2",
      "a/v2",
      "example.com/v99999999999999999999",
      "gopkg.in/yaml.v2",
      "gopkg.in/yaml.v3",
      "gopkg.in/yaml.v0",
      "gopkg.in/yaml.v1",
      "gopkg.in/yaml.v02",
      "gopkg.in/yaml.v10",
      "gopkg.in/yaml",
      "gopkg.in/yaml.v",
      "gopkg.in/yaml/v2",
      "gopkg.in/user/yaml.v2",
      "gopkg.in/check.v1-unstable",
      "gopkg.in/check.v0-unstable",
      "gopkg.in/check-unstable",
      "gopkg.in/check.v1-unstable-unstable",
      "gopkg.in/v2",
      "gopkg.in/.v2",
      "gopkg.in/x.v2.v3",
      "gopkg.in",
      "gopkg.in/",
      "gopkg.in.v2",
      "gopkg.in/Yaml.v2",
      "gopkg.in/yaml.V2",
      "example.com/CON",
      "example.com/con",
      "example.com/Con.txt",
      "example.com/con.d/x",
      "example.com/xcon",
      "example.com/conx",
      "example.com/PRN",
      "example.com/aux",
      "example.com/NUL",
      "example.com/nul.go",
      "example.com/COM1",
      "example.com/com9",
      "example.com/COM0",
      "example.com/COM10",
      "example.com/LPT1",
      "example.com/lpt9.x",
      "example.com/LPT",
      "con.example.com",
      "example.com/x~1",
      "example.com/x~12",
      "example.com/x~",
      "example.com/~1",
      "example.com/~",
      "example.com/x~1y",
      "example.com/x~1.go",
      "example.com/x~a",
      "example.com/x~1~2",
      "example.com/x~1/y",
      "exa~mple.com",
      "example.com/a_b",
      "ex_ample.com",
      "example.com/a+b",
      "example.com/a@b",
      "example.com/a b",
      "example.com/a%20b",
      "example.com/a:b",
      "example.com/a\\b",
      "example.com/a\tb",
      "example.com/a\nb",
      "example.com/a\0b"s,
      "example.com/\x7f",
      "example.com/caf\xc3\xa9",
      "caf\xc3\xa9.com",
      "example.com/\xff",
      "example.com/\xc3",
      "example.com/\xe2\x80\x8b",
      "example.com/.",
      "example.com/..",
      "example.com/...",
      "example.com/.x",
      "example.com/x.",
      "example.com/x..y",
      ".example.com",
      "example.com.",
      "example..com",
      "...",
      ".",
      "..",
      "1.2",
      "1.2/x",
      "-",
      "-.",
      "a-.b",
      "a.b-",
      "127.0.0.1/x",
      "localhost/x",
      "localhost",
      "example.com/v2/v3",
      "example.com/m/v2/sub",
      "example.com/m/v1.2.3",
      "example.com/m/v1/sub",
      "example.com/m@v1.0.0",
      "example.com/m/@v/list",
      "example.com/!m",
      "example.com/m!",
      "example.com/~",
      "example.com/-",
      "example.com/_",
      "example.com/.-",
      "example.com/-.",
      "example.com/0",
      "example.com/v0",
      "example.com/v1",
      "example.com/v2",
      "example.com/v2.",
      "example.com/v2.0.0",
  };
  return v;
}

std::vector<std::string> hand_versions() {
  std::vector<std::string> v = {
      "",
      "v",
      "V1",
      "1.0.0",
      "v1",
      "v1.",
      "v1.2",
      "v1.2.",
      "v1.2.3",
      "v1.2.3.",
      "v1.2.3.4",
      "v0",
      "v0.0",
      "v0.0.0",
      "v00",
      "v01",
      "v1.02",
      "v1.2.03",
      "v10.20.30",
      "v1-pre",
      "v1.2-pre",
      "v1+meta",
      "v1.2+meta",
      "v1.2.3-",
      "v1.2.3+",
      "v1.2.3-+",
      "v1.2.3-pre",
      "v1.2.3-pre.",
      "v1.2.3-.pre",
      "v1.2.3-pre..x",
      "v1.2.3-0",
      "v1.2.3-00",
      "v1.2.3-01",
      "v1.2.3-0a",
      "v1.2.3-a0",
      "v1.2.3-pre.01",
      "v1.2.3-pre.10",
      "v1.2.3--",
      "v1.2.3---x",
      "v1.2.3-RC1",
      "v1.0.0-!r!c1",
      "v1.0.0-rc1",
      "v1.2.3-a_b",
      "v1.2.3-a b",
      "v1.2.3+meta",
      "v1.2.3+01",
      "v1.2.3+a..b",
      "v1.2.3+a+b",
      "v1.2.3+.",
      "v1.2.3-pre+meta",
      "v1.2.3-pre+",
      "v2.0.0+incompatible",
      "v2.0.0+INCOMPATIBLE",
      "v2.0.0+incompatible.1",
      "v2.0.0-rc.1+incompatible",
      "v1.0.0+incompatible",
      "v0.1.0+incompatible",
      "v2+incompatible",
      "v2.0+incompatible",
      "v2.0.0+incompatible+incompatible",
      "v99999999999999999999.0.0",
      "v1.99999999999999999999.0",
      "v1.2.3 ",
      " v1.2.3",
      "v1.2.3\n",
      "v1.2.3\0"s,
      "v1.2.3\xc3\xa9",
      "v1.2.3-\xff",
      // Pseudo-versions, all three forms and near misses.
      "v0.0.0-20191109021931-daa7c04131f5",
      "v0.0.0-20191109021931-DAA7C04131F5",
      "v0.0.0-20191109021931-x",
      "v0.0.0-20191109021931-",
      "v0.0.0-20191109021931",
      "v0.0.0-2019110902193-daa7c04131f5",
      "v0.0.0-201911090219311-daa7c04131f5",
      "v0.0.0-20191109021931-daa7c04131f5+incompatible",
      "v0.0.0-20191109021931-daa7c04131f5+a.b",
      "v0.0.0-20191109021931-daa7c041.31f5",
      "v0.0.0-20191109021931-daa7c04131f5-x",
      "v2.0.0-20191109021931-daa7c04131f5",
      "v2.0.0-20191109021931-daa7c04131f5+incompatible",
      "v1.0.0-20191109021931-daa7c04131f5",
      "v0.1.0-20191109021931-daa7c04131f5",
      "v0.0.1-20191109021931-daa7c04131f5",
      "v1.2.4-0.20191109021931-daa7c04131f5",
      "v1.2.4-1.20191109021931-daa7c04131f5",
      "v1.2.4-00.20191109021931-daa7c04131f5",
      "v1.2.4-0.0.20191109021931-daa7c04131f5",
      "v1.2.4-0.2019110902193-daa7c04131f5",
      "v1.2.3-pre.0.20191109021931-daa7c04131f5",
      "v1.2.3-pre0.20191109021931-daa7c04131f5",
      "v1.2.3-pre.1.20191109021931-daa7c04131f5",
      "v1.2.3-a.b.c.0.20191109021931-x",
      "v1.2.3-pre-0.20191109021931-daa7c04131f5",
      "v1.2.3-0.0.20191109021931-x",
      "v1.2.3-x.0.20191109021931-y+incompatible",
      "v1.2-0.20191109021931-daa7c04131f5",
      "v0.0.0-00000000000000-000000000000",
      "v0.0.0-99999999999999-zzzzzzzzzzzz",
      "v1.0.0-0.00000000000000-0",
      "v0.0.0-2019!1109021931-x",
      "v0.0.0-20191109021931-!d!a",
      // Queries and file-name edge cases.
      "master",
      "main",
      "Main",
      "!main",
      "HEAD",
      "abc123",
      "latest",
      "upgrade",
      "patch",
      "v1.2.x",
      "release-1.0",
      "feature/x",
      "a b",
      "a#b",
      "a$b",
      "a%b",
      "a&b",
      "a(b)",
      "a,b",
      "a=b",
      "a@b",
      "a[b]",
      "a^b",
      "a{b}",
      "a~b",
      "a~1",
      "a!b",
      "a:b",
      "a;b",
      "a?b",
      "a*b",
      "a|b",
      "a'b",
      "a\"b",
      "a<b",
      "a>b",
      "a`b",
      ".hidden",
      "-x",
      "--upload-pack=x",
      "x.",
      "...",
      ".",
      "..",
      "a..b",
      "CON",
      "con",
      "Con.v1",
      "aux.1",
      "nul",
      "COM1",
      "lpt9",
      "COM0",
      "LPT10",
      "prn.",
      "\xc3\xa9",
      "caf\xc3\xa9",
      "\xff",
  };
  return v;
}

std::string long_run(std::string_view unit, std::size_t bytes) {
  std::string s;
  while (s.size() < bytes) s += unit;
  s.resize(bytes);
  return s;
}

std::vector<std::string> long_inputs() {
  std::vector<std::string> v;
  for (std::size_t n : {254u, 255u, 256u, 300u, 1000u}) {
    v.push_back("example.com/" + std::string(n, 'a'));
    v.push_back("example.com/" + std::string(n, 'A'));
    v.push_back("example.com/" + long_run("!a", n));
    v.push_back(std::string(n, 'x') + ".com/m");
    v.push_back("v1.2.3-" + std::string(n, 'a'));
    v.push_back("v1.2.3-" + long_run("a.", n) + "b");
    v.push_back("v0.0.0-20191109021931-" + std::string(n, 'f'));
    v.push_back("gopkg.in/" + std::string(n, 'y') + ".v2");
  }
  for (std::size_t n : {500u, 511u, 512u, 513u, 600u, 5000u}) {
    v.push_back(long_run("example.com/abcdefghij", n));
    v.push_back(long_run("example.com/ABCDEFGHIJ", n));
    v.push_back("example.com/" + long_run("a/", n - 13) + "b");
    v.push_back(long_run("example.com/m/v2", n) + "/v3");
    v.push_back("v" + std::string(n, '1') + ".0.0");
  }
  return v;
}

// Strings drawn from an alphabet that stresses every rule.
std::string random_string(Rng& rng) {
  static constexpr std::string_view k_alphabet =
      "abcdefvxyzABCDEVXYZ0123456789......----___~~~!!!///++@@ ";
  static constexpr std::string_view k_odd[] = {"\xc3\xa9", "\xff", "\x80", "\t",
                                               std::string_view("\0", 1)};
  std::size_t n = rng.below(25);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (rng.below(40) == 0) {
      s += k_odd[rng.below(std::size(k_odd))];
    } else {
      s += k_alphabet[rng.below(k_alphabet.size())];
    }
  }
  return s;
}

std::string random_path(Rng& rng) {
  static const std::vector<std::string> k_first = {
      "github.com", "example.com", "gopkg.in", "golang.org", "a.b",  "x",
      "Ex.com",     "ex_a.com",    "-a.com",   "1.2",        "a.b.", ".a.b",
      "con.com",    "a~1.com",     "",         "!a.com"};
  static const std::vector<std::string> k_elem = {"x",
                                                  "mod",
                                                  "v0",
                                                  "v1",
                                                  "v2",
                                                  "v3",
                                                  "v02",
                                                  "v10",
                                                  "v2.0",
                                                  "vX",
                                                  "yaml.v2",
                                                  "yaml.v0",
                                                  "yaml.v1",
                                                  "yaml.v01",
                                                  "check.v1-unstable",
                                                  "x.v2-unstable",
                                                  "CON",
                                                  "aux.txt",
                                                  "x~1",
                                                  "x~y",
                                                  "!azure",
                                                  "!!",
                                                  "!",
                                                  "Azure",
                                                  ".hidden",
                                                  "a..b",
                                                  "-",
                                                  "",
                                                  ".",
                                                  "..",
                                                  "a b",
                                                  "a+b",
                                                  "a_b",
                                                  "a@b",
                                                  "x.",
                                                  "~",
                                                  "~1",
                                                  "com1",
                                                  "lpt1.x",
                                                  "COM10",
                                                  "caf\xc3\xa9",
                                                  "a-b",
                                                  "A-B"};
  std::string s = rng.pick(k_first);
  std::size_t n = rng.below(4);
  for (std::size_t i = 0; i < n; ++i) s += "/" + rng.pick(k_elem);
  return s;
}

std::string random_version(Rng& rng) {
  static const std::vector<std::string> k_num = {"0",  "1",  "2",  "3", "9",
                                                 "10", "01", "00", "",  "99999999999999999999"};
  static const std::vector<std::string> k_ident = {"0",
                                                   "00",
                                                   "01",
                                                   "1",
                                                   "9",
                                                   "10",
                                                   "a",
                                                   "A",
                                                   "rc",
                                                   "RC",
                                                   "0a",
                                                   "-",
                                                   "x-y",
                                                   "alpha",
                                                   "20191109021931",
                                                   "2019110902193",
                                                   "daa7c04131f5",
                                                   "incompatible",
                                                   "",
                                                   "!r",
                                                   "a_b"};
  if (rng.below(6) == 0) {
    // A pseudo-version shape with random parts.
    static const std::vector<std::string> k_stamp = {"20191109021931", "2019110902193",
                                                     "201911090219311", "00000000000000"};
    static const std::vector<std::string> k_base = {
        "v0.0.0-",   "v1.2.4-0.",    "v1.2.3-pre.0.", "v2.0.0-",   "v1.0.0-",
        "v0.0.0-0.", "v1.2.3-pre0.", "v1.2.3-a.b.0.", "v1.2.4-1.", "v3.0.0-"};
    static const std::vector<std::string> k_rev = {"daa7c04131f5", "x",   "",  "DAA",
                                                   "a-b",          "a.b", "!d"};
    static const std::vector<std::string> k_build = {"", "", "+incompatible", "+a.b", "+", "+x+y"};
    return rng.pick(k_base) + rng.pick(k_stamp) + "-" + rng.pick(k_rev) + rng.pick(k_build);
  }
  std::string s = rng.below(20) == 0 ? "V" : "v";
  s += rng.pick(k_num);
  std::size_t parts = rng.below(3);
  for (std::size_t i = 0; i < parts; ++i) s += "." + rng.pick(k_num);
  if (rng.below(2) == 0) {
    s += "-" + rng.pick(k_ident);
    for (std::size_t i = rng.below(3); i > 0; --i) s += "." + rng.pick(k_ident);
  }
  if (rng.below(3) == 0) {
    s += "+" + rng.pick(k_ident);
    for (std::size_t i = rng.below(2); i > 0; --i) s += "." + rng.pick(k_ident);
  }
  return s;
}

// One to three random edits: insert, delete, replace, flip case, or double a character.
std::string mutate(Rng& rng, std::string s) {
  static constexpr std::string_view k_alphabet = "aZ09.-_~!/+@ v";
  for (std::size_t edits = 1 + rng.below(3); edits > 0; --edits) {
    std::size_t at = s.empty() ? 0 : rng.below(s.size() + 1);
    char c = k_alphabet[rng.below(k_alphabet.size())];
    switch (rng.below(5)) {
      case 0:
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c);
        break;
      case 1:
        if (at < s.size()) s.erase(at, 1);
        break;
      case 2:
        if (at < s.size()) s[at] = c;
        break;
      case 3:
        if (at < s.size() && std::isalpha(static_cast<unsigned char>(s[at]))) {
          s[at] = static_cast<char>(s[at] ^ 0x20);
        }
        break;
      default:
        if (at < s.size()) s.insert(at, 1, s[at]);
        break;
    }
  }
  return s;
}

struct Corpus {
  std::vector<std::string> paths;     // path-shaped inputs
  std::vector<std::string> versions;  // version-shaped inputs
  std::vector<std::string> all;       // both, deduplicated
};

Corpus make_corpus() {
  Rng rng(0x5704'a0d0'1e5e'ed01ULL);
  Corpus c;
  c.paths = hand_paths();
  c.versions = hand_versions();
  for (auto& s : long_inputs()) (s.starts_with('v') ? c.versions : c.paths).push_back(s);

  const std::vector<std::string> path_seeds = c.paths;
  const std::vector<std::string> version_seeds = c.versions;
  for (int i = 0; i < 1500; ++i) c.paths.push_back(random_path(rng));
  for (int i = 0; i < 1500; ++i) c.versions.push_back(random_version(rng));
  for (int i = 0; i < 1500; ++i) {
    c.paths.push_back(mutate(rng, rng.pick(path_seeds)));
    c.versions.push_back(mutate(rng, rng.pick(version_seeds)));
  }
  for (int i = 0; i < 4000; ++i) (i % 2 ? c.paths : c.versions).push_back(random_string(rng));

  std::set<std::string> seen;
  for (const auto* list : {&c.paths, &c.versions}) {
    for (const auto& s : *list) {
      if (seen.insert(s).second) c.all.push_back(s);
    }
  }
  return c;
}

// ---- Comparison ---------------------------------------------------------------------------

bool within_limits(std::string_view path) {
  if (path.size() > k_max_path_bytes) return false;
  for (std::size_t start = 0;;) {
    std::size_t slash = path.find('/', start);
    std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end - start > k_max_element_bytes) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_err(std::string_view answer) { return answer == "err" || answer.starts_with("err: "); }

std::string verdict(const std::optional<std::string>& reason) { return reason ? "err" : "ok"; }
std::string value(const std::optional<std::string>& v) { return v ? *v : "err"; }

// The oracle's answer reduced to what the C++ side can produce: "err" for any error.
std::string normalize(const std::string& answer) { return is_err(answer) ? "err" : answer; }

struct Check {
  std::string op;
  // What stoa answers, in the oracle's terms.
  std::function<std::string(const std::string&)> stoa;
  // What stoa must answer given the input and x/mod's (normalized) answer.
  std::function<std::string(const std::string&, const std::string&)> expect =
      [](const std::string&, const std::string& oracle) { return oracle; };
};

struct Outcome {
  std::size_t compared = 0;
  std::size_t mismatches = 0;
  // Kinds of expected answers seen ("ok", "err", "true", "false", or "value"): shows that the
  // inputs reach both sides of each rule.
  std::set<std::string> distinct;
};

Outcome compare_all(const Check& check, const std::vector<std::string>& inputs) {
  std::vector<Query> queries;
  for (const auto& s : inputs) queries.push_back({check.op, s, std::nullopt});
  auto answers = run_oracle(queries);
  Outcome out;
  if (answers.empty()) return out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::string want = check.expect(inputs[i], normalize(answers[i]));
    std::string got = check.stoa(inputs[i]);
    ++out.compared;
    bool verdict_like = want == "err" || want == "ok" || want == "true" || want == "false";
    out.distinct.insert(verdict_like ? want : "value");
    if (got != want && ++out.mismatches <= 40) {
      ADD_FAILURE() << check.op << "(" << shown(inputs[i]) << "): stoa " << shown(got) << ", x/mod "
                    << shown(answers[i]) << ", expected " << shown(want);
    }
  }
  return out;
}

class Differential : public ::testing::Test {
 protected:
  Corpus m_corpus = make_corpus();
};

TEST_F(Differential, CorpusIsLarge) {
  EXPECT_GT(m_corpus.all.size(), 8000u);
  EXPECT_GT(m_corpus.paths.size(), 4000u);
  EXPECT_GT(m_corpus.versions.size(), 4000u);
}

TEST_F(Differential, CheckPath) {
  Check check{"checkpath", [](const std::string& s) { return verdict(check_path(s)); },
              [](const std::string& s, const std::string& oracle) {
                return oracle == "ok" && !within_limits(s) ? "err" : oracle;
              }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"ok", "err"}));
}

TEST_F(Differential, CheckImportPath) {
  Check check{"checkimportpath",
              [](const std::string& s) { return verdict(check_import_path(s)); }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"ok", "err"}));
}

TEST_F(Differential, EscapePath) {
  Check check{"escapepath", [](const std::string& s) { return value(escape_path(s)); },
              [](const std::string& s, const std::string& oracle) {
                return oracle != "err" && !within_limits(s) ? "err" : oracle;
              }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, UnescapePath) {
  Check check{"unescapepath", [](const std::string& s) { return value(unescape_path(s)); },
              [](const std::string&, const std::string& oracle) {
                return oracle != "err" && !within_limits(oracle) ? "err" : oracle;
              }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, EscapeVersion) {
  Check check{"escapeversion", [](const std::string& s) { return value(escape_version(s)); }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, UnescapeVersion) {
  Check check{"unescapeversion", [](const std::string& s) { return value(unescape_version(s)); }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, SplitPathVersion) {
  Check check{"splitpathversion", [](const std::string& s) {
                auto split = split_path_version(s);
                return split ? split->prefix + '\0' + split->major : "err"s;
              }};
  auto out = compare_all(check, m_corpus.all);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, SemverPredicates) {
  auto b = [](bool x) { return x ? "true"s : "false"s; };
  for (const Check& check : {
           Check{"semvervalid", [&](const std::string& s) { return b(semver::is_valid(s)); }},
           Check{"ispseudo", [&](const std::string& s) { return b(semver::is_pseudo(s)); }},
       }) {
    auto out = compare_all(check, m_corpus.all);
    EXPECT_EQ(out.mismatches, 0u) << check.op;
    EXPECT_EQ(out.distinct, (std::set<std::string>{"true", "false"})) << check.op;
  }
}

TEST_F(Differential, SemverParts) {
  for (const Check& check : {
           // stoa's canonical() is module.CanonicalVersion: it keeps "+incompatible".
           Check{"canonicalversion", [](const std::string& s) { return semver::canonical(s); }},
           Check{"canonical",
                 [](const std::string& s) {
                   std::string c = semver::canonical(s);
                   if (semver::build(s) == "+incompatible") {
                     c.resize(c.size() - std::string_view("+incompatible").size());
                   }
                   return c;
                 }},
           Check{"major", [](const std::string& s) { return semver::major(s); }},
           Check{"prerelease", [](const std::string& s) { return semver::prerelease(s); }},
           Check{"build", [](const std::string& s) { return semver::build(s); }},
       }) {
    auto out = compare_all(check, m_corpus.all);
    EXPECT_EQ(out.mismatches, 0u) << check.op;
    EXPECT_GE(out.distinct.size(), 1u) << check.op;
  }
}

// Two-argument operations, over pairs.
struct PairOutcome {
  std::size_t mismatches = 0;
  std::set<std::string> distinct;
};

PairOutcome compare_pairs(
    const std::string& op, const std::vector<std::pair<std::string, std::string>>& pairs,
    const std::function<std::string(const std::string&, const std::string&)>& stoa) {
  std::vector<Query> queries;
  for (const auto& [a, b] : pairs) queries.push_back({op, a, b});
  auto answers = run_oracle(queries);
  PairOutcome out;
  if (answers.empty()) return out;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& [a, b] = pairs[i];
    std::string want = normalize(answers[i]);
    std::string got = stoa(a, b);
    out.distinct.insert(want);
    if (got != want && ++out.mismatches <= 40) {
      ADD_FAILURE() << op << "(" << shown(a) << ", " << shown(b) << "): stoa " << shown(got)
                    << ", x/mod " << shown(answers[i]);
    }
  }
  return out;
}

TEST_F(Differential, CheckPathMajor) {
  std::vector<std::string> majors = {"",    "/v2", "/v3",          "/v10",         ".v0",
                                     ".v1", ".v2", ".v3",          "/v1",          "/v0",
                                     "v2",  "2",   ".v1-unstable", ".v2-unstable", "/v2-unstable",
                                     ".",   "/",   "/vx",          ".v",           "/V2"};
  // Majors as split_path_version finds them in the path corpus too.
  for (const auto& p : m_corpus.paths) {
    if (auto split = split_path_version(p)) majors.push_back(split->major);
  }
  std::sort(majors.begin(), majors.end());
  majors.erase(std::unique(majors.begin(), majors.end()), majors.end());

  Rng rng(42);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& v : m_corpus.versions) {
    for (int k = 0; k < 4; ++k) pairs.emplace_back(v, rng.pick(majors));
  }
  for (const auto& m : majors) {
    for (const auto& v : hand_versions()) pairs.emplace_back(v, m);
  }
  auto out = compare_pairs("checkpathmajor", pairs, [](const std::string& v, const std::string& m) {
    return verdict(check_path_major(v, m));
  });
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"ok", "err"}));
}

TEST_F(Differential, Compare) {
  // Every pair of valid-looking hand versions, plus random pairs of everything.
  std::vector<std::string> hand = hand_versions();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& a : hand) {
    for (const auto& b : hand) pairs.emplace_back(a, b);
  }
  Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    pairs.emplace_back(rng.pick(m_corpus.versions), rng.pick(m_corpus.versions));
  }
  auto out = compare_pairs("compare", pairs, [](const std::string& a, const std::string& b) {
    return std::to_string(semver::compare(a, b));
  });
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"-1", "0", "1"}));
}

// parse_request on exactly what the go command sends (x/mod's escaping plus url.PathEscape per
// segment, built by the oracle): the module and version must come back unchanged, the key must
// be the escaped form, and the verdict must follow the rules in request.hpp.
TEST_F(Differential, ParseRequestOnGoCommandPaths) {
  std::vector<std::string> modules;
  for (const auto& p : m_corpus.paths) {
    if (!check_path(p)) modules.push_back(p);
  }
  std::vector<std::string> versions;
  for (const auto& v : m_corpus.all) {
    if (escape_version(v)) versions.push_back(v);
  }
  ASSERT_GT(modules.size(), 500u);
  ASSERT_GT(versions.size(), 1000u);

  Rng rng(99);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& v : versions) pairs.emplace_back(rng.pick(modules), v);
  for (const auto& m : modules) pairs.emplace_back(m, rng.pick(versions));
  std::vector<Query> queries;
  for (const auto& [m, v] : pairs) queries.push_back({"proxypath", m, v});
  auto answers = run_oracle(queries);
  ASSERT_EQ(answers.size(), pairs.size());

  // The .info query rule of request.hpp, restated.
  auto is_query = [](const std::string& v) {
    return !v.empty() && v.size() <= 128 && v[0] != '-' && v[0] != '.' &&
           v.find("..") == std::string::npos &&
           v.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~-") ==
               std::string::npos;
  };

  std::size_t mismatches = 0;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& [m, v] = pairs[i];
    ASSERT_FALSE(is_err(answers[i])) << shown(m) << " " << shown(v) << ": " << answers[i];
    const std::string at_v = answers[i];
    const std::string base = at_v.substr(0, at_v.rfind("/@v/"));
    std::string escaped_module = *escape_path(m);
    std::string escaped_version = *escape_version(v);
    bool major_ok = !check_path_major(v, split_path_version(m)->major);
    bool canonical = semver::is_canonical(v);

    struct Want {
      std::string target;
      int status;  // 0: accepted
      std::string key;
    };
    int versioned = canonical ? (major_ok ? 0 : 404) : 400;
    int info = canonical ? versioned : (is_query(v) ? 0 : 400);
    const Want wants[] = {
        {base + "/@v/list", 0, escaped_module + "/@v/list"},
        {base + "/@latest", 0, escaped_module + "/@latest"},
        {at_v + ".info", info, escaped_module + "/@v/" + escaped_version + ".info"},
        {at_v + ".mod", versioned, escaped_module + "/@v/" + escaped_version + ".mod"},
        {at_v + ".zip", versioned, escaped_module + "/@v/" + escaped_version + ".zip"},
    };
    for (const auto& w : wants) {
      if (w.target.size() > 4096) continue;  // stoa's own limit, tested in request_test.cpp
      auto result = parse_request(w.target);
      const auto* r = std::get_if<Request>(&result);
      const auto* bad = std::get_if<BadRequest>(&result);
      int status = r != nullptr ? 0 : bad->status;
      seen.insert(std::to_string(status));
      bool ok = status == w.status;
      if (ok && r != nullptr) {
        bool versioned_kind = r->kind == Kind::info || r->kind == Kind::mod || r->kind == Kind::zip;
        ok = r->module == m && r->escaped_module == escaped_module && key_of(*r) == w.key &&
             (!versioned_kind || (r->version == v && r->canonical == canonical));
      }
      if (!ok && ++mismatches <= 40) {
        ADD_FAILURE() << shown(w.target) << " (module " << shown(m) << ", version " << shown(v)
                      << "): status " << status << ", want " << w.status
                      << (bad != nullptr ? ": " + bad->message : "");
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(seen, (std::set<std::string>{"0", "400", "404"}));
}

// ---- Glob matching (patterns.hpp) against path.Match and module.MatchPrefixPatterns --------

// One piece of a random pattern or name; one time in `odds`, a fragment of a multi-byte rune or
// a byte that starts none. Go decodes each such byte as a one-byte U+FFFD, and a star skips bytes,
// so a fragment in a pattern can match half of a whole rune in the name.
std::string glob_piece(Rng& rng, const std::vector<std::string>& pieces, std::size_t odds) {
  static const std::vector<std::string> k_broken = {"\xc3", "\xa9", "\xe4", "\xb8\x96", "\xff"};
  return rng.below(odds) == 0 ? rng.pick(k_broken) : rng.pick(pieces);
}

// Every syntax character, letters of both cases, two multi-byte runes ("é", "世"), and a few
// whole classes so that well-formed classes are common enough to be matched against.
const std::vector<std::string> k_pattern_pieces = {"a",
                                                   "a",
                                                   "b",
                                                   "b",
                                                   "A",
                                                   "/",
                                                   "/",
                                                   "*",
                                                   "*",
                                                   "?",
                                                   "[",
                                                   "]",
                                                   "^",
                                                   "-",
                                                   "\\",
                                                   ",",
                                                   ".",
                                                   "\xc3\xa9",
                                                   "\xe4\xb8\x96",
                                                   "[ab]",
                                                   "[^a]",
                                                   "[a-b]",
                                                   "[\\-]",
                                                   "[^/]",
                                                   "[A-a]",
                                                   "[\xc3\xa9-\xe4\xb8\x96]",
                                                   "[\\]]",
                                                   "\\*",
                                                   "\\[",
                                                   "\\\\"};
const std::vector<std::string> k_name_pieces = {"a", "a", "b", "b",  "A",        "B",
                                                "/", ".", "-", "*",  "?",        "[",
                                                "]", "^", ",", "\\", "\xc3\xa9", "\xe4\xb8\x96"};

std::string random_glob(Rng& rng) {
  std::string s;
  for (std::size_t n = rng.below(9); n > 0; --n) s += glob_piece(rng, k_pattern_pieces, 10);
  return s;
}

std::string random_name(Rng& rng) {
  std::string s;
  for (std::size_t n = rng.below(7); n > 0; --n) s += glob_piece(rng, k_name_pieces, 40);
  return s;
}

// A name the pattern is likely to match: stars and '?' filled in, escapes and classes replaced
// by a plausible character; then, a third of the time, one piece changed.
std::string instantiate(Rng& rng, std::string_view pattern) {
  std::string s;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    switch (pattern[i]) {
      // Fragments are common here: a lead byte before a pattern's continuation byte makes a
      // whole rune in the name, which a star must split and '?' must not.
      case '*':
        for (std::size_t n = rng.below(4); n > 0; --n) s += glob_piece(rng, k_name_pieces, 5);
        break;
      case '?':
        s += glob_piece(rng, k_name_pieces, 5);
        break;
      case '\\':
        if (i + 1 < pattern.size()) s += pattern[++i];
        break;
      case '[': {
        std::size_t close = pattern.find(']', i + 2);
        if (close == std::string_view::npos) {
          s += '[';
          break;
        }
        std::size_t first = i + 1 < pattern.size() && pattern[i + 1] == '^' ? i + 2 : i + 1;
        s +=
            rng.below(2) == 0 ? std::string(1, pattern[first]) : glob_piece(rng, k_name_pieces, 40);
        i = close;
        break;
      }
      default:
        s += pattern[i];
    }
  }
  if (rng.below(3) == 0 && !s.empty()) {
    std::size_t at = rng.below(s.size());
    switch (rng.below(3)) {
      case 0:
        s.insert(at, glob_piece(rng, k_name_pieces, 40));
        break;
      case 1:
        s.erase(at, 1);
        break;
      default:
        s.replace(at, 1, glob_piece(rng, k_name_pieces, 40));
    }
  }
  return s;
}

// A pattern cut from `name`: one or two byte ranges, often inside a rune, replaced by '*' or '?'.
std::string cut_pattern(Rng& rng, std::string name) {
  for (std::size_t n = 1 + rng.below(2); n > 0; --n) {
    std::size_t at = rng.below(name.size() + 1);
    std::size_t len = rng.below(std::min<std::size_t>(name.size() - at, 4) + 1);
    name.replace(at, len, rng.below(3) == 0 ? "?" : "*");
  }
  return name;
}

TEST_F(Differential, MatchGlob) {
  Rng rng(0x910b);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 12000; ++i) {
    std::string pattern = random_glob(rng);
    pairs.emplace_back(pattern, rng.below(4) == 0 ? random_name(rng) : instantiate(rng, pattern));
  }
  for (int i = 0; i < 4000; ++i) {
    std::string name = random_name(rng);
    pairs.emplace_back(cut_pattern(rng, name), rng.below(4) == 0 ? random_name(rng) : name);
  }
  std::size_t counts[3] = {};  // true, false, err
  auto out = compare_pairs("match", pairs, [&](const std::string& p, const std::string& n) {
    auto m = match_glob(p, n);
    ++counts[!m ? 2 : (*m ? 0 : 1)];
    return !m ? "err"s : (*m ? "true"s : "false"s);
  });
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"true", "false", "err"}));
  // Each outcome is common, so every rule is exercised on both sides.
  for (std::size_t c : counts) {
    EXPECT_GT(c, pairs.size() / 20) << counts[0] << " " << counts[1] << " " << counts[2];
  }
}

std::string lower_ascii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// s with the case of about half its ASCII letters flipped.
std::string flip_some_case(Rng& rng, std::string s) {
  for (char& c : s) {
    if (std::isalpha(static_cast<unsigned char>(c)) != 0 && rng.below(2) == 0) {
      c = static_cast<char>(c ^ 0x20);
    }
  }
  return s;
}

struct PrefixOutcome {
  std::size_t mismatches = 0;
  std::size_t matched = 0;      // by x/mod
  std::size_t only_folded = 0;  // matched by the folded form alone
};

// match_prefix_patterns against x/mod, and match_prefix_patterns_folded against x/mod on the
// pair as given or lower-cased.
PrefixOutcome compare_match_prefix(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<Query> queries;
  for (const auto& [g, t] : pairs) queries.push_back({"matchprefix", g, t});
  for (const auto& [g, t] : pairs)
    queries.push_back({"matchprefix", lower_ascii(g), lower_ascii(t)});
  auto answers = run_oracle(queries);
  PrefixOutcome out;
  if (answers.size() != 2 * pairs.size()) {
    ++out.mismatches;
    return out;
  }
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& [g, t] = pairs[i];
    bool want = answers[i] == "true";
    bool want_folded = want || answers[pairs.size() + i] == "true";
    bool got = match_prefix_patterns(g, t);
    bool got_folded = match_prefix_patterns_folded(g, t);
    out.matched += want ? 1 : 0;
    out.only_folded += want_folded && !want ? 1 : 0;
    if ((got != want || got_folded != want_folded) && ++out.mismatches <= 40) {
      ADD_FAILURE() << "matchprefix(" << shown(g) << ", " << shown(t) << "): stoa " << got
                    << " (folded " << got_folded << "), x/mod " << answers[i] << " (lower-cased "
                    << answers[pairs.size() + i] << ")";
    }
  }
  return out;
}

TEST_F(Differential, MatchPrefixPatternsRandom) {
  Rng rng(0x910b'0002);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 8000; ++i) {
    std::vector<std::string> globs;
    for (std::size_t n = 1 + rng.below(3); n > 0; --n) globs.push_back(random_glob(rng));
    std::string joined = globs[0];
    for (std::size_t k = 1; k < globs.size(); ++k) joined += "," + globs[k];
    std::string target = instantiate(rng, rng.pick(globs));
    if (rng.below(2) == 0) target += "/" + random_name(rng);
    if (rng.below(3) == 0) target = flip_some_case(rng, target);
    pairs.emplace_back(joined, target);
  }
  auto out = compare_match_prefix(pairs);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_GT(out.matched, pairs.size() / 5);
  EXPECT_LT(out.matched, pairs.size() * 4 / 5);
  EXPECT_GT(out.only_folded, 50u);
}

// GOPRIVATE-style lists built from real-looking module paths, against those paths, their
// packages, case variants and near misses.
TEST_F(Differential, MatchPrefixPatternsGoprivate) {
  const std::vector<std::string> modules = {
      "github.com/acme/widget",
      "github.com/acme/widget/v2",
      "github.com/Acme/Widget",
      "github.com/acme-inc/billing",
      "gitlab.corp.example.com/platform/api",
      "git.corp.example.com/team/svc/v3",
      "corp.example.com/x",
      "rsc.io/private",
      "rsc.io/private/sub/pkg",
      "rsc.io/quote",
      "golang.org/x/mod",
      "golang.org/x/net/http2",
      "go.internal.acme.io/tools/lint",
      "gopkg.in/yaml.v3",
      "example.com/m",
      "example.com/a/x",
      "example.com/a/b/x",
      "bitbucket.org/acme/billing",
      "dev.azure.com/acme/project/_git/repo",
      "k8s.io/client-go",
      "go.uber.org/zap",
      "example.com/caf\xc3\xa9",
  };
  auto split = [](const std::string& p) {
    std::vector<std::string> elems;
    for (std::size_t start = 0;;) {
      std::size_t slash = p.find('/', start);
      elems.push_back(p.substr(start, slash - start));
      if (slash == std::string::npos) return elems;
      start = slash + 1;
    }
  };
  auto join = [](const std::vector<std::string>& elems) {
    std::string s;
    for (const auto& e : elems) s += (s.empty() ? "" : "/") + e;
    return s;
  };

  Rng rng(0x910b'0003);
  auto make_glob = [&](const std::string& module) {
    auto elems = split(module);
    elems.resize(1 + rng.below(elems.size()));
    std::string& e = elems[rng.below(elems.size())];
    switch (rng.below(11)) {
      case 0:
        break;
      case 1:
        e = "*";
        break;
      case 2:
        if (auto dot = elems[0].find('.'); dot != std::string::npos) {
          elems[0] = "*" + elems[0].substr(dot);
        }
        break;
      case 3:
        e[rng.below(e.size())] = '?';
        break;
      case 4:
        e += "*";
        break;
      case 5:
        e = (rng.below(2) == 0 ? "[a-m]" : "[^g]") + e.substr(1);
        break;
      case 6:
        e = flip_some_case(rng, e);
        break;
      case 7:
        if (auto dot = e.find('.'); dot != std::string::npos) e.replace(dot, 1, "\\.");
        break;
      case 8:
        e += rng.below(2) == 0 ? "[" : "\\";
        break;
      case 9:
        e = "[A-Z]*";
        break;
      default:
        e = e.substr(0, rng.below(e.size() + 1)) + "*";
    }
    std::string glob = join(elems);
    if (rng.below(5) == 0) glob += "/";
    return glob;
  };
  auto make_target = [&](const std::string& module) {
    std::string t = module;
    switch (rng.below(6)) {
      case 0:
        break;
      case 1:
        t += "/internal/x";
        break;
      case 2:
        t = flip_some_case(rng, t);
        break;
      case 3: {
        auto elems = split(t);
        elems.resize(1 + rng.below(elems.size()));
        t = join(elems);
        break;
      }
      case 4:
        t[rng.below(t.size())] = 'q';
        break;
      default:
        t = flip_some_case(rng, t) + "/Sub";
    }
    return t;
  };

  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 6000; ++i) {
    const std::string& base = rng.pick(modules);
    std::string globs;
    for (std::size_t n = 1 + rng.below(3); n > 0; --n) {
      if (!globs.empty() || rng.below(8) == 0) globs += rng.below(8) == 0 ? ",," : ",";
      globs += make_glob(n == 1 ? base : rng.pick(modules));
    }
    if (rng.below(8) == 0) globs += ",";
    pairs.emplace_back(globs, make_target(rng.below(4) == 0 ? rng.pick(modules) : base));
  }
  pairs.emplace_back("*.corp.example.com,rsc.io/private", "git.corp.example.com/team/svc");
  pairs.emplace_back("*.corp.example.com,rsc.io/private", "rsc.io/Private/x");
  auto out = compare_match_prefix(pairs);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_GT(out.matched, pairs.size() / 4);
  EXPECT_LT(out.matched, pairs.size() * 3 / 4);
  EXPECT_GT(out.only_folded, pairs.size() / 50);
}

// ---- @v/list times and latestFromList --------------------------------------------------------

// Date-times around the edges Go's RFC 3339 parser draws: calendar limits, fractions of every
// length, offsets, and the looser spellings only Go's slow path takes.
std::vector<std::string> time_inputs() {
  std::vector<std::string> v = {"2020-01-01T00:00:00Z",
                                "2019-12-31T23:59:59.123456789Z",
                                "2020-02-29T12:00:00+01:00",
                                "2021-02-29T00:00:00Z",
                                "2000-02-29T00:00:00-23:59",
                                "1900-02-29T00:00:00Z",
                                "0000-01-01T00:00:00Z",
                                "0001-01-01T00:00:00Z",
                                "0001-01-01T00:00:00+00:01",
                                "0001-01-01T00:00:01Z",
                                "9999-12-31T23:59:59Z",
                                "1969-12-31T23:59:59.5Z",
                                "2020-01-01T00:00:00.1234567890Z",
                                "2020-01-01T00:00:00.Z",
                                "2020-01-01T00:00:00,5Z",
                                "2020-01-01T00:00:00+24:00",
                                "2020-01-01T00:00:00+23:60",
                                "2020-01-01T00:00:00+25:00",
                                "2020-01-01t00:00:00z",
                                "2020-01-01T00:00:00z",
                                "2020-01-01 00:00:00Z",
                                "2020-01-01",
                                "2020-01-01T1:00:00Z",
                                "2020-01-01T00:00:00",
                                "2020-01-01T00:00:00+0100",
                                "2020-13-01T00:00:00Z",
                                "2020-00-01T00:00:00Z",
                                "2020-04-31T00:00:00Z",
                                "2020-01-01T24:00:00Z",
                                "2020-01-01T00:60:00Z",
                                "2020-01-01T00:00:60Z",
                                "+020-01-01T00:00:00Z",
                                "2020-01-01T00:00:00Zjunk",
                                "2020-01-01T00:00:00.5+05:30",
                                "2020-01-01T00:00:00.000000000001-00:00",
                                "",
                                "yesterday"};
  Rng rng(20261207);
  static const std::vector<std::string> years = {"0000", "0001", "1970", "2000", "2100", "9999"};
  static const std::vector<std::string> zones = {"Z",      "+00:00", "-00:00", "+14:00", "-12:30",
                                                 "+23:59", "+24:00", "z",      "+1:00",  "+01:0"};
  static const std::vector<std::string> fracs = {"",  ".0", ".5", ".999999999", ".1234567891",
                                                 ".", ",5", ".x"};
  for (int i = 0; i < 600; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s-%02zu-%02zuT%02zu:%02zu:%02zu", rng.pick(years).c_str(),
                  rng.below(14), rng.below(33), rng.below(25), rng.below(61), rng.below(61));
    v.push_back(std::string(buf) + rng.pick(fracs) + rng.pick(zones));
  }
  return v;
}

std::string instant_text(const std::optional<Instant>& t, bool nanos) {
  if (!t) return "err";
  return std::to_string(t->seconds) + (nanos ? " " + std::to_string(t->nanos) : "");
}

TEST_F(Differential, Rfc3339) {
  Check check{"rfc3339", [](const std::string& s) { return instant_text(parse_rfc3339(s), true); }};
  auto out = compare_all(check, time_inputs());
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

TEST_F(Differential, PseudoVersionTime) {
  std::vector<std::string> inputs = m_corpus.versions;
  for (const char* stamp : {"20200101000000", "20201301000000", "20210229000000", "20200229235959",
                            "20200101240000", "20200101006000", "20200101000060", "00000101000000",
                            "99991231235959", "20200431000000", "20200100000000"}) {
    inputs.push_back(std::string("v0.0.0-") + stamp + "-abcdefabcdef");
    inputs.push_back(std::string("v1.2.4-0.") + stamp + "-abcdefabcdef+incompatible");
    inputs.push_back(std::string("v1.2.3-pre.0.") + stamp + "-0123456789ab");
  }
  Check check{"pseudotime",
              [](const std::string& s) { return instant_text(pseudo_version_time(s), false); }};
  auto out = compare_all(check, inputs);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

// Lists built from lines a hostile or careless upstream could send: pseudo-versions, tags,
// times good and bad, equal times, exotic white space, carriage returns, non-canonical versions.
TEST_F(Differential, LatestFromList) {
  static const std::vector<std::string> versions = {"v0.0.0-20200101000000-abcdefabcdef",
                                                    "v0.0.0-20240102030405-0123456789ab",
                                                    "v1.2.4-0.20230101000000-abcdefabcdef",
                                                    "v1.2.3-pre.0.20220101000000-abcdefabcdef",
                                                    "v0.0.0-20201301000000-abcdefabcdef",
                                                    "v1.0.0",
                                                    "v1.2",
                                                    "v2.0.0+incompatible",
                                                    "v1.3.0-rc.1",
                                                    "1.0.0",
                                                    "v1.0.0-20240102030405-abcdefabcdef+meta",
                                                    "",
                                                    "garbage"};
  static const std::vector<std::string> times = {"",
                                                 "",
                                                 "2020-01-01T00:00:00Z",
                                                 "2024-01-02T03:04:05Z",
                                                 "2024-01-02T03:04:05.5+01:00",
                                                 "2024-01-02T02:04:05.5Z",
                                                 "0001-01-01T00:00:00Z",
                                                 "0001-01-01T00:00:01Z",
                                                 "yesterday",
                                                 "2020-01-01T00:00:00,5Z",
                                                 "2023-13-01T00:00:00Z"};
  static const std::vector<std::string> seps = {
      " ", "\t", "  ", "\xc2\xa0", "\xe2\x80\x80", "\xe3\x80\x80", "\xe2\x80\x8b", "\r", "\v"};
  static const std::vector<std::string> ends = {"", "", "\r", " extra", "\xc2\xa0"};
  Rng rng(76485);
  std::vector<std::string> inputs = {"", "\n", "v1.0.0\n", "v1.0.0 2020-01-01T00:00:00Z\n"};
  for (int i = 0; i < 1500; ++i) {
    std::string body;
    const std::size_t lines = rng.below(6);
    for (std::size_t l = 0; l < lines; ++l) {
      body += rng.below(8) == 0 ? rng.pick(seps) : "";
      body += rng.pick(versions);
      const std::string& t = rng.pick(times);
      if (!t.empty()) body += rng.pick(seps) + t;
      body += rng.pick(ends);
      body += '\n';
    }
    inputs.push_back(std::move(body));
  }
  Check check{"latestfromlist",
              [](const std::string& s) { return latest_from_list(s).value_or("err"); }};
  auto out = compare_all(check, inputs);
  EXPECT_EQ(out.mismatches, 0u);
  EXPECT_EQ(out.distinct, (std::set<std::string>{"value", "err"}));
}

// The glob oracle answers what Go documents, so a wrong C++ answer cannot go unnoticed.
TEST_F(Differential, OracleGlobAnswers) {
  auto answers =
      run_oracle({{"match", "[a-", "a"},
                  {"match", "x[", "y"},
                  {"match", "*[^x]*c", "a/c"},
                  {"match", "?", "\xc3\xa9"},
                  {"matchprefix", "*.corp.example.com,rsc.io/private", "rsc.io/private/x"},
                  {"matchprefix", "rsc.io/private", "rsc.io/Private"}});
  EXPECT_EQ(answers, (std::vector<std::string>{"err", "err", "false", "true", "true", "false"}));
}

// The oracle must be able to catch a difference: feed it a deliberately wrong expectation.
TEST_F(Differential, OracleDisagreesWithAWrongAnswer) {
  auto answers = run_oracle({{"checkpath", "Example.com/m", std::nullopt},
                             {"escapepath", "github.com/Azure/x", std::nullopt},
                             {"compare", "v1.0.0", "v1.0.0-rc1"}});
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_TRUE(is_err(answers[0])) << answers[0];
  EXPECT_EQ(answers[1], "github.com/!azure/x");
  EXPECT_EQ(answers[2], "1");
}

}  // namespace
}  // namespace stoa::module
