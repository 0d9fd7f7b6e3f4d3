package gocmd

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/upstream"
)

// The simulator and modgen are what the e2e suite trusts: the real go command, pointed at the
// simulator directly, must accept everything they produce.
func TestGoCommandAgainstSimulator(t *testing.T) {
	sdk := modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/SDK", Version: "v1.1.0-RC.1",
		Files: map[string]string{"sdk.go": "package sdk\n"}})
	old := modgen.MustBuild(t, modgen.Module{Path: "example.com/old", Version: "v2.0.0+incompatible", NoGoMod: true,
		Files: map[string]string{"old.go": "package old\n"}})
	notags := modgen.MustBuild(t, modgen.Module{Path: "example.com/notags", Version: "v0.0.0-20240102030405-abcdefabcdef",
		Files: map[string]string{"n.go": "package notags\n"}})
	up := upstream.New()
	defer up.Close()
	oldV1 := modgen.MustBuild(t, modgen.Module{Path: "example.com/old", Version: "v1.0.0", NoGoMod: true})
	up.Add(sdk, old, oldV1, notags)

	g := New(t, up.URL(), "")
	ds, stderr, err := g.ModDownload(sdk.Path+"@"+sdk.Version, old.Path+"@"+old.Version)
	if err != nil || len(ds) != 2 {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	for i, b := range []*modgen.Built{sdk, old} {
		d := ds[i]
		if d.Error != "" || d.Sum != b.Sum || d.GoModSum != b.ModSum {
			t.Errorf("%s: %+v, want sums %s %s", b.Path, d, b.Sum, b.ModSum)
		}
		if z, err := os.ReadFile(d.Zip); err != nil || !bytes.Equal(z, b.Zip) {
			t.Errorf("%s: zip differs: %v", b.Path, err)
		}
	}
	if up.Hits("example.com/!azure/!s!d!k/@v/v1.1.0-!r!c.1.zip") != 1 {
		t.Errorf("the go command did not fetch the case-encoded zip key: %+v", up.HitLog())
	}

	dir := g.InitModule("example.com/client")
	g.MustRun(dir, "get", "example.com/notags@latest")
	mod, err := os.ReadFile(dir + "/go.mod")
	if err != nil || !strings.Contains(string(mod), "example.com/notags "+notags.Version) {
		t.Errorf("go get @latest of a module without tags: go.mod\n%s", mod)
	}

	if out := g.MustRun("", "list", "-m", "-versions", "example.com/old"); out != "example.com/old v1.0.0 v2.0.0+incompatible\n" {
		t.Errorf("go list -m -versions example.com/old = %q", out)
	}

	// A missing module is a 404 the go command reports as not found.
	_, stderr, err = g.Run("", "mod", "download", "example.com/missing@v1.0.0")
	if err == nil || !strings.Contains(stderr, "404 Not Found") {
		t.Errorf("download of a missing module: %v\n%s", err, stderr)
	}

	// The module cache is read-only; MakeWritable lets TempDir remove it.
	MakeWritable(g.ModCache)
	if err := os.RemoveAll(g.ModCache); err != nil {
		t.Errorf("removing the module cache after MakeWritable: %v", err)
	}
}

func TestWithReplacesSettings(t *testing.T) {
	g := New(t, "http://a", "")
	h := g.With("GOPROXY=off", "GONOSUMDB=x")
	if h.GOPROXY != "off" || g.GOPROXY != "http://a" {
		t.Errorf("GOPROXY: %q %q", h.GOPROXY, g.GOPROXY)
	}
	count := 0
	for _, kv := range h.Env {
		if strings.HasPrefix(kv, "GOPROXY=") {
			count++
			if kv != "GOPROXY=off" {
				t.Errorf("env %q", kv)
			}
		}
	}
	if count != 1 {
		t.Errorf("%d GOPROXY settings", count)
	}
}

// The go command behaviours the e2e suite relies on, checked against the simulator alone:
// retractions come from the latest go.mod; a package path's prefixes are probed.
func TestGoCommandBehaviours(t *testing.T) {
	up := upstream.New()
	defer up.Close()
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		gomod := "module example.com/versions\n\ngo 1.21\n"
		if v == "v1.2.0" {
			gomod += "\nretract v1.1.0 // broken build\n"
		}
		up.Add(modgen.MustBuild(t, modgen.Module{Path: "example.com/versions", Version: v, GoMod: gomod}))
	}
	up.Add(modgen.MustBuild(t, modgen.Module{Path: "a.example/m", Version: "v1.0.0", GoMod: "module a.example/m\n\ngo 1.21\n",
		Files: map[string]string{"sub/pkg/pkg.go": "package pkg\n"}}))
	g := New(t, up.URL(), "")
	if out := g.MustRun("", "list", "-m", "-versions", "example.com/versions"); out != "example.com/versions v1.0.0 v1.2.0\n" {
		t.Errorf("go list -m -versions = %q", out)
	}
	if out := g.MustRun("", "list", "-m", "-versions", "-retracted", "example.com/versions"); out != "example.com/versions v1.0.0 v1.1.0 v1.2.0\n" {
		t.Errorf("go list -m -versions -retracted = %q", out)
	}
	dir := g.InitModule("example.com/client")
	g.MustRun(dir, "get", "a.example/m/sub/pkg")
	probed := map[string]int{}
	for _, h := range up.HitLog() {
		if mod, _, ok := strings.Cut(h.Key, "/@"); ok && mod != "a.example/m" && strings.HasPrefix(mod, "a.example") {
			probed[mod] = h.Status
		}
	}
	if probed["a.example/m/sub/pkg"] != 404 || probed["a.example/m/sub"] != 404 {
		t.Errorf("probes: %v (%+v)", probed, up.HitLog())
	}
}
