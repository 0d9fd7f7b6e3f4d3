// Package gocmd runs the real go command as a GOPROXY client with an explicit environment:
// its own GOMODCACHE, GOPATH and HOME per test, checksum database off, GOTOOLCHAIN=local and
// no private-module settings inherited from the machine.
package gocmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds one go command.
var Timeout = 2 * time.Minute

// Go is a go command client for one test.
type Go struct {
	tb       testing.TB
	Bin      string
	GOPROXY  string
	ModCache string
	Env      []string // the full environment of every command
}

// Bin finds the go command: $PATH first, then /usr/local/go/bin/go.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	const fallback = "/usr/local/go/bin/go"
	if _, err := os.Stat(fallback); err == nil {
		return fallback
	}
	tb.Fatal("the go command is not in PATH nor at " + fallback)
	return ""
}

// New returns a client that uses goproxy (a GOPROXY value) with a fresh module cache, GOPATH
// and HOME under the test's temp dir. gocache is the GOCACHE to use (shared across tests for
// speed); "" gives the test its own.
func New(tb testing.TB, goproxy, gocache string) *Go {
	tb.Helper()
	return NewIn(tb, tb.TempDir(), goproxy, gocache)
}

// NewIn is New with the client's directories under root (a directory of the test's, removed
// by the test's cleanup; MemDir gives one on a memory filesystem).
func NewIn(tb testing.TB, root, goproxy, gocache string) *Go {
	tb.Helper()
	// The module cache is read-only: make it writable again before root is removed.
	// (Cleanups run last-registered first, so this runs before the removal.)
	tb.Cleanup(func() { MakeWritable(root) })
	if gocache == "" {
		gocache = filepath.Join(root, "gocache")
	}
	g := &Go{
		tb:       tb,
		Bin:      Bin(tb),
		GOPROXY:  goproxy,
		ModCache: filepath.Join(root, "modcache"),
	}
	home := filepath.Join(root, "home")
	telemetry := filepath.Join(home, ".config", "go", "telemetry")
	for _, d := range []string{home, telemetry, filepath.Join(root, "gopath"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// Telemetry off (it is a file, not a variable): in its default "local" mode the go command
	// writes counters under XDG_CONFIG_HOME and starts a child that can outlive it, writing
	// into this temp dir while the test's cleanup removes it ("directory not empty", seen in
	// TestUpstreamGoModTheGoCommandRefuses beside a CPU hog).
	if err := os.WriteFile(filepath.Join(telemetry, "mode"), []byte("off"), 0o644); err != nil {
		tb.Fatal(err)
	}
	g.Env = []string{
		"PATH=" + filepath.Dir(g.Bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"TMPDIR=" + filepath.Join(root, "tmp"),
		"GOPATH=" + filepath.Join(root, "gopath"),
		"GOMODCACHE=" + g.ModCache,
		"GOCACHE=" + gocache,
		"GOENV=off",
		"GOPROXY=" + goproxy,
		"GOSUMDB=off",
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"GONOSUMDB=",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GOINSECURE=",
		"GOAUTH=off",
		"GOWORK=off",
		"GO111MODULE=on",
		"CGO_ENABLED=0",
	}
	return g
}

// With returns a copy of g whose environment has the given "KEY=VALUE" settings replaced
// (same module cache and temp dirs).
func (g *Go) With(kv ...string) *Go {
	c := *g
	c.Env = append([]string(nil), g.Env...)
	for _, set := range kv {
		key, _, _ := strings.Cut(set, "=")
		replaced := false
		for i, old := range c.Env {
			if strings.HasPrefix(old, key+"=") {
				c.Env[i] = set
				replaced = true
			}
		}
		if !replaced {
			c.Env = append(c.Env, set)
		}
		if key == "GOPROXY" {
			c.GOPROXY = strings.TrimPrefix(set, "GOPROXY=")
		}
	}
	return &c
}

// Run runs `go args...` in dir ("" = a fresh empty directory) and returns stdout, stderr
// and the error (an *exec.ExitError for a non-zero exit).
func (g *Go) Run(dir string, args ...string) (string, string, error) {
	g.tb.Helper()
	if dir == "" {
		dir = g.tb.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.Bin, args...)
	cmd.Env = g.Env
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return stdout.String(), stderr.String(), err
}

// MustRun is Run that fails the test on error.
func (g *Go) MustRun(dir string, args ...string) string {
	g.tb.Helper()
	stdout, stderr, err := g.Run(dir, args...)
	if err != nil {
		g.tb.Fatalf("go %s (GOPROXY=%s): %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), g.GOPROXY, err, stdout, stderr)
	}
	return stdout
}

// Download is one object of `go mod download -json` output.
type Download struct {
	Path     string
	Version  string
	Query    string
	Error    string
	Info     string
	GoMod    string
	Zip      string
	Dir      string
	Sum      string
	GoModSum string
}

// DecodeDownloads parses the concatenated JSON objects `go mod download -json` prints.
func DecodeDownloads(out string) ([]Download, error) {
	dec := json.NewDecoder(strings.NewReader(out))
	var ds []Download
	for {
		var d Download
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return ds, nil
		}
		if err != nil {
			return ds, err
		}
		ds = append(ds, d)
	}
}

// ModDownload runs `go mod download -json mods...` and returns the parsed objects along with
// the command's error and a message: its stderr followed by the objects' Error fields (with
// -json the go command reports per-module errors there, not on stderr).
func (g *Go) ModDownload(mods ...string) ([]Download, string, error) {
	g.tb.Helper()
	stdout, stderr, err := g.Run("", append([]string{"mod", "download", "-json"}, mods...)...)
	ds, derr := DecodeDownloads(stdout)
	if derr != nil {
		g.tb.Fatalf("go mod download -json %s: bad JSON: %v\n%s", strings.Join(mods, " "), derr, stdout)
	}
	msg := stderr
	for _, d := range ds {
		if d.Error != "" {
			msg += d.Path + "@" + d.Version + ": " + d.Error + "\n"
		}
	}
	return ds, msg, err
}

// InitModule creates a fresh directory with `go mod init path` done in it.
func (g *Go) InitModule(path string) string {
	g.tb.Helper()
	dir := g.tb.TempDir()
	g.MustRun(dir, "mod", "init", path)
	return dir
}

// MemDir returns a new empty directory on a memory filesystem (under /dev/shm when that is a
// writable tmpfs), removed at cleanup; elsewhere tb.TempDir(). For tests that create many
// files: a fresh module cache per go command costs inode allocations, and on an ext4 /tmp
// churned by a parallel suite allocating an inode scans the recently deleted ones (measured:
// a third of the resolution differential suite's CPU time, gone on tmpfs).
func MemDir(tb testing.TB) string {
	tb.Helper()
	const shm = "/dev/shm"
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err != nil || st.Type != tmpfsMagic {
		return tb.TempDir()
	}
	dir, err := os.MkdirTemp(shm, "stoa-test-")
	if err != nil {
		return tb.TempDir()
	}
	tb.Cleanup(func() {
		MakeWritable(dir)
		if err := os.RemoveAll(dir); err != nil {
			tb.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// tmpfsMagic is TMPFS_MAGIC of statfs(2).
const tmpfsMagic = 0x01021994

// MakeWritable adds owner write permission to every directory and file under root (the go
// command leaves its module cache read-only).
func MakeWritable(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode()&0o200 == 0 {
			_ = os.Chmod(p, info.Mode()|0o200)
		}
		return nil
	})
}
