package upstream

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
)

func get(t *testing.T, url string) (int, http.Header, []byte, error) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body, err
}

func TestServesModules(t *testing.T) {
	s := New()
	defer s.Close()
	v1 := modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v1.0.0"})
	v2 := modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v1.1.0-RC.1"})
	pseudo := modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v0.0.0-20230101000000-abcdefabcdef"})
	s.Add(v1, v2, pseudo)

	cases := []struct {
		path   string // as sent: percent-encoded the way the go command does
		status int
		ctype  string
		body   []byte
	}{
		{"/example.com/%21azure/%21s%21d%21k/@v/list", 200, "text/plain; charset=utf-8", []byte("v1.0.0\nv1.1.0-RC.1\n")},
		{"/example.com/!azure/!s!d!k/@v/v1.0.0.info", 200, "application/json", v1.Info},
		{"/example.com/%21azure/%21s%21d%21k/@v/v1.1.0-%21r%21c.1.mod", 200, "text/plain; charset=utf-8", v2.Mod},
		{"/example.com/%21azure/%21s%21d%21k/@v/v1.0.0.zip", 200, "application/zip", v1.Zip},
		{"/example.com/%21azure/%21s%21d%21k/@latest", 200, "application/json", v1.Info},
		{"/example.com/%21azure/%21s%21d%21k/@v/v0.0.0-20230101000000-abcdefabcdef.zip", 200, "application/zip", pseudo.Zip},
		{"/example.com/%21azure/%21s%21d%21k/@v/v9.9.9.info", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/Azure/SDK/@v/list", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/other/@v/list", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/other/@latest", 404, "text/plain; charset=utf-8", nil},
	}
	for _, tc := range cases {
		status, h, body, err := get(t, s.URL()+tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		if status != tc.status || h.Get("Content-Type") != tc.ctype {
			t.Errorf("GET %s = %d %q, want %d %q", tc.path, status, h.Get("Content-Type"), tc.status, tc.ctype)
		}
		if tc.body != nil && !bytes.Equal(body, tc.body) {
			t.Errorf("GET %s body = %q, want %q", tc.path, body, tc.body)
		}
		if tc.status == 404 && !strings.HasPrefix(string(body), "not found: ") {
			t.Errorf("GET %s 404 body = %q", tc.path, body)
		}
	}
	if n := s.Hits(v1.Key("zip")); n != 1 {
		t.Errorf("Hits(%s) = %d, want 1", v1.Key("zip"), n)
	}
	if n := s.TotalHits(); n != len(cases) {
		t.Errorf("TotalHits = %d, want %d", n, len(cases))
	}
	log := s.HitLog()
	if log[0].Key != "example.com/!azure/!s!d!k/@v/list" || log[0].Status != 200 || log[0].Method != "GET" {
		t.Errorf("first hit = %+v", log[0])
	}
	if log[len(log)-1].Status != 404 {
		t.Errorf("last hit = %+v", log[len(log)-1])
	}
	s.ResetHits()
	if s.TotalHits() != 0 {
		t.Error("ResetHits kept hits")
	}
}

func TestExplicitListAndLatest(t *testing.T) {
	s := New()
	defer s.Close()
	p := modgen.MustBuild(t, modgen.Module{Path: "example.com/notags", Version: "v0.0.0-20230101000000-abcdefabcdef"})
	s.Add(p)
	// Automatic: an empty list (pseudo-versions are never listed) and @latest = the pseudo-version.
	if st, _, body, _ := get(t, s.URL()+"/example.com/notags/@v/list"); st != 200 || len(body) != 0 {
		t.Errorf("list = %d %q", st, body)
	}
	if st, _, body, _ := get(t, s.URL()+"/example.com/notags/@latest"); st != 200 || !bytes.Equal(body, p.Info) {
		t.Errorf("@latest = %d %q", st, body)
	}
	s.SetList("example.com/notags", "v1.0.0", "v1.1.0")
	s.SetLatest("example.com/notags", []byte(`{"Version":"v1.1.0"}`))
	if _, _, body, _ := get(t, s.URL()+"/example.com/notags/@v/list"); string(body) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("list = %q", body)
	}
	if _, _, body, _ := get(t, s.URL()+"/example.com/notags/@latest"); string(body) != `{"Version":"v1.1.0"}` {
		t.Errorf("@latest = %q", body)
	}
	s.SetFile("example.com/notags/@v/master.info", p.Info)
	if st, _, body, _ := get(t, s.URL()+"/example.com/notags/@v/master.info"); st != 200 || !bytes.Equal(body, p.Info) {
		t.Errorf("master.info = %d %q", st, body)
	}
	s.SetFile("example.com/notags/@v/master.info", nil)
	if st, _, _, _ := get(t, s.URL()+"/example.com/notags/@v/master.info"); st != 404 {
		t.Errorf("removed master.info = %d", st)
	}
}

func TestFaultStatusBodyWrongVersion(t *testing.T) {
	s := New()
	defer s.Close()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0"})
	s.Add(b)

	s.SetFault(b.Key("zip"), Fault{Status: 503})
	if st, _, _, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 503 {
		t.Errorf("status fault: %d", st)
	}
	if st, _, _, _ := get(t, s.URL()+"/"+b.Key("mod")); st != 200 {
		t.Errorf("fault leaked to another key: %d", st)
	}
	s.ClearFault(b.Key("zip"))
	if st, _, body, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 200 || !bytes.Equal(body, b.Zip) {
		t.Errorf("cleared fault: %d", st)
	}

	s.SetFault(b.Key("info"), Fault{WrongVersion: "v1.0.1"})
	if _, _, body, _ := get(t, s.URL()+"/"+b.Key("info")); !strings.Contains(string(body), `"Version":"v1.0.1"`) || !strings.Contains(string(body), `"Time"`) {
		t.Errorf("wrong version body = %s", body)
	}
	s.SetFault(b.Key("zip"), Fault{Body: []byte("not a zip")})
	if st, _, body, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 200 || string(body) != "not a zip" {
		t.Errorf("body fault = %d %q", st, body)
	}

	s.SetDefaultFault(&Fault{Status: 500})
	if st, _, _, _ := get(t, s.URL()+"/"+b.Key("mod")); st != 500 {
		t.Errorf("default fault: %d", st)
	}
	if st, _, body, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 200 || string(body) != "not a zip" {
		t.Errorf("a key's own fault must win over the default: %d %q", st, body)
	}
	s.SetDefaultFault(nil)
	if st, _, _, _ := get(t, s.URL()+"/"+b.Key("mod")); st != 200 {
		t.Errorf("default fault removed: %d", st)
	}
	hits := s.HitLog()
	if hits[0].Status != 503 {
		t.Errorf("hit status = %d, want 503", hits[0].Status)
	}
}

func TestFaultCut(t *testing.T) {
	s := New()
	defer s.Close()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0",
		Files: map[string]string{"a.txt": strings.Repeat("abcdefgh", 500)}})
	s.Add(b)
	for _, n := range []int{0, 1, len(b.Zip) / 2, len(b.Zip) - 1} {
		s.SetFault(b.Key("zip"), Fault{Cut: true, CutAfter: n})
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
		resp, err := c.Get(s.URL() + "/" + b.Key("zip"))
		if err != nil {
			t.Fatalf("cut %d: %v", n, err)
		}
		if resp.ContentLength != int64(len(b.Zip)) {
			t.Errorf("cut %d: Content-Length %d, want %d", n, resp.ContentLength, len(b.Zip))
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut %d: read error %v, want unexpected EOF", n, err)
		}
		if !bytes.Equal(got, b.Zip[:n]) {
			t.Errorf("cut %d: got %d bytes, want the first %d", n, len(got), n)
		}
	}
	for _, h := range s.HitLog() {
		if !h.Cut || h.Status != 200 {
			t.Errorf("hit %+v, want a cut 200", h)
		}
	}
}

func TestFaultBlockArrivedHang(t *testing.T) {
	s := New()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0"})
	s.Add(b)
	arrived := make(chan string, 4)
	release := make(chan struct{})
	s.SetFault(b.Key("zip"), Fault{Arrived: arrived, Block: release})

	type result struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		st, _, body, err := get(t, s.URL()+"/"+b.Key("zip"))
		done <- result{st, body, err}
	}()
	select {
	case k := <-arrived:
		if k != b.Key("zip") {
			t.Errorf("arrived %q", k)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request never arrived")
	}
	select {
	case r := <-done:
		t.Fatalf("blocked request answered before release: %+v", r)
	default:
	}
	close(release)
	r := <-done
	if r.err != nil || r.status != 200 || !bytes.Equal(r.body, b.Zip) {
		t.Errorf("after release: %d %v", r.status, r.err)
	}

	// Hang: the request is dropped when the server closes.
	s.SetFault(b.Key("mod"), Fault{Hang: true, Arrived: arrived})
	go func() {
		st, _, body, err := get(t, s.URL()+"/"+b.Key("mod"))
		done <- result{st, body, err}
	}()
	<-arrived
	s.Close()
	select {
	case r := <-done:
		if r.err == nil {
			t.Errorf("hanging request answered %d", r.status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a hanging request")
	}
	if _, _, _, err := get(t, s.URL()+"/"+b.Key("mod")); err == nil {
		t.Error("closed server still answers")
	}
	s.Close() // idempotent
}

func TestFaultHangEndsWhenClientLeaves(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetDefaultFault(&Fault{Hang: true})
	c := &http.Client{Timeout: 200 * time.Millisecond}
	start := time.Now()
	if _, err := c.Get(s.URL() + "/example.com/m/@v/list"); err == nil {
		t.Fatal("hanging server answered")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("client timeout not honoured")
	}
	// The dropped hit is recorded without a status.
	hits := s.HitLog()
	if len(hits) != 1 || hits[0].Status != 0 {
		t.Errorf("hits = %+v", hits)
	}
}

func TestRedirectAndPrefix(t *testing.T) {
	s := NewAt("/api/go/")
	defer s.Close()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0"})
	s.Add(b)
	if !strings.HasSuffix(s.URL(), "/api/go") {
		t.Errorf("URL %q", s.URL())
	}
	if st, _, body, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 200 || !bytes.Equal(body, b.Zip) {
		t.Errorf("under the prefix: %d", st)
	}
	if st, _, _, _ := get(t, strings.TrimSuffix(s.URL(), "/api/go")+"/"+b.Key("zip")); st != 404 {
		t.Errorf("outside the prefix: %d, want 404", st)
	}
	s.SetFault("elsewhere.zip", Fault{Body: b.Zip})
	s.SetFault(b.Key("zip"), Fault{Redirect: s.URL() + "/elsewhere.zip"})
	if st, _, body, _ := get(t, s.URL()+"/"+b.Key("zip")); st != 200 || !bytes.Equal(body, b.Zip) {
		t.Errorf("redirect followed: %d", st)
	}
	if s.Hits("elsewhere.zip") != 1 || s.HitLog()[2].Status != 302 {
		t.Errorf("hits %+v", s.HitLog())
	}
}

func TestFaultStall(t *testing.T) {
	s := New()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/m", Version: "v1.0.0"})
	s.Add(b)
	s.SetFault(b.Key("zip"), Fault{Cut: true, CutAfter: 10, Stall: true})
	resp, err := http.Get(s.URL() + "/" + b.Key("zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, got); err != nil || !bytes.Equal(got, b.Zip[:10]) {
		t.Fatalf("first bytes: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("stalled body ended early: %v", err)
	case <-time.After(100 * time.Millisecond): // a stall cannot be observed otherwise
	}
	s.Close()
	if err := <-done; !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("after Close: %v, want unexpected EOF", err)
	}
}
