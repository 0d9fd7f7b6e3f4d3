// Package gcstest starts a Google Cloud Storage emulator for end-to-end tests: fake-gcs-server
// (installed by scripts/install-deps.sh) with its filesystem backend in the test's temp
// directory, plain http on a free loopback port, stopped at cleanup. Without it the test fails:
// it does not skip.
package gcstest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"stoa.test/internal/stoatest"
)

// Server is a running fake-gcs-server.
type Server struct {
	Endpoint string // "http://127.0.0.1:PORT", the JSON API root
	// The filesystem backend's directory: each bucket is a directory in it, each object a file
	// at its name (so a bucket written by stoa is a GOPROXY tree there).
	Root string
	Addr string
	proc *stoatest.Process
}

// Bin is fake-gcs-server from $STOA_FAKE_GCS_SERVER, $PATH or /usr/local/bin.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("STOA_FAKE_GCS_SERVER"); p != "" {
		return p
	}
	if p, err := exec.LookPath("fake-gcs-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/fake-gcs-server"); err == nil {
		return "/usr/local/bin/fake-gcs-server"
	}
	tb.Fatal("fake-gcs-server not found: run scripts/install-deps.sh test (or set STOA_FAKE_GCS_SERVER)")
	return ""
}

// Start starts fake-gcs-server and waits (bounded) until it listens on its port.
func Start(tb testing.TB) *Server {
	tb.Helper()
	root := filepath.Join(tb.TempDir(), "gcs")
	if err := os.MkdirAll(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	s := &Server{Root: root, Addr: stoatest.FreeAddr(tb)}
	s.Endpoint = "http://" + s.Addr
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(Bin(tb), "-backend", "filesystem", "-filesystem-root", root,
		"-scheme", "http", "-host", host, "-port", port, "-log-level", "error")
	s.proc = stoatest.StartProcess(tb, "fake-gcs-server", cmd, s.Addr)
	return s
}

// Bucket creates an empty bucket.
func (s *Server) Bucket(tb testing.TB, name string) {
	tb.Helper()
	body := fmt.Sprintf(`{"name":%q}`, name)
	resp, err := http.Post(s.Endpoint+"/storage/v1/b?project=stoa-e2e", "application/json",
		bytes.NewBufferString(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("create bucket %s: %s %s", name, resp.Status, b)
	}
}

// Object reads an object's bytes through the JSON API; false when it does not exist.
func (s *Server) Object(tb testing.TB, bucket, name string) ([]byte, bool) {
	tb.Helper()
	resp, err := http.Get(s.Endpoint + "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" +
		url.PathEscape(name) + "?alt=media")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	switch resp.StatusCode {
	case 200:
		return b, true
	case 404:
		return nil, false
	}
	tb.Fatalf("get %s/%s: %s %s", bucket, name, resp.Status, b)
	return nil, false
}

// Put writes an object through the JSON API (replacing what is there): a change made behind
// stoa's back.
func (s *Server) Put(tb testing.TB, bucket, name string, content []byte) {
	tb.Helper()
	u := s.Endpoint + "/upload/storage/v1/b/" + url.PathEscape(bucket) + "/o?uploadType=media&name=" +
		url.QueryEscape(name)
	resp, err := http.Post(u, "application/octet-stream", bytes.NewReader(content))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("put %s/%s: %s %s", bucket, name, resp.Status, b)
	}
}

// Delete removes an object.
func (s *Server) Delete(tb testing.TB, bucket, name string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodDelete, s.Endpoint+"/storage/v1/b/"+url.PathEscape(bucket)+
		"/o/"+url.PathEscape(name), nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 && resp.StatusCode != 204 {
		tb.Fatalf("delete %s/%s: %s", bucket, name, resp.Status)
	}
}
