// Package e2e drives the real stoa binary ($STOA_BIN) on a free port with the real go command
// and raw HTTP, against a simulated upstream GOPROXY (internal/upstream) serving modules built
// in memory with golang.org/x/mod (internal/modgen).
package e2e

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// sharedGoCache is one GOCACHE for every go command of the suite (build cache only: every
// test still has its own module cache).
var sharedGoCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stoa-e2e-gocache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sharedGoCache = dir
	code := m.Run()
	runSuiteCleanups()
	// No private module path ever reached a public upstream, in any test of the suite.
	if leaks := privateLeaks(); len(leaks) != 0 {
		fmt.Fprintf(os.Stderr, "FAIL: requests carrying the private prefix %q reached public upstreams:\n%s\n",
			privatePrefix, strings.Join(leaks, "\n"))
		code = 1
	}
	gocmd.MakeWritable(dir)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// newUpstream starts an upstream simulator serving mods, closed at cleanup. Every one is a
// public upstream: TestMain checks that none ever saw a request for a private module path.
func newUpstream(t *testing.T, mods ...*modgen.Built) *upstream.Server {
	t.Helper()
	up := upstream.New()
	registerPublic(up)
	t.Cleanup(up.Close)
	up.Add(mods...)
	return up
}

// startStoa starts stoa with up as its upstream unless c names one; a 10s fetch timeout unless
// c names one.
func startStoa(t *testing.T, up *upstream.Server, c stoatest.Config) *stoatest.Stoa {
	t.Helper()
	if c.Upstream == "" {
		c.Upstream = up.URL()
	}
	if c.FetchTimeout == "" {
		c.FetchTimeout = "10s"
	}
	return stoatest.Start(t, c)
}

// goClient is a go command using goproxy with a fresh module cache.
func goClient(t *testing.T, goproxy string) *gocmd.Go {
	t.Helper()
	return gocmd.New(t, goproxy, sharedGoCache)
}

// randomFiles returns a file of n pseudo-random (incompressible, deterministic) bytes.
func randomFiles(seed uint64, n int) map[string]string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return map[string]string{"blob.bin": string(b), "doc.go": "// Package x is test data.\npackage x\n"}
}

// response is a complete HTTP answer.
type response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

func (r response) String() string {
	body := string(r.Body)
	if len(body) > 300 {
		body = body[:300] + "..."
	}
	return fmt.Sprintf("%d %q (Content-Type %q)", r.Status, body, r.Header.Get("Content-Type"))
}

var httpClient = &http.Client{
	Timeout: 2 * time.Minute,
	Transport: &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 200,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends method url with headers ("Name: value") and reads the whole answer.
func do(t *testing.T, method, url string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	start := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body, Elapsed: time.Since(start)}
}

func get(t *testing.T, url string, headers ...string) response {
	t.Helper()
	return do(t, http.MethodGet, url, headers...)
}

// rawDo writes a hand-made request line (so that nothing normalizes target) and reads one
// answer. extra are header lines ("Name: value").
func rawDo(addr, method, target string, extra ...string) (response, error) {
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	req += "\r\n"
	start := time.Now()
	if _, err := io.WriteString(conn, req); err != nil {
		return response{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body, Elapsed: time.Since(start)}, nil
}

// dataFile reads the stored file at key (a GOPROXY-relative path) of a disk store.
func dataFile(data, key string) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(data, filepath.FromSlash(key)))
	return b, err == nil
}

// tempLeftovers lists the files in DATA/.stoa-tmp.
func tempLeftovers(data string) []string {
	var left []string
	_ = filepath.WalkDir(filepath.Join(data, ".stoa-tmp"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	return left
}

// waitNoTempLeftovers polls until DATA/.stoa-tmp holds no file (a staged download may be
// removed just after its request's answer was sent) and fails the test after a deadline.
func waitNoTempLeftovers(t *testing.T, data string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := tempLeftovers(data)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("temp files left in the data dir: %v", left)
			return
		}
		time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
	}
}

// storedFilesNamed lists the files under data whose base name is name (for "nothing stored").
func storedFilesNamed(data, name string) []string {
	var found []string
	_ = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// mediaType is the media type and charset of a Content-Type header.
func mediaType(h http.Header) (string, string) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return "", ""
	}
	return mt, strings.ToLower(params["charset"])
}

// checkContentType checks Content-Type: want is "application/json", "application/zip" or
// "text/plain" (which must say charset=utf-8).
func checkContentType(t *testing.T, what string, h http.Header, want string) {
	t.Helper()
	mt, cs := mediaType(h)
	if mt != want || (want == "text/plain" && cs != "utf-8") {
		t.Errorf("%s: Content-Type %q, want %s", what, h.Get("Content-Type"), want)
	}
}

// cacheDirectives parses Cache-Control into directive -> value ("" for none).
func cacheDirectives(h http.Header) map[string]string {
	d := map[string]string{}
	for _, part := range strings.Split(h.Get("Cache-Control"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "" {
			d[strings.ToLower(k)] = strings.Trim(v, `"`)
		}
	}
	return d
}

// checkImmutable checks the Cache-Control of a stored file of a canonical version.
func checkImmutable(t *testing.T, what string, h http.Header) {
	t.Helper()
	d := cacheDirectives(h)
	_, public := d["public"]
	_, immutable := d["immutable"]
	if !public || !immutable || d["max-age"] != "31536000" {
		t.Errorf("%s: Cache-Control %q, want \"public, max-age=31536000, immutable\"", what, h.Get("Cache-Control"))
	}
}

// checkShortCache checks the Cache-Control of an answer that may change (list, @latest, a
// query's .info): a max-age of at most an hour and not immutable.
func checkShortCache(t *testing.T, what string, h http.Header) {
	t.Helper()
	d := cacheDirectives(h)
	_, immutable := d["immutable"]
	age, err := strconv.Atoi(d["max-age"])
	if immutable || err != nil || age <= 0 || age > 3600 {
		t.Errorf("%s: Cache-Control %q, want a short max-age (e.g. \"public, max-age=60\") and no immutable",
			what, h.Get("Cache-Control"))
	}
}

// checkNotCachedLong checks that an error answer is not cacheable as immutable.
func checkNotCachedLong(t *testing.T, what string, h http.Header) {
	t.Helper()
	d := cacheDirectives(h)
	if _, immutable := d["immutable"]; immutable {
		t.Errorf("%s: error answer has Cache-Control %q", what, h.Get("Cache-Control"))
	}
	if age, err := strconv.Atoi(d["max-age"]); err == nil && age > 3600 {
		t.Errorf("%s: error answer has Cache-Control %q", what, h.Get("Cache-Control"))
	}
}

// checkNotFound checks a 404 answer: text/plain, one line starting "not found:".
func checkNotFound(t *testing.T, what string, r response) {
	t.Helper()
	if r.Status != http.StatusNotFound {
		t.Errorf("%s: got %v, want 404", what, r)
		return
	}
	checkContentType(t, what, r.Header, "text/plain")
	body := strings.TrimRight(string(r.Body), "\n")
	if !strings.HasPrefix(body, "not found:") || strings.Contains(body, "\n") {
		t.Errorf("%s: 404 body %q, want one line starting \"not found:\"", what, r.Body)
	}
	checkNotCachedLong(t, what, r.Header)
}

// isGatewayError is true for the statuses an upstream failure may give: 502 and 504.
func isGatewayError(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

func upstreamStatus(code int) upstream.Fault { return upstream.Fault{Status: code} }
func upstreamBody(b []byte) upstream.Fault   { return upstream.Fault{Body: b} }

// sleepPoll is the interval between two checks of a polled condition.
func sleepPoll() { time.Sleep(25 * time.Millisecond) }
