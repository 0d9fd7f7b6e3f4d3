package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// A keep-alive connection stays usable while it is busy and is closed once it has been idle for
// the idle timeout.
func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--idle-timeout", "1s"}})
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func() error {
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return err
	}
	// Five requests 300 ms apart: 1.5 s in all, longer than the idle timeout, never idle that long.
	for i := range 5 {
		if err := ask(); err != nil {
			t.Fatalf("request %d on a connection idle for less than the timeout: %v", i, err)
		}
		time.Sleep(300 * time.Millisecond) // the client's think time, not synchronization
	}
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := br.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("idle connection still open after %v", time.Since(start))
	}
	if n != 0 || err != io.EOF {
		t.Errorf("idle connection: read %d bytes, %v; want EOF", n, err)
	}
	if d := time.Since(start); d < 700*time.Millisecond || d > 3*time.Second {
		t.Errorf("idle connection closed after %v; idle timeout is 1s", d)
	}
}

// dialSmallWindow connects with a small receive buffer, so that a client that stops reading
// stops the server's writes soon (loopback buffers otherwise hold megabytes).
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The write timeout is a progress deadline: a slow reader of a big zip gets every byte even
// though the transfer takes longer than the timeout, while a reader that stops is dropped (and
// the drop is logged), without disturbing anyone else.
func TestSlowReaderFinishesStalledReaderDropped(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/bigzip", Version: "v1.0.0",
		Files: randomFiles(77, 12<<20)})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--write-timeout", "1s"}})
	url := s.URL + "/" + b.Key("zip")
	if r := get(t, url); r.Status != 200 || !bytes.Equal([]byte(r.Body), b.Zip) {
		t.Fatalf("first GET (fetch and store): %v", r.Status)
	}
	req := "GET /" + b.Key("zip") + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

	stalled := dialSmallWindow(t, s.Addr)
	defer stalled.Close()
	if _, err := io.WriteString(stalled, req); err != nil {
		t.Fatal(err)
	}

	slow := dialSmallWindow(t, s.Addr)
	defer slow.Close()
	if _, err := io.WriteString(slow, req); err != nil {
		t.Fatal(err)
	}
	// About 4 MiB/s: the whole zip takes ~3 s, three times the write timeout, but no pause is
	// anywhere near it.
	start := time.Now()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	_ = slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		n, err := slow.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("slow reader: %v after %d bytes", err, got.Len())
		}
		time.Sleep(15 * time.Millisecond) // pacing the reader is the point of the test
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Logf("slow reader took only %v (want it slower than the write timeout)", took)
	}
	resp, err := http.ReadResponse(bufio.NewReader(&got), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, b.Zip) {
		t.Fatalf("slow reader got %d and %d bytes, want 200 and %d", resp.StatusCode, len(body), len(b.Zip))
	}

	// By now the stalled reader has not read for ~3 s: its connection must be gone. Whatever it
	// reads now is what sat in the buffers, then the connection ends short of the zip.
	_ = stalled.SetReadDeadline(time.Now().Add(20 * time.Second))
	all, err := io.ReadAll(stalled)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("stalled reader still connected")
	}
	if len(all) >= len(b.Zip) {
		t.Errorf("stalled reader received %d bytes, the whole zip (%d)", len(all), len(b.Zip))
	}
	if !strings.Contains(s.WaitLog("write stalled", 1, 10*time.Second), "write stalled") {
		t.Errorf("no \"write stalled\" in the log:\n%s", s.Log())
	}
}
