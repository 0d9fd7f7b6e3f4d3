package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/sumdb/dirhash"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// checkDownload checks one `go mod download -json` object against the module as built:
// no error, the go command's files byte-identical, and the sums x/mod computes.
func checkDownload(t *testing.T, d gocmd.Download, b *modgen.Built) {
	t.Helper()
	if d.Error != "" {
		t.Errorf("%s@%s: %s", b.Path, b.Version, d.Error)
		return
	}
	if d.Path != b.Path || d.Version != b.Version {
		t.Errorf("downloaded %s@%s, want %s@%s", d.Path, d.Version, b.Path, b.Version)
	}
	zipBytes, err := os.ReadFile(d.Zip)
	if err != nil || !bytes.Equal(zipBytes, b.Zip) {
		t.Errorf("%s@%s: Zip %q differs from upstream's (%v)", b.Path, b.Version, d.Zip, err)
	}
	modBytes, err := os.ReadFile(d.GoMod)
	if err != nil || !bytes.Equal(modBytes, b.Mod) {
		t.Errorf("%s@%s: GoMod %q = %q, want %q (%v)", b.Path, b.Version, d.GoMod, modBytes, b.Mod, err)
	}
	var info struct{ Version string }
	if raw, err := os.ReadFile(d.Info); err != nil || json.Unmarshal(raw, &info) != nil || info.Version != b.Version {
		t.Errorf("%s@%s: Info %q has Version %q (%v)", b.Path, b.Version, d.Info, info.Version, err)
	}
	if fi, err := os.Stat(d.Dir); err != nil || !fi.IsDir() {
		t.Errorf("%s@%s: Dir %q missing: %v", b.Path, b.Version, d.Dir, err)
	}
	// The oracle: dirhash.HashZip over the zip as built.
	zipFile := filepath.Join(t.TempDir(), "built.zip")
	if err := os.WriteFile(zipFile, b.Zip, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Sum != want {
		t.Errorf("%s@%s: Sum %s, want %s", b.Path, b.Version, d.Sum, want)
	}
	if d.GoModSum != b.ModSum {
		t.Errorf("%s@%s: GoModSum %s, want %s", b.Path, b.Version, d.GoModSum, b.ModSum)
	}
}

// checkStored checks that a disk store holds the version's files, byte-identical, under their
// case-encoded GOPROXY keys.
func checkStored(t *testing.T, data string, b *modgen.Built, exts ...string) {
	t.Helper()
	want := map[string][]byte{"info": nil, "mod": b.Mod, "zip": b.Zip}
	for _, ext := range exts {
		got, ok := dataFile(data, b.Key(ext))
		switch {
		case !ok:
			t.Errorf("data dir has no %s", b.Key(ext))
		case ext == "info":
			var info struct{ Version string }
			if json.Unmarshal(got, &info) != nil || info.Version != b.Version {
				t.Errorf("stored %s = %q", b.Key(ext), got)
			}
		case !bytes.Equal(got, want[ext]):
			t.Errorf("stored %s differs from upstream's", b.Key(ext))
		}
	}
}

// Test 1: a module path and a version with uppercase letters go through case-encoding both
// ways (client -> stoa -> upstream, and the store keys), for each store.
func TestDownloadUppercasePath(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"disk", "memory"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			mods := []*modgen.Built{
				modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v1.0.0",
					Files: map[string]string{"sdk.go": "package sdk\n", "Internal/Doc.txt": "upper\n"}}),
				modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v1.1.0-RC.1",
					Files: map[string]string{"sdk.go": "package sdk\n"}}),
			}
			up := newUpstream(t, mods...)
			s := startStoa(t, up, stoatest.Config{Store: store})
			g := goClient(t, s.URL)
			ds, stderr, err := g.ModDownload("example.com/Azure/SDK@v1.0.0", "example.com/Azure/SDK@v1.1.0-RC.1")
			if err != nil {
				t.Fatalf("go mod download: %v\n%s", err, stderr)
			}
			if len(ds) != len(mods) {
				t.Fatalf("go mod download printed %d objects, want %d", len(ds), len(mods))
			}
			for _, b := range mods {
				i := slices.IndexFunc(ds, func(d gocmd.Download) bool { return d.Version == b.Version })
				if i < 0 {
					t.Errorf("no download of %s", b.Version)
					continue
				}
				checkDownload(t, ds[i], b)
				// stoa asked upstream with the case-encoded path, once.
				if n := up.Hits(b.Key("zip")); n != 1 {
					t.Errorf("upstream hits for %s = %d, want 1", b.Key("zip"), n)
				}
				if store == "disk" {
					checkStored(t, s.DataDir, b, "info", "mod", "zip")
				}
			}
		})
	}
}

// Test 2: a +incompatible version (v2 of a module without /v2 and without go.mod). The '+' is
// literal on the wire and in the store, never a space.
func TestIncompatibleVersion(t *testing.T) {
	t.Parallel()
	v1 := modgen.MustBuild(t, modgen.Module{Path: "example.com/old", Version: "v1.0.0", NoGoMod: true,
		Files: map[string]string{"old.go": "package old\n"}})
	v2 := modgen.MustBuild(t, modgen.Module{Path: "example.com/old", Version: "v2.0.0+incompatible", NoGoMod: true,
		Files: map[string]string{"old.go": "package old\n\nconst V = 2\n"}})
	up := newUpstream(t, v1, v2)
	s := startStoa(t, up, stoatest.Config{})
	g := goClient(t, s.URL)

	ds, stderr, err := g.ModDownload("example.com/old@v2.0.0+incompatible")
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], v2)
	checkStored(t, s.DataDir, v2, "info", "mod", "zip")

	r := get(t, s.URL+"/example.com/old/@v/v2.0.0+incompatible.info")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"v2.0.0+incompatible"`) {
		t.Errorf("GET v2.0.0+incompatible.info: %v", r)
	}

	out := g.MustRun("", "list", "-m", "-versions", "example.com/old")
	if got := strings.Fields(out); !slices.Equal(got, []string{"example.com/old", "v1.0.0", "v2.0.0+incompatible"}) {
		t.Errorf("go list -m -versions: %q", out)
	}

	dir := g.InitModule("example.com/client")
	g.MustRun(dir, "get", "example.com/old@v2.0.0+incompatible")
	if v := requiredVersion(t, dir, "example.com/old"); v != "v2.0.0+incompatible" {
		t.Errorf("go.mod requires example.com/old %q", v)
	}
}

// Test 3: a module without go.mod: stoa's .mod is byte-identical to upstream's synthesized one.
func TestModuleWithoutGoMod(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/nogomod", Version: "v1.0.0", NoGoMod: true,
		Files: map[string]string{"x.go": "package nogomod\n"}})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{})

	fromUpstream := get(t, up.URL()+"/"+b.Key("mod"))
	if fromUpstream.Status != 200 || string(fromUpstream.Body) != "module example.com/nogomod\n" {
		t.Fatalf("upstream .mod: %v", fromUpstream)
	}
	for _, round := range []string{"miss", "stored"} {
		r := get(t, s.URL+"/"+b.Key("mod"))
		if r.Status != 200 || !bytes.Equal(r.Body, fromUpstream.Body) {
			t.Errorf("%s: stoa .mod = %v, want upstream's %q", round, r, fromUpstream.Body)
		}
	}
	ds, stderr, err := goClient(t, s.URL).ModDownload("example.com/nogomod@v1.0.0")
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	checkDownload(t, ds[0], b)
}

// Test 4: go list -m -versions lists upstream's versions; a retracted version (retracted by
// the latest version's go.mod) is hidden, and listed with -retracted.
func TestListVersionsRetracted(t *testing.T) {
	t.Parallel()
	const p = "example.com/versions"
	var mods []*modgen.Built
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"} {
		gomod := "module " + p + "\n\ngo 1.21\n"
		if v == "v1.3.0" {
			gomod += "\nretract v1.1.0 // broken build\n"
		}
		mods = append(mods, modgen.MustBuild(t, modgen.Module{Path: p, Version: v, GoMod: gomod,
			Files: map[string]string{"v.go": "package versions\n"}}))
	}
	up := newUpstream(t, mods...)
	s := startStoa(t, up, stoatest.Config{})
	g := goClient(t, s.URL)

	type listed struct {
		Versions  []string
		Retracted []string
	}
	list := func(args ...string) listed {
		t.Helper()
		var l listed
		out := g.MustRun("", append([]string{"list", "-m", "-json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("go list %v: %v\n%s", args, err, out)
		}
		return l
	}
	if got := list("-versions", p).Versions; !slices.Equal(got, []string{"v1.0.0", "v1.2.0", "v1.3.0"}) {
		t.Errorf("go list -m -versions: %v", got)
	}
	if got := list("-versions", "-retracted", p).Versions; !slices.Equal(got, []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}) {
		t.Errorf("go list -m -versions -retracted: %v", got)
	}
	if got := list("-retracted", p+"@v1.1.0").Retracted; len(got) != 1 || got[0] != "broken build" {
		t.Errorf("go list -m -retracted %s@v1.1.0: Retracted = %q", p, got)
	}

	// The raw list carries every version, the retracted one included.
	r := get(t, s.URL+"/"+p+"/@v/list")
	var versions []string
	for _, line := range strings.Split(string(r.Body), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			versions = append(versions, f[0])
		}
	}
	slices.Sort(versions)
	if r.Status != 200 || !slices.Equal(versions, []string{"v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"}) {
		t.Errorf("GET list: %v", r)
	}
}

// requiredVersion is the version go.mod in dir requires of modPath ("" if none).
func requiredVersion(t *testing.T, dir, modPath string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatalf("go.mod: %v\n%s", err, data)
	}
	for _, r := range f.Require {
		if r.Mod.Path == modPath {
			return r.Mod.Version
		}
	}
	return ""
}

// Test 5: go get m@latest, for a module with tags and for one without, whose @latest is a
// pseudo-version (upstream serves @latest and an empty list).
func TestGetLatest(t *testing.T) {
	t.Parallel()
	tagged := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: "example.com/tagged", Version: "v1.0.0",
			Files: map[string]string{"tagged.go": "package tagged\n"}}),
		modgen.MustBuild(t, modgen.Module{Path: "example.com/tagged", Version: "v1.2.0",
			Files: map[string]string{"tagged.go": "package tagged\n\nconst V = 2\n"}}),
		modgen.MustBuild(t, modgen.Module{Path: "example.com/tagged", Version: "v1.3.0-beta.1",
			Files: map[string]string{"tagged.go": "package tagged\n\nconst V = 3\n"}}),
	}
	notags := modgen.MustBuild(t, modgen.Module{Path: "example.com/notags", Version: "v0.0.0-20240102030405-abcdefabcdef",
		Files: map[string]string{"notags.go": "package notags\n"}})
	up := newUpstream(t, append(tagged, notags)...)
	up.SetList("example.com/notags") // an empty list: only @latest knows the version
	s := startStoa(t, up, stoatest.Config{})

	cases := []struct {
		path string
		want *modgen.Built
	}{
		{"example.com/tagged", tagged[1]},
		{"example.com/notags", notags},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			g := goClient(t, s.URL)
			dir := g.InitModule("example.com/client")
			g.MustRun(dir, "get", tc.path+"@latest")
			if v := requiredVersion(t, dir, tc.path); v != tc.want.Version {
				t.Errorf("go.mod requires %s %q, want %s", tc.path, v, tc.want.Version)
			}
			sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
			if err != nil || !strings.Contains(string(sum), tc.path+" "+tc.want.Version+" "+tc.want.Sum+"\n") {
				t.Errorf("go.sum lacks %s %s %s:\n%s", tc.path, tc.want.Version, tc.want.Sum, sum)
			}
		})
	}
	// The stored list never names a pseudo-version.
	if list, ok := dataFile(s.DataDir, notags.ListKey()); ok && strings.Contains(string(list), notags.Version) {
		t.Errorf("the stored list names a pseudo-version: %q", list)
	}
	r := get(t, s.URL+"/example.com/notags/@latest")
	if r.Status != 200 || !strings.Contains(string(r.Body), notags.Version) {
		t.Errorf("GET @latest: %v", r)
	}
	checkContentType(t, "@latest", r.Header, "application/json")
}

// Test 6: go get of a package in a subdirectory of a module: the go command probes every
// prefix of the package path; stoa answers 404 quickly for each prefix that is not a module.
func TestGetPackageProbesPrefixes(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "a.example/m", Version: "v1.0.0",
		GoMod: "module a.example/m\n\ngo 1.21\n",
		Files: map[string]string{"m.go": "package m\n", "sub/pkg/pkg.go": "package pkg\n"}})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{})
	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/client")

	start := time.Now()
	g.MustRun(dir, "get", "a.example/m/sub/pkg")
	t.Logf("go get took %v", time.Since(start))
	if v := requiredVersion(t, dir, "a.example/m"); v != "v1.0.0" {
		t.Errorf("go.mod requires a.example/m %q, want v1.0.0", v)
	}

	nonModules := []string{"a.example/m/sub/pkg", "a.example/m/sub", "a.example"}
	// Every upstream request stoa made for a non-module prefix was a 404 (so stoa's answer was
	// a true absence, not an error), and the go command did probe the deepest prefixes.
	probed := map[string]bool{}
	for _, h := range up.HitLog() {
		mod, _, ok := strings.Cut(h.Key, "/@")
		if !ok || mod == "a.example/m" {
			continue
		}
		probed[mod] = true
		if h.Status != 404 {
			t.Errorf("upstream answered %d to %s", h.Status, h.Key)
		}
	}
	for _, p := range nonModules[:2] {
		if !probed[p] {
			t.Errorf("upstream never asked for %s (hits: %+v)", p, up.HitLog())
		}
	}
	// stoa's access log: each request for a non-module prefix was answered 404.
	status404 := regexp.MustCompile(`status\W{0,3}404\b`)
	logged := 0
	for _, line := range strings.Split(s.Log(), "\n") {
		for _, p := range nonModules {
			if strings.Contains(line, "/"+p+"/@") {
				logged++
				if !status404.MatchString(line) {
					t.Errorf("access log: request for non-module %s not answered 404: %s", p, line)
				}
			}
		}
	}
	if logged == 0 {
		t.Errorf("the access log shows no request for the probed prefixes %v", nonModules)
	}
	// And directly: a fast, well-formed 404 for each of them.
	for _, p := range nonModules {
		for _, suffix := range []string{"/@v/list", "/@latest", "/@v/v1.0.0.info"} {
			r := get(t, s.URL+"/"+p+suffix)
			checkNotFound(t, p+suffix, r)
			if r.Elapsed > 3*time.Second {
				t.Errorf("%s%s: 404 took %v", p, suffix, r.Elapsed)
			}
		}
	}
}
