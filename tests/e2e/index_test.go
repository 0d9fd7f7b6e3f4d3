package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

type feedLine struct {
	Path, Version string
	Timestamp     time.Time
}

func readFeed(t *testing.T, s *stoatest.Stoa, query string) []feedLine {
	t.Helper()
	r := do(t, "GET", s.URL+"/index"+query)
	if r.Status != 200 {
		t.Fatalf("GET /index%s: %d %s", query, r.Status, r.Body)
	}
	var out []feedLine
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		var l feedLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("/index line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

type catalogPage struct {
	Versions []struct {
		Path, Version, ZipHash, ModHash, Origin string
		Timestamp                               time.Time
		Size                                    int64
	}
	Next string
}

// Stored versions appear in /index (the public module index's shape, oldest first) and in the
// paged /catalog with their hashes; bad parameters are refused; `stoa index rebuild` recreates
// the index from the data directory.
func TestIndexFeedAndCatalog(t *testing.T) {
	t.Parallel()
	a := modgen.MustBuild(t, modgen.Module{Path: "example.com/idx", Version: "v1.0.0"})
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/idx", Version: "v1.1.0"})
	private := modgen.MustBuild(t, modgen.Module{Path: "corp.example/Secret/x", Version: "v1.0.0"})
	up := newUpstream(t, a, b, private)
	noSumdb := []string{"--no-sumdb", "corp.example/secret"} // matched whatever the case
	s := startStoa(t, up, stoatest.Config{Args: noSumdb})
	before := time.Now().Add(-time.Second)
	for _, k := range []string{a.Key("info"), a.Key("mod"), a.Key("zip")} {
		if r := do(t, "GET", s.URL+"/"+k); r.Status != 200 {
			t.Fatalf("GET %s: %d", k, r.Status)
		}
	}
	for _, k := range []string{b.Key("info"), private.Key("info"), private.Key("zip")} {
		if r := do(t, "GET", s.URL+"/"+k); r.Status != 200 {
			t.Fatalf("GET %s: %d", k, r.Status)
		}
	}
	// Private (no_sumdb) module names are never published.
	for _, p := range []string{"/index", "/catalog"} {
		if r := do(t, "GET", s.URL+p); strings.Contains(strings.ToLower(string(r.Body)), "corp.example") {
			t.Errorf("GET %s names a private module: %s", p, r.Body)
		}
	}

	feed := readFeed(t, s, "")
	if len(feed) != 2 || feed[0].Version != "v1.0.0" || feed[1].Version != "v1.1.0" ||
		feed[0].Path != "example.com/idx" || feed[0].Timestamp.Before(before) || feed[1].Timestamp.Before(feed[0].Timestamp) {
		t.Fatalf("/index: %+v", feed)
	}
	since := feed[1].Timestamp.Format(time.RFC3339Nano)
	if got := readFeed(t, s, "?since="+url.QueryEscape(since)); len(got) != 1 || got[0].Version != "v1.1.0" {
		t.Errorf("/index?since=%s: %+v", since, got)
	}
	if got := readFeed(t, s, "?limit=1"); len(got) != 1 || got[0].Version != "v1.0.0" {
		t.Errorf("/index?limit=1: %+v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=2001", "?limit=x", "?since=yesterday", "?since=2024-01-02", "?cursor=00", "?what=1"} {
		if r := do(t, "GET", s.URL+"/index"+q); r.Status != 400 {
			t.Errorf("GET /index%s: %d, want 400", q, r.Status)
		}
	}
	if r := do(t, "GET", s.URL+"/catalog?cursor=zz"); r.Status != 400 {
		t.Errorf("GET /catalog?cursor=zz: %d, want 400", r.Status)
	}

	var seen []string
	for q := "?limit=1"; ; {
		r := do(t, "GET", s.URL+"/catalog"+q)
		var p catalogPage
		if r.Status != 200 || json.Unmarshal(r.Body, &p) != nil || len(p.Versions) > 1 {
			t.Fatalf("GET /catalog%s: %d %s", q, r.Status, r.Body)
		}
		for _, v := range p.Versions {
			seen = append(seen, v.Version)
			if v.Version == "v1.0.0" && (v.ZipHash != a.Sum || v.ModHash != a.ModSum || v.Size != int64(len(a.Zip)) || v.Origin != up.URL()) {
				t.Errorf("catalog entry of v1.0.0: %+v; want hashes %s %s, size %d, origin %s", v, a.Sum, a.ModSum, len(a.Zip), up.URL())
			}
		}
		if p.Next == "" {
			break
		}
		q = "?limit=1&cursor=" + url.QueryEscape(p.Next)
	}
	if strings.Join(seen, " ") != "v1.0.0 v1.1.0" {
		t.Errorf("catalog pages: %v", seen)
	}

	// Rebuild from the data directory alone.
	s.Stop()
	if err := os.Remove(filepath.Join(s.DataDir, ".stoa-state", "index.sqlite")); err != nil {
		t.Fatal(err)
	}
	res := stoatest.Run(t, time.Minute, nil, append([]string{"index", "rebuild", "--data-dir", s.DataDir}, noSumdb...)...)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "indexed 2 versions; left out 1 versions of private") {
		t.Fatalf("stoa index rebuild: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	s2 := startStoa(t, up, stoatest.Config{DataDir: s.DataDir, Args: noSumdb})
	if got := readFeed(t, s2, ""); len(got) != 2 {
		t.Errorf("/index after rebuild: %+v", got)
	}
}

// index = none: the endpoints are not there.
func TestIndexNone(t *testing.T) {
	t.Parallel()
	s := startStoa(t, newUpstream(t), stoatest.Config{Args: []string{"--index", "none"}})
	for _, p := range []string{"/index", "/catalog"} {
		if r := do(t, "GET", s.URL+p); r.Status != 404 {
			t.Errorf("GET %s with index = none: %d, want 404", p, r.Status)
		}
	}
}

// /index and /catalog list to each client only what it could read itself: the versions of a
// private rule (with readers and its own upstream) reach its readers only, in every case
// spelling, with the rule's upstream as Origin; public versions reach everyone with the global
// upstream as Origin; and pages stay full although hidden versions come first.
func TestIndexListsOnlyWhatTheClientMayRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lower := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/lib", Version: "v1.0.0"})
	upper := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/Lib", Version: "v1.0.0"})
	privUp := upstream.New() // the rule's own upstream: the only place allowed to see the prefix
	t.Cleanup(privUp.Close)
	privUp.Add(lower, upper)
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/listed", Version: "v1.0.0"})
	up := newUpstream(t, pub)

	users := writeFile(t, filepath.Join(dir, "users"),
		usersLine(t, "alice", "alice-pw")+"\n"+usersLine(t, "bob", "bob-pw")+"\n")
	rules := writeFile(t, filepath.Join(dir, "rules.toml"), `
[[rule]]
name = "corp"
modules = "`+privatePrefix+`/lib"
action = "private"
readers = ["alice"]
upstream = "`+privUp.URL()+`"
`)
	// Public listings (with users the default is authenticated): anonymous clients must see
	// the public versions and nothing private.
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules, "--users-file", users,
		"--operational-endpoints", "public"}})
	auth := func(user, pass string) string {
		return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	alice, bob := auth("alice", "alice-pw"), auth("bob", "bob-pw")
	as := func(who string) []string {
		if who == "" {
			return nil
		}
		return []string{who}
	}
	// The private versions are stored first, so an anonymous first page must read past them.
	for _, m := range []*modgen.Built{lower, upper} {
		for _, kind := range []string{"info", "mod", "zip"} {
			if r := do(t, "GET", s.URL+"/"+m.Key(kind), alice); r.Status != 200 {
				t.Fatalf("GET %s as alice: %v", m.Key(kind), r)
			}
		}
		if r := do(t, "GET", s.URL+"/"+m.Key("info")); r.Status != 401 {
			t.Fatalf("GET %s anonymously: %v, want 401", m.Key("info"), r)
		}
	}
	for _, kind := range []string{"info", "mod", "zip"} {
		if r := do(t, "GET", s.URL+"/"+pub.Key(kind)); r.Status != 200 {
			t.Fatalf("GET %s: %v", pub.Key(kind), r)
		}
	}

	type listed struct{ path, origin string }
	catalog := func(who string, limit int) (out []listed) {
		t.Helper()
		for q := fmt.Sprintf("?limit=%d", limit); ; {
			r := do(t, "GET", s.URL+"/catalog"+q, as(who)...)
			if strings.Contains(strings.ToLower(string(r.Body)), privatePrefix) && who != alice {
				t.Errorf("GET /catalog%s as %q names the private module: %s", q, who, r.Body)
			}
			var p catalogPage
			if r.Status != 200 || json.Unmarshal(r.Body, &p) != nil {
				t.Fatalf("GET /catalog%s: %v", q, r)
			}
			for _, v := range p.Versions {
				out = append(out, listed{v.Path, v.Origin})
			}
			if p.Next == "" {
				return out
			}
			q = fmt.Sprintf("?limit=%d&cursor=%s", limit, url.QueryEscape(p.Next))
		}
	}
	public := []listed{{pub.Path, up.URL()}}
	for _, who := range []string{"", bob, auth("alice", "wrong")} {
		for _, limit := range []int{1, 100} {
			if got := catalog(who, limit); !slices.Equal(got, public) {
				t.Errorf("/catalog?limit=%d as %q: %v, want %v", limit, who, got, public)
			}
		}
		for _, q := range []string{"", "?limit=1"} {
			r := do(t, "GET", s.URL+"/index"+q, as(who)...)
			if r.Status != 200 || strings.Contains(strings.ToLower(string(r.Body)), privatePrefix) ||
				!strings.Contains(string(r.Body), `"Path":"example.com/listed"`) {
				t.Errorf("GET /index%s as %q: %v", q, who, r)
			}
		}
	}
	want := []listed{{upper.Path, privUp.URL()}, {lower.Path, privUp.URL()}, {pub.Path, up.URL()}}
	for _, limit := range []int{1, 100} {
		if got := catalog(alice, limit); !slices.Equal(got, want) {
			t.Errorf("/catalog?limit=%d as alice: %v, want %v", limit, got, want)
		}
	}
	if r := do(t, "GET", s.URL+"/index", alice); !strings.Contains(string(r.Body), `"Path":"`+upper.Path+`"`) {
		t.Errorf("GET /index as alice: %v", r)
	}

	// `stoa index rebuild` keeps the Origin it cannot know from the files.
	res := stoatest.Run(t, time.Minute, nil, "index", "rebuild", "--data-dir", s.DataDir)
	if res.ExitCode != 0 {
		t.Fatalf("stoa index rebuild: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if got := catalog(alice, 100); !slices.Equal(got, want) {
		t.Errorf("/catalog as alice after rebuild: %v, want %v", got, want)
	}
}
