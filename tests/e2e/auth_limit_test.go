package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// loginSetup starts stoa with a private rule (readers: alice) served by its own upstream, a
// public module on the global upstream, and extra flags.
func loginSetup(t *testing.T, args ...string) (s *stoatest.Stoa, privFile, pubFile string) {
	t.Helper()
	dir := t.TempDir()
	priv := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/login", Version: "v1.0.0",
		Files: map[string]string{"lib.go": "package login\n"}})
	privUp := upstream.New()
	t.Cleanup(privUp.Close)
	privUp.Add(priv)
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/loginpub", Version: "v1.0.0"})
	up := newUpstream(t, pub)
	users := writeFile(t, filepath.Join(dir, "users"), usersLine(t, "alice", "alice-pw")+"\n")
	rules := writeFile(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
name = "corp"
modules = "`+privatePrefix+`"
action = "private"
readers = ["alice"]
upstream = "`+privUp.URL()+`"
`)
	s = startStoa(t, up, stoatest.Config{
		// /metrics stays public here: the tests read counters anonymously.
		Args: append([]string{"--rules-file", rules, "--users-file", users, "--operational-endpoints", "public"}, args...),
	})
	return s, "/" + privatePrefix + "/login/@v/v1.0.0.info", "/example.com/loginpub/@v/v1.0.0.info"
}

// getAs sends GET url with Basic credentials (none when user is "") through client.
func getAs(t *testing.T, client *http.Client, url, user, pass string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// A flood of wrong passwords (each a first bcrypt check) used to queue on the fetch workers,
// ahead of unrelated misses (#13 item 12). With one fetch worker and one auth worker, a public
// miss sent while the flood is queued must be answered long before the flood is through.
func TestLoginFloodNeverDelaysMisses(t *testing.T) {
	t.Parallel()
	s, privFile, pubFile := loginSetup(t, "--fetch-workers", "1", "--auth-workers", "1",
		"--auth-queue", "1000", "--auth-max-failures", "0")
	const flood = 80
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: flood + 8, MaxConnsPerHost: flood + 8}}

	var done atomic.Int64
	answered := make(chan struct{}, flood)
	statuses := make([]int, flood)
	var wg sync.WaitGroup
	for i := 0; i < flood; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// A different wrong password each: none is a remembered failure.
			req, _ := http.NewRequest(http.MethodGet, s.URL+privFile, nil)
			req.SetBasicAuth("alice", fmt.Sprintf("guess-%d", i))
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}
			done.Add(1)
			answered <- struct{}{}
		}(i)
	}
	// Once a few checks are through, the rest of the flood (sent at once) waits in a queue.
	for i := 0; i < 3; i++ {
		select {
		case <-answered:
		case <-time.After(2 * time.Minute):
			t.Fatal("the flood of logins is not being answered")
		}
	}
	miss := getAs(t, client, s.URL+pubFile, "", "")
	doneAtMiss := done.Load()
	wg.Wait()
	if miss.Status != 200 {
		t.Fatalf("public miss during the flood: %v", miss)
	}
	t.Logf("the public miss was answered after %d of %d flood logins", doneAtMiss, flood)
	if doneAtMiss > flood/2 {
		t.Fatalf("the public miss waited behind the flood of logins: answered after %d of %d",
			doneAtMiss, flood)
	}
	for i, st := range statuses {
		if st != 401 {
			t.Fatalf("wrong password %d: status %d, want 401", i, st)
		}
	}
	if got := metricValue(t, s, "stoa_login_failures_total"); got != strconv.Itoa(flood) {
		t.Errorf("stoa_login_failures_total = %q, want %d", got, flood)
	}
}

// After auth_max_failures wrong passwords, the same address gets 429 with Retry-After, even with
// the right password; another address logs in, and requests without credentials are served.
func TestFailedLoginsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	s, privFile, pubFile := loginSetup(t, "--auth-max-failures", "3", "--auth-failure-window", "1h")
	a := &http.Client{Timeout: time.Minute} // from 127.0.0.1
	for i := 0; i < 3; i++ {
		if r := getAs(t, a, s.URL+privFile, "alice", fmt.Sprintf("guess-%d", i)); r.Status != 401 {
			t.Fatalf("wrong password %d: %v", i, r)
		}
	}
	r := getAs(t, a, s.URL+privFile, "alice", "alice-pw")
	if r.Status != 429 {
		t.Fatalf("right password after 3 failures from the same address: %v, want 429", r)
	}
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 3000 || secs > 3600 {
		t.Fatalf("Retry-After %q, want the seconds left of the 1h window", r.Header.Get("Retry-After"))
	}
	if r := getAs(t, a, s.URL+pubFile, "", ""); r.Status != 200 {
		t.Fatalf("public file without credentials from the limited address: %v", r)
	}
	// Another client address (loopback is a whole /8 on Linux).
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
	b := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}}}
	if r := getAs(t, b, s.URL+privFile, "alice", "alice-pw"); r.Status != 200 {
		t.Fatalf("right password from another address: %v", r)
	}
	if got := metricValue(t, s, `stoa_auth_rejected_total{reason="rate_limited"}`); got != "1" {
		t.Errorf(`stoa_auth_rejected_total{reason="rate_limited"} = %q, want 1`, got)
	}
}
