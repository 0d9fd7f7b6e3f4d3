// Package lockserver starts real Redis and PostgreSQL servers for tests: each on a free
// 127.0.0.1 port in the test's temp directory, stopped at cleanup. PostgreSQL refuses to run as
// root; as root, initdb and postgres run as the postgres user (created by the Debian package).
// The system services are never used.
package lockserver

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"stoa.test/internal/stoatest"
)

// Server is a running server process.
type Server struct {
	URL  string
	Port int
	cmd  *exec.Cmd
	log  string
}

func freePort(tb testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitReady polls ready with a growing pause (startup readiness of a server process) for 20s.
func waitReady(tb testing.TB, what string, s *Server, ready func() bool) {
	tb.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	pause := 5 * time.Millisecond
	for deadline := time.Now().Add(20 * time.Second); !ready(); {
		select {
		case err := <-done:
			b, _ := os.ReadFile(s.log)
			tb.Fatalf("%s exited at start (%v):\n%s", what, err, b)
		case <-time.After(pause):
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			tb.Fatalf("%s not ready after 20s:\n%s", what, b)
		}
		pause = min(2*pause, 200*time.Millisecond)
	}
	tb.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	})
}

func start(tb testing.TB, dir, log string, asUser []string, argv ...string) *Server {
	tb.Helper()
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	argv = append(append([]string{}, asUser...), argv...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", argv[0], err)
	}
	return &Server{cmd: cmd, log: log}
}

// Redis starts redis-server without persistence.
func Redis(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir()
	port := freePort(tb)
	s := start(tb, dir, filepath.Join(dir, "redis.log"), nil, "redis-server", "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	s.Port = port
	s.URL = fmt.Sprintf("redis://127.0.0.1:%d", port)
	waitReady(tb, "redis-server", s, func() bool {
		// Only this redis-server's own listener: another may have taken the port meanwhile.
		if !stoatest.ListensOn(s.cmd.Process.Pid, fmt.Sprintf("127.0.0.1:%d", port)) {
			return false
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return false
		}
		buf := make([]byte, 7)
		n, _ := c.Read(buf)
		return strings.HasPrefix(string(buf[:n]), "+PONG")
	})
	return s
}

const pgBin = "/usr/lib/postgresql/15/bin/"

// Postgres starts a throwaway PostgreSQL 15 cluster (fsync off) with trust authentication.
func Postgres(tb testing.TB) *Server {
	tb.Helper()
	dir, err := os.MkdirTemp("", "stoa-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(dir) })
	log := filepath.Join(dir, "postgres.log")
	var asUser []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			tb.Fatalf("no postgres user (install postgresql): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(log, nil, 0o644); err != nil {
			tb.Fatal(err)
		}
		_ = os.Chown(log, uid, gid)
		asUser = []string{"setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--"}
	}
	data := filepath.Join(dir, "pg")
	init := start(tb, dir, log, asUser, pgBin+"initdb", "-D", data, "-A", "trust", "-U", "postgres",
		"--no-sync", "--no-instructions")
	if err := init.cmd.Wait(); err != nil {
		b, _ := os.ReadFile(log)
		tb.Fatalf("initdb: %v\n%s", err, b)
	}
	port := freePort(tb)
	s := start(tb, dir, log, asUser, pgBin+"postgres", "-D", data, "-h", "127.0.0.1", "-p",
		strconv.Itoa(port), "-k", dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200")
	s.Port = port
	s.URL = fmt.Sprintf("postgresql://postgres@127.0.0.1:%d/postgres", port)
	waitReady(tb, "postgres", s, func() bool {
		return exec.Command(pgBin+"pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port)).Run() == nil
	})
	return s
}
