package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// Every setting works as a flag, as a STOA_* environment variable and as a TOML key: a stoa
// configured each way serves and stores where it was told.
func TestServeConfiguredEachWay(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"flags", "env", "toml"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			b := modgen.MustBuild(t, modgen.Module{Path: "example.com/configured", Version: "v1.0.0"})
			up := newUpstream(t, b)
			s := startStoa(t, up, stoatest.Config{Via: via, ListTTL: "30s", FetchTimeout: "20s"})
			r := get(t, s.URL+"/"+b.Key("zip"))
			if r.Status != 200 {
				t.Fatalf("GET zip: %v", r)
			}
			checkStored(t, s.DataDir, b, "zip")
			if n := up.Hits(b.Key("zip")); n != 1 {
				t.Errorf("upstream zip hits %d, want 1 (the configured upstream)", n)
			}
		})
	}
}

// The access log has exactly one line per request, in text and in JSON (where every line of
// stderr is a JSON object), even for a path with an encoded newline.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			b := modgen.MustBuild(t, modgen.Module{Path: "example.com/logged", Version: "v1.0.0"})
			up := newUpstream(t, b)
			s := startStoa(t, up, stoatest.Config{LogFormat: format})
			targets := map[string]int{ // target -> how many times it is requested
				"/" + b.Key("info"):                        2,
				"/" + b.Key("zip"):                         1,
				"/example.com/logged/@v/v9.0.0.mod":        1,
				"/example.com/Bad/@v/list":                 1,
				"/example.com/logged/@v/v1.0.0%0Aline.mod": 1,
			}
			for target, n := range targets {
				for range n {
					if _, err := rawDo(s.Addr, "GET", target); err != nil {
						t.Fatalf("GET %s: %v", target, err)
					}
				}
			}
			countLines := func(target string) int {
				count := 0
				for _, line := range strings.Split(s.Log(), "\n") {
					if strings.Contains(line, target) {
						count++
					}
				}
				return count
			}
			// A line is written just after its answer: poll until every line is there.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); sleepPoll() {
				all := true
				for target, n := range targets {
					all = all && countLines(target) >= n
				}
				if all {
					break
				}
			}
			s.Stop()
			lines := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
			for _, line := range lines {
				if format == "json" && !json.Valid([]byte(line)) {
					t.Errorf("log line is not JSON: %q", line)
				}
			}
			for target, n := range targets {
				if count := countLines(target); count != n {
					t.Errorf("%d log lines mention %s, want %d", count, target, n)
				}
			}
			if t.Failed() {
				t.Logf("log:\n%s", s.Log())
			}
		})
	}
}

// list is fetched from upstream with a TTL, merged with the versions stored locally, and
// served from the last good copy when upstream fails.
func TestListMergeTTLAndLastGoodCopy(t *testing.T) {
	t.Parallel()
	const p = "example.com/listed"
	v100 := modgen.MustBuild(t, modgen.Module{Path: p, Version: "v1.0.0"})
	v110 := modgen.MustBuild(t, modgen.Module{Path: p, Version: "v1.1.0"})
	up := newUpstream(t, v100, v110)

	versionsOf := func(body []byte) map[string]bool {
		vs := map[string]bool{}
		for _, line := range strings.Split(string(body), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				vs[f[0]] = true
			}
		}
		return vs
	}

	t.Run("merge and TTL", func(t *testing.T) {
		s := startStoa(t, up, stoatest.Config{ListTTL: "60s"})
		if r := get(t, s.URL+"/"+v100.Key("info")); r.Status != 200 {
			t.Fatalf("GET v1.0.0.info: %v", r)
		}
		// The v1.0.0 tag is deleted upstream: the stored version stays listed.
		up.SetList(p, "v1.1.0")
		up.ResetHits()
		for range 2 {
			r := get(t, s.URL+"/"+v100.ListKey())
			if vs := versionsOf(r.Body); r.Status != 200 || !vs["v1.0.0"] || !vs["v1.1.0"] || len(vs) != 2 {
				t.Errorf("GET list: %v, want v1.0.0 (stored) and v1.1.0 (upstream)", r)
			}
			checkShortCache(t, "list", r.Header)
		}
		if n := up.Hits(v100.ListKey()); n != 1 {
			t.Errorf("upstream list fetches within the TTL: %d, want 1", n)
		}
		if list, ok := dataFile(s.DataDir, v100.ListKey()); !ok || !versionsOf(list)["v1.0.0"] || versionsOf(list)["v1.1.0"] {
			t.Errorf("stored list file = %q, want the stored version v1.0.0 only", list)
		}
	})

	// Garbage is dropped; the upstream's pseudo-versions and times are passed on, since the go
	// command computes @latest from them when the upstream has no @latest.
	t.Run("no garbage, the upstream's pseudo-versions kept", func(t *testing.T) {
		s := startStoa(t, up, stoatest.Config{})
		up.SetList(p, "v1.0.0 2024-01-02T03:04:05Z", "not-a-version", "v1.0.1-0.20240101000000-abcdefabcdef", "", "v1.1.0")
		r := get(t, s.URL+"/"+v100.ListKey())
		want := "v1.0.0 2024-01-02T03:04:05Z\nv1.0.1-0.20240101000000-abcdefabcdef\nv1.1.0\n"
		if r.Status != 200 || string(r.Body) != want {
			t.Errorf("GET list over an upstream list with a pseudo-version and garbage: %v, want %q", r, want)
		}
	})

	t.Run("last good copy", func(t *testing.T) {
		s := startStoa(t, up, stoatest.Config{ListTTL: "1s"})
		up.SetList(p, "v1.0.0", "v1.1.0", "v1.2.0") // v1.2.0: known only from upstream's list
		up.ResetHits()
		if r := get(t, s.URL+"/"+v100.ListKey()); r.Status != 200 || !versionsOf(r.Body)["v1.2.0"] {
			t.Fatalf("GET list: %v", r)
		}
		up.SetFault(v100.ListKey(), upstreamStatus(500))
		// Poll until the TTL has expired and stoa has tried upstream again; every answer
		// meanwhile is the last good copy.
		for i := 0; up.Hits(v100.ListKey()) < 2; i++ {
			if i > 400 {
				t.Fatal("stoa never refetched the list after its TTL")
			}
			r := get(t, s.URL+"/"+v100.ListKey())
			if vs := versionsOf(r.Body); r.Status != 200 || !vs["v1.2.0"] || !vs["v1.0.0"] {
				t.Fatalf("GET list while upstream fails: %v, want the last good copy", r)
			}
			sleepPoll()
		}
		r := get(t, s.URL+"/"+v100.ListKey())
		if vs := versionsOf(r.Body); r.Status != 200 || !vs["v1.2.0"] {
			t.Errorf("GET list after a failed refresh: %v, want the last good copy", r)
		}
	})
}

// Validation before commit: a .mod larger than 16 MiB is refused (502), nothing stored.
func TestUpstreamOversizedMod(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/hugemod", Version: "v1.0.0"})
	up := newUpstream(t, b)
	huge := []byte("module example.com/hugemod\n\n" + strings.Repeat("// padding padding padding\n", (16<<20)/27+10))
	if len(huge) <= 16<<20 {
		t.Fatalf("test bug: %d bytes", len(huge))
	}
	up.SetFault(b.Key("mod"), upstreamBody(huge))
	s := startStoa(t, up, stoatest.Config{})
	r := get(t, s.URL+"/"+b.Key("mod"))
	if r.Status != 502 {
		t.Errorf("GET a %d-byte .mod: %d %s, want 502", len(huge), r.Status, r.Header.Get("Content-Type"))
	}
	waitNoTempLeftovers(t, s.DataDir)
	if found := storedFilesNamed(s.DataDir, "v1.0.0.mod"); len(found) != 0 {
		t.Errorf("an oversized .mod was stored: %v", found)
	}
	up.ClearFault(b.Key("mod"))
	if r := get(t, s.URL+"/"+b.Key("mod")); r.Status != 200 || string(r.Body) != string(b.Mod) {
		t.Errorf("GET .mod after the fault cleared: %v", r)
	}
}

func TestUpstreamGoneIs404(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/gone", Version: "v1.0.0"})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{})
	for _, ext := range []string{"info", "mod", "zip"} {
		up.SetFault(b.Key(ext), upstreamStatus(410))
		checkNotFound(t, fmt.Sprintf("upstream 410 for .%s", ext), get(t, s.URL+"/"+b.Key(ext)))
	}
}
