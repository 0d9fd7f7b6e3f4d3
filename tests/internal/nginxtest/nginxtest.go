// Package nginxtest starts a real nginx (Debian's package) on loopback as a caching reverse proxy
// in front of one HTTP server: not as a daemon, with its own generated configuration, cache and
// logs in a temporary directory. Every answer carries X-Cache-Status: nginx's
// $upstream_cache_status (MISS, HIT, EXPIRED, STALE, REVALIDATED, BYPASS, ... or empty when the
// cache was not consulted).
package nginxtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stoa.test/internal/stoatest"
)

// Bin is nginx's path in Debian's package.
const Bin = "/usr/sbin/nginx"

// Server is a running nginx.
type Server struct {
	Dir      string // configuration, logs, temporary files
	CacheDir string // proxy_cache_path
	Addr     string // "127.0.0.1:PORT"
	URL      string // "http://127.0.0.1:PORT"
	proc     *stoatest.Process
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

// Start starts nginx in dir (which must exist) in front of backend and waits until it listens;
// it is stopped at the test's cleanup (stoatest.StartProcess: SIGTERM, nginx's fast shutdown of
// its master and worker).
func Start(tb testing.TB, dir, backend string) *Server {
	tb.Helper()
	for _, sub := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			tb.Fatal(err)
		}
	}
	addr := stoatest.FreeAddr(tb)
	s := &Server{Dir: dir, CacheDir: filepath.Join(dir, "cache"), Addr: addr, URL: "http://" + addr}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(Config(dir, addr, backend)), 0o600); err != nil {
		tb.Fatal(err)
	}
	// -e: the error log before the configuration is read (else the packaged default path).
	cmd := exec.Command(Bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	s.proc = stoatest.StartProcess(tb, "nginx", cmd, addr)
	return s
}

// Log is nginx's output and error log.
func (s *Server) Log() string {
	var b strings.Builder
	b.WriteString(s.proc.Log())
	data, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	b.Write(data)
	return b.String()
}

// Stop stops nginx (its master, which stops its worker).
func (s *Server) Stop() { s.proc.Stop() }
