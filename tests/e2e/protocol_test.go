package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// Test 11: HTTP semantics per kind of answer: Content-Type, Cache-Control, HEAD with
// Content-Length, strong ETag with If-None-Match, Range and If-Range, and 404s.
func TestHTTPSemantics(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/sem", Version: "v1.0.0",
		Files: randomFiles(11, 4096)})
	up := newUpstream(t, b)
	up.SetFile("example.com/sem/@v/master.info", b.Info) // a branch query upstream resolves
	s := startStoa(t, up, stoatest.Config{})
	u := s.URL + "/"

	t.Run("content type and cache control", func(t *testing.T) {
		kinds := []struct {
			key       string
			ctype     string
			immutable bool
			body      []byte
		}{
			{b.Key("info"), "application/json", true, nil},
			{b.Key("mod"), "text/plain", true, b.Mod},
			{b.Key("zip"), "application/zip", true, b.Zip},
			{b.ListKey(), "text/plain", false, nil},
			{b.LatestKey(), "application/json", false, nil},
			{"example.com/sem/@v/master.info", "application/json", false, nil},
		}
		// The first round answers a miss (fetched from upstream), the second from the store.
		for _, round := range []string{"miss", "stored"} {
			for _, k := range kinds {
				what := round + " " + k.key
				r := get(t, u+k.key)
				if r.Status != 200 {
					t.Errorf("%s: %v", what, r)
					continue
				}
				checkContentType(t, what, r.Header, k.ctype)
				if k.immutable {
					checkImmutable(t, what, r.Header)
				} else {
					checkShortCache(t, what, r.Header)
				}
				if k.body != nil && !bytes.Equal(r.Body, k.body) {
					t.Errorf("%s: body differs from upstream's", what)
				}
				if k.ctype == "application/json" && !strings.Contains(string(r.Body), `"Version":"v1.0.0"`) {
					t.Errorf("%s: body %q", what, r.Body)
				}
			}
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		for _, key := range []string{b.Key("info"), b.Key("mod"), b.Key("zip"), b.ListKey(), b.LatestKey()} {
			g := get(t, u+key)
			h := do(t, http.MethodHead, u+key)
			if h.Status != 200 || len(h.Body) != 0 {
				t.Errorf("HEAD %s: %v", key, h)
			}
			if cl := h.Header.Get("Content-Length"); cl != strconv.Itoa(len(g.Body)) {
				t.Errorf("HEAD %s: Content-Length %q, GET body has %d bytes", key, cl, len(g.Body))
			}
			if h.Header.Get("Content-Type") != g.Header.Get("Content-Type") {
				t.Errorf("HEAD %s: Content-Type %q, GET's %q", key, h.Header.Get("Content-Type"), g.Header.Get("Content-Type"))
			}
		}
	})

	t.Run("ETag and If-None-Match", func(t *testing.T) {
		for _, key := range []string{b.Key("info"), b.Key("mod"), b.Key("zip")} {
			r := get(t, u+key)
			etag := r.Header.Get("ETag")
			if len(etag) < 3 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Errorf("%s: ETag %q, want a strong (quoted, not W/) validator", key, etag)
				continue
			}
			if again := get(t, u+key); again.Header.Get("ETag") != etag {
				t.Errorf("%s: ETag changed from %s to %s", key, etag, again.Header.Get("ETag"))
			}
			for _, inm := range []string{etag, `"nope", ` + etag, "*"} {
				nm := get(t, u+key, "If-None-Match: "+inm)
				if nm.Status != http.StatusNotModified || len(nm.Body) != 0 {
					t.Errorf("%s with If-None-Match %s: %v, want 304 without body", key, inm, nm)
				}
				if inm == etag && nm.Header.Get("ETag") != etag {
					t.Errorf("%s: 304 has ETag %q, want %s", key, nm.Header.Get("ETag"), etag)
				}
			}
			if other := get(t, u+key, `If-None-Match: "nope"`); other.Status != 200 || !bytes.Equal(other.Body, r.Body) {
				t.Errorf("%s with a non-matching If-None-Match: %v, want 200", key, other)
			}
		}
	})

	t.Run("Range and If-Range", func(t *testing.T) {
		zip := b.Zip
		n := len(zip)
		etag := get(t, u+b.Key("zip")).Header.Get("ETag")
		cases := []struct {
			headers []string
			status  int
			body    []byte
			crange  string
		}{
			{[]string{"Range: bytes=0-9"}, 206, zip[:10], fmt.Sprintf("bytes 0-9/%d", n)},
			{[]string{"Range: bytes=10-"}, 206, zip[10:], fmt.Sprintf("bytes 10-%d/%d", n-1, n)},
			{[]string{"Range: bytes=-5"}, 206, zip[n-5:], fmt.Sprintf("bytes %d-%d/%d", n-5, n-1, n)},
			{[]string{fmt.Sprintf("Range: bytes=%d-%d", n-1, n+100)}, 206, zip[n-1:], fmt.Sprintf("bytes %d-%d/%d", n-1, n-1, n)},
			{[]string{"Range: bytes=0-9", "If-Range: " + etag}, 206, zip[:10], fmt.Sprintf("bytes 0-9/%d", n)},
			{[]string{"Range: bytes=0-9", `If-Range: "not-the-etag"`}, 200, zip, ""},
			{[]string{fmt.Sprintf("Range: bytes=%d-", n)}, 416, nil, fmt.Sprintf("bytes */%d", n)},
			{[]string{fmt.Sprintf("Range: bytes=%d-%d", n+10, n+20)}, 416, nil, fmt.Sprintf("bytes */%d", n)},
		}
		for _, tc := range cases {
			r := get(t, u+b.Key("zip"), tc.headers...)
			if r.Status != tc.status {
				t.Errorf("%v: status %d, want %d", tc.headers, r.Status, tc.status)
				continue
			}
			if tc.body != nil && !bytes.Equal(r.Body, tc.body) {
				t.Errorf("%v: %d bytes, want %d bytes of the zip", tc.headers, len(r.Body), len(tc.body))
			}
			if got := r.Header.Get("Content-Range"); got != tc.crange {
				t.Errorf("%v: Content-Range %q, want %q", tc.headers, got, tc.crange)
			}
			if tc.status != 416 && r.Header.Get("Content-Length") != strconv.Itoa(len(tc.body)) {
				t.Errorf("%v: Content-Length %q, want %d", tc.headers, r.Header.Get("Content-Length"), len(tc.body))
			}
		}
	})

	t.Run("upstream 404", func(t *testing.T) {
		for _, key := range []string{
			"example.com/nonexistent/@v/v1.0.0.info",
			"example.com/nonexistent/@v/v1.0.0.mod",
			"example.com/nonexistent/@v/v1.0.0.zip",
			"example.com/nonexistent/@v/list",
			"example.com/nonexistent/@latest",
			"example.com/sem/@v/v1.0.1.info",
			"example.com/sem/@v/v1.0.1.zip",
			"example.com/sem/@v/nosuchbranch.info",
		} {
			checkNotFound(t, key, get(t, u+key))
		}
	})
}
