package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// TestOperationalEndpoints: operational_endpoints decides who may read /metrics, /index and
// /catalog on the main listener; module downloads and the health checks are not affected, and
// the admin listener serves all three in every mode.
func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/operational", Version: "v1.0.0"})
	token := "tok-" + hex.EncodeToString([]byte("scraper"))
	sum := sha256.Sum256([]byte(token))
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "prometheus "+hex.EncodeToString(sum[:])+"\n")
	users := writeFile(t, filepath.Join(dir, "users"), usersLine(t, "alice", "alice-pw")+"\n")
	bearer := "Authorization: Bearer " + token
	basic := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:alice-pw"))
	wrong := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:guess"))
	targets := []string{"/metrics", "/index", "/catalog"}

	// expect checks the status of every target at base with the given headers.
	expect := func(t *testing.T, base string, want int, headers ...string) {
		t.Helper()
		for _, p := range targets {
			r := do(t, "GET", base+p, headers...)
			if r.Status != want {
				t.Errorf("GET %s%s %v: %v, want %d", base, p, headers, r, want)
			}
			if want == 401 && r.Status == 401 && r.Header.Get("WWW-Authenticate") != `Basic realm="stoa"` {
				t.Errorf("GET %s: 401 without the Basic challenge: %v", p, r.Header)
			}
		}
	}
	// start serves m (anonymously readable: no rules) and downloads it once.
	start := func(t *testing.T, args ...string) *stoatest.Stoa {
		t.Helper()
		s := startStoa(t, newUpstream(t, m), stoatest.Config{Args: args})
		if r := get(t, s.URL+"/"+m.Key("info")); r.Status != 200 {
			t.Fatalf("GET %s: %v", m.Key("info"), r)
		}
		if r := get(t, s.URL+"/healthz"); r.Status != 200 {
			t.Fatalf("GET /healthz: %v", r)
		}
		return s
	}

	t.Run("public by default without users or tokens", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		expect(t, s.URL, 200)
	})
	t.Run("authenticated by default with users or tokens", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--users-file", users, "--tokens-file", tokens)
		expect(t, s.URL, 401)
		expect(t, s.URL, 401, wrong)
		expect(t, s.URL, 401, "Authorization: Bearer tok-guessed")
		expect(t, s.URL, 200, bearer)
		expect(t, s.URL, 200, basic) // a bcrypt check, off the serving threads
		if r := do(t, "GET", s.URL+"/index", bearer); !strings.Contains(string(r.Body), m.Path) {
			t.Errorf("/index as the token does not list %s: %s", m.Path, r.Body)
		}
	})
	t.Run("public when set so although clients have credentials", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--tokens-file", tokens, "--operational-endpoints", "public")
		expect(t, s.URL, 200)
	})
	t.Run("admin: only on the admin listener", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--operational-endpoints", "admin", "--admin-listen", "127.0.0.1:0")
		expect(t, s.URL, 404)
		admin := adminURL(t, s)
		expect(t, admin, 200)
		if r := get(t, admin+"/catalog"); !strings.Contains(string(r.Body), m.Path) {
			t.Errorf("the admin listener's /catalog does not list %s: %s", m.Path, r.Body)
		}
	})
	t.Run("admin without an admin listener does not start", func(t *testing.T) {
		t.Parallel()
		r := stoatest.Run(t, 30*time.Second, nil, "serve", "--store", "memory", "--upstream", "off",
			"--operational-endpoints", "admin")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "set admin_listen too") {
			t.Errorf("exit %d, stderr %q", r.ExitCode, r.Stderr)
		}
	})
}
