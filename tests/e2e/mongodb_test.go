package e2e

import (
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/mongotest"
	"stoa.test/internal/stoatest"
)

// store = "mongodb" on a real MongoDB-wire server (FerretDB): the go command resolves and
// downloads a module graph through stoa (a 6 MiB zip through GridFS), and a restarted stoa with
// an empty data_dir and a dead upstream serves it from the database alone. `stoa index rebuild`
// fills a new machine's index from the database; `stoa verify` finds a missing recorded hash
// and `--repair` writes it back through the store.
func TestMongoDBStoreServesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	db := mongotest.Start(t)
	lib := modgen.MustBuild(t, modgen.Module{Path: "example.com/Mongo/lib", Version: "v1.1.0",
		Files: randomFiles(11, 6<<20)})
	app := modgen.MustBuild(t, modgen.Module{Path: "example.com/mongo/app", Version: "v1.0.0",
		GoMod: "module example.com/mongo/app\n\ngo 1.21\n\nrequire example.com/Mongo/lib v1.1.0\n",
		Files: map[string]string{"app.go": "package app\n"}})
	mods := []*modgen.Built{app, lib}
	up := newUpstream(t, mods...)
	args := []string{"--mongodb-uri", db.URI, "--mongodb-database", "proxy", "--mongodb-prefix", "gomod"}
	// The graph: `go get` of app reads its list, its .mod and lib's; then both zips.
	resolve := func(s *stoatest.Stoa) {
		t.Helper()
		g := goClient(t, s.URL)
		dir := g.InitModule("example.com/client")
		if _, stderr, err := g.Run(dir, "get", "example.com/mongo/app@latest"); err != nil {
			t.Fatalf("go get through stoa: %v\n%s", err, stderr)
		}
		ds, stderr, err := g.ModDownload(app.Path+"@"+app.Version, lib.Path+"@"+lib.Version)
		if err != nil || len(ds) != 2 {
			t.Fatalf("go mod download: %v (%d objects)\n%s", err, len(ds), stderr)
		}
		checkDownload(t, ds[0], app)
		checkDownload(t, ds[1], lib)
	}

	first := startStoa(t, up, stoatest.Config{Store: "mongodb", Args: args})
	resolve(first)
	for _, b := range mods {
		if n := up.Hits(b.Key("zip")); n != 1 {
			t.Errorf("upstream hits for %s = %d, want 1", b.Key("zip"), n)
		}
	}
	// Stored where the documentation says: one document per file, the big zip in GridFS.
	count := func(coll string, filter mongotest.D) float64 {
		r := db.Command(t, "proxy", mongotest.D{{K: "count", V: coll}, {K: "query", V: filter}})
		n, _ := r["n"].(float64)
		return n
	}
	if n := count("gomod.objects", mongotest.D{{K: "_id", V: lib.Key("zip")}}); n != 1 {
		t.Errorf("gomod.objects has %v documents for %s, want 1", n, lib.Key("zip"))
	}
	if n := count("gomod.files", mongotest.D{}); n != 1 {
		t.Errorf("gomod.files has %v files, want 1 (the 6 MiB zip)", n)
	}
	first.Stop()

	// A new process, a new data_dir, no upstream: everything comes from the database.
	second := startStoa(t, up, stoatest.Config{Store: "mongodb", Args: args,
		Upstream: "http://" + stoatest.FreeAddr(t)})
	resolve(second)
	r := get(t, second.URL+"/"+lib.Key("zip"), "Range: bytes=10-19")
	if r.Status != 206 || string(r.Body) != string(lib.Zip[10:20]) {
		t.Errorf("range of a stored zip: %s", r)
	}
	if r := get(t, second.URL+"/example.com/mongo/app/@v/list"); r.Status != 200 || string(r.Body) != "v1.0.0\n" {
		t.Errorf("list from the database: %s", r)
	}
	second.Stop()

	// A new machine: `stoa index rebuild` reads the database.
	run := func(args ...string) stoatest.Result {
		return stoatest.Run(t, 2*time.Minute, nil, args...)
	}
	common := append([]string{"--store", "mongodb", "--sumdb", "off"}, args...)
	res := run(append([]string{"index", "rebuild", "--data-dir", t.TempDir()}, common...)...)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "indexed 2 versions") {
		t.Errorf("stoa index rebuild on mongodb: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}

	// `stoa verify`: clean; then a recorded hash removed behind stoa's back is STALE, and
	// --repair writes it back.
	verify := func(extra ...string) stoatest.Result {
		return run(append(append([]string{"verify", "--data-dir", t.TempDir()}, common...), extra...)...)
	}
	if res := verify(); res.ExitCode != 0 || !strings.Contains(res.Stdout, "0 bad") {
		t.Errorf("stoa verify on mongodb: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	deleted := db.Command(t, "proxy", mongotest.D{{K: "delete", V: "gomod.objects"},
		{K: "deletes", V: []any{mongotest.D{{K: "q", V: mongotest.D{{K: "_id", V: lib.Key("ziphash")}}},
			{K: "limit", V: int32(1)}}}}})
	if n, _ := deleted["n"].(float64); n != 1 {
		t.Fatalf("deleting %s: %v", lib.Key("ziphash"), deleted)
	}
	res = verify()
	if !strings.Contains(res.Stdout, "STALE example.com/Mongo/lib@v1.1.0 zip: no recorded hash") {
		t.Errorf("stoa verify after a lost hash: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	res = verify("--repair")
	if !strings.Contains(res.Stdout, "REPAIRED "+lib.Key("ziphash")) {
		t.Errorf("stoa verify --repair on mongodb: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if n := count("gomod.objects", mongotest.D{{K: "_id", V: lib.Key("ziphash")}}); n != 1 {
		t.Errorf("after --repair, %v documents for %s", n, lib.Key("ziphash"))
	}
}
