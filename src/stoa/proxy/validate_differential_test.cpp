// Differential tests: stoa's reading of .info and .mod bodies (info_json.hpp, gomod.hpp) against
// the go command's own code, through the oracle built from tests/oracle/fetchcheck
// (encoding/json into a RevInfo-shaped struct, time.Time.UnmarshalJSON, modfile.ParseLax).
// Thousands of generated bodies, most of them hostile; every verdict and every decoded Version
// and module path must be identical.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "stoa/proxy/gomod.hpp"
#include "stoa/proxy/info_json.hpp"

extern char** environ;

namespace stoa::proxy {
namespace {

using namespace std::string_literals;

std::string hex(std::string_view s) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    out += k_digits[b >> 4];
    out += k_digits[b & 0xf];
  }
  return out;
}

// Escaped for a failure message.
std::string shown(std::string_view s) {
  std::string out;
  for (const char c : s.substr(0, 400)) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7f && c != '\\') {
      out += c;
    } else {
      out += "\\x" + hex(std::string_view(&c, 1));
    }
  }
  return s.size() > 400 ? out + "... (" + std::to_string(s.size()) + " bytes)" : out;
}

struct Query {
  std::string op;  // info, time, mod
  std::string body;
};

// All queries through one oracle process; input and output through files.
std::vector<std::string> run_oracle(const std::vector<Query>& queries) {
  const char* bin_dir = std::getenv("STOA_BINARY_DIR");
  std::string oracle = bin_dir != nullptr ? std::string(bin_dir) + "/oracle/fetchcheck"
                                          : std::string(STOA_FETCHCHECK);
  if (::access(oracle.c_str(), X_OK) != 0) {
    ADD_FAILURE() << "oracle " << oracle << " is missing: build target stoa_fetchcheck_oracle";
    return {};
  }
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string base =
      ::testing::TempDir() + "fetchcheck_" + info->name() + "_" + std::to_string(::getpid());
  const std::string in_path = base + ".in";
  const std::string out_path = base + ".out";
  {
    std::ofstream in(in_path, std::ios::binary);
    for (const auto& q : queries) in << q.op << ' ' << q.body.size() << '\n' << q.body << '\n';
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> argv = {oracle.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, oracle.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    ADD_FAILURE() << "posix_spawn " << oracle << ": error " << rc;
    return {};
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  std::remove(in_path.c_str());
  std::vector<std::string> answers;
  {
    std::ifstream out(out_path, std::ios::binary);
    for (std::string line; std::getline(out, line);) answers.push_back(line);
  }
  std::remove(out_path.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "oracle failed with status " << status;
    return {};
  }
  if (answers.size() != queries.size()) {
    ADD_FAILURE() << "oracle answered " << answers.size() << " of " << queries.size();
    return {};
  }
  return answers;
}

std::string stoa_answer(const Query& q) {
  if (q.op == "info") {
    const auto info = decode_rev_info(q.body);
    return info ? "ok " + hex(info->version) : "err";
  }
  if (q.op == "time") return is_go_json_time(q.body) ? "ok" : "err";
  const auto head = parse_go_mod_lax(q.body);
  if (!head) return "err";
  return head->has_module ? "ok " + hex(head->module_path) : "nomodule";
}

// Runs `queries` through both; returns how many were checked.
std::size_t compare(const std::vector<Query>& queries) {
  const auto go = run_oracle(queries);
  if (go.empty()) return 0;
  std::size_t disagreements = 0;
  std::map<std::string, std::size_t> verdicts;  // both agree: "<op> ok|err|nomodule"
  for (std::size_t i = 0; i < queries.size(); ++i) {
    const std::string ours = stoa_answer(queries[i]);
    ++verdicts[queries[i].op + " " + ours.substr(0, ours.find(' '))];
    if (ours != go[i] && ++disagreements <= 20) {
      ADD_FAILURE() << queries[i].op << " body \"" << shown(queries[i].body) << "\": go says "
                    << go[i] << ", stoa says " << ours;
    }
  }
  EXPECT_EQ(disagreements, 0u);
  for (const auto& [verdict, n] : verdicts) std::printf("  %-14s %zu\n", verdict.c_str(), n);
  return queries.size();
}

// The generators' seed: fixed, or STOA_DIFF_SEED for a longer hunt by hand.
std::uint64_t seed_or(std::uint64_t fixed) {
  const char* s = std::getenv("STOA_DIFF_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 10) : fixed;
}

// SplitMix64: deterministic everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : m_state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }

 private:
  std::uint64_t m_state;
};

// A random edit: delete, insert or replace a byte, or cut the tail.
std::string mutate(Rng& rng, std::string s, const std::vector<std::string>& inserts) {
  const int edits = 1 + static_cast<int>(rng.below(3));
  for (int e = 0; e < edits; ++e) {
    const std::size_t at = rng.below(s.size() + 1);
    switch (rng.below(5)) {
      case 0:
        if (at < s.size()) s.erase(at, 1);
        break;
      case 1:
        s.insert(at, rng.pick(inserts));
        break;
      case 2:
        if (at < s.size()) s[at] = static_cast<char>(rng.below(256));
        break;
      case 3:
        s.resize(at);
        break;
      default:
        s.insert(at, 1, static_cast<char>(rng.below(128)));
        break;
    }
  }
  return s;
}

// ---- .info ------------------------------------------------------------------------------

std::string random_case(Rng& rng, std::string_view name) {
  std::string out;
  for (const char c : name) {
    const bool lower = rng.chance(50);
    const char v = lower && c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    if (v == 's' || v == 'S') {
      if (rng.chance(15)) {
        out += rng.chance(50) ? "\xc5\xbf" : "\\u017f";  // long s, raw or escaped
        continue;
      }
    }
    if ((v == 'k' || v == 'K') && rng.chance(30)) {
      out += "\xe2\x84\xaa";  // Kelvin sign
      continue;
    }
    if (rng.chance(8)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(v));
      out += buf;
      continue;
    }
    out += v;
  }
  if (rng.chance(3)) out += rng.pick(std::vector<std::string>{"\xff", "\\ud800", "x", "\xc3\xa9"});
  return out;
}

std::string random_time(Rng& rng) {
  static const std::vector<std::string> k_good = {
      "2020-01-01T00:00:00Z",      "2019-12-31T23:59:59.123456789Z",
      "2020-02-29T12:00:00+01:00", "2000-02-29T00:00:00-23:59",
      "1900-02-28T00:00:00Z",      "0000-02-29T00:00:00Z",
      "9999-12-31T23:59:59Z",      "2020-01-01T1:00:00Z",
      "2020-01-01T00:00:00,5Z",    "2020-01-01T00:00:00.1234567890123Z",
      "2020-01-01T00:00:00+24:60",
  };
  std::string t = rng.pick(k_good);
  if (rng.chance(60)) {
    static const std::vector<std::string> k_ins = {"0", "1",       "9",        "2", "3", ":",
                                                   "-", "+",       ".",        ",", "Z", "T",
                                                   " ", "\\u0032", "\xc3\xa9", "5"};
    t = mutate(rng, t, k_ins);
  }
  return t;
}

std::string random_json_value(Rng& rng, int depth) {
  switch (rng.below(depth > 3 ? 6 : 8)) {
    case 0:
      return "null";
    case 1:
      return rng.pick(std::vector<std::string>{"true", "false", "0", "-1.5e3", "1E+2", "01", "-",
                                               "1.", ".5", "tru", "nul"});
    case 2:
      return "\"" + random_time(rng) + "\"";
    case 3:
      return "\"" +
             rng.pick(std::vector<std::string>{"v1.0.0", "v9.9.9", "\\u00761.0.0", "v1.0.0\xff",
                                               "v1.0.0\\ud800", "\\ud83d\\ude00", "\\\"", "a\\qb",
                                               "\x01", "\\u12", "git", ""}) +
             "\"";
    case 4:
      return "\"v1.0.0\"";
    case 5:
      return "\"v9.9.9\"";
    case 6: {
      std::string out = "[";
      const std::size_t n = rng.below(3);
      for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + random_json_value(rng, depth + 1);
      return out + "]";
    }
    default: {
      static const std::vector<std::string> k_origin_keys = {
          "VCS", "URL", "Subdir", "Hash", "TagPrefix", "TagSum", "Ref", "RepoSum", "Other"};
      std::string out = "{";
      const std::size_t n = rng.below(4);
      for (std::size_t i = 0; i < n; ++i) {
        out += (i ? "," : "");
        out += "\"" + random_case(rng, rng.pick(k_origin_keys)) +
               "\":" + random_json_value(rng, depth + 1);
      }
      return out + "}";
    }
  }
}

std::string random_info(Rng& rng) {
  static const std::vector<std::string> k_keys = {
      "Version", "Version", "Time", "Time", "Origin", "Name", "Short", "Versions", "Kind", "X"};
  static const std::vector<std::string> k_blank = {"", "", "", "", " ", "\n", "\t", "\r\n"};
  static const std::vector<std::string> k_not_blank = {"\f", "\v", "\xc2\xa0", "\x00"};
  const auto blank = [&] { return rng.chance(2) ? rng.pick(k_not_blank) : rng.pick(k_blank); };
  std::string out = blank() + "{";
  const std::size_t n = rng.below(5);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += "," + blank();
    const std::string& key = i == 0 && rng.chance(70) ? k_keys[0] : rng.pick(k_keys);
    out += "\"" + random_case(rng, key) + "\"" + blank() + ":";
    if (key == "Version" && rng.chance(80)) {
      out += rng.chance(70) ? "\"v1.0.0\"" : "\"v9.9.9\"";
    } else if (key == "Time" && rng.chance(75)) {
      out += "\"" + random_time(rng) + "\"";
    } else {
      out += random_json_value(rng, 1);
    }
  }
  out += "}" + blank();
  if (rng.chance(15)) {
    static const std::vector<std::string> k_ins = {
        "\"", "\\", ",", ":", "{", "}", "[", "]", "\xef\xbb\xbf", "\xff", "null", "\\u0000", " "};
    out = mutate(rng, out, k_ins);
  }
  return out;
}

TEST(InfoDifferential, GeneratedBodies) {
  std::vector<Query> queries;
  for (const auto& fixed : {
           R"({"Version":"v1.0.0","VERSION":"v9.9.9"})"s,
           R"({"Version":"v1.0.0","time":"not a time"})"s,
           R"({"Version":"v1.0.0","Origin":5})"s,
           "null"s,
           " null "s,
           "[]"s,
           "\"v1.0.0\""s,
           ""s,
           "{}"s,
           R"({"Version":null})"s,
           R"({"Ver\u017fion":"v1.0.0"})"s,
           R"({"Version":"v1.0.0","Origin":{"Hash":"h"},"Origin":{"URL":2}})"s,
           R"({"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z","Time":null})"s,
           std::string(10000, '[') + std::string(10000, ']'),
           std::string(10001, '[') + std::string(10001, ']'),
           R"({"X":)" + std::string(9999, '[') + std::string(9999, ']') + "}",
           R"({"X":)" + std::string(10000, '[') + std::string(10000, ']') + "}",
       }) {
    queries.push_back({"info", fixed});
  }
  Rng rng(seed_or(20261207));
  for (int i = 0; i < 6000; ++i) queries.push_back({"info", random_info(rng)});
  for (int i = 0; i < 3000; ++i) queries.push_back({"time", random_time(rng)});
  EXPECT_GT(compare(queries), 9000u);
}

// ---- .mod -------------------------------------------------------------------------------

std::string random_mod(Rng& rng) {
  static const std::vector<std::string> k_verbs = {
      "module",  "module",  "go",        "require", "retract", "ignore",
      "exclude", "replace", "toolchain", "godebug", "tool",    "\"module\"",
      "Module",  "frob",    ")",         "(",       "//x"};
  static const std::vector<std::string> k_args = {"example.com/m",
                                                  "example.com/m",
                                                  "\"example.com/m\"",
                                                  "`example.com/m`",
                                                  "\"ex\\x6d\"",
                                                  "\"a\\u00e9\"",
                                                  "\"a\\U0001F600\"",
                                                  "\"a\\ud800\"",
                                                  "\"\\101\"",
                                                  "\"\\400\"",
                                                  "\"a\\'\"",
                                                  "\"a\\q\"",
                                                  "\"\"",
                                                  "a\"b",
                                                  "a'b",
                                                  "example.com/m/v2",
                                                  "gopkg.in/yaml.v2",
                                                  "v1.0.0",
                                                  "v1",
                                                  "v1.2",
                                                  "v2.0.0+incompatible",
                                                  "v2.0.0",
                                                  "1.21",
                                                  "1.21.0",
                                                  "1.21rc1",
                                                  "1.21.x",
                                                  "v1.21",
                                                  "1.021",
                                                  "1.2.3.4",
                                                  "0.1",
                                                  "go1.21",
                                                  "default",
                                                  "=>",
                                                  "../dir",
                                                  "[",
                                                  "]",
                                                  ",",
                                                  "(",
                                                  ")",
                                                  "{",
                                                  "}",
                                                  "//c",
                                                  "/*c*/",
                                                  "a//b",
                                                  "\xc3\xa9",
                                                  "\xc5\xbf",
                                                  "\xff",
                                                  "\xef\xbb\xbf",
                                                  "\xe2\x80\x8b",
                                                  "\xc2\xa0",
                                                  "\xc2\x85",          // NEL: a space
                                                  "\xc2\xad",          // soft hyphen: not printable
                                                  "a\xcc\x80",         // combining mark: printable
                                                  "\xe2\x80\xa8",      // line separator
                                                  "\xe3\x80\x80",      // ideographic space
                                                  "\xee\x80\x80",      // private use
                                                  "\xf4\x8f\xbf\xbf",  // U+10FFFF
                                                  "\xf0\x9f\x98\x80",  // emoji
                                                  "\xed\xa0\x80",      // an encoded surrogate
                                                  "\"\\xff\"",
                                                  "\"a\\nb\"",
                                                  "\"\\U00110000\"",
                                                  "\"\\x\"",
                                                  "\"a\\\nb\"",
                                                  "\x00",
                                                  "\\",
                                                  "\"unterminated",
                                                  "x=y",
                                                  "// Deprecated: no"};
  static const std::vector<std::string> k_sep = {" ", " ", "\t", "  ", "\r", "\v", "\f"};
  static const std::vector<std::string> k_nl = {"\n",   "\n",      "\n",  "\r\n",
                                                "\n\n", " // c\n", "\x85"};
  std::string out;
  if (rng.chance(3)) out += "\xef\xbb\xbf";
  if (rng.chance(60)) out += "module example.com/m" + rng.pick(k_nl);
  const std::size_t lines = rng.below(6);
  for (std::size_t l = 0; l < lines; ++l) {
    const std::string verb = rng.pick(k_verbs);
    out += verb;
    if (rng.chance(20)) {  // a block
      out += " (" + rng.pick(k_nl);
      const std::size_t n = rng.below(3);
      for (std::size_t i = 0; i < n; ++i) {
        out += "\t" + rng.pick(k_args);
        if (rng.chance(50)) out += rng.pick(k_sep) + rng.pick(k_args);
        out += rng.pick(k_nl);
      }
      if (rng.chance(90)) out += ")";
    } else if (rng.chance(60)) {  // a plausible statement, so that many files parse
      static const std::vector<std::string> k_plausible = {"example.com/m",
                                                           "\"example.com/m\"",
                                                           "\"example.com/\\x6d\"",
                                                           "example.com/\xc3\xa9",
                                                           "1.21",
                                                           "1.21.0",
                                                           "1.21rc1",
                                                           "1.21.x",
                                                           "v1.21",
                                                           "example.com/a v1.0.0",
                                                           "example.com/a/v2 v2.0.0",
                                                           "example.com/a v2.0.0+incompatible",
                                                           "example.com/a v1",
                                                           "\"example.com/a\" v1.2",
                                                           "[v1.0.0, v1.1.0]",
                                                           "v1.0.0 // why",
                                                           "a => b v1.0.0"};
      out += " " + rng.pick(k_plausible);
    } else {
      const std::size_t n = verb == "module" && rng.chance(70) ? 1 : rng.below(4);
      for (std::size_t i = 0; i < n; ++i) out += rng.pick(k_sep) + rng.pick(k_args);
    }
    out += rng.pick(k_nl);
  }
  if (rng.chance(12)) {
    static const std::vector<std::string> k_ins = {"\"", "`",  "(",    ")",        "\n",      "//",
                                                   "/*", "\\", "\xff", "\xc3\xa9", "module ", " "};
    out = mutate(rng, out, k_ins);
  }
  return out;
}

TEST(GoModDifferential, GeneratedBodies) {
  std::vector<Query> queries;
  std::string huge = "module example.com/huge\n\ngo 1.21\n\nrequire (\n";
  for (int i = 0; i < 20000; ++i) huge += "\texample.com/dep" + std::to_string(i) + " v1.0.0\n";
  huge += ")\n";
  for (const auto& fixed : {
           "module example.com/m\n"s,
           ""s,
           "<!DOCTYPE html>\n<html><body>404</body></html>\n"s,
           "module evil.example/other\n"s,
           "module example.com/m\nmodule example.com/m\n"s,
           "\xef\xbb\xbfmodule example.com/m\n"s,
           "module \"example.com/m\" // c\r\n"s,
           "// only a comment\n"s,
           "module example.com/m\ngo 1.21 // x\nretract (\n\tv1.0.0\n)\n"s,
           "module (\n)\n"s,
           "module ()\n"s,
           "module (\n\ta\n\tb\n)\n"s,
           "module\n"s,
           "module example.com/m/v2\nrequire example.com/x v2.0.0+incompatible\n"s,
           "module example.com/m\n\x80\n"s,
           "module example.com/m\xff\n"s,
           huge,
       }) {
    queries.push_back({"mod", fixed});
  }
  Rng rng(seed_or(7122026));
  for (int i = 0; i < 8000; ++i) queries.push_back({"mod", random_mod(rng)});
  EXPECT_GT(compare(queries), 8000u);
}

}  // namespace
}  // namespace stoa::proxy
