package goproxytest

import (
	"strings"
	"testing"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/upstream"
)

// goproxy in front of the simulator serves what the simulator serves: the go command through
// it downloads a module with the simulator's bytes and finds the simulator's versions.
func TestGoproxyInFrontOfTheSimulator(t *testing.T) {
	up := upstream.New()
	defer up.Close()
	var built []*modgen.Built
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		built = append(built, modgen.MustBuild(t, modgen.Module{Path: "example.com/gp/lib", Version: v}))
	}
	up.Add(built...)
	gp := Start(t, Config{Upstream: up.URL()})

	g := gocmd.New(t, gp.URL, "")
	ds, stderr, err := g.ModDownload("example.com/gp/lib@latest")
	if err != nil || len(ds) != 1 {
		t.Fatalf("go mod download through goproxy: %v\n%s", err, stderr)
	}
	if ds[0].Version != "v1.1.0" || ds[0].Sum != built[1].Sum {
		t.Errorf("through goproxy: %s %s, want v1.1.0 %s", ds[0].Version, ds[0].Sum, built[1].Sum)
	}
	out := g.MustRun("", "list", "-m", "-versions", "example.com/gp/lib")
	if got := strings.TrimSpace(out); got != "example.com/gp/lib v1.0.0 v1.1.0" {
		t.Errorf("go list -m -versions through goproxy: %q", got)
	}
	if up.Hits("example.com/gp/lib/@v/v1.1.0.zip") != 1 {
		t.Errorf("the simulator served the zip %d times, want once (goproxy fetched it)", up.Hits("example.com/gp/lib/@v/v1.1.0.zip"))
	}
}
