// Package azuretest starts a real Azure Blob Storage emulator for end-to-end tests: Azurite's
// blob service (azurite-blob, installed by scripts/install-deps.sh) with its data in the test's
// temp directory, on a free loopback port, stopped at cleanup, with the emulator's published
// development account. Without Azurite the test fails: it does not skip. Blobs are read and
// written behind stoa's back with Shared Key requests signed here.
package azuretest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/stoatest"
)

// The emulator's well-known development account: not a secret, but still never to be logged.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Server is a running azurite-blob.
type Server struct {
	Endpoint string // "http://127.0.0.1:PORT/devstoreaccount1"
	Addr     string
	proc     *stoatest.Process
}

// Bin is azurite-blob from $STOA_AZURITE, $PATH or /usr/local/bin.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("STOA_AZURITE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/azurite-blob"); err == nil {
		return "/usr/local/bin/azurite-blob"
	}
	tb.Fatal("azurite-blob not found: run scripts/install-deps.sh test (or set STOA_AZURITE)")
	return ""
}

// Start starts azurite-blob and waits (up to two minutes: a Node.js program, slow to start on a
// busy machine) until it listens on its port.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{Addr: stoatest.FreeAddr(tb)}
	s.Endpoint = "http://" + s.Addr + "/" + Account
	host, port, _ := strings.Cut(s.Addr, ":")
	data := filepath.Join(tb.TempDir(), "azurite")
	if err := os.MkdirAll(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	// --disableTelemetry: Azurite's telemetry client probes the cloud's instance metadata
	// address (169.254.169.254); a test server talks to loopback only.
	cmd := exec.Command(Bin(tb), "--blobHost", host, "--blobPort", port, "--location", data,
		"--silent", "--disableTelemetry")
	s.proc = stoatest.StartProcessWithin(tb, "azurite-blob", cmd, s.Addr, 2*time.Minute)
	return s
}

// ConnectionString names this server, its account and key, as AZURE_STORAGE_CONNECTION_STRING.
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + Account + ";AccountKey=" + Key +
		";BlobEndpoint=" + s.Endpoint + ";"
}

// Container creates a container.
func (s *Server) Container(tb testing.TB, name string) {
	tb.Helper()
	if status, body := s.do(tb, "PUT", name+"?restype=container", nil); status != http.StatusCreated {
		tb.Fatalf("create container %s: %d %s", name, status, body)
	}
}

// Get reads a blob ("container/name"): its bytes, and false when it does not exist.
func (s *Server) Get(tb testing.TB, blob string) ([]byte, bool) {
	tb.Helper()
	status, body := s.do(tb, "GET", blob, nil)
	switch status {
	case http.StatusOK:
		return body, true
	case http.StatusNotFound:
		return nil, false
	}
	tb.Fatalf("get %s: %d %s", blob, status, body)
	return nil, false
}

// Put writes a blob ("container/name"), replacing what is there.
func (s *Server) Put(tb testing.TB, blob string, data []byte) {
	tb.Helper()
	if status, body := s.do(tb, "PUT", blob, data); status != http.StatusCreated {
		tb.Fatalf("put %s: %d %s", blob, status, body)
	}
}

// Delete removes a blob ("container/name").
func (s *Server) Delete(tb testing.TB, blob string) {
	tb.Helper()
	if status, body := s.do(tb, "DELETE", blob, nil); status != http.StatusAccepted {
		tb.Fatalf("delete %s: %d %s", blob, status, body)
	}
}

// do sends one Shared Key request for path (relative to the account, with its query).
func (s *Server) do(tb testing.TB, method, path string, data []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, s.Endpoint+"/"+path, bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	if data == nil {
		req.Body = nil
	}
	req.ContentLength = int64(len(data))
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-12-02")
	if method == "PUT" && !strings.Contains(path, "?") {
		req.Header.Set("x-ms-blob-type", "BlockBlob")
	}
	length := ""
	if len(data) > 0 {
		length = fmt.Sprint(len(data))
	}
	var ms []string
	for name := range req.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-ms-") {
			ms = append(ms, l+":"+req.Header.Get(name)+"\n")
		}
	}
	sort.Strings(ms)
	resource := "/" + Account + req.URL.EscapedPath()
	q := req.URL.Query()
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := append([]string(nil), q[n]...)
		sort.Strings(vs)
		resource += "\n" + strings.ToLower(n) + ":" + strings.Join(vs, ",")
	}
	sts := method + "\n\n\n" + length + "\n\n\n\n\n\n\n\n\n" + strings.Join(ms, "") + resource
	key, _ := base64.StdEncoding.DecodeString(Key)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(sts))
	req.Header.Set("Authorization", "SharedKey "+Account+":"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}
