package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// Pipelining: three requests in one write on one connection are answered in order, each
// complete (a stored zip range by sendfile, a HEAD with its Content-Length and no body, then
// /healthz with Connection: close), with consecutive request ids; then the server closes.
func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/pipe", Version: "v1.0.0",
		Files: randomFiles(12, 4096)})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{})
	zip := get(t, s.URL+"/"+b.Key("zip")) // stored: the pipelined answers come from the store
	mod := get(t, s.URL+"/"+b.Key("mod"))
	if zip.Status != 200 || mod.Status != 200 {
		t.Fatalf("warm-up: zip %d, mod %d", zip.Status, mod.Status)
	}

	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	raw := "GET /" + b.Key("zip") + " HTTP/1.1\r\nHost: stoa\r\nRange: bytes=10-19\r\n\r\n" +
		"HEAD /" + b.Key("mod") + " HTTP/1.1\r\nHost: stoa\r\n\r\n" +
		"GET /healthz HTTP/1.1\r\nHost: stoa\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	read := func(method string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading the answer to %s: %v", method, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the body of %s: %v", method, err)
		}
		resp.Body.Close()
		return resp, body
	}
	first, body := read("GET")
	if first.StatusCode != 206 || string(body) != string(zip.Body[10:20]) || first.Close {
		t.Errorf("range: status %d, body %q (want %q), close %v", first.StatusCode, body, zip.Body[10:20], first.Close)
	}
	second, body := read("HEAD")
	if second.StatusCode != 200 || len(body) != 0 || second.Header.Get("Content-Length") != strconv.Itoa(len(mod.Body)) || second.Close {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q (want %d), close %v", second.StatusCode, len(body), second.Header.Get("Content-Length"), len(mod.Body), second.Close)
	}
	third, body := read("GET")
	if third.StatusCode != 200 || !third.Close {
		t.Errorf("healthz: status %d, close %v, body %q", third.StatusCode, third.Close, body)
	}
	ids := []string{first.Header.Get("X-Request-Id"), second.Header.Get("X-Request-Id"), third.Header.Get("X-Request-Id")}
	for i := 1; i < len(ids); i++ {
		prev, err1 := strconv.Atoi(ids[i-1])
		cur, err2 := strconv.Atoi(ids[i])
		if err1 != nil || err2 != nil || cur != prev+1 {
			t.Errorf("request ids %v: want consecutive numbers", ids)
		}
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after Connection: close: read %d bytes, %v; want EOF", n, err)
	}
}

// HTTP/1.0: a request without keep-alive is answered with Connection: close and the connection
// ends; one that asks for keep-alive keeps it for a second request.
func TestHTTP10KeepAliveOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := startStoa(t, newUpstream(t), stoatest.Config{})
	dial := func() (net.Conn, *bufio.Reader) {
		conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		return conn, bufio.NewReader(conn)
	}
	ask := func(conn net.Conn, r *bufio.Reader, raw string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(conn, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	conn, r := dial()
	defer conn.Close()
	if resp := ask(conn, r, "GET /healthz HTTP/1.0\r\n\r\n"); resp.StatusCode != 200 || !resp.Close {
		t.Errorf("HTTP/1.0: status %d, Connection: close %v", resp.StatusCode, resp.Close)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("HTTP/1.0 without keep-alive: read %d bytes, %v; want EOF", n, err)
	}

	kept, kr := dial()
	defer kept.Close()
	for i := range 2 {
		resp := ask(kept, kr, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		if resp.StatusCode != 200 || resp.Close {
			t.Errorf("HTTP/1.0 keep-alive, request %d: status %d, Connection: close %v", i+1, resp.StatusCode, resp.Close)
		}
	}
}
