#include "stoa/direct/direct.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "stoa/fsio/testing/scratch_dir.hpp"

namespace stoa::direct {
namespace {

// A stand-in go command (a shell script): it counts its runs in $FAKE/runs and does what the
// test's script says. Real go commands run in the end-to-end tests; this one produces the faults
// and outputs a real one cannot be made to produce on cue.
class DirectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto* d : {"home", "modcache", "gocache", "gopath", "work"})
      std::filesystem::create_directories(m_dir / d);
  }

  std::unique_ptr<fetch::Upstream> source(const std::string& body) {
    const auto go = m_dir / "go";
    {
      std::ofstream f(go);
      f << "#!/bin/sh\necho \"$*\" >> \"$FAKE/runs\"\n" << body << "\n";
    }
    ::chmod(go.c_str(), 0755);
    DirectOptions o;
    o.go_binary = go.string();
    o.env.home = (m_dir / "home").string();
    o.env.mod_cache = (m_dir / "modcache").string();
    o.env.go_cache = (m_dir / "gocache").string();
    o.env.go_path = (m_dir / "gopath").string();
    o.env.path = "/usr/bin:/bin";
    o.env.passed = {"FAKE=" + m_dir.path().string()};
    o.work_root = m_dir / "work";
    o.timeout = std::chrono::milliseconds(m_timeout_ms);
    o.negative_ttl = std::chrono::seconds(30);
    o.now = [this] { return m_now; };
    return make_direct_source(std::move(o));
  }

  int runs() const {
    std::ifstream f(m_dir / "runs");
    int n = 0;
    std::string line;
    while (std::getline(f, line)) ++n;
    return n;
  }
  std::string last_run() const {
    std::ifstream f(m_dir / "runs");
    std::string line, last;
    while (std::getline(f, line)) last = line;
    return last;
  }
  std::string read(const std::filesystem::path& p) const {
    std::ifstream f(p);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

  fsio::testing::ScratchDir m_dir;
  std::chrono::steady_clock::time_point m_now{};
  int m_timeout_ms = 20'000;
};

// A go command that "downloads" vcs.test/r.git@v1.0.0 into the module cache.
const char* k_download = R"(d="$GOMODCACHE/cache/download/vcs.test/r.git/@v"
mkdir -p "$d"
printf '{"Version":"v1.0.0","Time":"2026-01-02T03:04:05Z","Origin":{"VCS":"git"}}' > "$d/v1.0.0.info"
printf 'module vcs.test/r.git\n' > "$d/v1.0.0.mod"
printf 'ZIPBYTES' > "$d/v1.0.0.zip"
printf 'h1:x' > "$d/v1.0.0.ziphash"
printf '{"Path":"vcs.test/r.git","Version":"v1.0.0","Info":"%s","GoMod":"%s","Zip":"%s"}' "$d/v1.0.0.info" "$d/v1.0.0.mod" "$d/v1.0.0.zip")";

TEST_F(DirectTest, HostileRequestsStartNoSubprocess) {
  auto src = source("exit 0");
  const std::string m = "vcs.test/r.git/@v/";
  const std::vector<std::string> bad = {m + "-x.info",
                                        m + "--upload-pack=x.info",
                                        m + "/etc/passwd.info",
                                        m + "v1.0.0;id.info",
                                        m + "$(id).info",
                                        m + "v1.0.0\n.info",
                                        m + std::string(10'000, 'a') + ".info",
                                        m + "v1.0.0;id.zip",
                                        "-x/@v/list",
                                        "vcs.test/r.git/@latest/x",
                                        "sumdb/sum.example/lookup/x@v1.0.0",
                                        "vcs.test/R.git/@v/list",
                                        "vcs.test/r.git/@v/v1.0.0.zip/../../x",
                                        "",
                                        "@v/list"};
  for (const auto& s : bad) {
    std::string body;
    EXPECT_EQ(src->get(s, body, 1 << 20).status, fetch::Status::failed) << s;
    fsio::TempFile out = fsio::TempFile::create(m_dir.path());
    EXPECT_EQ(src->get(s, out, 1 << 20).status, fetch::Status::failed) << s;
  }
  EXPECT_EQ(runs(), 0);
}

TEST_F(DirectTest, FilesComeFromTheModuleCacheAfterOneDownload) {
  auto src = source(k_download);
  auto out = fsio::TempFile::create(m_dir.path());
  auto o = src->get("vcs.test/r.git/@v/v1.0.0.zip", out, 1 << 20);
  ASSERT_EQ(o.status, fetch::Status::ok) << o.message;
  EXPECT_EQ(read(out.path()), "ZIPBYTES");
  EXPECT_EQ(last_run(), "mod download -json -- vcs.test/r.git@v1.0.0");
  // The go command wrote all three files: the .mod and .info need no further run.
  auto mod = fsio::TempFile::create(m_dir.path());
  ASSERT_EQ(src->get("vcs.test/r.git/@v/v1.0.0.mod", mod, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(read(mod.path()), "module vcs.test/r.git\n");
  auto info = fsio::TempFile::create(m_dir.path());
  ASSERT_EQ(src->get("vcs.test/r.git/@v/v1.0.0.info", info, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(read(info.path()), R"({"Version":"v1.0.0","Time":"2026-01-02T03:04:05Z"})");
  EXPECT_EQ(runs(), 1);
}

TEST_F(DirectTest, SizeLimitIsEnforced) {
  auto src = source(k_download);
  auto out = fsio::TempFile::create(m_dir.path());
  EXPECT_EQ(src->get("vcs.test/r.git/@v/v1.0.0.zip", out, 4).status, fetch::Status::failed);
}

TEST_F(DirectTest, AFileOutsideTheModuleCacheIsRefused) {
  auto src = source(
      R"(printf '{"Path":"vcs.test/r.git","Version":"v1.0.0","Zip":"/etc/passwd","GoMod":"/etc/passwd","Info":"/etc/passwd"}')");
  auto out = fsio::TempFile::create(m_dir.path());
  const auto o = src->get("vcs.test/r.git/@v/v1.0.0.zip", out, 1 << 20);
  EXPECT_EQ(o.status, fetch::Status::failed);
  EXPECT_EQ(out.size(), 0u);
}

TEST_F(DirectTest, NotFoundIsRememberedForTheNegativeTtl) {
  auto src = source(
      R"(printf '{"Path":"vcs.test/r.git","Version":"v1.9.0","Error":"vcs.test/r.git@v1.9.0: invalid version: unknown revision v1.9.0"}'; exit 1)");
  for (int i = 0; i < 2; ++i) {
    auto out = fsio::TempFile::create(m_dir.path());
    const auto o = src->get("vcs.test/r.git/@v/v1.9.0.info", out, 1 << 20);
    EXPECT_EQ(o.status, fetch::Status::not_found);
    EXPECT_EQ(o.http_status, 404);
    EXPECT_TRUE(o.exhausted);
    EXPECT_EQ(o.message, "invalid version: unknown revision v1.9.0");
  }
  EXPECT_EQ(runs(), 1);
  m_now += std::chrono::seconds(31);
  auto out = fsio::TempFile::create(m_dir.path());
  EXPECT_EQ(src->get("vcs.test/r.git/@v/v1.9.0.info", out, 1 << 20).status,
            fetch::Status::not_found);
  EXPECT_EQ(runs(), 2);
}

// The import-path lookup failed (here: the host does not resolve). The go command takes that as
// "does not exist" in direct mode, so stoa answers 404 too (a `go get` probing the prefixes of a
// package path goes on), but remembers it only briefly: it may be an outage of the lookup page.
TEST_F(DirectTest, AFailedImportPathLookupIsNotFoundRememberedBriefly) {
  auto src = source(
      R"(printf '{"Path":"nowhere.test/m/sub","Version":"latest","Error":"nowhere.test/m/sub@latest: unrecognized import path \"nowhere.test/m/sub\": https fetch: Get \"https://nowhere.test/m/sub?go-get=1\": dial tcp: lookup nowhere.test: no such host"}'; exit 1)");
  for (int i = 0; i < 2; ++i) {
    std::string out;
    const auto o = src->get("nowhere.test/m/sub/@v/list", out, 1 << 20);
    EXPECT_EQ(o.status, fetch::Status::not_found);
    EXPECT_EQ(o.http_status, 404);
    EXPECT_TRUE(o.exhausted);
    EXPECT_NE(o.message.find("no such host"), std::string::npos) << o.message;
  }
  EXPECT_EQ(runs(), 1);
  m_now += std::chrono::seconds(6);  // well within negative_ttl (30 s), past the brief memory
  std::string out;
  EXPECT_EQ(src->get("nowhere.test/m/sub/@v/list", out, 1 << 20).status, fetch::Status::not_found);
  EXPECT_EQ(runs(), 2);
}

TEST_F(DirectTest, FailuresAreNeverRemembered) {
  auto src = source(
      R"(echo "go: vcs.test/r.git@v1.0.0: invalid version: git ls-remote -q origin in /w: exit status 128: fatal: unable to access 'http://vcs.test/r/': Failed to connect to 127.0.0.1 port 1: Connection refused" >&2; exit 1)");
  for (int i = 0; i < 3; ++i) {
    auto out = fsio::TempFile::create(m_dir.path());
    const auto o = src->get("vcs.test/r.git/@v/v1.0.0.zip", out, 1 << 20);
    EXPECT_EQ(o.status, fetch::Status::failed);
    EXPECT_TRUE(o.exhausted);
    EXPECT_NE(o.message.find("Connection refused"), std::string::npos) << o.message;
  }
  EXPECT_EQ(runs(), 3);
}

TEST_F(DirectTest, GarbageOutputIsAFailure) {
  auto src = source("echo 'not json'");
  std::string body;
  EXPECT_EQ(src->get("vcs.test/r.git/@v/list", body, 1 << 20).status, fetch::Status::failed);
}

TEST_F(DirectTest, TimeoutFailsAndIsNotRemembered) {
  m_timeout_ms = 300;
  auto src = source("sleep 30");
  const auto t0 = std::chrono::steady_clock::now();
  std::string body;
  const auto o = src->get("vcs.test/r.git/@v/list", body, 1 << 20);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(o.status, fetch::Status::failed);
  EXPECT_TRUE(o.timed_out);
  (void)src->get("vcs.test/r.git/@v/list", body, 1 << 20);
  EXPECT_EQ(runs(), 2);
}

TEST_F(DirectTest, ListHasNoPseudoVersions) {
  auto src = source(
      R"(printf '{"Path":"vcs.test/r.git","Versions":["v1.1.0","v1.0.0","v2.0.0+incompatible","v0.0.0-20200101000000-abcdefabcdef"]}')");
  std::string body;
  ASSERT_EQ(src->get("vcs.test/r.git/@v/list", body, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(body, "v1.0.0\nv1.1.0\nv2.0.0+incompatible\n");
  EXPECT_EQ(last_run(), "list -m -json -versions -retracted -- vcs.test/r.git");
}

TEST_F(DirectTest, QueriesAndLatestResolveToInfo) {
  auto src = source(
      R"(printf '{"Path":"vcs.test/r.git","Version":"v1.0.1-0.20261125120216-463a3f1f22b6","Query":"main","Time":"2026-11-25T12:02:16Z"}')");
  std::string body;
  ASSERT_EQ(src->get("vcs.test/r.git/@v/main.info", body, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(body,
            R"({"Version":"v1.0.1-0.20261125120216-463a3f1f22b6","Time":"2026-11-25T12:02:16Z"})");
  EXPECT_EQ(last_run(), "list -m -json -- vcs.test/r.git@main");
  ASSERT_EQ(src->get("vcs.test/r.git/@latest", body, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(last_run(), "list -m -json -- vcs.test/r.git@latest");
  // Case-encoded module paths are decoded for the go command.
  ASSERT_EQ(src->get("vcs.test/!user/r.git/@v/v1.2.info", body, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(last_run(), "list -m -json -- vcs.test/User/r.git@v1.2");
}

TEST_F(DirectTest, AMissingGoCommandIsAFailure) {
  DirectOptions o;
  o.go_binary = (m_dir / "no-such-go").string();
  o.work_root = m_dir / "work";
  auto src = make_direct_source(o);
  std::string body;
  const auto r = src->get("vcs.test/r.git/@v/list", body, 1 << 20);
  EXPECT_EQ(r.status, fetch::Status::failed);
}

TEST_F(DirectTest, WorkingDirectoryIsEmptyAndRemoved) {
  auto src = source(R"(ls -A >> "$FAKE/ls"; pwd >> "$FAKE/pwd"; printf '{"Versions":[]}')");
  std::string body;
  ASSERT_EQ(src->get("vcs.test/r.git/@v/list", body, 1 << 20).status, fetch::Status::ok);
  EXPECT_EQ(read(m_dir / "ls"), "");
  const auto pwd = read(m_dir / "pwd");
  EXPECT_TRUE(pwd.starts_with(std::filesystem::canonical(m_dir / "work").string())) << pwd;
  EXPECT_TRUE(std::filesystem::is_empty(m_dir / "work"));
}

}  // namespace
}  // namespace stoa::direct
