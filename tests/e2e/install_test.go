package e2e

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/stoatest"
)

// `make install DESTDIR=... PREFIX=...` puts a stripped binary, its separate debug info (found
// through .gnu_debuglink), the systemd unit pointing at the installed binary and the reference
// configuration under DESTDIR, and nothing outside it. The binary shipped is $STOA_BIN here (the
// release build by default).
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	cmd := exec.Command("make", "-C", repo, "--no-print-directory", "install",
		"DESTDIR="+root, "PREFIX=/opt/stoa", "STOA_INSTALL_BIN="+stoatest.Bin(t),
		"DIST_DIR="+filepath.Join(tmp, "dist"))
	cmd.Env = stoatest.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}

	var files []string
	if err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, strings.TrimPrefix(p, root))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/etc/stoa/stoa.toml",
		"/etc/stoa/stoa.toml.reference",
		"/opt/stoa/bin/stoa",
		"/opt/stoa/lib/systemd/system/stoa.service",
		"/usr/lib/debug/opt/stoa/bin/stoa.debug",
	}
	if strings.Join(files, "\n") != strings.Join(want, "\n") {
		t.Errorf("installed files:\n%s\nwant:\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}

	bin := filepath.Join(root, "opt/stoa/bin/stoa")
	exe, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for _, s := range exe.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || s.Name == ".symtab" {
			t.Errorf("installed binary has section %s: not stripped", s.Name)
		}
	}
	link := exe.Section(".gnu_debuglink")
	if link == nil {
		t.Fatal("installed binary has no .gnu_debuglink")
	}
	if data, _ := link.Data(); !strings.HasPrefix(string(data), "stoa.debug\x00") {
		t.Errorf(".gnu_debuglink names %q, want stoa.debug", data)
	}
	dbg, err := elf.Open(filepath.Join(root, "usr/lib/debug/opt/stoa/bin/stoa.debug"))
	if err != nil {
		t.Fatal(err)
	}
	defer dbg.Close()
	if dbg.Section(".debug_info") == nil {
		t.Error("stoa.debug holds no .debug_info")
	}
	if st, _ := os.Stat(bin); st != nil {
		orig, _ := os.Stat(stoatest.Bin(t))
		t.Logf("binary %d bytes, installed (stripped) %d bytes", orig.Size(), st.Size())
	}

	r := runBinary(t, bin, "--version")
	if !strings.HasPrefix(r, "stoa ") {
		t.Errorf("installed stoa --version: %q", r)
	}
	unit, err := os.ReadFile(filepath.Join(root, "opt/stoa/lib/systemd/system/stoa.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nExecStart=/opt/stoa/bin/stoa serve --config /etc/stoa/stoa.toml\n") {
		t.Errorf("installed unit does not start the installed binary:\n%s", unit)
	}
	ref, _ := os.ReadFile(filepath.Join(repo, "packaging/stoa.toml"))
	got, _ := os.ReadFile(filepath.Join(root, "etc/stoa/stoa.toml"))
	if len(ref) == 0 || string(got) != string(ref) {
		t.Error("installed stoa.toml is not packaging/stoa.toml")
	}

	// A second install keeps a configuration that is already there.
	if err := os.WriteFile(filepath.Join(root, "etc/stoa/stoa.toml"), []byte("listen = \"127.0.0.1:1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(cmd.Args[0], cmd.Args[1:]...)
	cmd.Env = stoatest.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("second make install: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "etc/stoa/stoa.toml")); string(got) != "listen = \"127.0.0.1:1\"\n" {
		t.Errorf("second install overwrote stoa.toml: %q", got)
	}
}

// runBinary runs bin args... and returns its stdout; it fails the test on a non-zero exit.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = stoatest.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return string(out)
}
