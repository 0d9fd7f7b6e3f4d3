package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// An upstream that redirects a .mod to another listener on loopback (another service of its
// host, a loopback-only admin port) serving a plausible go.mod: stoa does not follow it, answers
// 502, stores nothing, logs why, and the go command fails cleanly. The listener is never even
// connected to. Once the upstream answers itself again, the same request succeeds.
func TestUpstreamRedirectToAnotherLocalListenerRefused(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/redirected", Version: "v1.0.0",
		Files: map[string]string{"r.go": "package redirected\n"}})
	var connections atomic.Int32
	admin := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(b.Mod) // exactly the go.mod the go command expects
	}))
	admin.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			connections.Add(1)
		}
	}
	admin.Start()
	t.Cleanup(admin.Close)

	up := newUpstream(t, b)
	up.SetFault(b.Key("mod"), upstream.Fault{Redirect: admin.URL + "/debug/go.mod"})
	s := startStoa(t, up, stoatest.Config{})

	r := get(t, s.URL+"/"+b.Key("mod"))
	if r.Status != http.StatusBadGateway {
		t.Errorf("GET .mod redirected to another loopback listener: %v, want 502", r)
	}
	if !strings.Contains(string(r.Body), "refused") {
		t.Errorf("the answer does not say the redirect was refused: %q", r.Body)
	}
	if _, stored := dataFile(s.DataDir, b.Key("mod")); stored {
		t.Errorf("the redirected .mod was stored")
	}
	_, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
	if err == nil {
		t.Errorf("go mod download succeeded through a refused redirect")
	} else if !strings.Contains(stderr, "502") {
		t.Errorf("go mod download failed without stoa's 502:\n%s", stderr)
	}
	if _, stored := dataFile(s.DataDir, b.Key("mod")); stored {
		t.Errorf("the redirected .mod was stored after go mod download")
	}
	if n := connections.Load(); n != 0 {
		t.Errorf("stoa connected to the redirect target %d times", n)
	}
	waitLog(t, s, "refused: it resolves to a loopback address")

	// A refusal is an upstream failure, not an answer to remember.
	up.ClearFault(b.Key("mod"))
	if r := get(t, s.URL+"/"+b.Key("mod")); r.Status != 200 || !bytes.Equal(r.Body, b.Mod) {
		t.Errorf("GET .mod once the upstream answers itself: %v", r)
	}
}

// The operator may allow an internal network as a redirect target (upstream_redirect_allow): a
// proxy that sends blobs to an object store on the same private network.
func TestUpstreamRedirectToAllowedNetworkFollowed(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/allowed", Version: "v1.0.0",
		Files: map[string]string{"a.go": "package allowed\n"}})
	blobs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(b.Zip)
	}))
	t.Cleanup(blobs.Close)
	up := newUpstream(t, b)
	up.SetFault(b.Key("zip"), upstream.Fault{Redirect: blobs.URL + "/blob.zip"})
	s := startStoa(t, up, stoatest.Config{Args: []string{"--upstream-redirect-allow", "127.0.0.0/8"}})
	ds, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], b)
}

// rawUpstream answers each GOPROXY request with the exact bytes of a route ("" keys are
// answered 404), then closes the connection.
type rawUpstream struct {
	ln     net.Listener
	mu     sync.Mutex
	routes map[string]string
	hits   map[string]int
	wg     sync.WaitGroup
}

func newRawUpstream(t *testing.T) *rawUpstream {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln, routes: map[string]string{}, hits: map[string]int{}}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				u.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.wg.Wait()
	})
	return u
}

func (u *rawUpstream) URL() string { return "http://" + u.ln.Addr().String() }

func (u *rawUpstream) route(key string, raw string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.routes["/"+key] = raw
}

func (u *rawUpstream) Hits(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits["/"+key]
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	u.mu.Lock()
	u.hits[req.URL.Path]++
	raw, ok := u.routes[req.URL.Path]
	u.mu.Unlock()
	if !ok {
		raw = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n"
	}
	_, _ = c.Write([]byte(raw))
}

// An upstream whose .mod answer is framed ambiguously, or whose end is not proven: with the
// checksum database off (so no hash would catch it), stoa answers 502 and stores nothing, and
// the go command fails. Each body is exactly the go.mod the go command expects, so a stoa that
// trusted the framing would store it (and serve it forever).
func TestUpstreamAmbiguousFramingNothingStored(t *testing.T) {
	t.Parallel()
	raw := newRawUpstream(t)
	s := startStoa(t, nil, stoatest.Config{Upstream: raw.URL()})
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
	chunk := func(body []byte) string {
		return fmt.Sprintf("%x\r\n%s\r\n", len(body), body)
	}
	cases := []struct {
		name  string
		bytes func(mod []byte) string
		why   string // in stoa's answer
	}{
		{"two Content-Length, the last one right", func(mod []byte) string {
			return head + fmt.Sprintf("Content-Length: 7\r\nContent-Length: %d\r\n\r\n%s", len(mod), mod)
		}, "conflicting Content-Length"},
		{"two Content-Length, the first one right", func(mod []byte) string {
			return head + fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(mod), len(mod)+9, mod)
		}, ""},
		{"Content-Length and chunked", func(mod []byte) string {
			return head + fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n", len(mod)) +
				chunk(mod) + "0\r\n\r\n"
		}, "both Content-Length and Transfer-Encoding"},
		{"no length, ended by the close", func(mod []byte) string {
			return head + "\r\n" + string(mod)
		}, "not proven"},
		{"shorter than its Content-Length", func(mod []byte) string {
			return head + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(mod)+20, mod)
		}, ""},
		{"chunked, cut before the last chunk", func(mod []byte) string {
			return head + "Transfer-Encoding: chunked\r\n\r\n" + chunk(mod)
		}, ""},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := modgen.MustBuild(t, modgen.Module{Path: fmt.Sprintf("example.com/framing%d", i), Version: "v1.0.0"})
			raw.route(b.Key("info"), head+fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(b.Info), b.Info))
			raw.route(b.Key("mod"), c.bytes(b.Mod))
			raw.route(b.Key("zip"), "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\n"+
				fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(b.Zip), b.Zip))
			r := get(t, s.URL+"/"+b.Key("mod"))
			if r.Status != http.StatusBadGateway {
				t.Errorf("GET .mod: %v, want 502", r)
			}
			if !strings.Contains(string(r.Body), c.why) {
				t.Errorf("the answer does not say %q: %q", c.why, r.Body)
			}
			if raw.Hits(b.Key("mod")) == 0 {
				t.Fatal("the upstream was never asked for the .mod")
			}
			if _, stored := dataFile(s.DataDir, b.Key("mod")); stored {
				t.Errorf("the .mod was stored")
			}
			if _, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version); err == nil {
				t.Errorf("go mod download succeeded")
			} else if !strings.Contains(stderr, "502") {
				t.Errorf("go mod download failed without stoa's 502:\n%s", stderr)
			}
			if _, stored := dataFile(s.DataDir, b.Key("mod")); stored {
				t.Errorf("the .mod was stored after go mod download")
			}
			waitNoTempLeftovers(t, s.DataDir)
		})
	}
}
