package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// Test 7: once the upstream is down (closed, answering 500, or hanging past --fetch-timeout),
// stored modules are still served and the list falls back to the stored versions; a module
// stoa does not have is a 502/504, never a 404, and the go command's error says so.
func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	const fetchTimeout = 2 * time.Second
	cases := []struct {
		name string
		down func(up *upstream.Server)
	}{
		{"closed", func(up *upstream.Server) { up.Close() }},
		{"status 500", func(up *upstream.Server) { up.SetDefaultFault(&upstream.Fault{Status: 500}) }},
		{"hangs past fetch timeout", func(up *upstream.Server) { up.SetDefaultFault(&upstream.Fault{Hang: true}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := modgen.MustBuild(t, modgen.Module{Path: "example.com/stable", Version: "v1.0.0",
				Files: map[string]string{"stable.go": "package stable\n"}})
			up := newUpstream(t, b)
			s := startStoa(t, up, stoatest.Config{FetchTimeout: fetchTimeout.String()})

			// While upstream is up: download by exact version (list is not fetched).
			ds, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
			if err != nil || len(ds) != 1 {
				t.Fatalf("go mod download while upstream is up: %v\n%s", err, stderr)
			}
			checkDownload(t, ds[0], b)
			before := map[string]int{}
			for _, ext := range []string{"info", "mod", "zip"} {
				before[ext] = up.Hits(b.Key(ext))
			}

			tc.down(up)

			// Stored files are served from a fresh module cache, without asking upstream.
			g := goClient(t, s.URL)
			ds, stderr, err = g.ModDownload(b.Path + "@" + b.Version)
			if err != nil || len(ds) != 1 {
				t.Fatalf("go mod download of a stored module while upstream is down: %v\n%s", err, stderr)
			}
			checkDownload(t, ds[0], b)
			for _, ext := range []string{"info", "mod", "zip"} {
				if n := up.Hits(b.Key(ext)); n != before[ext] {
					t.Errorf("stored %s fetched from upstream again (%d -> %d hits)", ext, before[ext], n)
				}
			}
			// The list falls back to the stored versions.
			out := g.MustRun("", "list", "-m", "-json", b.Path+"@latest")
			var latest struct{ Version string }
			if err := json.Unmarshal([]byte(out), &latest); err != nil || latest.Version != b.Version {
				t.Errorf("go list -m %s@latest while upstream is down: %s", b.Path, out)
			}

			r := get(t, s.URL+"/"+b.LatestKey())
			if r.Status != 200 || !strings.Contains(string(r.Body), `"`+b.Version+`"`) {
				t.Errorf("GET @latest of a stored module while upstream is down: %v, want the stored version", r)
			}

			// What stoa does not have is an upstream failure, not an absence.
			for _, path := range []string{
				"/example.com/missing/@v/v1.0.0.zip",
				"/example.com/missing/@v/v1.0.0.info",
				"/example.com/missing/@v/list",
				"/example.com/missing/@latest",
				"/example.com/stable/@v/v1.9.9.mod",
			} {
				r := get(t, s.URL+path)
				if !isGatewayError(r.Status) {
					t.Errorf("GET %s while upstream is down: %v, want 502 or 504", path, r)
					continue
				}
				checkContentType(t, path, r.Header, "text/plain")
				checkNotCachedLong(t, path, r.Header)
				if limit := fetchTimeout + 10*time.Second; r.Elapsed > limit {
					t.Errorf("GET %s took %v, more than the fetch timeout + 10s", path, r.Elapsed)
				}
			}

			ds, stderr, err = g.ModDownload("example.com/missing@v1.0.0")
			if err == nil {
				t.Fatalf("go mod download of a missing module succeeded while upstream is down")
			}
			msg := stderr
			if !strings.Contains(msg, "example.com/missing") ||
				!(strings.Contains(msg, "502 Bad Gateway") || strings.Contains(msg, "504 Gateway Timeout")) {
				t.Errorf("go command's error does not mention the gateway failure:\n%s", msg)
			}
		})
	}
}

// The data directory survives a restart: files stored by one stoa are served by the next one,
// with the upstream gone.
func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/durable", Version: "v1.2.3",
		Files: map[string]string{"d.go": "package durable\n"}})
	up := newUpstream(t, b)
	first := startStoa(t, up, stoatest.Config{})
	ds, stderr, err := goClient(t, first.URL).ModDownload(b.Path + "@" + b.Version)
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], b)
	first.Stop()
	up.Close()

	second := startStoa(t, up, stoatest.Config{DataDir: first.DataDir})
	ds, stderr, err = goClient(t, second.URL).ModDownload(b.Path + "@" + b.Version)
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download after restart, upstream gone: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], b)
	out := goClient(t, second.URL).MustRun("", "list", "-m", "-versions", b.Path)
	if got := strings.Fields(out); !slices.Equal(got, []string{b.Path, b.Version}) {
		t.Errorf("go list -m -versions after restart: %q", out)
	}
}

// GOPROXY list semantics of --upstream: ',' falls through on 404/410 only, '|' on any error.
func TestUpstreamListFallThrough(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sep        string
		deadStatus int
		want       int // stoa's status for the module's .info
	}{
		{",", 404, 200},
		{",", 410, 200},
		{",", 500, 502},
		{"|", 500, 200},
		{"|", 404, 200},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("dead %d then %q", tc.deadStatus, tc.sep), func(t *testing.T) {
			t.Parallel()
			b := modgen.MustBuild(t, modgen.Module{Path: "example.com/fallthrough", Version: "v1.0.0",
				Files: map[string]string{"f.go": "package fallthrough\n"}})
			dead := newUpstream(t)
			dead.SetDefaultFault(&upstream.Fault{Status: tc.deadStatus})
			good := newUpstream(t, b)
			s := startStoa(t, good, stoatest.Config{Upstream: dead.URL() + tc.sep + good.URL()})

			r := get(t, s.URL+"/"+b.Key("info"))
			if tc.want == http.StatusBadGateway {
				if !isGatewayError(r.Status) {
					t.Errorf("GET .info = %v, want 502", r)
				}
				if n := good.Hits(b.Key("info")); n != 0 {
					t.Errorf("',' fell through after a %d: the second upstream got %d requests", tc.deadStatus, n)
				}
				if dead.Hits(b.Key("info")) == 0 {
					t.Errorf("the first upstream was never asked")
				}
				return
			}
			if r.Status != tc.want {
				t.Fatalf("GET .info = %v, want %d", r, tc.want)
			}
			ds, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
			if err != nil || len(ds) != 1 {
				t.Fatalf("go mod download: %v\n%s", err, stderr)
			}
			checkDownload(t, ds[0], b)
		})
	}
}

// The data directory is a GOPROXY file tree: GOPROXY=file://$DATA serves what stoa stored.
func TestDataDirIsFileProxy(t *testing.T) {
	t.Parallel()
	mods := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: "example.com/Files/Tree", Version: "v1.0.0",
			Files: map[string]string{"t.go": "package tree\n"}}),
		modgen.MustBuild(t, modgen.Module{Path: "example.com/Files/Tree", Version: "v1.1.0",
			Files: map[string]string{"t.go": "package tree\n\nconst V = 1\n"}}),
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	if _, stderr, err := goClient(t, s.URL).ModDownload(mods[0].Path+"@v1.0.0", mods[1].Path+"@v1.1.0"); err != nil {
		t.Fatalf("go mod download through stoa: %v\n%s", err, stderr)
	}

	g := goClient(t, "file://"+s.DataDir)
	ds, stderr, err := g.ModDownload(mods[0].Path+"@v1.0.0", mods[1].Path+"@v1.1.0")
	if err != nil || len(ds) != 2 {
		t.Fatalf("go mod download with GOPROXY=file://%s: %v\n%s", s.DataDir, err, stderr)
	}
	for i, b := range mods {
		checkDownload(t, ds[i], b)
	}
	out := g.MustRun("", "list", "-m", "-versions", mods[0].Path)
	if got := strings.Fields(out); !slices.Equal(got, []string{mods[0].Path, "v1.0.0", "v1.1.0"}) {
		t.Errorf("go list -m -versions with GOPROXY=file://: %q", out)
	}
}

// An upstream mounted under a path (as GOPROXY servers behind a reverse proxy are), and one
// that redirects the zip elsewhere (as CDN-backed proxies do): both work.
func TestUpstreamPathPrefixAndRedirect(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/Prefixed", Version: "v1.0.0",
		Files: map[string]string{"p.go": "package prefixed\n"}})
	up := upstream.NewAt("/api/go/")
	t.Cleanup(up.Close)
	up.Add(b)
	up.SetFault("cdn/blob.zip", upstream.Fault{Body: b.Zip})
	up.SetFault(b.Key("zip"), upstream.Fault{Redirect: up.URL() + "/cdn/blob.zip"})
	s := startStoa(t, up, stoatest.Config{})
	ds, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], b)
	if up.Hits(b.Key("info")) != 1 || up.Hits("cdn/blob.zip") != 1 {
		t.Errorf("upstream hits under the prefix: %+v", up.HitLog())
	}
}

// SIGTERM drains: a request waiting for a 64 MiB upstream fetch still gets its whole answer (and
// its access-log line), the fetch is committed, and stoa then exits 0.
func TestGracefulShutdownDrains(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/drain", Version: "v1.0.0",
		Files: randomFiles(21, 64<<20)})
	up := newUpstream(t, b)
	arrived := make(chan string, 2)
	release := make(chan struct{})
	up.SetFault(b.Key("zip"), upstream.Fault{Arrived: arrived, Block: release})
	s := startStoa(t, up, stoatest.Config{})

	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := httpClient.Get(s.URL + "/" + b.Key("zip"))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, body, err}
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch never reached upstream")
	}
	s.Signal(syscall.SIGTERM)
	// Draining has begun once new connections are refused; then let the fetch finish.
	for deadline := time.Now().Add(10 * time.Second); ; sleepPoll() {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Error("stoa still accepts connections 10s after SIGTERM")
			break
		}
	}
	close(release)
	r := <-done
	if r.err != nil || r.status != 200 || !bytes.Equal(r.body, b.Zip) {
		t.Errorf("in-flight request across SIGTERM: status %d, %d bytes, %v; want the whole zip", r.status, len(r.body), r.err)
	}
	if exited, code := s.WaitExit(30 * time.Second); !exited || code != 0 {
		t.Errorf("after SIGTERM: exited %v, code %d; want exit 0", exited, code)
	}
	if !strings.Contains(s.Log(), b.Key("zip")) {
		t.Errorf("the drained request has no access-log line")
	}
	if stored, ok := dataFile(s.DataDir, b.Key("zip")); !ok || !bytes.Equal(stored, b.Zip) {
		t.Errorf("the fetch in flight at SIGTERM was not committed whole")
	}
}

// A second SIGTERM while draining stops stoa at once: the request still waiting for its fetch is
// cut off instead of being given the rest of shutdown_grace, and stoa exits 0.
func TestSecondSignalStopsDraining(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/drain2", Version: "v1.0.0"})
	up := newUpstream(t, b)
	arrived := make(chan string, 2)
	release := make(chan struct{})
	up.SetFault(b.Key("zip"), upstream.Fault{Arrived: arrived, Block: release})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	s := startStoa(t, up, stoatest.Config{Args: []string{"--shutdown-grace", "10m"}})

	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := httpClient.Get(s.URL + "/" + b.Key("zip"))
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, body, err}
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch never reached upstream")
	}
	s.Signal(syscall.SIGTERM)
	if out := s.WaitLog(": draining", 1, 30*time.Second); !strings.Contains(out, ": draining") {
		t.Fatalf("no draining line after the first SIGTERM:\n%s", out)
	}
	s.Signal(syscall.SIGTERM)
	if out := s.WaitLog("while draining: stopping now", 1, 30*time.Second); !strings.Contains(out, "while draining: stopping now") {
		t.Fatalf("no stopping line after the second SIGTERM:\n%s", out)
	}
	// The fetch (on a worker of its own) may finish now: shutdown waits for the workers.
	close(release)
	if exited, code := s.WaitExit(60 * time.Second); !exited || code != 0 {
		t.Errorf("after a second SIGTERM: exited %v, code %d; want exit 0", exited, code)
	}
	if r := <-done; r.err == nil && r.status == 200 && bytes.Equal(r.body, b.Zip) {
		t.Errorf("the request in flight got its whole answer; a second SIGTERM should cut it off")
	}
}
