// Package vcstest serves real version control repositories on loopback for the direct-fetch
// end-to-end tests: git through `git http-backend` (net/http/cgi, optionally behind HTTP basic
// auth), Mercurial (`hg serve`), Subversion (`svnserve`), Bazaar (`brz serve`) and Fossil
// (`fossil server`), plus an HTTP forward proxy that answers `?go-get=1` for the module host
// `vcs.test` with go-import meta tags pointing at those servers. Repositories are made on the fly
// with the real tools.
package vcstest

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Host is the module host every test module lives under; only the forward proxy knows it.
const Host = "vcs.test"

// Env is the environment of every VCS tool the helpers run: no user configuration.
func Env(home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=stoa test", "GIT_AUTHOR_EMAIL=test@stoa.test",
		"GIT_COMMITTER_NAME=stoa test", "GIT_COMMITTER_EMAIL=test@stoa.test",
		"HGUSER=stoa test <test@stoa.test>",
		"BRZ_EMAIL=stoa test <test@stoa.test>",
		"USER=stoa",
		"HGPLAIN=1",
	}
}

// Run runs a tool in dir and returns its combined output, or an error with that output.
func Run(env []string, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
	return string(out), nil
}

// Listen returns a loopback listener on a free port.
func Listen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// WaitTCP waits until addr accepts connections (a started server is up), up to timeout.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %v: %v", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling a port another process opens
	}
}

// FreePort returns "127.0.0.1:PORT" with a port that was free a moment ago.
func FreePort() (string, error) {
	l, err := Listen()
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// GitServer serves every repository under Root at http://Addr/git/<name> through
// `git http-backend`; names under "private/" need HTTP basic auth User:Password.
type GitServer struct {
	Root     string
	Addr     string
	User     string
	Password string
	srv      *http.Server
	mu       sync.Mutex
	requests int
}

// NewGitServer starts a git server over root (which must exist).
func NewGitServer(root, user, password string) (*GitServer, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, err
	}
	l, err := Listen()
	if err != nil {
		return nil, err
	}
	g := &GitServer{Root: root, Addr: l.Addr().String(), User: user, Password: password}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/git/", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.requests++
		g.mu.Unlock()
		rest := strings.TrimPrefix(r.URL.Path, "/git")
		if strings.HasPrefix(rest, "/private/") {
			u, p, ok := r.BasicAuth()
			if !ok || u != g.User || p != g.Password {
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = rest
		backend.ServeHTTP(w, r2)
	})
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go g.srv.Serve(l)
	return g, nil
}

// Requests counts the requests the server has answered.
func (g *GitServer) Requests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests
}

// URL is the base URL that `https://vcs.test/` is rewritten to (git config insteadOf).
func (g *GitServer) URL() string { return "http://" + g.Addr + "/git/" }

// Close stops the server.
func (g *GitServer) Close() { g.srv.Close() }

// MetaProxy is an HTTP forward proxy for the host vcs.test: `GET http://vcs.test/<path>?go-get=1`
// is answered with the go-import meta tag registered for the longest matching prefix; CONNECT
// (https) is refused, so the go command falls back to http (GOINSECURE=vcs.test).
type MetaProxy struct {
	Addr string
	srv  *http.Server
	mu   sync.Mutex
	tags map[string]string // module root -> "vcs url"
}

// NewMetaProxy starts the proxy.
func NewMetaProxy() (*MetaProxy, error) {
	l, err := Listen()
	if err != nil {
		return nil, err
	}
	m := &MetaProxy{Addr: l.Addr().String(), tags: map[string]string{}}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	go m.srv.Serve(l)
	return m, nil
}

// Set registers `<meta name="go-import" content="root vcs url">` for root (e.g. "vcs.test/hgmod").
func (m *MetaProxy) Set(root, vcs, url string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tags[root] = vcs + " " + url
}

func (m *MetaProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		http.Error(w, "no https here", http.StatusForbidden)
		return
	}
	if r.URL.Host != Host || r.URL.Query().Get("go-get") != "1" {
		http.NotFound(w, r)
		return
	}
	path := Host + strings.TrimSuffix(r.URL.Path, "/")
	m.mu.Lock()
	var root, tag string
	for k, v := range m.tags {
		if (path == k || strings.HasPrefix(path, k+"/")) && len(k) > len(root) {
			root, tag = k, v
		}
	}
	m.mu.Unlock()
	if root == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><meta name=\"go-import\" content=\"%s\"></head><body></body></html>\n",
		html.EscapeString(root+" "+tag))
}

// URL is the proxy's URL (for HTTP_PROXY/HTTPS_PROXY).
func (m *MetaProxy) URL() string { return "http://" + m.Addr }

// Close stops the proxy.
func (m *MetaProxy) Close() { m.srv.Close() }

// Daemon is a started server process (hg serve, svnserve, brz serve, fossil server).
type Daemon struct {
	Addr string
	cmd  *exec.Cmd
}

// StartDaemon starts name args... (with "{addr}" and "{port}" replaced by a free loopback
// address) and waits until it accepts connections.
func StartDaemon(env []string, dir, name string, args ...string) (*Daemon, error) {
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	for i, a := range args {
		args[i] = strings.ReplaceAll(strings.ReplaceAll(a, "{addr}", addr), "{port}", port)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	d := &Daemon{Addr: addr, cmd: cmd}
	if err := WaitTCP(addr, 30*time.Second); err != nil {
		d.Close()
		out, _ := os.ReadFile(logf.Name())
		return nil, fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return d, nil
}

// Close kills the daemon and waits for it.
func (d *Daemon) Close() {
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}
