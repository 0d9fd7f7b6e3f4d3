package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// fakeH1 is a well-formed h1: hash derived from s.
func fakeH1(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "h1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// fill appends n records of made-up modules to l.
func fill(t *testing.T, l *sumdbtest.Log, n int, salt string) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("example.com/filler%d", i)
		if _, err := l.AddSums(p, "v1.0.0", fakeH1("zip"+p+salt), fakeH1("mod"+p+salt)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSumdbEndpointNeverVouchesForWhatItDidNotAuthenticate: /sumdb/ passes the database's
// lookups and tiles through without authenticating them (the go command that asks authenticates
// them itself). A forged full tile or lookup (here: a fork of the log, signed with the database's
// key) is therefore answered as the database gave it, but only with a short Cache-Control and
// never stored; a full tile is answered as immutable only from the store, where only tiles the
// verifying client authenticated against a signed tree head are kept.
func TestSumdbEndpointNeverVouchesForWhatItDidNotAuthenticate(t *testing.T) {
	t.Parallel()
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/Vouched", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(pub) // record 0: in the full tile 0/000
	honest := db.Log()
	fill(t, honest, 300, "")
	forged := db.Fork(0)
	fill(t, forged, 301, "forged")
	up := newUpstream(t, pub)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	base := s.URL + "/sumdb/" + sumdbName
	const tile = "/tile/8/0/000"
	storeKey := "sumdb/" + sumdbName + tile
	forgedLookup := "/lookup/example.com/filler7@v1.0.0"

	db.Switch(forged)
	for _, p := range []string{tile, forgedLookup} {
		want := get(t, db.URL()+p)
		r := get(t, base+p)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, want.Body) {
			t.Fatalf("GET /sumdb/%s%s: %v, want the database's answer", sumdbName, p, r)
		}
		checkShortCache(t, "unauthenticated "+p, r.Header)
	}
	if _, ok := dataFile(s.DataDir, storeKey); ok {
		t.Errorf("an unauthenticated tile was stored at %s", storeKey)
	}
	if _, ok := dataFile(s.DataDir, "sumdb/"+sumdbName+forgedLookup); ok {
		t.Errorf("an unauthenticated lookup was stored at sumdb/%s%s", sumdbName, forgedLookup)
	}

	// The honest log again: verifying a download authenticates (and stores) tile 0/000.
	db.Switch(honest)
	for _, ext := range []string{"mod", "zip"} {
		if r := get(t, s.URL+"/"+pub.Key(ext)); r.Status != http.StatusOK {
			t.Fatalf("GET %s: %v", pub.Key(ext), r)
		}
	}
	want := get(t, db.URL()+tile).Body
	if got, ok := dataFile(s.DataDir, storeKey); !ok || !bytes.Equal(got, want) {
		t.Fatalf("stored %s: present %v, equal to the honest tile %v", storeKey, ok, bytes.Equal(got, want))
	}
	r := get(t, base+tile)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
		t.Fatalf("GET /sumdb/%s%s after verification: %v, want the authenticated tile", sumdbName, tile, r)
	}
	checkImmutable(t, "authenticated "+tile, r.Header)
}
