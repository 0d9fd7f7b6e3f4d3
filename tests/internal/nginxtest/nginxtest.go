// Package nginxtest starts a real nginx (Debian's package) on loopback as a caching reverse proxy
// in front of one HTTP server: not as a daemon, with its own generated configuration, cache and
// logs in a temporary directory. Every answer carries X-Cache-Status: nginx's
// $upstream_cache_status (MISS, HIT, EXPIRED, STALE, REVALIDATED, BYPASS, ... or empty when the
// cache was not consulted).
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Bin is nginx's path in Debian's package.
const Bin = "/usr/sbin/nginx"

// Server is a running nginx.
type Server struct {
	Dir      string // configuration, logs, temporary files
	CacheDir string // proxy_cache_path
	Addr     string // "127.0.0.1:PORT"
	URL      string // "http://127.0.0.1:PORT"
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Config renders the configuration of a caching proxy listening on listen, in front of backend
// ("127.0.0.1:PORT"), keeping its files under dir. It is the configuration docs/operations.md
// shows, with the paths of a test.
func Config(dir, listen, backend string) string {
	user := ""
	if os.Geteuid() == 0 {
		// Run as root, nginx's workers would switch to nobody, who cannot enter a test's
		// temporary directory.
		user = "user root;\n"
	}
	return fmt.Sprintf(`%sworker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }
http {
  access_log %[2]s/access.log;
  client_body_temp_path %[2]s/tmp/body;
  proxy_temp_path %[2]s/tmp/proxy;
  fastcgi_temp_path %[2]s/tmp/fastcgi;
  uwsgi_temp_path %[2]s/tmp/uwsgi;
  scgi_temp_path %[2]s/tmp/scgi;

  # stoa says what may be kept and for how long (Cache-Control): stored files for a year,
  # list/@latest/queries for what is left of list_ttl, answers that depend on who asks never.
  proxy_cache_path %[2]s/cache levels=1:2 keys_zone=stoa:10m max_size=10g inactive=30d use_temp_path=off;

  upstream stoa {
    server %[4]s;
    keepalive 16;
  }

  server {
    listen %[3]s;

    location / {
      proxy_pass http://stoa;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;

      proxy_cache stoa;
      proxy_cache_key $scheme$http_host$request_uri;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      # stoa down or overloaded: what is cached is served, also past its lifetime.
      proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;
      proxy_buffering on;
      add_header X-Cache-Status $upstream_cache_status always;
    }
  }
}
`, user, dir, listen, backend)
}

// Start starts nginx in dir (which must exist) in front of backend and waits until it accepts
// connections.
func Start(dir, backend string) (*Server, error) {
	for _, sub := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	s := &Server{Dir: dir, CacheDir: filepath.Join(dir, "cache"), Addr: addr, URL: "http://" + addr,
		exited: make(chan struct{})}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(Config(dir, addr, backend)), 0o600); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	// -e: the error log before the configuration is read (else the packaged default path).
	s.cmd = exec.Command(Bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	s.cmd.Stdout = out
	s.cmd.Stderr = out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the master and its worker
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("nginx exited:\n%s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("nginx did not accept connections on %s within 30s:\n%s", addr, s.Log())
		}
		time.Sleep(20 * time.Millisecond) // polling a port another process opens
	}
}

// Log is nginx's error log and stderr.
func (s *Server) Log() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "error.log"} {
		data, _ := os.ReadFile(filepath.Join(s.Dir, name))
		b.Write(data)
	}
	return b.String()
}

// Close stops nginx and its worker (SIGTERM: fast shutdown; SIGKILL to the process group after
// 10s) and waits for the master.
func (s *Server) Close() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
}
