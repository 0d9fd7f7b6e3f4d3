// Package goproxytest starts goproxy (cmd/goproxy of github.com/goproxy/goproxy, another Go
// module proxy, installed by scripts/install-deps.sh at a pinned version) for end-to-end tests:
// `goproxy server` on a free loopback port with its directory cacher in the test's temp
// directory, fetching from the upstream its GOPROXY names, stopped at cleanup. Without goproxy
// the test fails: it does not skip.
//
// goproxy is configured as its documentation says for a directory cache in front of an upstream
// proxy: `goproxy server --cacher dir`, GOPROXY naming the upstream, a GOMODCACHE of its own (not
// the go command's default). Every setting that could reach beyond loopback is pinned: no
// checksum database (GOSUMDB=off, so it verifies nothing and proxies none), no private-module
// or insecure patterns inherited from the machine, GOTOOLCHAIN=local, and the go command it runs
// for `direct` gets the same environment.
package goproxytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/stoatest"
)

// Config is how one goproxy is started.
type Config struct {
	// Upstream is goproxy's GOPROXY: a proxy URL (e.g. the simulator's) or "direct".
	Upstream string
	// Env is extra "KEY=VALUE" settings for goproxy and the go command it runs for direct
	// fetches (a git configuration, for instance); they replace the defaults of the same key.
	Env []string
	// Dir holds goproxy's cache, module cache and temp files: a directory of the test's,
	// removed by its cleanup ("" = tb.TempDir()).
	Dir string
}

// Server is a running goproxy.
type Server struct {
	URL  string // "http://127.0.0.1:PORT", a GOPROXY entry
	Addr string
	proc *stoatest.Process
}

// Bin is goproxy from $STOA_GOPROXY, $PATH or /usr/local/bin.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("STOA_GOPROXY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("goproxy"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/goproxy"); err == nil {
		return "/usr/local/bin/goproxy"
	}
	tb.Fatal("goproxy not found: run scripts/install-deps.sh test (or set STOA_GOPROXY)")
	return ""
}

// Start starts goproxy and waits (bounded) until it listens on its port.
func Start(tb testing.TB, c Config) *Server {
	tb.Helper()
	root := c.Dir
	if root == "" {
		root = tb.TempDir()
	}
	// goproxy's go command leaves a read-only module cache: writable again before removal
	// (cleanups run last-registered first).
	tb.Cleanup(func() { gocmd.MakeWritable(root) })
	telemetry := filepath.Join(root, "home", ".config", "go", "telemetry")
	for _, d := range []string{filepath.Join(root, "cache"), filepath.Join(root, "tmp"), filepath.Join(root, "gopath"), telemetry} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	// The go command it runs for direct fetches: telemetry off (as gocmd does), so no counter
	// writer outlives goproxy in this temp directory.
	if err := os.WriteFile(filepath.Join(telemetry, "mode"), []byte("off"), 0o644); err != nil {
		tb.Fatal(err)
	}
	goBin := gocmd.Bin(tb)
	s := &Server{Addr: stoatest.FreeAddr(tb)}
	s.URL = "http://" + s.Addr
	cmd := exec.Command(Bin(tb), "server",
		"--address", s.Addr,
		"--cacher", "dir",
		"--cacher-dir", filepath.Join(root, "cache"),
		"--temp-dir", filepath.Join(root, "tmp"),
		"--go-bin", goBin,
		"--fetch-timeout", "2m",
		"--shutdown-timeout", "5s")
	cmd.Env = env(root, goBin, c)
	s.proc = stoatest.StartProcess(tb, "goproxy (GOPROXY="+c.Upstream+")", cmd, s.Addr)
	return s
}

// Log is goproxy's output so far (it logs failures, not every request).
func (s *Server) Log() string { return s.proc.Log() }

// env is goproxy's whole environment: nothing inherited but PATH (for git and the go command).
func env(root, goBin string, c Config) []string {
	e := []string{
		"PATH=" + filepath.Dir(goBin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(root, "home"),
		"XDG_CONFIG_HOME=" + filepath.Join(root, "home", ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(root, "home", ".cache"),
		"TMPDIR=" + filepath.Join(root, "tmp"),
		"GOPATH=" + filepath.Join(root, "gopath"),
		"GOMODCACHE=" + filepath.Join(root, "gomodcache"),
		"GOCACHE=" + filepath.Join(root, "gocache"),
		"GOENV=off",
		"GOPROXY=" + c.Upstream,
		"GOSUMDB=off",
		"GONOSUMDB=",
		"GOPRIVATE=",
		"GONOPROXY=",
		"GOINSECURE=",
		"GOAUTH=off",
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"GO111MODULE=on",
		"CGO_ENABLED=0",
	}
	for _, set := range c.Env {
		key, _, _ := strings.Cut(set, "=")
		replaced := false
		for i, old := range e {
			if k, _, _ := strings.Cut(old, "="); k == key {
				e[i] = set
				replaced = true
			}
		}
		if !replaced {
			e = append(e, set)
		}
	}
	return e
}
