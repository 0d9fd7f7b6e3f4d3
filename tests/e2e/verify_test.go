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

// TestVerifyFindsAndQuarantinesChangedBytes: `stoa verify` re-hashes what is stored; a zip whose
// bytes changed on disk after it was stored is reported (exit 1) and, with --quarantine, moved
// aside (not deleted) and dropped from the list; afterwards verify is clean (exit 0).
func TestVerifyFindsAndQuarantinesChangedBytes(t *testing.T) {
	t.Parallel()
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/keep", Version: "v1.0.0"})
	hurt := modgen.MustBuild(t, modgen.Module{Path: "example.com/hurt", Version: "v1.2.0"})
	up := newUpstream(t, good, hurt)
	s := startStoa(t, up, stoatest.Config{})
	for _, b := range []*modgen.Built{good, hurt} {
		for _, ext := range []string{"info", "mod", "zip"} {
			if r := get(t, s.URL+"/"+b.Key(ext)); r.Status != 200 {
				t.Fatalf("GET %s: %v", b.Key(ext), r)
			}
		}
	}
	s.Stop()
	data := s.DataDir
	for _, b := range []*modgen.Built{good, hurt} {
		zh, ok := dataFile(data, strings.TrimSuffix(b.Key("zip"), ".zip")+".ziphash")
		if !ok || strings.TrimSpace(string(zh)) != b.Sum {
			t.Fatalf("recorded zip hash of %s = %q, want %s", b.Path, zh, b.Sum)
		}
		mh, ok := dataFile(data, strings.TrimSuffix(b.Key("mod"), ".mod")+".modhash")
		if !ok || strings.TrimSpace(string(mh)) != b.ModSum {
			t.Fatalf("recorded mod hash of %s = %q, want %s", b.Path, mh, b.ModSum)
		}
	}
	args := []string{"verify", "--data-dir", data, "--upstream", up.URL(), "--sumdb", "off"}
	if r := stoatest.Run(t, time.Minute, nil, args...); r.ExitCode != 0 {
		t.Fatalf("verify of an intact store: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}

	// Change one stored file the way a disk or an operator might: same size, other bytes.
	// (The go command's zip reader would accept it: only its hash tells.)
	zipPath := filepath.Join(data, filepath.FromSlash(hurt.Key("zip")))
	if err := os.Chmod(zipPath, 0o644); err != nil {
		t.Fatal(err)
	}
	z, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(z), "README")
	if i < 0 {
		t.Fatalf("no README entry name in the zip")
	}
	tampered := append([]byte{}, z...)
	copy(tampered[len(tampered)/2:], []byte("X"))
	if err := os.WriteFile(zipPath, tampered, 0o444); err != nil {
		t.Fatal(err)
	}

	r := stoatest.Run(t, time.Minute, nil, args...)
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, "BAD example.com/hurt@v1.2.0 zip") {
		t.Fatalf("verify after tampering: exit %d, want 1 naming example.com/hurt@v1.2.0 zip\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout, "example.com/keep") {
		t.Errorf("verify blamed an intact module:\n%s", r.Stdout)
	}

	r = stoatest.Run(t, time.Minute, nil, append(args, "--quarantine")...)
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, "QUARANTINED example.com/hurt@v1.2.0") {
		t.Fatalf("verify --quarantine: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, ext := range []string{"info", "mod", "zip"} {
		if _, ok := dataFile(data, hurt.Key(ext)); ok {
			t.Errorf("%s still in place after quarantine", hurt.Key(ext))
		}
	}
	moved, _ := filepath.Glob(filepath.Join(data, ".stoa-quarantine", "*", "example.com", "hurt", "@v", "v1.2.0.zip"))
	if len(moved) != 1 {
		t.Fatalf("quarantined zip not found under .stoa-quarantine (got %v)", moved)
	}
	if b, _ := os.ReadFile(moved[0]); string(b) != string(tampered) {
		t.Errorf("the quarantined file is not the tampered bytes")
	}
	if list, ok := dataFile(data, hurt.ListKey()); ok && strings.Contains(string(list), "v1.2.0") {
		t.Errorf("quarantined version still listed: %q", list)
	}
	if _, ok := dataFile(data, good.Key("zip")); !ok {
		t.Errorf("the intact module was moved")
	}
	if r := stoatest.Run(t, time.Minute, nil, args...); r.ExitCode != 0 {
		t.Fatalf("verify after quarantine: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
