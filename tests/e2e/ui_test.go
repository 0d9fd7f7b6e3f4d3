package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// uiFixture: stoa with ui = true, a public module whose go.mod is hostile text, a private module
// behind a `private` rule with a reader token, both fetched through the protocol first.
type uiFixture struct {
	s      *stoatest.Stoa
	pub    *modgen.Built
	pubOld *modgen.Built
	priv   *modgen.Built
	reader string // "Authorization: Bearer ..."
}

const uiHostile = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)> javascript:alert(3) \u202egpj.exe"

func startUI(t *testing.T, prefix string, extra ...string) *uiFixture {
	t.Helper()
	dir := t.TempDir()
	f := &uiFixture{}
	f.pubOld = modgen.MustBuild(t, modgen.Module{Path: "example.com/web/pub", Version: "v1.2.0"})
	f.pub = modgen.MustBuild(t, modgen.Module{Path: "example.com/web/pub", Version: "v1.10.0",
		GoMod: "module example.com/web/pub\n\n// " + uiHostile + "\nretract v1.2.0 // " + uiHostile + "\n",
		Files: map[string]string{"pub.go": "package pub\n"}})
	f.priv = modgen.MustBuild(t, modgen.Module{Path: "corp.example/web/secret", Version: "v1.0.0"})
	token := "tok-" + hex.EncodeToString([]byte("ui reader"))
	sum := sha256.Sum256([]byte(token))
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "reader "+hex.EncodeToString(sum[:])+"\n")
	rules := writeFile(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
modules = "corp.example/web"
action = "private"
readers = ["reader"]
upstream = "`+newUpstream(t, f.priv).URL()+`"
`)
	f.reader = "Authorization: Bearer " + token
	args := append([]string{"--ui=true", "--rules-file", rules, "--tokens-file", tokens}, extra...)
	f.s = startStoa(t, newUpstream(t, f.pub, f.pubOld), stoatest.Config{Args: args})
	for _, b := range []*modgen.Built{f.pub, f.pubOld} {
		for _, ext := range []string{"info", "mod", "zip"} {
			if r := get(t, f.s.URL+prefix+"/"+b.Key(ext)); r.Status != 200 {
				t.Fatalf("GET %s: %v", b.Key(ext), r)
			}
		}
	}
	for _, ext := range []string{"info", "mod", "zip"} {
		if r := get(t, f.s.URL+prefix+"/"+f.priv.Key(ext), f.reader); r.Status != 200 {
			t.Fatalf("GET %s as the reader: %v", f.priv.Key(ext), r)
		}
	}
	return f
}

func checkSecurityHeaders(t *testing.T, path string, r response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
		"Referrer-Policy": "no-referrer"} {
		if got := r.Header.Get(k); got != v {
			t.Errorf("GET %s: %s %q, want %q", path, k, got, v)
		}
	}
}

// TestWebPages: every page answers with its key content and the security headers, the
// hostile go.mod text is shown escaped, private modules look like nothing to anonymous
// visitors and are shown to their reader.
func TestWebPages(t *testing.T) {
	t.Parallel()
	f := startUI(t, "")
	s := f.s
	pages := map[string][]string{
		"/":                 {"go env -w GOPROXY=" + s.URL, `name="q"`, "example.com/web/pub@v1.10.0", "Upstreams"},
		"/search?q=WEB%2Fp": {"1 module", `href="/m/example.com/web/pub"`},
		"/m/example.com/web/pub": {"go get example.com/web/pub@v1.10.0", "pub.go", "go.mod",
			"<b>retracted</b>: " + html.EscapeString(uiHostile)[:20], f.pub.Sum},
		"/m/example.com/web/pub/%40v1.2.0": {"go get example.com/web/pub@v1.2.0"},
		"/setup": {"export GOPROXY=&#39;" + s.URL + "&#39;", "GONOSUMDB=&#39;corp.example/web&#39;", "GOAUTH=netrc", "GitLab CI",
			"machine " + s.Addr + " login USER"}, // host:port, as the go command matches it
		"/status":      {"cache hit ratio", "Requests by endpoint", "<svg"},
		"/version":     {`"version":`},
		"/robots.txt":  {"Disallow: /"},
		"/-/style.css": {"prefers-color-scheme"},
	}
	for path, wants := range pages {
		r := get(t, s.URL+path)
		if r.Status != 200 {
			t.Errorf("GET %s: %v", path, r)
			continue
		}
		checkSecurityHeaders(t, path, r)
		for _, w := range wants {
			if !strings.Contains(string(r.Body), w) {
				t.Errorf("GET %s: no %q in\n%s", path, w, r.Body)
			}
		}
		if strings.Contains(string(r.Body), "<script") || strings.Contains(string(r.Body), "<img") ||
			strings.Contains(string(r.Body), "\u202e") {
			t.Errorf("GET %s: hostile text got through:\n%s", path, r.Body)
		}
	}
	// The protocol is untouched beside the pages.
	if r := get(t, s.URL+"/"+f.pub.Key("info")); r.Status != 200 || string(r.Body) != string(f.pub.Info) {
		t.Errorf("GET %s beside the pages: %v", f.pub.Key("info"), r)
	}

	t.Run("private modules", func(t *testing.T) {
		// What a module that does not exist looks like, with the private path put in its place.
		const ghost = "corp.example/web/nothere"
		none := get(t, s.URL+"/m/"+ghost)
		if none.Status != 404 {
			t.Fatalf("GET /m/%s: %v", ghost, none)
		}
		want := strings.ReplaceAll(string(none.Body), ghost, f.priv.Path)
		for _, auth := range [][]string{nil, {"Authorization: Bearer wrong"}} {
			r := get(t, s.URL+"/m/"+f.priv.Path, auth...)
			if r.Status != 404 || string(r.Body) != want {
				t.Errorf("anonymous GET /m/%s %v: %v, want exactly the page of a module that does not exist", f.priv.Path, auth, r)
			}
			if r := get(t, s.URL+"/search?q=corp", auth...); strings.Contains(string(r.Body), f.priv.Path) {
				t.Errorf("anonymous search lists the private module:\n%s", r.Body)
			}
		}
		r := get(t, s.URL+"/m/"+f.priv.Path, f.reader)
		if r.Status != 200 || !strings.Contains(string(r.Body), "go get "+f.priv.Path+"@v1.0.0") {
			t.Errorf("GET /m/%s as its reader: %v", f.priv.Path, r)
		}
	})

	t.Run("the setup page's GOPROXY line works in the go command", func(t *testing.T) {
		r := get(t, s.URL+"/setup")
		m := regexp.MustCompile(`go env -w GOPROXY=([^<\s]+)`).FindSubmatch(r.Body)
		if m == nil {
			t.Fatalf("no GOPROXY line in the setup page:\n%s", r.Body)
		}
		goproxy := html.UnescapeString(string(m[1]))
		g := goClient(t, goproxy)
		ds, msg, err := g.ModDownload(f.pub.Path + "@" + f.pub.Version)
		if err != nil || len(ds) != 1 || ds[0].Sum != f.pub.Sum {
			t.Fatalf("go mod download with GOPROXY=%s from the setup page: %v %+v\n%s", goproxy, err, ds, msg)
		}
	})
}

// TestWebPagesUnderPrefixes: with path_prefix, ui_path and external_url, links and the setup
// lines carry them; the protocol keeps its paths.
func TestWebPagesUnderPrefixes(t *testing.T) {
	t.Parallel()
	f := startUI(t, "/goproxy", "--path-prefix", "/goproxy", "--ui-path", "/ui", "--external-url",
		"https://proxy.example.com")
	s := f.s
	r := get(t, s.URL+"/goproxy/ui/setup")
	if r.Status != 200 || !strings.Contains(string(r.Body), "go env -w GOPROXY=https://proxy.example.com/goproxy") ||
		!strings.Contains(string(r.Body), `href="/goproxy/ui/-/style.css"`) {
		t.Errorf("GET /goproxy/ui/setup: %v\n%s", r, r.Body)
	}
	if r := get(t, s.URL+"/goproxy/"); r.Status == 200 && strings.Contains(string(r.Body), "<html") {
		t.Errorf("the pages answer outside ui_path: %v", r)
	}
	if r := get(t, s.URL+"/goproxy/version"); r.Status != 200 {
		t.Errorf("GET /goproxy/version: %v", r)
	}
	if r := do(t, http.MethodPost, s.URL+"/goproxy/ui/"); r.Status != 405 {
		t.Errorf("POST /goproxy/ui/: %v, want 405", r)
	}
}
