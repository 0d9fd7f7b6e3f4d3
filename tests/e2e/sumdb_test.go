package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// sumdbName is the name of every test's local checksum database (each with its own key).
const sumdbName = "sum.stoa.test"

// checksumChecks is the value of stoa_checksum_checks_total{result="<result>"} at stoa's
// /metrics (0 when the series is absent).
func checksumChecks(t *testing.T, s *stoatest.Stoa, result string) float64 {
	t.Helper()
	r := get(t, s.URL+"/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /metrics: %v", r)
	}
	label := `result="` + result + `"`
	for _, line := range strings.Split(string(r.Body), "\n") {
		if !strings.HasPrefix(line, "stoa_checksum_checks_total{") {
			continue
		}
		labels, value, ok := strings.Cut(line[len("stoa_checksum_checks_total{"):], "}")
		if !ok || !strings.Contains(labels, label) {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 0 {
			t.Fatalf("/metrics: malformed line %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("/metrics: malformed line %q: %v", line, err)
		}
		return v
	}
	return 0
}

// checkChecks checks the stoa_checksum_checks_total counters named in want.
func checkChecks(t *testing.T, s *stoatest.Stoa, want map[string]float64) {
	t.Helper()
	for result, n := range want {
		if got := checksumChecks(t, s, result); got != n {
			t.Errorf(`stoa_checksum_checks_total{result=%q} = %v, want %v`, result, got, n)
		}
	}
}

// checkNothingStored checks that no file of the given extensions of b is in the data dir
// (under its key or anywhere else) and that no staged download is left behind.
func checkNothingStored(t *testing.T, data string, b *modgen.Built, exts ...string) {
	t.Helper()
	for _, ext := range exts {
		if _, ok := dataFile(data, b.Key(ext)); ok {
			t.Errorf("%s was stored", b.Key(ext))
		}
	}
	waitNoTempLeftovers(t, data)
}

// checkHashesKept checks the .ziphash and .modhash stoa keeps beside a verified version.
func checkHashesKept(t *testing.T, data string, b *modgen.Built) {
	t.Helper()
	for ext, want := range map[string]string{"ziphash": b.Sum + "\n", "modhash": b.ModSum + "\n"} {
		got, ok := dataFile(data, b.Key(ext))
		if !ok {
			t.Errorf("data dir has no %s", b.Key(ext))
		} else if string(got) != want {
			t.Errorf("%s = %q, want %q", b.Key(ext), got, want)
		}
	}
}

// headFile is where stoa persists the latest verified tree head of the database.
func headFile(data string) string {
	return filepath.Join(data, ".stoa-state", "sumdb", sumdbName+".latest")
}

// lookupPath is the database path of the lookup of b.
func lookupPath(b *modgen.Built) string { return "/lookup/" + b.EscPath + "@" + b.EscVersion }

// isRefusal is true for the statuses a checksum database failure may give.
func isRefusal(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusBadGateway
}

// Test 1: verified modules are stored with their h1: hashes beside them, whether the database
// is reached at its own URL or through the upstream proxy's /sumdb/<name>/.
func TestSumdbGoodModuleStored(t *testing.T) {
	t.Parallel()
	for _, route := range []string{"own-url", "through-upstream"} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			mods := []*modgen.Built{
				modgen.MustBuild(t, modgen.Module{Path: "example.com/Good", Version: "v1.0.0",
					Files: map[string]string{"good.go": "package good\n", "sub/x.go": "package sub\n"}}),
				modgen.MustBuild(t, modgen.Module{Path: "example.com/good/v2", Version: "v2.1.0-RC1",
					GoMod: "module example.com/good/v2\n\ngo 1.21\n"}),
			}
			db := sumdbtest.New(t, sumdbName)
			db.Add(modgen.MustBuild(t, modgen.Module{Path: "example.com/first", Version: "v0.1.0"}))
			db.Add(mods...)
			up := newUpstream(t, mods...)
			c := stoatest.Config{Sumdb: db.GOSUMDB()}
			if route == "through-upstream" {
				c.Upstream = sumdbtest.Mount(t, db, up.URL())
				c.Sumdb = db.VerifierKey()
			}
			s := startStoa(t, up, c)

			for _, m := range mods {
				for _, ext := range []string{"info", "mod", "zip"} {
					r := get(t, s.URL+"/"+m.Key(ext))
					if r.Status != http.StatusOK {
						t.Fatalf("GET %s: %v", m.Key(ext), r)
					}
					if want := map[string][]byte{"mod": m.Mod, "zip": m.Zip}[ext]; want != nil && !bytes.Equal(r.Body, want) {
						t.Errorf("GET %s: body differs from upstream's", m.Key(ext))
					}
				}
				checkStored(t, s.DataDir, m, "mod", "zip")
				checkHashesKept(t, s.DataDir, m)
				if db.CountContaining(lookupPath(m)) == 0 {
					t.Errorf("the database was never asked about %s@%s (%s)", m.Path, m.Version, lookupPath(m))
				}
			}
			if got := checksumChecks(t, s, "match"); got < 2*float64(len(mods)) {
				t.Errorf(`stoa_checksum_checks_total{result="match"} = %v, want at least %d (a .mod and a .zip per module)`,
					got, 2*len(mods))
			}
			checkChecks(t, s, map[string]float64{"mismatch": 0, "not_found": 0, "error": 0})
			if head, err := os.ReadFile(headFile(s.DataDir)); err != nil || !bytes.Equal(head, db.Log().Head()) {
				t.Errorf("persisted tree head %s = %q (%v), want the database's head %q",
					headFile(s.DataDir), head, err, db.Log().Head())
			}

			// Served from the store afterwards: no new upstream fetch, no new lookup.
			lookups, upHits := db.Lookups(), up.TotalHits()
			for _, m := range mods {
				for _, ext := range []string{"mod", "zip"} {
					if r := get(t, s.URL+"/"+m.Key(ext)); r.Status != http.StatusOK {
						t.Errorf("second GET %s: %v", m.Key(ext), r)
					}
				}
			}
			if db.Lookups() != lookups || up.TotalHits() != upHits {
				t.Errorf("stored versions fetched again: %d new lookups, %d new upstream requests",
					db.Lookups()-lookups, up.TotalHits()-upHits)
			}
		})
	}
}

// Test 2: the database lists another hash than the bytes upstream serves, for a zip and for a
// go.mod: refused with 502, a SECURITY log line and the mismatch counter, nothing stored.
func TestChecksumMismatchRefused(t *testing.T) {
	t.Parallel()
	zipBad := modgen.MustBuild(t, modgen.Module{Path: "example.com/tampered/zip", Version: "v1.0.0",
		Files: map[string]string{"a.go": "package zip\n"}})
	zipOther := modgen.MustBuild(t, modgen.Module{Path: zipBad.Path, Version: zipBad.Version,
		Files: map[string]string{"a.go": "package zip // what the world saw\n"}})
	modBad := modgen.MustBuild(t, modgen.Module{Path: "example.com/tampered/mod", Version: "v1.0.0",
		GoMod: "module example.com/tampered/mod\n\ngo 1.21\n"})
	modOther := modgen.MustBuild(t, modgen.Module{Path: modBad.Path, Version: modBad.Version,
		GoMod: "module example.com/tampered/mod\n\ngo 1.22\n"})
	if zipBad.Sum == zipOther.Sum || zipBad.ModSum != zipOther.ModSum || modBad.ModSum == modOther.ModSum {
		t.Fatalf("test setup: the hashes do not differ as intended")
	}
	db := sumdbtest.New(t, sumdbName)
	db.AddSums(t, zipBad.Path, zipBad.Version, zipOther.Sum, zipBad.ModSum)
	db.AddSums(t, modBad.Path, modBad.Version, modBad.Sum, modOther.ModSum)
	up := newUpstream(t, zipBad, modBad)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})

	r := get(t, s.URL+"/"+zipBad.Key("zip"))
	if r.Status != http.StatusBadGateway {
		t.Errorf("GET tampered zip: %v, want 502", r)
	}
	if !strings.Contains(strings.ToLower(string(r.Body)), "checksum") {
		t.Errorf("GET tampered zip: body %q does not say why (checksum mismatch)", r.Body)
	}
	checkNotCachedLong(t, "tampered zip", r.Header)
	checkNothingStored(t, s.DataDir, zipBad, "zip", "ziphash")
	var securityLine string
	for _, line := range strings.Split(s.WaitLog("SECURITY: checksum mismatch", 1, 10*time.Second), "\n") {
		if strings.Contains(line, "SECURITY: checksum mismatch") {
			securityLine = line
			break
		}
	}
	if securityLine == "" {
		t.Errorf("no \"SECURITY: checksum mismatch\" line in stoa's log")
	} else if !strings.Contains(securityLine, zipBad.Path) {
		t.Errorf("the SECURITY line does not name the module: %q", securityLine)
	}
	checkChecks(t, s, map[string]float64{"mismatch": 1})

	// Its go.mod is what the database lists: served and stored.
	if r := get(t, s.URL+"/"+zipBad.Key("mod")); r.Status != http.StatusOK || !bytes.Equal(r.Body, zipBad.Mod) {
		t.Errorf("GET the untampered .mod: %v", r)
	}
	checkStored(t, s.DataDir, zipBad, "mod")

	// A go.mod the database disagrees with.
	if r := get(t, s.URL+"/"+modBad.Key("mod")); r.Status != http.StatusBadGateway {
		t.Errorf("GET tampered .mod: %v, want 502", r)
	}
	checkNothingStored(t, s.DataDir, modBad, "mod", "modhash")
	if n := strings.Count(s.WaitLog("SECURITY: checksum mismatch", 2, 10*time.Second), "SECURITY: checksum mismatch"); n < 2 {
		t.Errorf("%d \"SECURITY: checksum mismatch\" lines after two mismatches", n)
	}
	checkChecks(t, s, map[string]float64{"mismatch": 2})

	// A refusal is not remembered as a success: asking again is refused again.
	if r := get(t, s.URL+"/"+zipBad.Key("zip")); r.Status != http.StatusBadGateway {
		t.Errorf("second GET tampered zip: %v, want 502", r)
	}
	checkNothingStored(t, s.DataDir, zipBad, "zip", "ziphash")
	if got := storedFilesNamed(s.DataDir, zipBad.EscVersion+".zip"); len(got) != 0 {
		t.Errorf("zip files stored: %v", got)
	}
}

// Test 3: a module the database does not know is refused (502) and not stored; matching
// --no-sumdb, the same module is stored without asking the database.
func TestSumdbModuleNotInDatabase(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/unlisted", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(modgen.MustBuild(t, modgen.Module{Path: "example.com/listed", Version: "v1.0.0"}))
	up := newUpstream(t, m)

	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	for _, ext := range []string{"mod", "zip"} {
		if r := get(t, s.URL+"/"+m.Key(ext)); r.Status != http.StatusBadGateway {
			t.Errorf("GET %s (not in the database): %v, want 502", m.Key(ext), r)
		}
	}
	checkNothingStored(t, s.DataDir, m, "mod", "zip", "modhash", "ziphash")
	if db.CountContaining(lookupPath(m)) == 0 {
		t.Errorf("the database was never asked about %s", m.Path)
	}

	private := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB(),
		Args: []string{"--no-sumdb", "*.corp.example,example.com/unl*"}})
	before := db.RequestCount()
	for _, ext := range []string{"info", "mod", "zip"} {
		if r := get(t, private.URL+"/"+m.Key(ext)); r.Status != http.StatusOK {
			t.Errorf("GET %s (matches --no-sumdb): %v, want 200", m.Key(ext), r)
		}
	}
	checkStored(t, private.DataDir, m, "info", "mod", "zip")
	if n := db.RequestCount() - before; n != 0 {
		t.Errorf("the database got %d requests for a --no-sumdb module: %v", n, db.Requests()[before:])
	}
	checkChecks(t, private, map[string]float64{"match": 0, "mismatch": 0, "not_found": 0})
}

// The database unreachable: 503 with Retry-After, nothing stored.
func TestSumdbUnreachable(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/unverifiable", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(m)
	db.Close()
	up := newUpstream(t, m)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	for _, ext := range []string{"mod", "zip"} {
		r := get(t, s.URL+"/"+m.Key(ext))
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("GET %s with the database down: %v, want 503", m.Key(ext), r)
		} else if r.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s: 503 without Retry-After", m.Key(ext))
		}
	}
	checkNothingStored(t, s.DataDir, m, "mod", "zip", "modhash", "ziphash")
}

// Test 4: a go command whose only route is stoa (GOPROXY=stoa, GOSUMDB=<key> without URL)
// verifies its go.sum through stoa's /sumdb/; a zip tampered upstream never reaches it.
func TestSumdbGoClientThroughStoa(t *testing.T) {
	t.Parallel()
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/Verified", Version: "v1.2.3",
		GoMod: "module example.com/Verified\n\ngo 1.21\n", Files: map[string]string{"v.go": "package verified\n"}})
	evil := modgen.MustBuild(t, modgen.Module{Path: "example.com/evil", Version: "v1.0.0",
		Files: map[string]string{"e.go": "package evil\n"}})
	tampered := modgen.MustBuild(t, modgen.Module{Path: evil.Path, Version: evil.Version,
		Files: map[string]string{"e.go": "package evil\n\nfunc init() { println(\"backdoor\") }\n"}})
	db := sumdbtest.New(t, sumdbName)
	db.Add(good, evil)
	up := newUpstream(t, good, evil)
	up.SetFile(evil.Key("zip"), tampered.Zip)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	// Only the key: the go command asks GOPROXY's /sumdb/<name>/supported and then fetches
	// lookups and tiles there (its direct route, https://sum.stoa.test, does not exist).
	viaStoa := func() *gocmd.Go {
		return goClient(t, s.URL).With("GOSUMDB="+db.VerifierKey(), "GONOSUMDB=", "GONOSUMCHECK=",
			"GOPRIVATE=", "GOINSECURE=")
	}

	g := viaStoa()
	dir := g.InitModule("example.com/app")
	g.MustRun(dir, "get", good.Path+"@"+good.Version)
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(sum)), "\n")
	sort.Strings(got)
	want := []string{good.Path + " " + good.Version + " " + good.Sum, good.Path + " " + good.Version + "/go.mod " + good.ModSum}
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("go.sum written through stoa:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if db.CountContaining("/sumdb/"+sumdbName+"/") != 0 {
		t.Errorf("stoa forwarded /sumdb/ paths to the database as is: %v", db.Requests())
	}
	if db.CountContaining(lookupPath(good)) == 0 {
		t.Errorf("the database never saw a lookup of %s: %v", good.Path, db.Requests())
	}

	// go mod download with a fresh module cache verifies through stoa too.
	ds, msg, err := viaStoa().ModDownload(good.Path + "@" + good.Version)
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download %s: %v\n%s", good.Path, err, msg)
	}
	if ds[0].Sum != good.Sum || ds[0].GoModSum != good.ModSum {
		t.Errorf("go mod download: Sum %s GoModSum %s, want %s %s", ds[0].Sum, ds[0].GoModSum, good.Sum, good.ModSum)
	}

	// The tampered zip: stoa refuses it, so the go command fails without ever seeing it.
	g2 := viaStoa()
	_, msg, err = g2.ModDownload(evil.Path + "@" + evil.Version)
	if err == nil {
		t.Fatalf("go mod download of a zip tampered upstream succeeded")
	}
	if !strings.Contains(msg, "502") {
		t.Errorf("the go command's error does not show stoa's 502:\n%s", msg)
	}
	if strings.Contains(msg, "SECURITY ERROR") {
		t.Errorf("the go command itself saw the tampered zip (stoa should have refused it first):\n%s", msg)
	}
	zipInCache := filepath.Join(g2.ModCache, "cache", "download", evil.EscPath, "@v", evil.EscVersion+".zip")
	if _, err := os.Stat(zipInCache); err == nil {
		t.Errorf("the tampered zip reached the go command's module cache: %s", zipInCache)
	}
	if !strings.Contains(s.WaitLog("SECURITY: checksum mismatch", 1, 10*time.Second), "SECURITY: checksum mismatch") {
		t.Errorf("no \"SECURITY: checksum mismatch\" in stoa's log")
	}
	checkNothingStored(t, s.DataDir, evil, "zip", "ziphash")
}

// Test 5: after stoa verified against one history of the database, a fork (same key, other
// records, larger tree) is detected: nothing more is stored, and the persisted tree head keeps
// the fork refused across a restart.
func TestSumdbForkDetected(t *testing.T) {
	t.Parallel()
	a := modgen.MustBuild(t, modgen.Module{Path: "example.com/fork/a", Version: "v1.0.0"})
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/fork/b", Version: "v1.0.0"})
	filler := modgen.MustBuild(t, modgen.Module{Path: "example.com/fork/filler", Version: "v1.0.0"})
	other := modgen.MustBuild(t, modgen.Module{Path: "example.com/fork/other", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(a, filler)
	up := newUpstream(t, a, b)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})

	if r := get(t, s.URL+"/"+a.Key("zip")); r.Status != http.StatusOK {
		t.Fatalf("GET %s: %v", a.Key("zip"), r)
	}
	headA := db.Log().Head()
	if head, err := os.ReadFile(headFile(s.DataDir)); err != nil || !bytes.Equal(head, headA) {
		t.Fatalf("persisted tree head = %q (%v), want %q", head, err, headA)
	}

	// The fork shares record 0 (a), then differs; it signs a larger tree with the same key.
	fork := db.Fork(1)
	fork.Add(other, b)
	db.Switch(fork)
	misbehaved := "checksum database " + sumdbName + " misbehaved"
	for _, ext := range []string{"zip", "mod"} {
		r := get(t, s.URL+"/"+b.Key(ext))
		if !isRefusal(r.Status) {
			t.Errorf("GET %s from a forked database: %v, want 503 (or 502)", b.Key(ext), r)
		}
	}
	checkNothingStored(t, s.DataDir, b, "zip", "mod", "ziphash", "modhash")
	if !strings.Contains(s.WaitLog(misbehaved, 1, 10*time.Second), misbehaved) {
		t.Errorf("stoa's log does not say %q", misbehaved)
	}
	if head, _ := os.ReadFile(headFile(s.DataDir)); !bytes.Equal(head, headA) {
		t.Errorf("the persisted tree head changed after the fork:\n%s\nwant:\n%s", head, headA)
	}
	// What was verified before stays served.
	if r := get(t, s.URL+"/"+a.Key("zip")); r.Status != http.StatusOK || !bytes.Equal(r.Body, a.Zip) {
		t.Errorf("GET the stored %s after the fork: %v", a.Key("zip"), r)
	}

	// Restarted on the same data dir, still against the fork: still refused.
	s.Stop()
	s2 := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB(), DataDir: s.DataDir})
	if r := get(t, s2.URL+"/"+b.Key("zip")); !isRefusal(r.Status) {
		t.Errorf("after a restart, GET %s from the forked database: %v, want 503 (or 502)", b.Key("zip"), r)
	}
	checkNothingStored(t, s2.DataDir, b, "zip", "mod", "ziphash", "modhash")
	if !strings.Contains(s2.WaitLog(misbehaved, 1, 10*time.Second), misbehaved) {
		t.Errorf("after a restart, stoa's log does not say %q", misbehaved)
	}
	if head, _ := os.ReadFile(headFile(s2.DataDir)); !bytes.Equal(head, headA) {
		t.Errorf("the persisted tree head changed after the restart:\n%s\nwant:\n%s", head, headA)
	}
}

// Test 6: /sumdb/<name>/: supported answered locally for the configured name only; lookups,
// tiles and latest passed through byte for byte; lookups of --no-sumdb paths refused (403)
// whatever the case of their letters, without a request reaching the database.
func TestSumdbEndpoint(t *testing.T) {
	t.Parallel()
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/Public", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(pub, modgen.MustBuild(t, modgen.Module{Path: "example.com/second", Version: "v1.0.0"}))
	up := newUpstream(t, pub)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB(), Args: []string{"--no-sumdb", "corp.example/private"}})
	base := s.URL + "/sumdb/" + sumdbName

	r := get(t, base+"/supported")
	if r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Errorf("GET /sumdb/%s/supported: %v, want 200 with an empty body", sumdbName, r)
	}
	if n := db.CountContaining("supported"); n != 0 {
		t.Errorf("/supported was forwarded to the database (%d requests)", n)
	}
	for _, p := range []string{
		"/sumdb/other.example/supported",
		"/sumdb/sum.example.org/supported",
		"/sumdb/other.example/lookup/" + pub.EscPath + "@" + pub.EscVersion,
		"/sumdb/other.example/latest",
	} {
		if r := get(t, s.URL+p); r.Status != http.StatusNotFound {
			t.Errorf("GET %s (another database): %v, want 404", p, r)
		}
	}

	// Passed through unchanged.
	for _, p := range []string{lookupPath(pub), "/tile/8/0/000.p/2", "/tile/8/data/000.p/2", "/latest"} {
		direct := get(t, db.URL()+p)
		if direct.Status != http.StatusOK {
			t.Fatalf("the database answers GET %s with %v", p, direct)
		}
		if r := get(t, base+p); r.Status != http.StatusOK || !bytes.Equal(r.Body, direct.Body) {
			t.Errorf("GET /sumdb/%s%s: %v, want 200 and the database's bytes %q", sumdbName, p, r, direct.Body)
		}
	}

	// Tiles of another height are a client mistake: 4xx, never a store error (which operators
	// alert on), and never asked of the database.
	db.ResetRequests()
	for _, p := range []string{"/tile/4/0/000", "/tile/1/data/000", "/tile/30/0/000.p/1", "/tile/9/1/x001/000"} {
		if r := get(t, base+p); r.Status/100 != 4 {
			t.Errorf("GET /sumdb/%s%s: %v, want a 4xx", sumdbName, p, r)
		}
	}
	if n := db.CountContaining("/tile/"); n != 0 {
		t.Errorf("tiles of another height reached the database: %v", db.Requests())
	}
	if n := strings.Count(s.Log(), "store error"); n != 0 {
		t.Errorf("a client's tile path was logged as a store error (%d lines)", n)
	}

	db.ResetRequests()
	for _, p := range []string{
		"/lookup/corp.example/private@v1.0.0",
		"/lookup/corp.example/private/x@v1.0.0",
		"/lookup/corp.example/!private/x@v1.0.0",
		"/lookup/corp.example/!p!r!i!v!a!t!e/deep/pkg@v1.2.3-!r!c1",
	} {
		if r := get(t, base+p); r.Status != http.StatusForbidden {
			t.Errorf("GET /sumdb/%s%s (--no-sumdb corp.example/private): %v, want 403", sumdbName, p, r)
		}
	}
	// As the go command sends it: '!' percent-encoded.
	raw := "/sumdb/" + sumdbName + "/lookup/corp.example/%21private/x@v1.0.0"
	if r, err := rawDo(s.Addr, http.MethodGet, raw); err != nil || r.Status != http.StatusForbidden {
		t.Errorf("GET %s: %v %v, want 403", raw, r, err)
	}
	if n := db.CountContaining("corp.example"); n != 0 {
		t.Errorf("private paths reached the database: %v", db.Requests())
	}
}
