package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// TestSumdbKeptAnswersVerifyWithTheDatabaseGone (#13 item 14): the lookups stoa verified (for
// its downloads, and those asked through /sumdb/ once it trusts a tree head), the tiles that
// proved them and the latest verified tree head are kept in the store and answered from there.
// A go command with a fresh module cache, whose only route to the checksum database is stoa's
// /sumdb/, verifies modules another client fetched through stoa after the database has gone
// away and stoa has restarted (nothing left in its memory). A forged lookup is never kept.
func TestSumdbKeptAnswersVerifyWithTheDatabaseGone(t *testing.T) {
	t.Parallel()
	early := modgen.MustBuild(t, modgen.Module{Path: "example.com/kept/early", Version: "v1.0.0",
		Files: map[string]string{"e.go": "package early\n"}})
	late := modgen.MustBuild(t, modgen.Module{Path: "example.com/kept/Late", Version: "v1.1.0",
		Files: map[string]string{"l.go": "package late\n"}})
	db := sumdbtest.New(t, sumdbName)
	db.Add(early) // record 0: in the full tile 0/000
	fill(t, db.Log(), 300, "")
	db.Add(late) // record 301: in the partial tile 0/001.p/46 of the 302-record tree
	up := newUpstream(t, early, late)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	viaStoa := func(url string) *gocmd.Go {
		return goClient(t, url).With("GOSUMDB="+db.VerifierKey(), "GONOSUMDB=", "GONOSUMCHECK=",
			"GOPRIVATE=", "GOINSECURE=")
	}
	mods := []*modgen.Built{early, late}
	download := func(who string, g *gocmd.Go) {
		t.Helper()
		ds, msg, err := g.ModDownload(early.Path+"@"+early.Version, late.Path+"@"+late.Version)
		if err != nil || len(ds) != len(mods) {
			t.Fatalf("%s: go mod download: %v\n%s", who, err, msg)
		}
		for i, b := range mods {
			if ds[i].Error != "" || ds[i].Sum != b.Sum || ds[i].GoModSum != b.ModSum {
				t.Errorf("%s: go mod download %s: %+v, want Sum %s GoModSum %s", who, b.Path, ds[i], b.Sum, b.ModSum)
			}
		}
	}

	download("client A", viaStoa(s.URL))
	if db.Lookups() == 0 {
		t.Fatalf("the database saw no lookup: %v", db.Requests())
	}

	// A lookup asked through /sumdb/ only (the log has grown since): verified by stoa, and kept.
	third := modgen.MustBuild(t, modgen.Module{Path: "example.com/kept/third", Version: "v0.1.0"})
	db.Add(third)
	base := s.URL + "/sumdb/" + sumdbName
	want := get(t, db.URL()+lookupPath(third))
	if r := get(t, base+lookupPath(third)); r.Status != http.StatusOK || !bytes.Equal(r.Body, want.Body) {
		t.Fatalf("GET /sumdb/%s%s: %v, want the database's answer %q", sumdbName, lookupPath(third), r, want.Body)
	}
	head := db.Log().Head()

	// A forged lookup: a fork of the log (same key) that stoa's verified head proves false.
	honest := db.Log()
	fork := db.Fork(302)
	forgedPath := "example.com/kept/forged"
	if _, err := fork.AddSums(forgedPath, "v1.0.0", fakeH1("zip"), fakeH1("mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := fork.AddSums(forgedPath+"/more", "v1.0.0", fakeH1("zip2"), fakeH1("mod2")); err != nil {
		t.Fatal(err)
	}
	db.Switch(fork)
	forgedLookup := "/lookup/" + forgedPath + "@v1.0.0"
	if r := get(t, base+forgedLookup); !isRefusal(r.Status) {
		t.Errorf("GET /sumdb/%s%s from a forked database: %v, want 503 (or 502)", sumdbName, forgedLookup, r)
	}
	misbehaved := "checksum database " + sumdbName + " misbehaved"
	if !strings.Contains(s.WaitLog(misbehaved, 1, 10*time.Second), misbehaved) {
		t.Errorf("stoa's log does not say %q", misbehaved)
	}
	db.Switch(honest)

	db.Close()
	s.Stop()
	s2 := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB(), DataDir: s.DataDir})
	download("client B, the database gone", viaStoa(s2.URL))

	base = s2.URL + "/sumdb/" + sumdbName
	r := get(t, base+"/latest")
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, head) {
		t.Errorf("GET /sumdb/%s/latest with the database gone: %v, want the verified head %q", sumdbName, r, head)
	}
	// Kept answers are immutable; what was never verified is not invented.
	for _, b := range append(mods, third) {
		key := "sumdb/" + sumdbName + lookupPath(b)
		if _, ok := dataFile(s2.DataDir, key); !ok {
			t.Errorf("the verified lookup of %s is not kept at %s", b.Path, key)
		}
		r := get(t, base+lookupPath(b))
		if r.Status != http.StatusOK {
			t.Errorf("GET /sumdb/%s%s with the database gone: %v", sumdbName, lookupPath(b), r)
		}
		checkImmutable(t, "kept "+lookupPath(b), r.Header)
	}
	for _, p := range []string{"/lookup/example.com/filler7@v1.0.0", forgedLookup} {
		if _, ok := dataFile(s2.DataDir, "sumdb/"+sumdbName+p); ok {
			t.Errorf("a lookup stoa never verified is kept: %s", p)
		}
		if r := get(t, base+p); !isRefusal(r.Status) {
			t.Errorf("GET /sumdb/%s%s (never verified) with the database gone: %v, want 503 (or 502)", sumdbName, p, r)
		}
	}
}
