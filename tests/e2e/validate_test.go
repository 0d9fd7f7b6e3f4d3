package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
	"stoa.test/internal/upstream"
)

// goUses makes a fresh module that requires path@version (through a replace of requiredAs by
// path when requiredAs is set) and loads it with the go command using goproxy: `go list -m
// -json all` parses the dependency's .mod as the go command parses every dependency's go.mod,
// and `go mod download -json` reads its .info. It returns the go command's stderr and error.
func goUses(t *testing.T, goproxy, path, version, requiredAs string) (string, error) {
	t.Helper()
	g := goClient(t, goproxy)
	dir := g.InitModule("example.com/client")
	req := path
	if requiredAs != "" {
		req = requiredAs
		if _, stderr, err := g.Run(dir, "mod", "edit", "-replace="+requiredAs+"="+path+"@"+version); err != nil {
			return stderr, err
		}
	}
	if _, stderr, err := g.Run(dir, "mod", "edit", "-require="+req+"@"+version); err != nil {
		return stderr, err
	}
	if _, stderr, err := g.Run(dir, "list", "-m", "-json", "all"); err != nil {
		return stderr, err
	}
	_, stderr, err := g.Run(dir, "mod", "download", "-json", path+"@"+version)
	return stderr, err
}

// The .mod bodies the go command refuses (modfile.ParseLax fails, or no module line) are
// refused by stoa with 502 and never stored, with no checksum check to catch them (checksum
// database off, or the module under no_sumdb); the go command refuses each of them itself
// when it reads it straight from the upstream, and works through stoa once upstream is fixed.
func TestUpstreamGoModTheGoCommandRefuses(t *testing.T) {
	t.Parallel()
	bodies := []struct{ name, body string }{
		{"HTML page", "<!DOCTYPE html>\n<html><body>Not Found</body></html>\n"},
		{"empty", ""},
		{"no module line", "go 1.21\n"},
		{"empty module path", "module \"\"\n"},
		{"two module lines", "module %s\nmodule %s\n"},
		{"byte order mark", "\xef\xbb\xbfmodule %s\n"},
		{"backquoted path", "module `%s`\n"},
		{"unterminated string", "module \"%s\n"},
		{"C comment", "module %s /* x */\n"},
		{"require without a semantic version", "module %s\nrequire example.com/dep 1.0.0\n"},
	}
	db := sumdbtest.New(t, sumdbName)
	configs := []struct {
		name string
		cfg  func(up *upstream.Server) stoatest.Config
	}{
		{"sumdb off", func(*upstream.Server) stoatest.Config { return stoatest.Config{} }},
		{"no_sumdb", func(*upstream.Server) stoatest.Config {
			return stoatest.Config{Sumdb: db.GOSUMDB(), Args: []string{"--no-sumdb", "example.com/badmod"}}
		}},
	}
	for ci, c := range configs {
		var mods []*modgen.Built
		for i := range bodies {
			mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: "example.com/badmod", Version: fmt.Sprintf("v1.%d.%d", ci, i)}))
		}
		up := newUpstream(t, mods...)
		s := startStoa(t, up, c.cfg(up))
		for i, tc := range bodies {
			b := mods[i]
			body := tc.body
			if strings.Contains(body, "%s") {
				body = strings.ReplaceAll(body, "%s", b.Path)
			}
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				up.SetFault(b.Key("mod"), upstream.Fault{Body: []byte(body)})
				if stderr, err := goUses(t, up.URL(), b.Path, b.Version, ""); err == nil {
					t.Fatalf("the go command accepts .mod %q straight from upstream: the test is wrong\n%s", body, stderr)
				}
				if r := get(t, s.URL+"/"+b.Key("mod")); r.Status != http.StatusBadGateway {
					t.Errorf("GET .mod, upstream serving %q: %v, want 502", body, r)
				}
				if stderr, err := goUses(t, s.URL, b.Path, b.Version, ""); err == nil {
					t.Errorf("the go command worked through stoa with .mod %q upstream\n%s", body, stderr)
				}
				checkNothingStored(t, s.DataDir, b, "mod", "modhash")
				up.ClearFault(b.Key("mod"))
				if stderr, err := goUses(t, s.URL, b.Path, b.Version, ""); err != nil {
					t.Fatalf("the go command through stoa once upstream is fixed: %v\n%s", err, stderr)
				}
				checkStored(t, s.DataDir, b, "mod")
			})
		}
	}
}

// .mod bodies the go command accepts are stored, including the ones a stricter check would
// wrongly refuse: CRLF, quotes and comments, a synthesized go.mod (+incompatible, no go.mod in
// the zip), and a fork whose go.mod keeps the module path it was forked from, used through a
// replace directive (the go command accepts that module line because of the replace; a proxy
// cannot know how a module is required).
func TestUpstreamGoModTheGoCommandAccepts(t *testing.T) {
	t.Parallel()
	crlf := modgen.MustBuild(t, modgen.Module{Path: "example.com/goodmod", Version: "v1.0.0",
		GoMod: "// A comment.\r\nmodule \"example.com/goodmod\" // quoted\r\n\r\ngo 1.21\r\nfrobnicate (\r\n\tanything\r\n)\r\n"})
	incompatible := modgen.MustBuild(t, modgen.Module{Path: "example.com/goodmod", Version: "v2.0.0+incompatible", NoGoMod: true})
	fork := modgen.MustBuild(t, modgen.Module{Path: "example.com/fork", Version: "v1.0.0",
		GoMod: "module example.com/orig\n", Files: map[string]string{"orig.go": "package orig\n"}})
	up := newUpstream(t, crlf, incompatible, fork)
	s := startStoa(t, up, stoatest.Config{})
	for _, tc := range []struct {
		b          *modgen.Built
		requiredAs string
	}{{crlf, ""}, {incompatible, ""}, {fork, "example.com/orig"}} {
		if stderr, err := goUses(t, up.URL(), tc.b.Path, tc.b.Version, tc.requiredAs); err != nil {
			t.Fatalf("the go command refuses %s@%s straight from upstream: the test is wrong: %v\n%s", tc.b.Path, tc.b.Version, err, stderr)
		}
		if stderr, err := goUses(t, s.URL, tc.b.Path, tc.b.Version, tc.requiredAs); err != nil {
			t.Errorf("%s@%s through stoa: %v\n%s", tc.b.Path, tc.b.Version, err, stderr)
		}
		checkStored(t, s.DataDir, tc.b, "mod", "info")
	}
}

// .info bodies: the go command decodes them with encoding/json (case-insensitive keys, the last
// one winning, types checked). What it refuses stoa refuses (502, nothing stored); what it
// accepts stoa serves.
func TestUpstreamInfoAsTheGoCommandDecodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   string
		accept bool
	}{
		{"second key in capitals names another version", `{"Version":"%v","VERSION":"v9.9.9"}`, false},
		{"lower-case time that is not a time", `{"Version":"%v","time":"not a time"}`, false},
		{"Origin of the wrong type", `{"Version":"%v","Origin":5}`, false},
		{"Origin member of the wrong type", `{"Version":"%v","Origin":{"Hash":true}}`, false},
		{"Time with an escape", `{"Version":"%v","Time":"\u0032024-01-02T03:04:05Z"}`, false},
		{"lower-case key", `{"version":"%v","time":"2024-01-02T03:04:05Z"}`, true},
		{"last one wins", `{"Version":"v9.9.9","VERSION":"%v"}`, true},
		{"long s in the key", `{"Ver\u017fion":"%v"}`, true},
		{"escaped version", `{"Version":"\u0076%V"}`, true},
		{"null members and others", `{"Version":"%v","Time":null,"Origin":null,"Extra":[{"a":1}]}`, true},
	}
	var mods []*modgen.Built
	for i := range cases {
		mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: "example.com/oddinfo", Version: fmt.Sprintf("v1.0.%d", i)}))
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	for i, tc := range cases {
		b := mods[i]
		body := strings.ReplaceAll(strings.ReplaceAll(tc.body, "%v", b.Version), "%V", strings.TrimPrefix(b.Version, "v"))
		t.Run(tc.name, func(t *testing.T) {
			up.SetFault(b.Key("info"), upstream.Fault{Body: []byte(body)})
			_, direct := goUses(t, up.URL(), b.Path, b.Version, "")
			if (direct == nil) != tc.accept {
				t.Fatalf("straight from upstream the go command says %v to .info %s: the test is wrong", direct, body)
			}
			r := get(t, s.URL+"/"+b.Key("info"))
			if !tc.accept {
				if r.Status != http.StatusBadGateway {
					t.Errorf("GET .info, upstream serving %s: %v, want 502", body, r)
				}
				checkNothingStored(t, s.DataDir, b, "info")
				return
			}
			if r.Status != http.StatusOK || string(r.Body) != body {
				t.Errorf("GET .info, upstream serving %s: %v, want 200 and the same bytes", body, r)
			}
			if stderr, err := goUses(t, s.URL, b.Path, b.Version, ""); err != nil {
				t.Errorf("the go command through stoa: %v\n%s", err, stderr)
			}
		})
	}
}
