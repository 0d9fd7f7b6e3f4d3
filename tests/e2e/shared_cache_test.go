package e2e

// stoa behind a shared cache: a real nginx with proxy_cache (internal/nginxtest, the
// configuration docs/operations.md shows) in front of stoa. Stored files are kept by nginx and
// served from it when stoa is stopped; list and @latest are asked of stoa again once their
// list_ttl has passed; answers that depend on the client's credentials are never kept by nginx
// (Cache-Control private or no-store, checked on the answers, on nginx's $upstream_cache_status
// and on nginx's cache directory).

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/nginxtest"
	"stoa.test/internal/stoatest"
)

func startNginx(t *testing.T, s *stoatest.Stoa) *nginxtest.Server {
	t.Helper()
	n := nginxtest.Start(t, t.TempDir(), s.Addr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", n.Log())
		}
	})
	return n
}

// cacheHolds reports whether a file of nginx's cache holds needle.
func cacheHolds(t *testing.T, dir string, needle []byte) bool {
	t.Helper()
	found := false
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), string(needle)) {
			found = true
		}
		return nil
	})
	return found
}

func TestSharedCacheInFront(t *testing.T) {
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/cdn", Version: "v1.0.0",
		Files: map[string]string{"cdn.go": "package cdn\n"}})
	gated := modgen.MustBuild(t, modgen.Module{Path: "example.com/gated", Version: "v1.0.0",
		Files: map[string]string{"gated.go": "package gated // for readers only\n"}})
	up := newUpstream(t, pub, gated)
	dir := t.TempDir()
	token := "tok-cdn-reader"
	sum := sha256.Sum256([]byte(token))
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "reader "+hex.EncodeToString(sum[:])+"\n")
	rules := writeFile(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
name = "gated"
modules = "example.com/gated"
readers = ["reader"]
`)
	const ttl = 5 * time.Second // long enough that a loaded machine still sees the first HIT
	s := startStoa(t, up, stoatest.Config{ListTTL: "5s",
		Args: []string{"--rules-file", rules, "--tokens-file", tokens}})
	n := startNginx(t, s)
	bearer := "Authorization: Bearer " + token
	status := func(r response) string { return r.Header.Get("X-Cache-Status") }

	// Answers that depend on who asks: never kept, however often asked.
	for _, p := range []string{"/@v/v1.0.0.info", "/@v/v1.0.0.mod", "/@v/v1.0.0.zip", "/@v/list", "/@latest"} {
		for i := 0; i < 2; i++ {
			r := get(t, n.URL+"/example.com/gated"+p, bearer)
			if r.Status != 200 {
				t.Fatalf("%s with credentials through nginx: %v", p, r)
			}
			if cc := r.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
				t.Errorf("%s: Cache-Control %q, want private", p, cc)
			}
			if status(r) != "MISS" {
				t.Errorf("%s (ask %d): X-Cache-Status %q: nginx kept an answer that needed credentials", p, i+1, status(r))
			}
		}
		anon := get(t, n.URL+"/example.com/gated"+p)
		if anon.Status != 401 || status(anon) == "HIT" {
			t.Errorf("%s without credentials through nginx: %v (X-Cache-Status %q), want stoa's 401", p, anon, status(anon))
		}
		if cc := anon.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: the 401 says Cache-Control %q", p, cc)
		}
	}
	if cacheHolds(t, n.CacheDir, gated.Mod) || cacheHolds(t, n.CacheDir, []byte("for readers only")) {
		t.Errorf("nginx's cache directory holds the restricted module")
	}

	// Stored files: kept, immutable.
	files := []string{"/@v/v1.0.0.info", "/@v/v1.0.0.mod", "/@v/v1.0.0.zip"}
	for _, p := range files {
		first := get(t, n.URL+"/example.com/cdn"+p)
		if first.Status != 200 || status(first) != "MISS" {
			t.Fatalf("%s first through nginx: %v (X-Cache-Status %q)", p, first, status(first))
		}
		if cc := first.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
		if again := get(t, n.URL+"/example.com/cdn"+p); status(again) != "HIT" || string(again.Body) != string(first.Body) {
			t.Errorf("%s again: X-Cache-Status %q, %d bytes (first %d)", p, status(again), len(again.Body), len(first.Body))
		}
	}
	if hits := up.Hits(pub.Key("zip")); hits != 1 {
		t.Errorf("upstream asked %d times for the zip", hits)
	}

	// list and @latest: kept for what is left of list_ttl, then asked of stoa again.
	up.SetList("example.com/cdn", "v1.0.0")
	listURL := n.URL + "/example.com/cdn/@v/list"
	fetchedAt := time.Now()
	first := get(t, listURL)
	if first.Status != 200 || string(first.Body) != "v1.0.0\n" || status(first) != "MISS" {
		t.Fatalf("list: %v (X-Cache-Status %q)", first, status(first))
	}
	if cc := first.Header.Get("Cache-Control"); cc != "public, max-age=5" {
		t.Errorf("list: Cache-Control %q, want public, max-age=5", cc)
	}
	latest := get(t, n.URL+"/example.com/cdn/@latest")
	if cc := latest.Header.Get("Cache-Control"); latest.Status != 200 || !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("@latest: %v, Cache-Control %q", latest, cc)
	}
	up.SetList("example.com/cdn", "v1.0.0", "v1.1.0") // published meanwhile
	asked := up.Hits(pub.ListKey())
	var statuses []string
	deadline := time.Now().Add(ttl + 30*time.Second)
	for {
		r := get(t, listURL)
		statuses = append(statuses, status(r))
		if strings.Contains(string(r.Body), "v1.1.0") {
			// nginx counts lifetimes in whole seconds: up to one early.
			if since := time.Since(fetchedAt); since < ttl-time.Second {
				t.Errorf("the new version showed after %v, before list_ttl (%v) passed", since, ttl)
			}
			break
		}
		if status(r) == "HIT" && time.Since(fetchedAt) > 2*ttl+time.Second {
			t.Fatalf("nginx still answers the list from its cache %v after it was fetched (list_ttl %v)", time.Since(fetchedAt), ttl)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the list never showed v1.1.0 through nginx; X-Cache-Status: %v", statuses)
		}
		time.Sleep(100 * time.Millisecond) // polling until the list's lifetime has passed
	}
	t.Logf("X-Cache-Status of the list until the new version showed, every 100ms: %v", statuses)
	if statuses[0] != "HIT" {
		t.Errorf("the list was not kept by nginx within its lifetime: %v", statuses)
	}
	if !strings.Contains(strings.Join(statuses, " "), "EXPIRED") {
		t.Errorf("nginx never asked stoa again once the list expired: %v", statuses)
	}
	if up.Hits(pub.ListKey()) == asked {
		t.Errorf("stoa never asked its upstream again")
	}

	// stoa stopped: the stored files are still served, by nginx, to the go command.
	s.Stop()
	g := goClient(t, n.URL)
	ds, msg, err := g.ModDownload("example.com/cdn@v1.0.0")
	if err != nil || len(ds) != 1 || ds[0].Error != "" || ds[0].Sum != pub.Sum {
		t.Fatalf("go mod download through nginx with stoa stopped: %v %+v\n%s", err, ds, msg)
	}
	for _, p := range files {
		if r := get(t, n.URL+"/example.com/cdn"+p); r.Status != 200 || status(r) != "HIT" {
			t.Errorf("%s with stoa stopped: %v (X-Cache-Status %q)", p, r, status(r))
		}
	}
	// ...and never what needed credentials.
	if r := get(t, n.URL+"/example.com/gated/@v/v1.0.0.info", bearer); r.Status == 200 {
		t.Errorf("the restricted file was served with stoa stopped: %v (X-Cache-Status %q)", r, status(r))
	}
}
