package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// snapshot maps every path under root to its type and mode, and for files size and content hash.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			entry += fmt.Sprintf(" %d %s", info.Size(), hex.EncodeToString(sum[:]))
		}
		snap[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	return snap
}

func diffSnapshots(before, after map[string]string) []string {
	var diffs []string
	for p, a := range after {
		if b, ok := before[p]; !ok {
			diffs = append(diffs, "created "+p)
		} else if a != b {
			diffs = append(diffs, "changed "+p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			diffs = append(diffs, "removed "+p)
		}
	}
	return diffs
}

// Test 10: hostile request paths, sent as raw request lines so nothing normalizes them: each
// gets a 4xx (never a 5xx, never a dropped connection), nothing is created or changed on disk
// (the data dir, its parent and a sibling canary directory are compared before and after),
// and none reaches the upstream.
func TestHostilePaths(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0"})
	up := newUpstream(t, b)

	parent := t.TempDir()
	data := filepath.Join(parent, "data")
	canary := filepath.Join(parent, "canary")
	if err := os.MkdirAll(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(canary, "secret.txt"), []byte("canary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startStoa(t, up, stoatest.Config{DataDir: data})

	long := strings.Repeat("a", 5000)
	targets := []string{
		// bad case-encoding
		"/example.com/m!/@v/list",
		"/example.com/%21/@v/list",
		"/example.com/!1x/@v/list",
		"/example.com/Azure/sdk/@v/list",
		"/example.com/%41zure/sdk/@v/list",
		"/example.com/m/@v/v1.0.0-RC1.info",
		"/example.com/m/@v/v1.0.0-!r!c1!.info",
		"/example.com/m/@v/v1.0.0-!1.info",
		"/example.com/%C3%A9/@v/list",
		// traversal and separators
		"/example.com/m/../../canary/@v/list",
		"/../canary/@v/list",
		"/../../canary/secret.txt",
		"/example.com/%2e%2e/%2e%2e/canary/@v/list",
		"/example.com/%2E%2E/@v/v1.0.0.info",
		"/example.com/m/@v/..%2F..%2F..%2Fcanary%2Fsecret.info",
		"/example.com%2F..%2F..%2Fcanary/@v/list",
		"/example.com/m%2Fx/@v/list",
		"/example.com/m/@v/%2Fetc%2Fpasswd.info",
		"/example.com/m%5C..%5C..%5Ccanary/@v/list",
		"/example.com/m%2fx/@v/list",
		"/example.com/m%5cx/@v/list",
		"/example.com/m%252F..%252F/@v/list",
		"/example.com/m%zz/@v/list",
		"/example.com/m%/@v/list",
		"/example.com/m/@v/v1.0.0.info%2",
		"http://example.com/m/@v/list",
		"example.com/m/@v/list",
		"/example.com/m/@v/v1.0.0.info/../../../../canary",
		"//example.com/m/@v/list",
		"/example.com//m/@v/list",
		"/./example.com/m/@v/list",
		// NUL, controls, query strings
		"/example.com/m%00/@v/list",
		"/example.com/m/@v/v1.0.0%00.zip",
		"/example.com/m/@v/v1.0.0.info%00",
		"/example.com/m/@v/list?x=1",
		// size
		"/example.com/" + long + "/@v/list",
		"/example.com/" + strings.Repeat("abcdefghi/", 500) + "@v/list",
		"/example.com" + strings.Repeat("/a", 1000) + "/@v/list",
		"/example.com/" + strings.Repeat("b", 20_000) + "/@v/list", // beyond any header limit
		// reserved and odd elements
		"/example.com/con/@v/list",
		"/example.com/nul.txt/@v/list",
		"/example.com/com1/@v/list",
		"/example.com/x~1/@v/list",
		"/example.com/.git/@v/list",
		"/example.com/m/.git/@v/list",
		"/.git/config",
		"/-example.com/m/@v/list",
		"/example.com/m./@v/list",
		"/example/m/@v/list",
		// hostile versions
		"/example.com/m/@v/-x.info",
		"/example.com/m/@v/--upload-pack=x.info",
		"/example.com/m/@v/--upload-pack=x.zip",
		"/example.com/m/@v/-x.mod",
		"/example.com/m/@v/v1.0.0%3Bid.info",
		"/example.com/m/@v/v1.0.0;id.info",
		"/example.com/m/@v/$(id).info",
		"/example.com/m/@v/%24%28id%29.mod",
		"/example.com/m/@v/`id`.info",
		"/example.com/m/@v/v1.0.0%20x.zip",
		"/example.com/m/@v/master%20--foo.info",
		"/example.com/m/@v/v1.0.0%0Aid.info",
		"/example.com/m/@v/v1.0.0%0D%0AX-Injected:%201.info",
		"/example.com/m/@v/v1.0.0-" + strings.Repeat("a", 10_000) + ".info",
		"/example.com/m/@v/v1.0.zip",
		"/example.com/m/@v/master.zip",
		"/example.com/m/@v/master.mod",
		"/example.com/m/@v/v2.0.0.zip",
		"/example.com/m/@v/.info",
		"/example.com/m/@v/",
		"/example.com/m/@v/v1.0.0.exe",
	}
	before := snapshot(t, parent)
	up.ResetHits()

	for _, target := range targets {
		name := target
		if len(name) > 80 {
			name = fmt.Sprintf("%s...(%d bytes)", name[:60], len(target))
		}
		r, err := rawDo(s.Addr, "GET", target)
		if err != nil {
			t.Errorf("GET %s: no answer: %v", name, err)
			continue
		}
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("GET %s: %v, want 4xx", name, r)
		}
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		r, err := rawDo(s.Addr, method, "/"+b.Key("info"), "Content-Length: 0")
		if err != nil {
			t.Errorf("%s: no answer: %v", method, err)
			continue
		}
		if r.Status < 400 || r.Status > 499 {
			t.Errorf("%s /%s: %v, want 4xx (405)", method, b.Key("info"), r)
		}
	}

	after := snapshot(t, parent)
	if diffs := diffSnapshots(before, after); len(diffs) != 0 {
		t.Errorf("hostile requests changed the file system: %v", diffs)
	}
	for _, h := range up.HitLog() {
		if !strings.HasPrefix(h.Key, "_stoa/") {
			t.Errorf("a hostile request reached upstream: %q", h.Key)
		}
	}
	// stoa still serves.
	if r := get(t, s.URL+"/"+b.Key("info")); r.Status != 200 {
		t.Errorf("GET a good .info after the hostile requests: %v", r)
	}
	// One access-log line per request: an encoded CR/LF must not start a log line of its own.
	for _, line := range strings.Split(s.Log(), "\n") {
		if strings.HasPrefix(line, "X-Injected") || strings.HasPrefix(line, "id.info") {
			t.Errorf("an encoded newline split a log line: %q", line)
		}
	}
}

// A client that never finishes its request header is disconnected after the header timeout,
// and other clients are served meanwhile.
func TestSlowHeaderDisconnected(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--header-timeout", "1s"}})
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	if r := get(t, s.URL+"/healthz"); r.Status != 200 || r.Elapsed > 2*time.Second {
		t.Errorf("GET /healthz beside 20 slow clients: %v in %v", r, r.Elapsed)
	}
	start := time.Now()
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		// A 408 answer before the close is fine too: read until the close.
		_, err := io.ReadAll(c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("slow client %d still connected after %v", i, time.Since(start))
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("slow clients disconnected only after %v", d)
	}
}
