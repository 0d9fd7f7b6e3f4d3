package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// TestDerivedFilesConverge: a kill (or a full disk) between committing a version and rewriting
// the files derived from it leaves the module's stored list without the version and the zip
// without its recorded hash. The store stays a GOPROXY file tree the go command can read, so
// the list must converge: stoa rewrites it the first time the list is asked for, and
// `stoa verify` reports both files and, with --repair, rewrites them.
func TestDerivedFilesConverge(t *testing.T) {
	t.Parallel()
	const mod = "example.com/derived"
	v100 := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v1.0.0"})
	v110 := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v1.1.0"})
	up := newUpstream(t, v100, v110)
	s := startStoa(t, up, stoatest.Config{})
	data := s.DataDir
	if _, _, err := goClient(t, s.URL).ModDownload(mod+"@v1.0.0", mod+"@v1.1.0"); err != nil {
		t.Fatalf("go mod download through stoa: %v", err)
	}
	s.Stop()

	listPath := filepath.Join(data, filepath.FromSlash(v100.ListKey()))
	hashKey := strings.TrimSuffix(v110.Key("zip"), ".zip") + ".ziphash"
	hashPath := filepath.Join(data, filepath.FromSlash(hashKey))
	// What the kill leaves: the list as it was before v1.1.0's commit, no .ziphash of v1.1.0.
	kill := func() {
		t.Helper()
		if err := os.WriteFile(listPath, []byte("v1.0.0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(hashPath); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	// The versions the go command sees in the store read as a file proxy.
	fileVersions := func() string {
		t.Helper()
		g := goClient(t, "file://"+filepath.ToSlash(data))
		out, stderr, err := g.Run(g.InitModule("example.com/reader"), "list", "-m", "-versions", mod)
		if err != nil {
			t.Fatalf("go list -m -versions from the store: %v\n%s", err, stderr)
		}
		return strings.TrimSpace(out)
	}
	kill()
	if got := fileVersions(); got != mod+" v1.0.0" {
		t.Fatalf("the stale store lists %q, want only v1.0.0 (the kill was not simulated)", got)
	}

	// Restarted, with the upstream list failing: the list is answered from the store, and the
	// stored list is rewritten on this first use.
	s = startStoa(t, up, stoatest.Config{DataDir: data})
	up.SetFault(v100.ListKey(), upstreamStatus(500))
	g := goClient(t, s.URL)
	out, stderr, err := g.Run(g.InitModule("example.com/client"), "list", "-m", "-versions", mod)
	if err != nil || strings.TrimSpace(out) != mod+" v1.0.0 v1.1.0" {
		t.Fatalf("go list -m -versions through stoa = %q, %v\n%s", out, err, stderr)
	}
	if list, _ := os.ReadFile(listPath); string(list) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("stored list after first use = %q, want both versions", list)
	}
	if got := fileVersions(); got != mod+" v1.0.0 v1.1.0" {
		t.Errorf("the store read as a file proxy lists %q after the repair", got)
	}
	s.Stop()

	kill()
	args := []string{"verify", "--data-dir", data, "--upstream", up.URL(), "--sumdb", "off"}
	r := stoatest.Run(t, time.Minute, nil, args...)
	if r.ExitCode != 1 ||
		!strings.Contains(r.Stdout, "STALE "+mod+" list: lacks v1.1.0") ||
		!strings.Contains(r.Stdout, "STALE "+mod+"@v1.1.0 zip: no recorded hash") {
		t.Fatalf("verify of the killed store: exit %d, want 1 naming the list and the hash\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if list, _ := os.ReadFile(listPath); string(list) != "v1.0.0\n" {
		t.Errorf("verify without --repair changed the list to %q", list)
	}
	r = stoatest.Run(t, time.Minute, nil, append(args, "--repair")...)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "REPAIRED "+v100.ListKey()) ||
		!strings.Contains(r.Stdout, "REPAIRED "+hashKey) {
		t.Fatalf("verify --repair: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if list, _ := os.ReadFile(listPath); string(list) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("list after verify --repair = %q", list)
	}
	if h, _ := os.ReadFile(hashPath); strings.TrimSpace(string(h)) != v110.Sum {
		t.Errorf("recorded zip hash after verify --repair = %q, want %s", h, v110.Sum)
	}
	if r := stoatest.Run(t, time.Minute, nil, args...); r.ExitCode != 0 {
		t.Fatalf("verify after the repair: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
