package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// socketPath is a path for a unix socket in a fresh directory (a sockaddr_un holds 107 bytes,
// too few for some test temp directories).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "stoa-sock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "stoa.sock")
}

// listen = "unix:PATH": stoa serves on a unix socket, for a reverse proxy on the same host. The
// go command cannot use a unix socket as GOPROXY, so it goes through a reverse proxy in front
// (as nginx would be: TCP in, the unix socket out). A socket file a dead process left behind is
// replaced; the socket is 0660; the file goes when stoa stops.
func TestServeOnUnixSocket(t *testing.T) {
	t.Parallel()
	sock := socketPath(t)
	// A stale socket file: bound, then its listener closed without removing the file.
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/unixsock", Version: "v1.0.0",
		Files: randomFiles(31, 256<<10)}) // bigger than the memory cache's objects: sendfile
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{Listen: "unix:" + sock})

	st, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("%s: mode %v, want a socket with 0660", sock, st.Mode())
	}
	if log := s.WaitLog("serving http over unix:"+sock, 1, 10*time.Second); !strings.Contains(log, "serving http over unix:"+sock) {
		t.Errorf("the start-up line does not name the socket:\n%s", log)
	}

	// The reverse proxy in front.
	transport := s.Client().Transport
	front := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: "http", Host: "stoa.unix"}) },
		Transport: transport,
	})
	t.Cleanup(front.Close)

	g := goClient(t, front.URL)
	ds, msg, err := g.ModDownload(b.Path + "@" + b.Version)
	if err != nil || len(ds) != 1 || ds[0].Sum != b.Sum {
		t.Fatalf("go mod download through the unix socket: %v %+v\n%s", err, ds, msg)
	}
	checkStored(t, s.DataDir, b, "zip")

	// Straight over the socket: a stored zip (sendfile), twice on one connection.
	client := &http.Client{Transport: transport, Timeout: time.Minute}
	for i := range 2 {
		resp, err := client.Get(s.URL + "/" + b.Key("zip"))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, b.Zip) {
			t.Fatalf("GET zip #%d over the socket: %d, %d bytes (want %d), %v", i, resp.StatusCode, len(body), len(b.Zip), err)
		}
	}
	if log := s.WaitLog("remote=unix", 3, 10*time.Second); strings.Count(log, "remote=unix") < 3 {
		t.Errorf("access log lines do not name the unix socket as the client:\n%s", log)
	}

	// A second stoa on the same path must not take the socket from the first.
	r := stoatest.Run(t, 30*time.Second, nil, "serve", "--listen", "unix:"+sock,
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--upstream", up.URL(), "--sumdb", "off")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "another process is serving on "+sock) {
		t.Errorf("second stoa on the socket: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if _, err := client.Get(s.URL + "/healthz"); err != nil {
		t.Errorf("the first stoa no longer answers after the second tried the socket: %v", err)
	}

	s.Stop()
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket file left after stop: %v", err)
	}
}

// A file at the socket path that is not a socket is never removed.
func TestUnixSocketPathTakenByAFile(t *testing.T) {
	t.Parallel()
	sock := socketPath(t)
	if err := os.WriteFile(sock, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := stoatest.Run(t, 30*time.Second, nil, "serve", "--listen", "unix:"+sock,
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--upstream", "http://127.0.0.1:9", "--sumdb", "off")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "exists and is not a socket") {
		t.Errorf("stoa on a path holding a file: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if data, err := os.ReadFile(sock); err != nil || string(data) != "precious" {
		t.Errorf("the file at the socket path was changed: %q %v", data, err)
	}
}

// The unix socket and TLS do not go together: refused as a configuration error.
func TestUnixSocketRefusesTLS(t *testing.T) {
	t.Parallel()
	sock := socketPath(t)
	r := stoatest.Run(t, 30*time.Second, nil, "serve", "--listen", "unix:"+sock,
		"--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem",
		"--data-dir", filepath.Join(t.TempDir(), "data"), "--upstream", "http://127.0.0.1:9")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "TLS is not served on a unix socket") {
		t.Errorf("exit %d, want 2 with a message\n%s", r.ExitCode, r.Stderr)
	}
}
