// Package stoatest starts the stoa binary named by $STOA_BIN for end-to-end tests: on a free
// loopback port, with its own data directory, its stderr captured (and printed when the test
// fails), checked for sanitizer reports, and stopped at cleanup (SIGTERM, then SIGKILL).
package stoatest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a started stoa may take to answer GET /healthz with 200.
var StartTimeout = 30 * time.Second

// StopTimeout bounds how long stoa may take to exit after SIGTERM before it gets SIGKILL.
var StopTimeout = 10 * time.Second

// sanitizerMarks are stderr lines of ASan, LSan and UBSan reports.
var sanitizerMarks = []string{"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"}

// Bin is the stoa binary from $STOA_BIN. Without it the test fails: an end-to-end suite that
// silently skips is worse than none.
func Bin(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("STOA_BIN")
	if bin == "" {
		tb.Fatal("STOA_BIN is not set: run `make e2e` or set STOA_BIN=/path/to/stoa")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		tb.Fatalf("STOA_BIN=%q: %v", bin, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.IsDir() {
		tb.Fatalf("STOA_BIN=%q is not a file: %v", bin, err)
	}
	return abs
}

// FreeAddr returns a loopback address "127.0.0.1:PORT" whose port was free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatalf("close: %v", err)
	}
	return addr
}

// Env is the environment for a stoa process: the test's environment without STOA_* variables
// (a developer's settings must not change the tests), plus extra ("KEY=VALUE").
func Env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STOA_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// SanitizerReport returns the first sanitizer report line in log, or "".
func SanitizerReport(log string) string {
	for _, line := range strings.Split(log, "\n") {
		for _, m := range sanitizerMarks {
			if strings.Contains(line, m) {
				return line
			}
		}
	}
	return ""
}

// Config is how to start stoa serve. Empty fields are not passed.
type Config struct {
	// Listen is --listen; "" means a free loopback port. "unix:PATH" serves on a unix socket:
	// Addr is then "unix:PATH", URL "http://stoa.unix" and Client() dials the socket.
	Listen       string
	Upstream     string // --upstream
	DataDir      string // --data-dir; "" means a fresh directory under the test's temp dir
	Store        string // --store
	ListTTL      string // --list-ttl
	FetchTimeout string // --fetch-timeout
	LogFormat    string // --log-format
	// Sumdb is --sumdb; "" means "off": the simulated upstreams serve modules no checksum
	// database knows. Tests of verification name their local database here.
	Sumdb string
	// Via is how the settings above reach stoa: "flags" (the default), "env" (STOA_* variables)
	// or "toml" (a TOML file passed with --config).
	Via  string
	Args []string // extra arguments, after the settings
	Env  []string // extra environment, "KEY=VALUE"
	// TLS, when stoa serves HTTPS (its Args name tls_cert and tls_key): the client
	// configuration that trusts it. URL is then "https://...".
	TLS *tls.Config
}

// Stoa is a running stoa serve process.
type Stoa struct {
	tb      testing.TB
	Addr    string // "127.0.0.1:PORT"
	URL     string // "http://127.0.0.1:PORT"
	DataDir string

	cmd     *exec.Cmd
	client  *http.Client
	log     *syncBuffer
	exited  chan struct{}
	waitErr error
	stopped sync.Once
}

// Start starts stoa serve with c and waits until GET /healthz answers 200. It registers a
// cleanup that stops stoa, fails the test on a sanitizer report and prints stoa's stderr if
// the test failed.
func Start(tb testing.TB, c Config) *Stoa {
	tb.Helper()
	bin := Bin(tb)
	if c.DataDir == "" {
		c.DataDir = filepath.Join(tb.TempDir(), "data")
	}
	var last *Stoa
	for attempt := 0; attempt < 3; attempt++ {
		addr := c.Listen
		if addr == "" {
			addr = FreeAddr(tb)
		}
		s := launch(tb, bin, addr, c)
		err := s.waitHealthy()
		if err == nil {
			return s
		}
		last = s
		// Another process may have taken the port between FreeAddr and stoa's bind: retry then.
		if s.hasExited() && strings.Contains(strings.ToLower(s.Log()), "in use") {
			continue
		}
		break
	}
	tb.Fatalf("stoa did not become healthy: %v\nstoa stderr:\n%s", last.startErr(), last.Log())
	return nil
}

func launch(tb testing.TB, bin, addr string, c Config) *Stoa {
	tb.Helper()
	args := []string{"serve"}
	env := Env(c.Env...)
	sumdb := c.Sumdb
	if sumdb == "" {
		sumdb = "off"
	}
	var toml strings.Builder
	for _, f := range []struct{ key, value string }{
		{"listen", addr}, {"data_dir", c.DataDir}, {"upstream", c.Upstream}, {"store", c.Store},
		{"list_ttl", c.ListTTL}, {"fetch_timeout", c.FetchTimeout}, {"log_format", c.LogFormat},
		{"sumdb", sumdb},
	} {
		if f.value == "" {
			continue
		}
		switch c.Via {
		case "", "flags":
			args = append(args, "--"+strings.ReplaceAll(f.key, "_", "-"), f.value)
		case "env":
			env = append(env, "STOA_"+strings.ToUpper(f.key)+"="+f.value)
		case "toml":
			fmt.Fprintf(&toml, "%s = %s\n", f.key, strconv.Quote(f.value))
		default:
			tb.Fatalf("stoatest: unknown Config.Via %q", c.Via)
		}
	}
	if c.Via == "toml" {
		file := filepath.Join(tb.TempDir(), "stoa.toml")
		if err := os.WriteFile(file, []byte(toml.String()), 0o644); err != nil {
			tb.Fatal(err)
		}
		args = append(args, "--config", file)
	}
	args = append(args, c.Args...)
	s := &Stoa{
		tb:      tb,
		Addr:    addr,
		URL:     "http://" + addr,
		DataDir: c.DataDir,
		client:  &http.Client{Timeout: 2 * time.Second},
		log:     &syncBuffer{},
		exited:  make(chan struct{}),
	}
	if c.TLS != nil {
		s.URL = "https://" + addr
		s.client.Transport = &http.Transport{TLSClientConfig: c.TLS}
	}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		s.URL = "http://stoa.unix"
		s.client.Transport = &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		}
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Env = env
	s.cmd.Dir = tb.TempDir()
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("stoa %s stderr:\n%s", strings.Join(args, " "), tail(s.Log(), 200_000))
		}
	})
	return s
}

func (s *Stoa) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

func (s *Stoa) startErr() error {
	if s.hasExited() {
		return fmt.Errorf("stoa exited early: %v", s.waitErr)
	}
	return fmt.Errorf("GET %s/healthz did not answer 200 within %v", s.URL, StartTimeout)
}

func (s *Stoa) waitHealthy() error {
	client := s.client
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		if s.hasExited() {
			return s.startErr()
		}
		resp, err := client.Get(s.URL + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// Another process may hold the port (it took it between FreeAddr and stoa's bind,
			// and this stoa is about to exit): only this process's own listener counts.
			if resp.StatusCode == http.StatusOK && s.ownsListener() {
				return nil
			}
		}
		select {
		case <-s.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s.startErr()
}

// ownsListener reports whether this stoa process holds the listening socket of s.Addr (always
// true for a unix socket, whose path is the test's own).
func (s *Stoa) ownsListener() bool {
	return strings.HasPrefix(s.Addr, "unix:") || ListensOn(s.cmd.Process.Pid, s.Addr)
}

// ListensOn reports whether process pid holds the TCP listening socket of addr ("host:port"):
// the inode of the port's LISTEN entry in /proc/net/tcp{,6} is one of the process's open files.
// A readiness check that only connects can be answered by another process that took the port
// between FreeAddr and the bind (parallel tests do).
func ListensOn(pid int, addr string) bool {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, ok := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); ok && err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return false
	}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && inodes[target] {
			return true
		}
	}
	return false
}

// Pid is the process id of the running stoa.
func (s *Stoa) Pid() int { return s.cmd.Process.Pid }

// Log is stoa's stdout and stderr so far (the access log included).
func (s *Stoa) Log() string { return s.log.String() }

// WaitLog returns stoa's output once it holds at least n occurrences of substr, or when timeout
// has passed (the caller checks the count). stoa writes a log line before it answers, but the
// line reaches this process through a pipe and may arrive after the answer.
func (s *Stoa) WaitLog(substr string, n int, timeout time.Duration) string {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		out, changed := s.log.next()
		if strings.Count(out, substr) >= n {
			return out
		}
		select {
		case <-changed:
		case <-deadline.C:
			return s.log.String()
		}
	}
}

// Stop stops stoa (SIGTERM, then SIGKILL after StopTimeout), waits for it to exit and fails
// the test if its output has a sanitizer report. Idempotent.
func (s *Stoa) Stop() {
	s.stopped.Do(func() {
		if !s.hasExited() {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(StopTimeout):
				s.tb.Logf("stoa did not exit within %v of SIGTERM; sending SIGKILL", StopTimeout)
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		if r := SanitizerReport(s.Log()); r != "" {
			s.tb.Errorf("stoa sanitizer report: %s", r)
		}
	})
}

// Kill kills stoa with SIGKILL (a crash: no cleanup of its own), waits for it to exit and
// checks its output for sanitizer reports. Stop is a no-op afterwards.
func (s *Stoa) Kill() {
	s.stopped.Do(func() {
		if !s.hasExited() {
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if r := SanitizerReport(s.Log()); r != "" {
			s.tb.Errorf("stoa sanitizer report: %s", r)
		}
	})
}

// Signal sends sig to stoa (if it is still running).
func (s *Stoa) Signal(sig os.Signal) {
	if !s.hasExited() {
		_ = s.cmd.Process.Signal(sig)
	}
}

// WaitExit waits at most timeout for stoa to exit and returns whether it did and its exit
// code (-1 when killed by a signal).
func (s *Stoa) WaitExit(timeout time.Duration) (bool, int) {
	select {
	case <-s.exited:
		return true, s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return false, 0
	}
}

// Exited reports whether the process has exited, and its wait error if so.
func (s *Stoa) Exited() (bool, error) {
	if s.hasExited() {
		return true, s.waitErr
	}
	return false, nil
}

// Result is the outcome of a stoa command run to completion.
type Result struct {
	Stdout, Stderr string
	ExitCode       int  // -1 when killed or not started
	TimedOut       bool // killed after the timeout
}

// Run runs `$STOA_BIN args...` with Env(env...) and waits at most timeout. A sanitizer report
// in its output fails the test.
func Run(tb testing.TB, timeout time.Duration, env []string, args ...string) Result {
	tb.Helper()
	bin := Bin(tb)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = Env(env...)
	cmd.Dir = tb.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: -1}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.TimedOut = true
	case err == nil:
		r.ExitCode = 0
	case errors.As(err, &exitErr):
		r.ExitCode = exitErr.ExitCode()
	default:
		tb.Fatalf("run %s %s: %v", bin, strings.Join(args, " "), err)
	}
	if rep := SanitizerReport(r.Stdout + r.Stderr); rep != "" {
		tb.Errorf("stoa %s: sanitizer report: %s\nstderr:\n%s", strings.Join(args, " "), rep, r.Stderr)
	}
	return r
}

// Client is an HTTP client that reaches s (over its unix socket, with TLS trust, as started),
// with a 2 s timeout.
func (s *Stoa) Client() *http.Client { return s.client }

// Port is the numeric port of s.
func (s *Stoa) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "[...]\n" + s[len(s)-n:]
}

type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed (and replaced) by every write
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// next returns the output so far and a channel closed by the next write.
func (b *syncBuffer) next() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
