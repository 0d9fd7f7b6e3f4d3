#include "stoa/direct/gocmd.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include <algorithm>
#include <array>
#include <memory>

namespace stoa::direct {
namespace {

// What `command` prints (stdout and stderr), run by /bin/sh as git runs GIT_SSH_COMMAND.
std::string run_shell(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen((command + " 2>&1").c_str(), "r"), ::pclose);
  if (!p) return "popen failed";
  std::string out;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p.get())) > 0;)
    out.append(buf.data(), n);
  return out;
}

bool has(const std::vector<std::string>& env, const std::string& kv) {
  return std::find(env.begin(), env.end(), kv) != env.end();
}

TEST(BuildEnv, SetsTheDirectFetchEnvironmentAndNothingElse) {
  GoEnv e;
  e.home = "/s/home";
  e.mod_cache = "/s/modcache";
  e.go_cache = "/s/gocache";
  e.go_path = "/s/gopath";
  e.path = "/usr/bin:/bin";
  e.govcs = "public:git|hg,private:all";
  e.private_patterns = "corp.example/*";
  e.insecure = "vcs.test";
  e.netrc = "/etc/stoa/netrc";
  e.git_config = "/etc/stoa/gitconfig";
  e.ssh_key = "/etc/stoa/id_ed25519";
  e.ssh_known_hosts = "/etc/stoa/known_hosts";
  e.user = "stoa";
  e.passed = {"HTTPS_PROXY=http://127.0.0.1:3128", "GOPROXY=https://sneaky", "HOME=/root",
              "GOFLAGS=-insecure", "malformed"};
  const auto env = build_env(e);
  for (const auto* kv : {"GOPROXY=direct",
                         "GOSUMDB=off",
                         "GOFLAGS=",
                         "GOTOOLCHAIN=local",
                         "GOENV=off",
                         "GOWORK=off",
                         "GO111MODULE=on",
                         "GIT_TERMINAL_PROMPT=0",
                         "GIT_CONFIG_NOSYSTEM=1",
                         "HOME=/s/home",
                         "GOMODCACHE=/s/modcache",
                         "GOCACHE=/s/gocache",
                         "GOPATH=/s/gopath",
                         "PATH=/usr/bin:/bin",
                         "GOVCS=public:git|hg,private:all",
                         "GOPRIVATE=corp.example/*",
                         "GOINSECURE=vcs.test",
                         "NETRC=/etc/stoa/netrc",
                         "GIT_CONFIG_GLOBAL=/etc/stoa/gitconfig",
                         "GIT_SSH_COMMAND=ssh -F none -o BatchMode=yes -o ControlMaster=no "
                         "-o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null "
                         "-o 'UserKnownHostsFile=\"/etc/stoa/known_hosts\"' -o IdentitiesOnly=yes "
                         "-o 'IdentityFile=\"/etc/stoa/id_ed25519\"'",
                         "HTTPS_PROXY=http://127.0.0.1:3128",
                         "USER=stoa",
                         "LOGNAME=stoa"}) {
    EXPECT_TRUE(has(env, kv)) << kv;
  }
  // Passed variables never override what stoa sets.
  EXPECT_FALSE(has(env, "GOPROXY=https://sneaky"));
  EXPECT_FALSE(has(env, "HOME=/root"));
  EXPECT_FALSE(has(env, "GOFLAGS=-insecure"));
  EXPECT_FALSE(has(env, "malformed"));
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
  // Each name once.
  std::vector<std::string> names;
  for (const auto& kv : env) names.push_back(kv.substr(0, kv.find('=')));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

TEST(BuildEnv, OptionalCredentialsAreLeftOutWhenUnset) {
  const auto env = build_env(GoEnv{});
  for (const auto& kv : env) {
    EXPECT_FALSE(kv.starts_with("NETRC=")) << kv;
    EXPECT_FALSE(kv.starts_with("GIT_CONFIG_GLOBAL=")) << kv;
    EXPECT_FALSE(kv.starts_with("GIT_SSH_COMMAND=")) << kv;
    EXPECT_FALSE(kv.starts_with("HTTP_PROXY=")) << kv;
  }
}

// git runs GIT_SSH_COMMAND with the shell, and ssh splits option values at blanks and expands
// %-tokens in file names: each path reaches ssh as the one file it names. (Run through a real
// shell and a real ssh: `ssh -G` prints the configuration it would use, and connects nowhere.)
TEST(SshCommand, PathsReachSshAsTheyAre) {
  const std::string odd = "/nonexistent/a b'c$HOME %d;`x`";
  GoEnv e;
  e.ssh_known_hosts = odd + "/known_hosts";
  e.ssh_key = odd + "/id";
  const std::string cmd = ssh_command(e);
  const std::string out = run_shell(cmd + " -G -p 2222 git@127.0.0.1");
  EXPECT_NE(out.find("\nuserknownhostsfile " + odd + "/known_hosts\n"), std::string::npos) << out;
  // -G prints IdentityFile before ssh expands its %-tokens (when it loads the key): still "%%".
  EXPECT_NE(out.find("\nidentityfile /nonexistent/a b'c$HOME %%d;`x`/id\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nglobalknownhostsfile /dev/null\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nstricthostkeychecking true\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nbatchmode yes\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nidentitiesonly yes\n"), std::string::npos) << out;
}

TEST(SshCommand, OnlyWhenSshHasSomethingToUse) {
  EXPECT_EQ(ssh_command(GoEnv{}), "");
  GoEnv known;
  known.ssh_known_hosts = "/k";
  EXPECT_EQ(ssh_command(known),
            "ssh -F none -o BatchMode=yes -o ControlMaster=no -o StrictHostKeyChecking=yes "
            "-o GlobalKnownHostsFile=/dev/null -o 'UserKnownHostsFile=\"/k\"'");
  known.ssh_config = "/home/s/.ssh/config";
  EXPECT_TRUE(ssh_command(known).starts_with("ssh -F '/home/s/.ssh/config' -o BatchMode=yes"));
  for (const auto* bad : {"/a\"b", "/a\\b", "/a\nb", "/a\x7f"}) {
    EXPECT_TRUE(ssh_path_problem(bad)) << bad;
  }
  EXPECT_FALSE(ssh_path_problem("/a b/c'd/%e$f"));
}

TEST(Args, FlagsEndBeforeTheModuleArgument) {
  EXPECT_EQ(download_args("vcs.test/r.git", "v1.0.0"),
            (std::vector<std::string>{"mod", "download", "-json", "--", "vcs.test/r.git@v1.0.0"}));
  EXPECT_EQ(versions_args("vcs.test/r.git"),
            (std::vector<std::string>{"list", "-m", "-json", "-versions", "-retracted", "--",
                                      "vcs.test/r.git"}));
  EXPECT_EQ(query_args("vcs.test/r.git", "main"),
            (std::vector<std::string>{"list", "-m", "-json", "--", "vcs.test/r.git@main"}));
}

TEST(ParseDownload, RealOutput) {
  const auto d = parse_download(R"({
	"Path": "vcs.test/repo.git",
	"Version": "v1.0.0",
	"Info": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.info",
	"GoMod": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.mod",
	"Zip": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.zip",
	"Sum": "h1:ujDXaQF4PmWcwZTxWhPMuWojCTBp9Qu8H8wLbrUJ/Zc=",
	"Origin": {"VCS": "git", "URL": "https://vcs.test/repo", "Ref": "refs/tags/v1.0.0"}
})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->version, "v1.0.0");
  EXPECT_EQ(d->zip, "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.zip");
  EXPECT_EQ(d->go_mod, "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.mod");
  EXPECT_EQ(d->info, "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.info");
  EXPECT_TRUE(d->error.empty());
  const auto e = parse_download(
      R"({"Path":"vcs.test/repo.git","Version":"v9.0.0","Error":"vcs.test/repo.git@v9.0.0: invalid version: unknown revision v9.0.0"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(classify(e->error, "vcs.test/repo.git", "v9.0.0"), ErrorKind::not_found);
}

TEST(ParseDownload, MalformedIsNullopt) {
  for (const auto* bad : {"", "[]", "{", "null", "\"x\"", "{\"Path\":1}x"}) {
    EXPECT_FALSE(parse_download(bad)) << bad;
  }
  // Wrong types are empty fields, not errors.
  const auto d = parse_download(R"({"Path":1,"Zip":[]})");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->zip.empty());
}

TEST(ParseList, VersionsRetractedAndErrors) {
  const auto m = parse_list(
      R"({"Path":"vcs.test/r.git","Versions":["v1.0.0","v1.1.0","v2.0.0+incompatible"],"Retracted":["v1.1.0"]})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->versions.size(), 3u);
  const auto q = parse_list(
      R"({"Path":"vcs.test/r.git","Version":"v1.0.1-0.20261125120216-463a3f1f22b6","Query":"main","Time":"2026-11-25T12:02:16Z"})");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->time, "2026-11-25T12:02:16Z");
  const auto e = parse_list(R"({"Path":"x","Error":{"Err":"module x: not found"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "module x: not found");
  EXPECT_FALSE(parse_list(R"({"Versions":"v1.0.0"})"));
  EXPECT_FALSE(parse_list(R"({"Versions":[1]})"));
}

TEST(ListBody, CanonicalNonPseudoSortedUnique) {
  EXPECT_EQ(list_body({"v1.10.0", "v1.2.0", "v2.0.0+incompatible", "v1.2.0",
                       "v0.0.0-20200101000000-abcdefabcdef", "v1.3", "junk", "v1.0.0-rc.1"}),
            "v1.0.0-rc.1\nv1.2.0\nv1.10.0\nv2.0.0+incompatible\n");
  EXPECT_EQ(list_body({}), "");
  // Equal in semver order (build metadata), ordered by their bytes (found by fuzz/go_output).
  EXPECT_EQ(list_body({"v2.0.0+incompatible", "v2.0.0", "v1.1.0"}),
            "v1.1.0\nv2.0.0\nv2.0.0+incompatible\n");
}

TEST(InfoBody, VersionAndTime) {
  EXPECT_EQ(info_body("v1.0.0", "2026-01-02T03:04:05Z"),
            R"({"Version":"v1.0.0","Time":"2026-01-02T03:04:05Z"})");
  EXPECT_EQ(info_body("v1.0.0", ""), R"({"Version":"v1.0.0"})");
}

TEST(Classify, Table) {
  struct Case {
    const char* text;
    ErrorKind want;
  };
  const Case cases[] = {
      {"go: vcs.test/r.git@v9.0.0: invalid version: unknown revision v9.0.0", ErrorKind::not_found},
      {"go: vcs.test/r.git@latest: no matching versions for query \"latest\"",
       ErrorKind::not_found},
      {"go: module vcs.test/x: git ls-remote -q origin: exit status 128:\n\tfatal: repository "
       "'http://127.0.0.1:1/x/' not found",
       ErrorKind::not_found},
      {"go: unrecognized import path \"vcs.test/nope\": reading https://vcs.test/nope?go-get=1: "
       "404 Not Found",
       ErrorKind::no_repository},
      {"go: vcs.test/r.git@v1.0.0: invalid version: git ls-remote -q origin: exit status 128:\n\t"
       "fatal: unable to access 'https://vcs.test/r/': Could not resolve host: vcs.test",
       ErrorKind::failed},
      // The import-path lookup failed: "does not exist" for the go command, whatever the cause.
      {"go: vcs.test/x@latest: unrecognized import path \"vcs.test/x\": https fetch: Get "
       "\"https://vcs.test/x?go-get=1\": dial tcp 127.0.0.1:1: connect: connection refused",
       ErrorKind::no_repository},
      {"go: a.invalid/m@latest: unrecognized import path \"a.invalid/m\": https fetch: Get "
       "\"https://a.invalid/m?go-get=1\": dial tcp: lookup a.invalid: no such host",
       ErrorKind::no_repository},
      {"go: h.test/m@latest: unrecognized import path \"h.test/m\": reading "
       "http://h.test/m?go-get=1: 502 Bad Gateway",
       ErrorKind::no_repository},
      {"go: github.com/a@latest: invalid github.com import path \"github.com/a\"",
       ErrorKind::no_repository},
      // After a successful lookup, an outage is an outage.
      {"go: vcs.test/r.git@v1.0.0: invalid version: git ls-remote -q origin: exit status 128:\n\t"
       "fatal: unable to access 'http://vcs.test/r/': Could not resolve host: vcs.test",
       ErrorKind::failed},
      {"go: vcs.test/r.git@v1.0.0: invalid version: import path \"x\" timed out",
       ErrorKind::failed},
      {"go: vcs.test/p.git@v1.0.0: invalid version: git ls-remote: fatal: could not read "
       "Username for 'http://127.0.0.1:5': terminal prompts disabled",
       ErrorKind::failed},
      {"go: vcs.test/x.svn@v1.0.0: GOVCS disallows using svn for public vcs.test/x.svn; see 'go "
       "help vcs'",
       ErrorKind::no_repository},
      {"go: vcs.test/r.git@v1.0.0: reading ...: 503 Service Unavailable", ErrorKind::failed},
      {"signal: killed", ErrorKind::failed},
      {"something nobody expected", ErrorKind::failed},
      {"", ErrorKind::failed},
  };
  for (const auto& c : cases) EXPECT_EQ(classify(c.text), c.want) << c.text;
  // The module's own name does not count as the go command's words.
  EXPECT_EQ(classify("go: vcs.test/timeout.git@v1.0.0: invalid version: unknown revision v1.0.0",
                     "vcs.test/timeout.git", "v1.0.0"),
            ErrorKind::not_found);
  // ...nor can it pose as the lookup's words.
  EXPECT_EQ(
      classify("go: h.test/unrecognized@v1.0.0: invalid version: git fetch: connection refused",
               "h.test/unrecognized", "v1.0.0"),
      ErrorKind::failed);
  EXPECT_EQ(classify("go: vcs.test/notfound.git@v1.0.0: exit status 128: connection refused",
                     "vcs.test/notfound.git", "v1.0.0"),
            ErrorKind::failed);
}

TEST(OneLine, LastGoLinePrintableRedactedBounded) {
  EXPECT_EQ(one_line("go: downloading x\nnoise\ngo: x@v1: invalid version\n"),
            "go: x@v1: invalid version");
  EXPECT_EQ(one_line("\n  \nfatal: bad\nmore"), "fatal: bad");
  EXPECT_EQ(one_line("go: get https://user:s3cret@h.example/x: 401 and http://a:b@c/"),
            "go: get https://h.example/x: 401 and http://c/");
  EXPECT_EQ(one_line("go: \x01\x7f\xff"), "go: ???");
  EXPECT_EQ(one_line(std::string(1000, 'a'), 10), std::string(10, 'a'));
  EXPECT_EQ(one_line(""), "");
}

TEST(ReservedNames, CoverWhatBuildEnvSets) {
  for (const auto& kv : build_env(
           GoEnv{"h", "m", "c", "p", "/bin", "g", "x", "i", "n", "gc", "k", "kh", "sc", "u", {}})) {
    EXPECT_TRUE(is_reserved_env_name(kv.substr(0, kv.find('=')))) << kv;
  }
  EXPECT_FALSE(is_reserved_env_name("HTTPS_PROXY"));
}

}  // namespace
}  // namespace stoa::direct
