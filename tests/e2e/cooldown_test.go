package e2e

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// testClock is stoa's test-only clock of minimum release ages (STOATEST_CLOCK_FILE, compiled
// into the asan and dev builds only): a file holding the seconds stoa adds to its system clock.
// Moving it lets a test pass a week without waiting one.
type testClock struct {
	t      *testing.T
	path   string
	offset time.Duration
}

func newTestClock(t *testing.T) *testClock {
	c := &testClock{t: t, path: filepath.Join(t.TempDir(), "clock")}
	c.advance(0)
	return c
}

func (c *testClock) env() string { return "STOATEST_CLOCK_FILE=" + c.path }

// now is stoa's time.
func (c *testClock) now() time.Time { return time.Now().Add(c.offset) }

func (c *testClock) advance(d time.Duration) {
	c.offset += d
	writeFile(c.t, c.path, strconv.FormatInt(int64(c.offset/time.Second), 10)+"\n")
}

// taggedAt builds path@version with its .info Time at `at`.
func taggedAt(t *testing.T, path, version string, at time.Time) *modgen.Built {
	t.Helper()
	name := path[strings.LastIndex(path, "/")+1:]
	return modgen.MustBuild(t, modgen.Module{Path: path, Version: version, Time: at.UTC().Truncate(time.Second),
		Files: map[string]string{name + ".go": "// Package " + name + " is test data (" + version + ").\npackage " + name + "\n"}})
}

const day = 24 * time.Hour

// With `min_age = "7d"`, a version the upstream tagged today is skipped by `go get m@latest`
// (the newest version old enough is chosen), a pinned request for it fails with the date it
// leaves cooldown, and once the clock passes that date it is chosen. The age counts from when
// stoa first saw the version, not from the Time the tag claims.
func TestCooldownGoGetSkipsAVersionTaggedToday(t *testing.T) {
	t.Parallel()
	const path = "example.com/cooling"
	clock := newTestClock(t)
	up := newUpstream(t, taggedAt(t, path, "v1.0.0", time.Now().Add(-300*day)))
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "week"
modules = "example.com/*"
min_age = "7d"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}, Env: []string{clock.env()}})
	if !strings.Contains(s.Log(), "TEST CLOCK") {
		t.Errorf("no warning that the test clock is on:\n%s", s.Log())
	}
	g := goClient(t, s.URL)

	// Its first sighting is now, however old its Time: a pinned request is refused.
	dir := g.InitModule("example.com/pin")
	_, stderr, err := g.Run(dir, "get", path+"@v1.0.0")
	if err == nil || !strings.Contains(stderr, path+"@v1.0.0 is in cooldown until "+clock.now().Add(7*day).UTC().Format("2006-01-02")) ||
		!strings.Contains(stderr, `(rule "week", min_age 1w)`) {
		t.Fatalf("go get %s@v1.0.0 (seen just now): err %v, want the cooldown's end printed:\n%s", path, err, stderr)
	}

	clock.advance(8 * day)
	up.Add(taggedAt(t, path, "v1.1.0", clock.now())) // tagged "today"
	// The upstream's @latest is v1.1.0: the newest version old enough answers instead.
	if r := get(t, s.URL+"/"+path+"/@latest"); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"v1.0.0"`) {
		t.Errorf("GET @latest: %v, want v1.0.0", r)
	}
	dir = g.InitModule("example.com/latest")
	if _, stderr, err := g.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("go get %s@latest: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.0.0" {
		t.Errorf("go get %s@latest chose %q, want v1.0.0 (v1.1.0 is a day old)", path, v)
	}
	until := clock.now().Add(7 * day).UTC()
	r := get(t, s.URL+"/"+path+"/@v/v1.1.0.info")
	body := string(r.Body)
	if r.Status != http.StatusForbidden || !strings.HasPrefix(body, path+"@v1.1.0 is in cooldown until ") ||
		!strings.HasSuffix(body, ` (rule "week", min_age 1w)`+"\n") {
		t.Fatalf("GET the young version's .info: %d %q", r.Status, body)
	}
	got, perr := time.Parse(time.RFC3339, strings.TrimSuffix(strings.TrimPrefix(body, path+"@v1.1.0 is in cooldown until "), ` (rule "week", min_age 1w)`+"\n"))
	if perr != nil || got.Sub(until).Abs() > time.Minute {
		t.Errorf("cooldown ends %v (%v), want about %v", got, perr, until)
	}
	_, stderr, err = g.Run(dir, "get", path+"@v1.1.0")
	if err == nil || !strings.Contains(stderr, path+"@v1.1.0 is in cooldown until") {
		t.Errorf("go get %s@v1.1.0 (young): err %v, want the cooldown printed:\n%s", path, err, stderr)
	}
	if n := up.Hits(path + "/@v/v1.1.0.zip"); n != 0 {
		t.Errorf("the young version's zip was fetched %d times", n)
	}

	clock.advance(7*day + time.Minute)
	dir = g.InitModule("example.com/later")
	if _, stderr, err := g.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("go get %s@latest a week later: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("go get %s@latest a week later chose %q, want v1.1.0", path, v)
	}

	m := string(get(t, s.URL+"/metrics").Body)
	for _, want := range []string{
		`stoa_versions_filtered_total{rule="week",reason="cooldown",answer="latest"}`,
		`stoa_versions_filtered_total{rule="week",reason="cooldown",answer="list"}`,
		`stoa_versions_filtered_total{rule="week",reason="cooldown",answer="file"}`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "stoa_versions_filtered"))
		}
	}
	if want := `v1.1.0 (rule "week")`; !strings.Contains(s.Log(), want) {
		t.Errorf("no log line naming the rule (%q):\n%s", want, s.Log())
	}
}

// GOPROXY=<stoa>/cooldown/2d: the same store, with versions younger than two days hidden, for
// a client that opts in (no rule needed); the plain URL still serves the newest.
func TestCooldownPrefixAsGoproxy(t *testing.T) {
	t.Parallel()
	const path = "example.com/prefixed"
	clock := newTestClock(t)
	up := newUpstream(t, taggedAt(t, path, "v1.0.0", time.Now().Add(-300*day)))
	s := startStoa(t, up, stoatest.Config{Env: []string{clock.env()}})
	plain := goClient(t, s.URL)
	slow := goClient(t, s.URL+"/cooldown/2d")

	// Its first sighting is now (a pinned request under the prefix, refused).
	dir := slow.InitModule("example.com/first")
	_, stderr, err := slow.Run(dir, "mod", "download", path+"@v1.0.0")
	if err == nil || !strings.Contains(stderr, path+"@v1.0.0 is in cooldown until") || !strings.Contains(stderr, "(the client's /cooldown/2d prefix)") {
		t.Fatalf("GOPROXY=.../cooldown/2d go mod download %s@v1.0.0 (seen just now): err %v, want the cooldown printed:\n%s", path, err, stderr)
	}
	clock.advance(3 * day)
	up.Add(taggedAt(t, path, "v1.1.0", clock.now()))

	dir = slow.InitModule("example.com/slow")
	if _, stderr, err := slow.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("GOPROXY=.../cooldown/2d go get %s@latest: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.0.0" {
		t.Errorf("GOPROXY=.../cooldown/2d go get %s@latest chose %q, want v1.0.0", path, v)
	}
	dir = plain.InitModule("example.com/fast")
	if _, stderr, err := plain.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("go get %s@latest: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("plain GOPROXY go get %s@latest chose %q, want v1.1.0", path, v)
	}
	// Stored now, and still refused under the prefix.
	_, stderr, err = slow.Run(dir, "mod", "download", path+"@v1.1.0")
	if err == nil || !strings.Contains(stderr, "in cooldown until") || !strings.Contains(stderr, "/cooldown/2d prefix") {
		t.Errorf("GOPROXY=.../cooldown/2d go mod download %s@v1.1.0: err %v, want the cooldown printed:\n%s", path, err, stderr)
	}

	clock.advance(2 * day)
	dir = slow.InitModule("example.com/slow-later")
	if _, stderr, err := slow.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("GOPROXY=.../cooldown/2d go get %s@latest two days later: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("GOPROXY=.../cooldown/2d go get %s@latest two days later chose %q, want v1.1.0", path, v)
	}
	if r := get(t, s.URL+"/cooldown/7x/"+path+"/@latest"); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "not an age") {
		t.Errorf("a malformed age: %v", r)
	}
}

// min_age_pinned = "allow": an exact pin of a young version is served (for teams that only
// want @latest and -u slowed down), while @latest still skips it and /index does not list it,
// although it is stored.
func TestCooldownPinnedAllowed(t *testing.T) {
	t.Parallel()
	const path = "example.com/pinnable"
	clock := newTestClock(t)
	up := newUpstream(t, taggedAt(t, path, "v1.0.0", time.Now().Add(-300*day)))
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "week-but-pins"
modules = "example.com/*"
min_age = "7d"
min_age_pinned = "allow"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}, Env: []string{clock.env()}})
	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/pins")
	if _, stderr, err := g.Run(dir, "get", path+"@v1.0.0"); err != nil { // seen now, pinned: served
		t.Fatalf("go get %s@v1.0.0 (pinned, allowed): %v\n%s", path, err, stderr)
	}
	clock.advance(8 * day)
	up.Add(taggedAt(t, path, "v1.1.0", clock.now()))
	if _, stderr, err := g.Run(dir, "get", path+"@v1.1.0"); err != nil {
		t.Fatalf("go get %s@v1.1.0 (young, pinned, allowed): %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("go get %s@v1.1.0: go.mod requires %q", path, v)
	}
	dir = g.InitModule("example.com/latest")
	if _, stderr, err := g.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("go get %s@latest: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.0.0" {
		t.Errorf("go get %s@latest chose %q, want v1.0.0 (v1.1.0 is young)", path, v)
	}
	idx := string(get(t, s.URL+"/index").Body)
	if !strings.Contains(idx, `"Version":"v1.0.0"`) || strings.Contains(idx, `"Version":"v1.1.0"`) {
		t.Errorf("/index: want v1.0.0 and not the young v1.1.0 (stored by the pin):\n%s", idx)
	}
	clock.advance(7*day + time.Minute)
	if idx := string(get(t, s.URL+"/index").Body); !strings.Contains(idx, `"Version":"v1.1.0"`) {
		t.Errorf("/index a week later lacks v1.1.0:\n%s", idx)
	}
}
