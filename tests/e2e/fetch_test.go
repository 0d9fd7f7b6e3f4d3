package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// Test 8: 100 concurrent requests for one missing file make exactly one upstream fetch and get
// 100 identical, correct bodies. The upstream holds its answer until every client has sent its
// request. The zip is the case that matters most; .info and .mod take another code path.
func TestConcurrentMissesShareOneFetch(t *testing.T) {
	t.Parallel()
	for _, ext := range []string{"zip", "info", "mod"} {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			b := modgen.MustBuild(t, modgen.Module{Path: "example.com/hot", Version: "v1.0.0",
				Files: randomFiles(8, 256<<10)})
			want := map[string][]byte{"zip": b.Zip, "info": b.Info, "mod": b.Mod}[ext]
			up := newUpstream(t, b)
			s := startStoa(t, up, stoatest.Config{FetchTimeout: "60s"})
			concurrentMiss(t, s, up, b.Key(ext), want)
			checkStored(t, s.DataDir, b, ext)
		})
	}
}

func concurrentMiss(t *testing.T, s *stoatest.Stoa, up *upstream.Server, key string, want []byte) {
	t.Helper()
	const clients = 100
	arrived := make(chan string, 2*clients)
	release := make(chan struct{})
	up.SetFault(key, upstream.Fault{Arrived: arrived, Block: release})

	transport := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 2 * time.Minute}

	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, clients)
	start := make(chan struct{})
	sent := make(chan struct{}, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
				select {
				case sent <- struct{}{}:
				default:
				}
			}}
			req, err := http.NewRequest(http.MethodGet, s.URL+"/"+key, nil)
			if err != nil {
				results[i].err = err
				return
			}
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
			<-start
			resp, err := client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			results[i].status = resp.StatusCode
			results[i].body, results[i].err = io.ReadAll(resp.Body)
		}()
	}
	close(start)

	timeout := time.After(60 * time.Second)
	select {
	case <-arrived:
	case <-timeout:
		close(release)
		wg.Wait()
		t.Fatalf("the fetch never reached upstream (hits %+v)", up.HitLog())
	}
	for n := 0; n < clients; n++ {
		select {
		case <-sent:
		case <-timeout:
			t.Errorf("only %d of %d clients sent their request", n, clients)
			n = clients
		}
	}
	close(release)
	wg.Wait()

	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("client %d: %v", i, r.err)
		case r.status != 200:
			t.Errorf("client %d: status %d: %q", i, r.status, r.body)
		case !bytes.Equal(r.body, want):
			t.Errorf("client %d: body of %d bytes differs from upstream's (%d bytes)", i, len(r.body), len(want))
		}
	}
	if n := up.Hits(key); n != 1 {
		t.Errorf("upstream fetches of %s: %d, want exactly 1", key, n)
	}
}

// Test 9: upstream cuts the zip body short (after 0, 1, half, all but one bytes): stoa answers
// 502 and stores nothing (no file, no temp leftover); the next request, fault cleared, succeeds.
func TestTruncatedUpstreamBody(t *testing.T) {
	t.Parallel()
	var mods []*modgen.Built
	for i := range 4 {
		mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: "example.com/cut",
			Version: fmt.Sprintf("v1.0.%d", i), Files: randomFiles(uint64(90+i), 64<<10)}))
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	for i, b := range mods {
		size := len(b.Zip)
		cut := []int{0, 1, size / 2, size - 1}[i]
		t.Run(fmt.Sprintf("cut after %d of %d bytes", cut, size), func(t *testing.T) {
			up.SetFault(b.Key("zip"), upstream.Fault{Cut: true, CutAfter: cut})
			r := get(t, s.URL+"/"+b.Key("zip"))
			if r.Status != http.StatusBadGateway {
				t.Errorf("GET truncated zip: %v, want 502", r)
			}
			if up.Hits(b.Key("zip")) == 0 {
				t.Fatal("upstream never asked for the zip")
			}
			waitNoTempLeftovers(t, s.DataDir)
			if found := storedFilesNamed(s.DataDir, b.Version+".zip"); len(found) != 0 {
				t.Errorf("a truncated zip was stored: %v", found)
			}

			up.ClearFault(b.Key("zip"))
			r = get(t, s.URL+"/"+b.Key("zip"))
			if r.Status != 200 || !bytes.Equal(r.Body, b.Zip) {
				t.Fatalf("GET after the fault cleared: %v", r)
			}
			checkStored(t, s.DataDir, b, "zip")
			waitNoTempLeftovers(t, s.DataDir)
		})
	}
}

// A .mod miss fetches only the .mod, never the zip; and the stored .mod is not fetched again.
func TestModMissFetchesNoZip(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/graph", Version: "v1.4.0",
		GoMod: "module example.com/graph\n\ngo 1.22\n\nrequire example.com/dep v1.0.0\n"})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{})
	for round := range 2 {
		r := get(t, s.URL+"/"+b.Key("mod"))
		if r.Status != 200 || !bytes.Equal(r.Body, b.Mod) {
			t.Fatalf("round %d: GET .mod = %v", round, r)
		}
	}
	if n := up.Hits(b.Key("zip")); n != 0 {
		t.Errorf("a .mod miss fetched the zip (%d hits)", n)
	}
	if n := up.Hits(b.Key("mod")); n != 1 {
		t.Errorf("upstream .mod fetches: %d, want 1", n)
	}
	checkStored(t, s.DataDir, b, "mod")
	if _, ok := dataFile(s.DataDir, b.Key("zip")); ok {
		t.Errorf("a .mod miss stored the zip")
	}
	// The stored list names only versions with a stored .info.
	if list, ok := dataFile(s.DataDir, b.ListKey()); ok && strings.Contains(string(list), b.Version) {
		t.Errorf("a .mod alone put %s in the stored list: %q", b.Version, list)
	}
}

// Upstream's .info is not a valid answer for the version asked: 502, nothing stored, and the
// go command succeeds once upstream is fixed (an invalid .info stored forever would break it
// forever).
func TestUpstreamInfoInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body string
	}{
		{"malformed JSON", `{"Version":"v1.0.%d"`},
		{"no Version", `{"Time":"2024-01-02T03:04:05Z"}`},
		{"non-canonical Version", `{"Version":"v1.0"}`},
		{"Time not RFC 3339", `{"Version":"v1.0.%d","Time":"yesterday"}`},
		{"Time of the wrong type", `{"Version":"v1.0.%d","Time":12345}`},
		{"Version of the wrong type", `{"Version":["v1.0.%d"]}`},
		{"not JSON", `v1.0.%d`},
	}
	var mods []*modgen.Built
	for i := range cases {
		mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: "example.com/badinfo", Version: fmt.Sprintf("v1.0.%d", i)}))
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	for i, tc := range cases {
		b := mods[i]
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if strings.Contains(body, "%d") {
				body = fmt.Sprintf(body, i)
			}
			up.SetFault(b.Key("info"), upstream.Fault{Body: []byte(body)})
			if r := get(t, s.URL+"/"+b.Key("info")); r.Status != http.StatusBadGateway {
				t.Errorf("GET .info, upstream serving %s: %v, want 502", body, r)
			}
			waitNoTempLeftovers(t, s.DataDir)
			if found := storedFilesNamed(s.DataDir, b.Version+".info"); len(found) != 0 {
				t.Errorf("an invalid .info was stored: %v", found)
			}
			up.ClearFault(b.Key("info"))
			ds, stderr, err := goClient(t, s.URL).ModDownload(b.Path + "@" + b.Version)
			if err != nil || len(ds) != 1 {
				t.Fatalf("go mod download once upstream is fixed: %v\n%s", err, stderr)
			}
			checkDownload(t, ds[0], b)
		})
	}
}

// Upstream's .info names another version: 502, nothing stored, the list does not gain it.
func TestUpstreamInfoWrongVersion(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/liar", Version: "v1.0.0"})
	up := newUpstream(t, b)
	up.SetFault(b.Key("info"), upstream.Fault{WrongVersion: "v1.0.1"})
	s := startStoa(t, up, stoatest.Config{})

	r := get(t, s.URL+"/"+b.Key("info"))
	if r.Status != http.StatusBadGateway {
		t.Errorf("GET .info with a wrong Version upstream: %v, want 502", r)
	}
	waitNoTempLeftovers(t, s.DataDir)
	if found := storedFilesNamed(s.DataDir, "v1.0.0.info"); len(found) != 0 {
		t.Errorf("an .info with a wrong Version was stored: %v", found)
	}
	if found := storedFilesNamed(s.DataDir, "v1.0.1.info"); len(found) != 0 {
		t.Errorf("an .info was stored under the version upstream named: %v", found)
	}
	if list, ok := dataFile(s.DataDir, b.ListKey()); ok && strings.Contains(string(list), "v1.0") {
		t.Errorf("the stored list gained a version: %q", list)
	}

	up.ClearFault(b.Key("info"))
	r = get(t, s.URL+"/"+b.Key("info"))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"v1.0.0"`) {
		t.Errorf("GET .info after the fault cleared: %v", r)
	}
}

// Upstream serves zips that break the module zip rules (x/mod zip): 502, nothing stored, and
// the zip is served once upstream serves a good one.
func TestUpstreamBadZip(t *testing.T) {
	t.Parallel()
	const p = "example.com/badzip"
	cases := []struct {
		name    string
		entries func(prefix string) []modgen.Entry
		raw     []byte
	}{
		{name: "entry escapes with ..", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "go.mod", Data: "module " + p + "\n"}, {Name: pre + "../../evil.go", Data: "package evil\n"}}
		}},
		{name: "entry outside the module prefix", entries: func(string) []modgen.Entry {
			return []modgen.Entry{{Name: "example.com/other@v1.0.0/x.go", Data: "package x\n"}}
		}},
		{name: "case-fold collision", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a.go", Data: "package a\n"}, {Name: pre + "A.go", Data: "package a\n"}}
		}},
		{name: "absolute entry name", entries: func(string) []modgen.Entry {
			return []modgen.Entry{{Name: "/etc/stoa-evil", Data: "x"}}
		}},
		{name: "another version's prefix", entries: func(string) []modgen.Entry {
			return []modgen.Entry{{Name: modgen.Prefix(p, "v9.9.9") + "x.go", Data: "package x\n"}}
		}},
		{name: "go.mod in a subdirectory", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "x.go", Data: "package x\n"}, {Name: pre + "sub/go.mod", Data: "module sub\n"}}
		}},
		{name: "GO.MOD at the root", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "GO.MOD", Data: "module " + p + "\n"}}
		}},
		{name: "unclean path", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a//b.go", Data: "package a\n"}}
		}},
		{name: "reserved file name", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "con.go", Data: "package a\n"}}
		}},
		{name: "bad character in a file name", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a:b.go", Data: "package a\n"}}
		}},
		{name: "file and directory collide", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a", Data: "x"}, {Name: pre + "a/b.go", Data: "package b\n"}}
		}},
		{name: "declared size lies", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a.go", Data: "package a\n" + strings.Repeat("// x\n", 100), DeclaredSize: 10}}
		}},
		{name: "go.mod over 16 MiB", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "go.mod", Zeros: 16<<20 + 1}}
		}},
		{name: "uncompressed total over 500 MiB", entries: func(pre string) []modgen.Entry {
			return []modgen.Entry{{Name: pre + "a.bin", Zeros: 300 << 20}, {Name: pre + "b.bin", Zeros: 201 << 20}}
		}},
		{name: "not a zip", raw: []byte("this is not a zip file\n")},
	}
	var mods []*modgen.Built
	for i := range cases {
		mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: p, Version: fmt.Sprintf("v1.0.%d", i)}))
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	for i, tc := range cases {
		b := mods[i]
		t.Run(tc.name, func(t *testing.T) {
			body := tc.raw
			if body == nil {
				body = modgen.RawZip(tc.entries(modgen.Prefix(b.Path, b.Version)))
			}
			if len(body) > 64<<10 {
				t.Logf("%d-byte zip", len(body))
			}
			up.SetFault(b.Key("zip"), upstream.Fault{Body: body})
			r := get(t, s.URL+"/"+b.Key("zip"))
			if r.Status != http.StatusBadGateway {
				t.Errorf("GET bad zip: %v, want 502", r)
			}
			if up.Hits(b.Key("zip")) == 0 {
				t.Fatal("upstream never asked for the zip")
			}
			waitNoTempLeftovers(t, s.DataDir)
			if found := storedFilesNamed(s.DataDir, b.Version+".zip"); len(found) != 0 {
				t.Errorf("a bad zip was stored: %v", found)
			}
			if found := storedFilesNamed(s.DataDir, "evil.go"); len(found) != 0 {
				t.Errorf("a zip entry was extracted: %v", found)
			}
			up.ClearFault(b.Key("zip"))
			if r := get(t, s.URL+"/"+b.Key("zip")); r.Status != 200 || !bytes.Equal(r.Body, b.Zip) {
				t.Errorf("GET after upstream serves the good zip: %v", r)
			}
		})
	}
}

// stoa killed (SIGKILL) in the middle of a fetch: after a restart on the same data directory
// no partial file is visible, the orphaned temp file is swept, and the file is fetched again.
func TestKilledMidFetch(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/crash", Version: "v1.0.0",
		Files: randomFiles(13, 256<<10)})
	up := newUpstream(t, b)
	arrived := make(chan string, 4)
	up.SetFault(b.Key("zip"), upstream.Fault{Arrived: arrived, Cut: true, CutAfter: len(b.Zip) / 2, Stall: true})
	first := startStoa(t, up, stoatest.Config{FetchTimeout: "60s"})

	done := make(chan error, 1)
	go func() {
		resp, err := httpClient.Get(first.URL + "/" + b.Key("zip"))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the zip fetch never reached upstream")
	}
	// Wait until the staged download has bytes in it, so the kill leaves a partial file.
	deadline := time.Now().Add(10 * time.Second)
	for len(tempLeftovers(first.DataDir)) == 0 && time.Now().Before(deadline) {
		sleepPoll()
	}
	t.Logf("temp files at the kill: %v", tempLeftovers(first.DataDir))
	first.Kill()
	<-done

	if found := storedFilesNamed(first.DataDir, b.Version+".zip"); len(found) != 0 {
		t.Fatalf("a partial zip is visible after the kill: %v", found)
	}
	up.ClearFault(b.Key("zip"))
	second := startStoa(t, up, stoatest.Config{DataDir: first.DataDir})
	if left := tempLeftovers(second.DataDir); len(left) != 0 {
		t.Errorf("temp files left from the killed stoa were not swept at startup: %v", left)
	}
	r := get(t, second.URL+"/"+b.Key("zip"))
	if r.Status != 200 || !bytes.Equal(r.Body, b.Zip) {
		t.Errorf("GET after the restart: %v", r)
	}
	checkStored(t, second.DataDir, b, "zip")
}
