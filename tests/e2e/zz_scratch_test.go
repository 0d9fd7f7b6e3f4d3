package e2e

import (
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

func TestZZScratch(t *testing.T) {
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/scr", Version: "v1.0.4", Files: map[string]string{"a.go": "package scr\n"}})
	up := newUpstream(t, b)
	s := startStoa(t, up, stoatest.Config{ListTTL: "1s"})
	r := get(t, s.URL+"/"+b.Key("info"))
	t.Logf("info %v", r)
	up.SetDefaultFault(&upstream.Fault{Status: 404})
	for _, k := range []string{b.ListKey(), b.LatestKey(), b.Key("zip")} {
		r = get(t, s.URL+"/"+k)
		t.Logf("%s: %v", k, r)
	}
	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/c")
	o, e, err := g.Run(dir, "get", "example.com/scr@latest")
	t.Logf("go get: %v %s %s", err, o, e)
	up.SetDefaultFault(&upstream.Fault{Status: 410})
	o, e, err = g.Run(dir, "list", "-m", "-versions", "example.com/scr")
	t.Logf("go list: %v %s %s", err, o, e)
	t.Log(up.HitLog())
}
