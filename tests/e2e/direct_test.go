package e2e

// Direct fetching: stoa runs the real go command against real git, Mercurial, Subversion, Bazaar
// and Fossil servers on loopback (internal/vcstest). Modules live under the host vcs.test: git
// URLs are rewritten to the local git server by a git config insteadOf that stoa is given
// (direct_git_config); the other systems are found through go-import meta tags served by a
// forward proxy that stoa hands to the go command (direct_pass_env HTTP_PROXY,HTTPS_PROXY).
// The servers start once per test binary, each on first use.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
	"stoa.test/internal/vcstest"
)

// suiteCleanups run once after every test of the binary (TestMain): the shared VCS servers.
var (
	suiteMu       sync.Mutex
	suiteCleanups []func()
)

func addSuiteCleanup(f func()) {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	suiteCleanups = append(suiteCleanups, f)
}

func runSuiteCleanups() {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	for i := len(suiteCleanups) - 1; i >= 0; i-- {
		suiteCleanups[i]()
	}
	suiteCleanups = nil
}

// canary is the password of the private git repository: it must never appear in anything stoa
// writes or answers.
const canary = "canary-7d1f0c2e-never-print-me"

type vcsWorld struct {
	root      string
	env       []string // for the VCS tools the test runs itself
	git       *vcstest.GitServer
	gitConfig string // insteadOf https://vcs.test/ -> the git server
	netrc     string // credentials of the private repository (with the canary)
	meta      *vcstest.MetaProxy
	hashes    map[string]string // git repo -> commit of interest
	others    map[string]*sync.Once
	otherErr  map[string]error
	mu        sync.Mutex
}

var (
	worldOnce sync.Once
	world     *vcsWorld
	worldErr  error
)

func getWorld(t *testing.T) *vcsWorld {
	t.Helper()
	worldOnce.Do(func() { world, worldErr = newWorld() })
	if worldErr != nil {
		t.Fatalf("setting up the VCS servers: %v", worldErr)
	}
	return world
}

func writeFiles(dir string, files map[string]string) error {
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// gitCommit writes files, commits them and tags the commit with each of tags; returns the hash.
func (w *vcsWorld) gitCommit(repo string, files map[string]string, tags ...string) (string, error) {
	if err := writeFiles(repo, files); err != nil {
		return "", err
	}
	if _, err := vcstest.Run(w.env, repo, "git", "add", "-A"); err != nil {
		return "", err
	}
	if _, err := vcstest.Run(w.env, repo, "git", "commit", "-q", "-m", "change"); err != nil {
		return "", err
	}
	for _, tag := range tags {
		if _, err := vcstest.Run(w.env, repo, "git", "tag", "-f", tag); err != nil {
			return "", err
		}
	}
	out, err := vcstest.Run(w.env, repo, "git", "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

func (w *vcsWorld) gitInit(name string) (string, error) {
	repo := filepath.Join(w.git.Root, name)
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return "", err
	}
	_, err := vcstest.Run(w.env, repo, "git", "init", "-q", "-b", "main")
	return repo, err
}

func newWorld() (*vcsWorld, error) {
	root, err := os.MkdirTemp("", "stoa-e2e-vcs-")
	if err != nil {
		return nil, err
	}
	addSuiteCleanup(func() { os.RemoveAll(root) })
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(filepath.Join(root, "git"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return nil, err
	}
	w := &vcsWorld{root: root, env: vcstest.Env(home), hashes: map[string]string{},
		others: map[string]*sync.Once{}, otherErr: map[string]error{}}
	if w.git, err = vcstest.NewGitServer(filepath.Join(root, "git"), "stoa-reader", canary); err != nil {
		return nil, err
	}
	addSuiteCleanup(w.git.Close)
	if w.meta, err = vcstest.NewMetaProxy(); err != nil {
		return nil, err
	}
	addSuiteCleanup(w.meta.Close)
	w.gitConfig = filepath.Join(root, "gitconfig")
	cfg := fmt.Sprintf("[url %q]\n\tinsteadOf = https://%s/\n", w.git.URL(), vcstest.Host)
	if err := os.WriteFile(w.gitConfig, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	w.netrc = filepath.Join(root, "netrc")
	netrc := fmt.Sprintf("machine 127.0.0.1 login stoa-reader password %s\n", canary)
	if err := os.WriteFile(w.netrc, []byte(netrc), 0o600); err != nil {
		return nil, err
	}

	// repo.git: v1.0.0, then an untagged commit on main, and a branch "feature".
	repo, err := w.gitInit("repo")
	if err != nil {
		return nil, err
	}
	if w.hashes["repo@v1.0.0"], err = w.gitCommit(repo, map[string]string{
		"go.mod": "module vcs.test/repo.git\n\ngo 1.21\n", "repo.go": "package repo\n\nconst V = 1\n"}, "v1.0.0"); err != nil {
		return nil, err
	}
	if w.hashes["repo@main"], err = w.gitCommit(repo, map[string]string{"repo.go": "package repo\n\nconst V = 2\n"}); err != nil {
		return nil, err
	}
	if _, err := vcstest.Run(w.env, repo, "git", "checkout", "-q", "-b", "feature"); err != nil {
		return nil, err
	}
	if w.hashes["repo@feature"], err = w.gitCommit(repo, map[string]string{"feature.go": "package repo\n\nconst F = 3\n"}); err != nil {
		return nil, err
	}
	if _, err := vcstest.Run(w.env, repo, "git", "checkout", "-q", "main"); err != nil {
		return nil, err
	}

	// multi.git: v1 at the root, v2 in the v2/ subdirectory.
	multi, err := w.gitInit("multi")
	if err != nil {
		return nil, err
	}
	if _, err = w.gitCommit(multi, map[string]string{"go.mod": "module vcs.test/multi.git\n\ngo 1.21\n", "m.go": "package multi\n"}, "v1.0.0"); err != nil {
		return nil, err
	}
	if _, err = w.gitCommit(multi, map[string]string{"v2/go.mod": "module vcs.test/multi.git/v2\n\ngo 1.21\n", "v2/m.go": "package multi\n\nconst Major = 2\n"}, "v2.0.0"); err != nil {
		return nil, err
	}

	// retract.git: v1.1.0 is retracted by v1.2.0.
	retract, err := w.gitInit("retract")
	if err != nil {
		return nil, err
	}
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		if _, err = w.gitCommit(retract, map[string]string{"go.mod": "module vcs.test/retract.git\n\ngo 1.21\n", "r.go": "package retract // " + v + "\n"}, v); err != nil {
			return nil, err
		}
	}
	if _, err = w.gitCommit(retract, map[string]string{"go.mod": "module vcs.test/retract.git\n\ngo 1.21\n\nretract v1.1.0 // broken\n"}, "v1.2.0"); err != nil {
		return nil, err
	}

	// moving.git: its v1.0.0 tag is moved by TestDirectMovedTagKeepsFirstBytes.
	moving, err := w.gitInit("moving")
	if err != nil {
		return nil, err
	}
	if _, err = w.gitCommit(moving, map[string]string{"go.mod": "module vcs.test/moving.git\n\ngo 1.21\n", "m.go": "package moving // first\n"}, "v1.0.0"); err != nil {
		return nil, err
	}

	// private/secret.git: behind basic auth.
	secret, err := w.gitInit("private/secret")
	if err != nil {
		return nil, err
	}
	if _, err = w.gitCommit(secret, map[string]string{"go.mod": "module vcs.test/private/secret.git\n\ngo 1.21\n", "s.go": "package secret\n"}, "v1.0.0"); err != nil {
		return nil, err
	}
	return w, nil
}

// directConfig starts stoa with only "direct" upstream, wired to the world's servers.
func (w *vcsWorld) stoa(t *testing.T, extra ...string) *stoatest.Stoa {
	t.Helper()
	args := []string{
		"--direct-git-config", w.gitConfig,
		"--direct-insecure", vcstest.Host,
		"--direct-govcs", "public:git|hg|svn|bzr|fossil,private:all",
		"--direct-pass-env", "HTTP_PROXY,HTTPS_PROXY,NO_PROXY",
		"--direct-netrc", w.netrc,
		"--private-modules", vcstest.Host + "/private",
		"--direct-negative-ttl", "1m",
		"--direct-timeout", "2m",
	}
	upstream, sumdb, dataDir := "direct", "", ""
	for i := 0; i < len(extra); i++ {
		if extra[i] == "--upstream" {
			upstream = extra[i+1]
			i++
			continue
		}
		if extra[i] == "--data-dir" {
			dataDir = extra[i+1]
			i++
			continue
		}
		if extra[i] == "--sumdb" {
			sumdb = extra[i+1]
			i++
			continue
		}
		args = append(args, extra[i])
	}
	return stoatest.Start(t, stoatest.Config{
		Upstream: upstream,
		Sumdb:    sumdb,
		DataDir:  dataDir,
		Args:     args,
		Env: []string{"HTTP_PROXY=" + w.meta.URL(), "HTTPS_PROXY=" + w.meta.URL(),
			"NO_PROXY=127.0.0.1,localhost"},
	})
}

// spawnCounter writes a go command wrapper that logs each run's arguments to a file.
func spawnCounter(t *testing.T) (wrapper string, runs func() []string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "runs")
	wrapper = filepath.Join(dir, "go-wrapper")
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$*\" >> %q\nexec %q \"$@\"\n", log, gocmd.Bin(t))
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return wrapper, func() []string {
		data, err := os.ReadFile(log)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
}

func download(t *testing.T, g *gocmd.Go, mod string) gocmd.Download {
	t.Helper()
	ds, stderr, err := g.ModDownload(mod)
	if err != nil || len(ds) != 1 || ds[0].Error != "" {
		t.Fatalf("go mod download %s: %v %+v\n%s", mod, err, ds, stderr)
	}
	return ds[0]
}

func TestDirectGitTagBranchAndCommit(t *testing.T) {
	w := getWorld(t)
	s := w.stoa(t)
	g := gocmd.New(t, s.URL, sharedGoCache)

	d := download(t, g, "vcs.test/repo.git@v1.0.0")
	if d.Version != "v1.0.0" {
		t.Errorf("version %q", d.Version)
	}
	// The oracle: the go command itself, fetching direct from the same server.
	ref := gocmd.New(t, "direct", sharedGoCache).With("GIT_CONFIG_GLOBAL="+w.gitConfig, "GIT_CONFIG_NOSYSTEM=1")
	rd := download(t, ref, "vcs.test/repo.git@v1.0.0")
	if d.Sum != rd.Sum || d.GoModSum != rd.GoModSum {
		t.Errorf("through stoa %s %s, direct %s %s", d.Sum, d.GoModSum, rd.Sum, rd.GoModSum)
	}

	for _, q := range []struct{ query, hash string }{
		{"feature", w.hashes["repo@feature"]},               // a branch
		{w.hashes["repo@main"][:12], w.hashes["repo@main"]}, // a commit-hash prefix
	} {
		d := download(t, g, "vcs.test/repo.git@"+q.query)
		if !strings.HasPrefix(d.Version, "v1.0.1-0.") || !strings.HasSuffix(d.Version, "-"+q.hash[:12]) {
			t.Errorf("@%s resolved to %q, want a v1.0.1-0.* pseudo-version of %s", q.query, d.Version, q.hash[:12])
		}
		// The resolved version's files are stored like any other once asked for (the go command
		// took the .info from the query answer, so ask for it).
		if r := get(t, s.URL+"/vcs.test/repo.git/@v/"+d.Version+".info"); r.Status != 200 || !strings.Contains(string(r.Body), d.Version) {
			t.Errorf("%s.info: %v %q", d.Version, r.Status, r.Body)
		}
		for _, ext := range []string{"info", "mod", "zip"} {
			if _, err := os.Stat(filepath.Join(s.DataDir, "vcs.test/repo.git/@v", d.Version+"."+ext)); err != nil {
				t.Errorf("%s of %s not stored: %v", ext, d.Version, err)
			}
		}
	}
	// The list has the tag and no pseudo-version.
	if r := get(t, s.URL+"/vcs.test/repo.git/@v/list"); r.Status != 200 || string(r.Body) != "v1.0.0\n" {
		t.Errorf("list: %v %q", r.Status, r.Body)
	}
	if r := get(t, s.URL+"/vcs.test/repo.git/@latest"); r.Status != 200 || !strings.Contains(string(r.Body), `"Version":"v1.0.0"`) {
		t.Errorf("@latest: %v %q", r.Status, r.Body)
	}
	// An unknown version is a 404 with the go command's words, and is remembered.
	if r := get(t, s.URL+"/vcs.test/repo.git/@v/v1.9.0.info"); r.Status != 404 || !strings.Contains(string(r.Body), "unknown revision") {
		t.Errorf("unknown version: %v %q", r.Status, r.Body)
	}
}

func TestDirectMajorVersionSubdirectory(t *testing.T) {
	w := getWorld(t)
	s := w.stoa(t)
	g := gocmd.New(t, s.URL, sharedGoCache)
	d := download(t, g, "vcs.test/multi.git/v2@v2.0.0")
	mod, err := os.ReadFile(d.GoMod)
	if err != nil || !strings.Contains(string(mod), "module vcs.test/multi.git/v2") {
		t.Fatalf("go.mod of v2: %q %v", mod, err)
	}
	if src, err := os.ReadFile(filepath.Join(d.Dir, "m.go")); err != nil || !strings.Contains(string(src), "Major = 2") {
		t.Errorf("v2 source: %q %v", src, err)
	}
	if r := get(t, s.URL+"/vcs.test/multi.git/v2/@v/list"); r.Status != 200 || string(r.Body) != "v2.0.0\n" {
		t.Errorf("v2 list: %v %q", r.Status, r.Body)
	}
	if r := get(t, s.URL+"/vcs.test/multi.git/@v/list"); r.Status != 200 || string(r.Body) != "v1.0.0\n" {
		t.Errorf("v1 list: %v %q", r.Status, r.Body)
	}
}

func TestDirectRetractedVersion(t *testing.T) {
	w := getWorld(t)
	s := w.stoa(t)
	g := gocmd.New(t, s.URL, sharedGoCache)
	if r := get(t, s.URL+"/vcs.test/retract.git/@v/list"); r.Status != 200 || string(r.Body) != "v1.0.0\nv1.1.0\nv1.2.0\n" {
		t.Errorf("list with the retracted version: %v %q", r.Status, r.Body)
	}
	dir := g.InitModule("example.com/app")
	g.MustRun(dir, "get", "vcs.test/retract.git@v1.1.0")
	out := g.MustRun(dir, "list", "-m", "-u", "-retracted", "-json", "vcs.test/retract.git")
	var m struct {
		Version   string
		Retracted []string
		Update    *struct{ Version string }
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if m.Version != "v1.1.0" || len(m.Retracted) == 0 || m.Retracted[0] != "broken" {
		t.Errorf("go list -m -u -retracted: %s", out)
	}
	if m.Update == nil || m.Update.Version != "v1.2.0" {
		t.Errorf("no update to v1.2.0 reported: %s", out)
	}
}

func TestDirectMovedTagKeepsFirstBytes(t *testing.T) {
	w := getWorld(t)
	s := w.stoa(t)
	first := download(t, gocmd.New(t, s.URL, sharedGoCache), "vcs.test/moving.git@v1.0.0")

	moving := filepath.Join(w.git.Root, "moving")
	if _, err := w.gitCommit(moving, map[string]string{"m.go": "package moving // second\n"}, "v1.0.0"); err != nil {
		t.Fatal(err)
	}
	// The repository now has other bytes under v1.0.0 (the go command itself sees them)...
	ref := gocmd.New(t, "direct", sharedGoCache).With("GIT_CONFIG_GLOBAL="+w.gitConfig, "GIT_CONFIG_NOSYSTEM=1")
	if moved := download(t, ref, "vcs.test/moving.git@v1.0.0"); moved.Sum == first.Sum {
		t.Fatalf("moving the tag did not change the module (%s): the test proves nothing", moved.Sum)
	}
	// ...and stoa keeps serving the first ones, to a fresh client.
	again := download(t, gocmd.New(t, s.URL, sharedGoCache), "vcs.test/moving.git@v1.0.0")
	if again.Sum != first.Sum {
		t.Errorf("stoa served %s after the tag moved, first %s", again.Sum, first.Sum)
	}
}

func TestDirectPrivateRepositoryWithNetrc(t *testing.T) {
	w := getWorld(t)
	// An upstream proxy is configured too: the private module must never reach it.
	up := newUpstream(t)
	s := w.stoa(t, "--upstream", up.URL()+",direct", "--admin-listen", "127.0.0.1:0")
	g := gocmd.New(t, s.URL, sharedGoCache)
	d := download(t, g, "vcs.test/private/secret.git@v1.0.0")
	if d.Version != "v1.0.0" {
		t.Errorf("version %q", d.Version)
	}
	for _, h := range up.HitLog() {
		if strings.Contains(h.Key, "private") {
			t.Errorf("the upstream proxy was asked about a private module: %+v", h)
		}
	}
	var bodies []string
	for _, p := range []string{"/metrics", "/vcs.test/private/secret.git/@v/list",
		"/vcs.test/private/secret.git/@v/v9.9.9.info", "/vcs.test/private/nothere.git/@v/list"} {
		r := get(t, s.URL+p)
		bodies = append(bodies, string(r.Body))
	}

	// Without the netrc the same fetch fails, and not as "not found".
	bare := stoatest.Start(t, stoatest.Config{
		Upstream: "direct",
		Args: []string{"--direct-git-config", w.gitConfig, "--private-modules", vcstest.Host + "/private",
			"--direct-timeout", "1m"},
	})
	r := get(t, bare.URL+"/vcs.test/private/secret.git/@v/v1.0.0.info")
	if r.Status == 200 || r.Status == 404 || r.Status == 410 {
		t.Errorf("without credentials: %v %q, want a failure that is not a 404", r.Status, r.Body)
	}
	bodies = append(bodies, string(r.Body), string(get(t, bare.URL+"/metrics").Body))

	for i, text := range append(bodies, s.Log(), bare.Log()) {
		if strings.Contains(text, canary) {
			t.Errorf("output %d contains the netrc password: %s", i, text)
		}
	}
	// Nothing in stoa's own state outside the netrc link either (module cache, logs).
	filepath.Walk(s.DataDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 || fi.Size() > 1<<20 {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), canary) {
			t.Errorf("%s contains the netrc password", p)
		}
		return nil
	})
}

func TestDirectOtherVersionControlSystems(t *testing.T) {
	w := getWorld(t)
	s := w.stoa(t)
	for _, sys := range []string{"hg", "svn", "bzr", "fossil"} {
		t.Run(sys, func(t *testing.T) {
			query := "v1.0.0"
			if sys == "svn" {
				query = "latest" // the go command reads no tags from Subversion: pseudo-versions only
			}
			w.otherSetup(t, sys)
			mod := "vcs.test/" + sys + "mod"
			g := gocmd.New(t, s.URL, sharedGoCache)
			d := download(t, g, mod+"@"+query)
			if sys != "svn" && d.Version != "v1.0.0" {
				t.Errorf("version %q", d.Version)
			}
			src, err := os.ReadFile(filepath.Join(d.Dir, "x.go"))
			if err != nil || !strings.Contains(string(src), "from "+sys) {
				t.Errorf("source of %s: %q %v", mod, src, err)
			}
		})
	}
}

// otherSetup creates the repository of sys (hg, svn, bzr, fossil) with module vcs.test/<sys>mod
// tagged v1.0.0, starts its server and registers its go-import tag, once per test binary.
func (w *vcsWorld) otherSetup(t *testing.T, sys string) {
	t.Helper()
	w.mu.Lock()
	once, ok := w.others[sys]
	if !ok {
		once = &sync.Once{}
		w.others[sys] = once
	}
	w.mu.Unlock()
	once.Do(func() {
		err := w.startOther(sys)
		w.mu.Lock()
		w.otherErr[sys] = err
		w.mu.Unlock()
	})
	w.mu.Lock()
	err := w.otherErr[sys]
	w.mu.Unlock()
	if err != nil {
		t.Fatalf("setting up %s: %v", sys, err)
	}
}

func (w *vcsWorld) startOther(sys string) error {
	dir := filepath.Join(w.root, sys)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := "vcs.test/" + sys + "mod"
	files := map[string]string{"go.mod": "module " + mod + "\n\ngo 1.21\n", "x.go": "package x // from " + sys + "\n"}
	run := func(d string, name string, args ...string) error {
		_, err := vcstest.Run(w.env, d, name, args...)
		return err
	}
	switch sys {
	case "hg":
		repo := filepath.Join(dir, "repo")
		if err := os.MkdirAll(repo, 0o755); err != nil {
			return err
		}
		if err := run(repo, "hg", "init"); err != nil {
			return err
		}
		if err := writeFiles(repo, files); err != nil {
			return err
		}
		if err := run(repo, "hg", "commit", "-A", "-m", "one"); err != nil {
			return err
		}
		if err := run(repo, "hg", "tag", "v1.0.0"); err != nil {
			return err
		}
		dm, err := vcstest.StartDaemon(w.env, repo, "hg", "serve", "--address", "127.0.0.1", "--port", "{port}")
		if err != nil {
			return err
		}
		addSuiteCleanup(dm.Close)
		w.meta.Set(mod, "hg", "http://"+dm.Addr+"/")
	case "svn":
		repo := filepath.Join(dir, "repo")
		if err := run(dir, "svnadmin", "create", repo); err != nil {
			return err
		}
		wc := filepath.Join(dir, "wc")
		if err := run(dir, "svn", "checkout", "-q", "file://"+repo, wc); err != nil {
			return err
		}
		if err := writeFiles(wc, files); err != nil {
			return err
		}
		if err := run(wc, "svn", "add", "-q", "go.mod", "x.go"); err != nil {
			return err
		}
		if err := run(wc, "svn", "commit", "-q", "-m", "one"); err != nil {
			return err
		}
		dm, err := vcstest.StartDaemon(w.env, dir, "svnserve", "-d", "--foreground", "-r", repo,
			"--listen-host", "127.0.0.1", "--listen-port", "{port}")
		if err != nil {
			return err
		}
		addSuiteCleanup(dm.Close)
		w.meta.Set(mod, "svn", "svn://"+dm.Addr+"/")
	case "bzr":
		repo := filepath.Join(dir, "repo")
		if err := run(dir, "brz", "init", "-q", repo); err != nil {
			return err
		}
		if err := writeFiles(repo, files); err != nil {
			return err
		}
		if err := run(repo, "brz", "add", "-q"); err != nil {
			return err
		}
		if err := run(repo, "brz", "commit", "-q", "-m", "one"); err != nil {
			return err
		}
		if err := run(repo, "brz", "tag", "-q", "v1.0.0"); err != nil {
			return err
		}
		dm, err := vcstest.StartDaemon(w.env, dir, "brz", "serve", "--directory", dir, "--listen", "127.0.0.1", "--port", "{port}")
		if err != nil {
			return err
		}
		addSuiteCleanup(dm.Close)
		w.meta.Set(mod, "bzr", "bzr://"+dm.Addr+"/repo")
	case "fossil":
		repo := filepath.Join(dir, "repo.fossil")
		if err := run(dir, "fossil", "init", repo); err != nil {
			return err
		}
		wc := filepath.Join(dir, "wc")
		if err := os.MkdirAll(wc, 0o755); err != nil {
			return err
		}
		if err := run(wc, "fossil", "open", repo); err != nil {
			return err
		}
		if err := writeFiles(wc, files); err != nil {
			return err
		}
		if err := run(wc, "fossil", "add", "go.mod", "x.go"); err != nil {
			return err
		}
		if err := run(wc, "fossil", "commit", "-m", "one", "--tag", "v1.0.0", "--no-warnings"); err != nil {
			return err
		}
		dm, err := vcstest.StartDaemon(w.env, dir, "fossil", "server", "--localhost", "--port", "{port}", repo)
		if err != nil {
			return err
		}
		addSuiteCleanup(dm.Close)
		w.meta.Set(mod, "fossil", "http://"+dm.Addr+"/")
	default:
		return fmt.Errorf("unknown system %s", sys)
	}
	return nil
}

// Hostile versions get a 4xx and never start the go command.
func TestDirectHostileInputStartsNoSubprocess(t *testing.T) {
	w := getWorld(t)
	wrapper, runs := spawnCounter(t)
	s := w.stoa(t, "--go-binary", wrapper)
	for _, v := range []string{"-x", "--upload-pack=x", "/etc/passwd", "v1.0.0;id", "$(id)",
		"v1.0.0%0Aid", "%0A", strings.Repeat("a", 10_000), "..%2F..%2Fetc%2Fpasswd", "-", "--",
		"v1.0.0%20-x", "%2Dx", "v1.0.0%00"} {
		for _, ext := range []string{".info", ".mod", ".zip"} {
			r, err := rawDo(s.Addr, "GET", "/vcs.test/repo.git/@v/"+v+ext)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("version %.40q%s: status %d, want 4xx", v, ext, r.Status)
			}
		}
	}
	// (A module path element may start with '-' after the host, "vcs.test/-x": that is a valid
	// path, passed as one argument after "--", and not tested here.)
	for _, p := range []string{"/-x/@v/list", "/--upload-pack=x/@v/list", "/vcs.test/repo.git/@latest/x",
		"/vcs.test/repo.git;id/@v/list", "/vcs.test/$(id)/@v/list", "/vcs.test/r%0Aid/@v/list"} {
		r, err := rawDo(s.Addr, "GET", p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("%s: status %d, want 4xx", p, r.Status)
		}
	}
	if got := runs(); len(got) != 0 {
		t.Fatalf("hostile requests started the go command: %q", got)
	}
	// The wrapper is really the go command stoa runs: a good request goes through it.
	if r := get(t, s.URL+"/vcs.test/repo.git/@v/list"); r.Status != 200 {
		t.Fatalf("list: %v %q", r.Status, r.Body)
	}
	if got := runs(); len(got) != 1 || !strings.Contains(got[0], "list -m -json -versions -retracted -- vcs.test/repo.git") {
		t.Errorf("runs after one good request: %q", got)
	}
}

// "Does not exist" is remembered for direct_negative_ttl: a second ask starts nothing.
func TestDirectNotFoundIsRemembered(t *testing.T) {
	w := getWorld(t)
	wrapper, runs := spawnCounter(t)
	s := w.stoa(t, "--go-binary", wrapper)
	for i := 0; i < 2; i++ {
		if r := get(t, s.URL+"/vcs.test/repo.git/@v/v1.7.0.zip"); r.Status != 404 {
			t.Fatalf("ask %d: %v %q", i, r.Status, r.Body)
		}
	}
	if got := runs(); len(got) != 1 {
		t.Errorf("go command runs for two asks of a missing version: %q", got)
	}
}

// A go-import tag of kind "mod" that points back at stoa: stoa's own go command asks stoa,
// which refuses (508) instead of fetching again: the request fails after one hop, quickly.
func TestDirectGoImportLoopStopsAfterOneHop(t *testing.T) {
	w := getWorld(t)
	wrapper, runs := spawnCounter(t)
	s := w.stoa(t, "--go-binary", wrapper)
	w.meta.Set("vcs.test/loop", "mod", s.URL)
	start := time.Now()
	r := get(t, s.URL+"/vcs.test/loop/@v/v1.0.0.info")
	if r.Status == 200 || r.Status == 404 {
		t.Errorf("loop: %v %q, want a failure", r.Status, r.Body)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the loop took %v to fail", took)
	}
	if got := runs(); len(got) != 1 {
		t.Errorf("go command runs: %q, want exactly one", got)
	}
	if !strings.Contains(s.WaitLog("go-import loop", 1, 10*time.Second), "go-import loop") {
		t.Errorf("no loop refusal logged")
	}
	// A plain client is not mistaken for stoa's go command.
	if r := get(t, s.URL+"/vcs.test/repo.git/@v/list"); r.Status != 200 {
		t.Errorf("list after the loop: %v %q", r.Status, r.Body)
	}
}

// Toolchain modules (golang.org/toolchain@v0.0.1-goX.Y.Z.GOOS-GOARCH, 70+ MB zips) come from an
// upstream proxy and are served like any module. The zip here is generated: 76 MB of
// incompressible bytes in the layout of a toolchain.
func TestToolchainModuleFromUpstream(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	blob := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.Uint32())
		}
		return string(b)
	}
	const version = "v0.0.1-go1.99.0.linux-amd64"
	b := modgen.MustBuild(t, modgen.Module{
		Path:    "golang.org/toolchain",
		Version: version,
		Files: map[string]string{
			"go1.99.0.linux-amd64/bin/go":                       blob(40 << 20),
			"go1.99.0.linux-amd64/pkg/tool/linux_amd64/compile": blob(36 << 20),
			"go1.99.0.linux-amd64/VERSION":                      "go1.99.0\n",
		},
	})
	if len(b.Zip) < 70<<20 {
		t.Fatalf("generated zip is only %d bytes", len(b.Zip))
	}
	up := newUpstream(t, b)
	// The go command insists on a checksum database for toolchains: a local one, which stoa
	// checks the zip against too.
	db := sumdbtest.New(t, sumdbName)
	db.Add(b)
	s := stoatest.Start(t, stoatest.Config{Upstream: up.URL(), Sumdb: db.GOSUMDB()})
	g := gocmd.New(t, s.URL, sharedGoCache).With("GOSUMDB=" + db.GOSUMDB())
	d := download(t, g, "golang.org/toolchain@"+version)
	if d.Sum != b.Sum {
		t.Errorf("toolchain zip hash %s, want %s", d.Sum, b.Sum)
	}
	if fi, err := os.Stat(filepath.Join(s.DataDir, b.Key("zip"))); err != nil || fi.Size() != int64(len(b.Zip)) {
		t.Errorf("stored zip: %v %v, want %d bytes", fi, err, len(b.Zip))
	}
	if n := up.Hits(b.Key("zip")); n != 1 {
		t.Errorf("upstream asked %d times for the zip", n)
	}
}

// A public module fetched direct is checked against stoa's checksum database like one from a
// proxy; a private one is not (and the database is never asked about it).
func TestDirectPublicModulesAreVerifiedPrivateOnesNot(t *testing.T) {
	w := getWorld(t)
	db := sumdbtest.New(t, sumdbName) // knows nothing of vcs.test
	s := w.stoa(t, "--sumdb", db.GOSUMDB())
	r := get(t, s.URL+"/vcs.test/repo.git/@v/v1.0.0.zip")
	if r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "checksum database") {
		t.Errorf("public module unknown to the checksum database: %v %q, want 502", r.Status, r.Body)
	}
	if _, err := os.Stat(filepath.Join(s.DataDir, "vcs.test/repo.git/@v/v1.0.0.zip")); err == nil {
		t.Errorf("the unverified zip was stored")
	}
	if r := get(t, s.URL+"/vcs.test/private/secret.git/@v/v1.0.0.zip"); r.Status != 200 {
		t.Errorf("private module: %v %q", r.Status, r.Body)
	}
	if n := db.CountContaining("private"); n != 0 {
		t.Errorf("the checksum database was asked %d times about the private module", n)
	}
	if n := db.CountContaining("vcs.test/repo.git"); n == 0 {
		t.Errorf("the checksum database was never asked about the public module")
	}
}

// Bad direct-fetch settings stop stoa at start with one clear line and exit status 2.
func TestDirectBadConfigurationStopsStartup(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--upstream", "direct", "--go-binary", filepath.Join(dir, "no-go")}, "go_binary"},
		{[]string{"--upstream", "direct", "--direct-pass-env", "HTTPS_PROXY,GOFLAGS"}, "direct_pass_env (--direct-pass-env): GOFLAGS"},
		{[]string{"--upstream", "direct", "--direct-pass-env", "A=B"}, "direct_pass_env"},
		{[]string{"--upstream", "direct", "--direct-netrc", filepath.Join(dir, "nonetrc")}, "direct_netrc"},
		{[]string{"--upstream", "direct", "--direct-ssh-key", "/a b/key"}, "direct_ssh_key"},
		{[]string{"--upstream", "off"}, "upstream"},
	} {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--sumdb", "off"}, c.args...)
		r := stoatest.Run(t, 30*time.Second, nil, args...)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, c.want) || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line about %s", c.args, r.ExitCode, r.Stderr, c.want)
		}
	}
}
