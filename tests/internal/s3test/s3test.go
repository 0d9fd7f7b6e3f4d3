// Package s3test starts a real S3-compatible server for end-to-end tests: versitygw (installed
// by scripts/install-deps.sh) with its posix backend in the test's temp directory, on a free
// loopback port, stopped at cleanup. Without versitygw the test fails: it does not skip.
package s3test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"stoa.test/internal/stoatest"
)

const (
	AccessKey = "stoa-e2e-access"
	SecretKey = "stoa-e2e-secret-0123456789"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // "http://127.0.0.1:PORT"
	Root     string // the posix backend's directory: each bucket is a directory in it
	Addr     string
	proc     *stoatest.Process
}

// Bin is versitygw from $STOA_VERSITYGW, $PATH or /usr/local/bin.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("STOA_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/versitygw"); err == nil {
		return "/usr/local/bin/versitygw"
	}
	tb.Fatal("versitygw not found: run scripts/install-deps.sh test (or set STOA_VERSITYGW)")
	return ""
}

// Start starts versitygw and waits (bounded) until it listens on its port.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{Root: filepath.Join(tb.TempDir(), "s3"), Addr: stoatest.FreeAddr(tb)}
	s.Endpoint = "http://" + s.Addr
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(Bin(tb), "--access", AccessKey, "--secret", SecretKey, "--port", s.Addr,
		"--keep-alive", "--quiet", "posix", s.Root)
	s.proc = stoatest.StartProcess(tb, "versitygw", cmd, s.Addr)
	return s
}

// Bucket creates a bucket (with the posix backend, a directory) and returns its directory.
func (s *Server) Bucket(tb testing.TB, name string) string {
	tb.Helper()
	dir := filepath.Join(s.Root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// Env is the AWS environment a client of this server needs.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey}
}
