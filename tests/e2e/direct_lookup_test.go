package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// unresolvableHost is a host no resolver is ever asked about: its first label is longer than
// DNS allows (63 bytes), so the go command's resolver answers "no such host" itself, without a
// query leaving the machine. Module paths allow it.
var unresolvableHost = strings.Repeat("n", 64) + ".invalid"

// A failed import-path lookup is "not found" for the go command in direct mode, so an upstream
// list ending in direct behaves as the go command alone: `go mod tidy` of a project importing a
// package in a subdirectory of a module probes the package path's prefixes; the proxy has none
// of the non-module prefixes, stoa looks them up directly, the lookup fails (no VCS access here,
// an unresolvable host), and stoa must answer 404 for each, not 502, or the client gives up.
func TestDirectFailedImportPathLookupIsNotFound(t *testing.T) {
	t.Parallel()
	mod := unresolvableHost + "/m"
	b := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v1.0.0",
		GoMod: "module " + mod + "\n\ngo 1.21\n",
		Files: map[string]string{"m.go": "package m\n", "sub/pkg/pkg.go": "package pkg\n\nconst X = 1\n"}})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{Upstream: up.URL() + ",direct",
		Args: []string{"--direct-timeout", "1m"}})

	// The go command alone, with the same list, succeeds: the reference.
	ref := goClient(t, up.URL()+",direct")
	refDir := ref.InitModule("example.com/ref")
	writeImporter(t, refDir, mod+"/sub/pkg")
	ref.MustRun(refDir, "mod", "tidy")

	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/client")
	writeImporter(t, dir, mod+"/sub/pkg")
	g.MustRun(dir, "mod", "tidy")
	if v := requiredVersion(t, dir, mod); v != "v1.0.0" {
		t.Errorf("go.mod requires %s %q, want v1.0.0", mod, v)
	}

	for _, p := range []string{mod + "/sub/pkg/@v/list", mod + "/sub/@latest", mod + "/sub/@v/v1.0.0.info"} {
		r := get(t, s.URL+"/"+p)
		if r.Status != 404 {
			t.Errorf("GET %s: %d %q, want 404", p, r.Status, r.Body)
		}
		if !strings.Contains(string(r.Body), "unrecognized import path") {
			t.Errorf("GET %s: body %q does not say why", p, r.Body)
		}
	}
	// Nothing was stored for the prefixes that are not modules.
	for _, p := range []string{mod + "/sub/pkg/@v", mod + "/sub/@v"} {
		if _, err := os.Stat(filepath.Join(s.DataDir, p)); err == nil {
			t.Errorf("stoa stored something under %s", p)
		}
	}
}

// writeImporter writes a main package importing pkg into the module at dir.
func writeImporter(t *testing.T, dir, pkg string) {
	t.Helper()
	src := "package main\n\nimport p \"" + pkg + "\"\n\nfunc main() { _ = p.X }\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}
