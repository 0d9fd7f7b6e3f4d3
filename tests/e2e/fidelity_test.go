package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// An upstream without @latest (older proxies, some corporate mirrors) whose list names
// pseudo-versions with a time column: the go command computes latest from that list (the newest
// time wins, not the highest version), so stoa must pass the pseudo-versions on and answer
// @latest with the upstream's 404, not one of its own, before and after it stored a version.
func TestLatestComputedFromTheListAsWithTheUpstream(t *testing.T) {
	t.Parallel()
	const mod = "example.com/untagged"
	older := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v0.0.0-20240101000000-aaaaaaaaaaaa"})
	newer := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v0.0.0-20240301000000-bbbbbbbbbbbb"})
	up := newUpstream(t, older, newer)
	// The time column says the lower pseudo-version is the newer commit (a rebased branch).
	up.SetList(mod, older.Version+" 2024-05-01T00:00:00Z", newer.Version+" 2024-03-01T00:00:00Z")
	up.SetFault(mod+"/@latest", upstream.Fault{Status: 404})
	s := startStoa(t, up, stoatest.Config{})

	latest := func(g *gocmd.Go) string {
		t.Helper()
		dir := g.InitModule("example.com/client")
		out, stderr, err := g.Run(dir, "list", "-m", "-json", mod+"@latest")
		if err != nil {
			return "error: " + strings.TrimSpace(stderr)
		}
		var m struct{ Version string }
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("go list output %q: %v", out, err)
		}
		return m.Version
	}
	want := latest(goClient(t, up.URL()))
	if want != older.Version {
		t.Fatalf("directly against the upstream, latest is %q; the test expects %s", want, older.Version)
	}
	if got := latest(goClient(t, s.URL)); got != want {
		t.Errorf("through stoa latest is %q, against the upstream %q", got, want)
	}
	// Once stoa has stored the other version, it still does not answer @latest on its own.
	if _, stderr, err := goClient(t, s.URL).ModDownload(mod + "@" + newer.Version); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	if got := latest(goClient(t, s.URL)); got != want {
		t.Errorf("after storing %s, through stoa latest is %q, against the upstream %q", newer.Version, got, want)
	}
	if r := get(t, s.URL+"/"+mod+"/@latest"); r.Status != 404 {
		t.Errorf("GET @latest: %s, want the upstream's 404", r)
	}
}

// TestLatestNotTakenFromALaterEntry: with GOPROXY "A,B" the go command asks B for @latest only
// when A has neither @latest nor a list that names one; when A's list names one (here a
// pseudo-version newer than A's only tag), it computes @latest from that list. stoa with the
// upstream "A,B" must not answer B's @latest in its place. Found on a real module whose tag is
// behind its untagged main: `go list -m -u` showed its update directly but none through stoa
// with "<proxy>,direct", where direct answered @latest with the tag.
func TestLatestNotTakenFromALaterEntry(t *testing.T) {
	t.Parallel()
	const mod = "example.com/tagbehind"
	tag := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v0.6.0"})
	used := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v0.6.1-0.20240319094008-0393e58bdf10"})
	newest := modgen.MustBuild(t, modgen.Module{Path: mod, Version: "v0.6.1-0.20250313105119-ba97887b0a25"})
	a := newUpstream(t, tag, used, newest)
	a.SetList(mod, tag.Version, used.Version, newest.Version)
	a.SetFault(mod+"/@latest", upstream.Fault{Status: 404})
	b := newUpstream(t, tag)
	chain := a.URL() + "," + b.URL()
	s := startStoa(t, a, stoatest.Config{Upstream: chain})

	update := func(g *gocmd.Go) string {
		t.Helper()
		dir := g.InitModule("example.com/client")
		if _, stderr, err := g.Run(dir, "mod", "edit", "-require="+mod+"@"+used.Version); err != nil {
			t.Fatalf("go mod edit: %v\n%s", err, stderr)
		}
		out, stderr, err := g.Run(dir, "list", "-m", "-u", "-json", mod)
		if err != nil {
			return "error: " + strings.TrimSpace(stderr)
		}
		var m struct{ Update *struct{ Version string } }
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("go list output %q: %v", out, err)
		}
		if m.Update == nil {
			return "no update"
		}
		return m.Update.Version
	}
	want := update(goClient(t, chain))
	if want != newest.Version {
		t.Fatalf("directly against %s, the update is %q; the test expects %s", chain, want, newest.Version)
	}
	if got := update(goClient(t, s.URL)); got != want {
		t.Errorf("through stoa the update is %q, directly %q", got, want)
	}
	if r := get(t, s.URL+"/"+mod+"/@latest"); r.Status != 404 {
		t.Errorf("GET @latest: %s, want A's 404", r)
	}
}
