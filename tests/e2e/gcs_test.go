package e2e

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gcstest"
	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// store = "gcs" on a GCS emulator (fake-gcs-server, JSON API): the go command downloads a module
// graph through stoa, the bucket holds it as a GOPROXY tree under the prefix (a zip over the
// chunk size through a resumable upload, verified against a checksum database), and a restarted
// stoa with an empty data_dir and a dead upstream serves it from the bucket alone.
func TestGCSStoreServesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	gs := gcstest.Start(t)
	gs.Bucket(t, "goproxy")
	dep := modgen.MustBuild(t, modgen.Module{Path: "example.com/GCS/dep", Version: "v0.3.0",
		Files: map[string]string{"dep.go": "package dep\n"}})
	mods := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: "example.com/GCS/mod", Version: "v1.0.0",
			GoMod: "module example.com/GCS/mod\n\nrequire example.com/GCS/dep v0.3.0\n",
			Files: map[string]string{"mod.go": "package mod\n"}}),
		// Incompressible 3 MiB: over the 1 MiB chunk size, so a resumable upload in chunks; over
		// 1 MiB, so read back through a spooled file.
		modgen.MustBuild(t, modgen.Module{Path: "example.com/GCS/mod", Version: "v1.1.0-RC.1",
			Files: randomFiles(11, 3<<20)}),
		dep,
	}
	up := newUpstream(t, mods...)
	db := sumdbtest.New(t, sumdbName)
	db.Add(mods...)
	gcsArgs := []string{"--gcs-endpoint", gs.Endpoint, "--gcs-bucket", "goproxy",
		"--gcs-prefix", "cache", "--gcs-chunk-size", "1048576"}
	want := []string{"example.com/GCS/mod@v1.0.0", "example.com/GCS/mod@v1.1.0-RC.1",
		"example.com/GCS/dep@v0.3.0"}
	download := func(s *stoatest.Stoa) {
		t.Helper()
		ds, stderr, err := goClient(t, s.URL).ModDownload(want...)
		if err != nil {
			t.Fatalf("go mod download: %v\n%s", err, stderr)
		}
		if len(ds) != len(mods) {
			t.Fatalf("go mod download printed %d objects, want %d", len(ds), len(mods))
		}
		for _, b := range mods {
			i := slices.IndexFunc(ds, func(d gocmd.Download) bool {
				return d.Path == b.Path && d.Version == b.Version
			})
			if i < 0 {
				t.Fatalf("no download of %s@%s", b.Path, b.Version)
			}
			checkDownload(t, ds[i], b)
		}
	}

	first := startStoa(t, up, stoatest.Config{Store: "gcs", Args: gcsArgs, Sumdb: db.GOSUMDB()})
	download(first)
	for _, b := range mods {
		for ext, wantBytes := range map[string][]byte{"mod": b.Mod, "zip": b.Zip,
			"ziphash": []byte(b.Sum + "\n"), "modhash": []byte(b.ModSum + "\n")} {
			got, ok := gs.Object(t, "goproxy", "cache/"+b.Key(ext))
			if !ok || !bytes.Equal(got, wantBytes) {
				t.Errorf("bucket object %s: present %v, %d bytes, want %d", b.Key(ext), ok, len(got), len(wantBytes))
			}
		}
		info, ok := gs.Object(t, "goproxy", "cache/"+b.Key("info"))
		var parsed struct{ Version string }
		if !ok || json.Unmarshal(info, &parsed) != nil || parsed.Version != b.Version {
			t.Errorf("bucket object %s = %q", b.Key("info"), info)
		}
		if n := up.Hits(b.Key("zip")); n != 1 {
			t.Errorf("upstream hits for %s = %d, want 1", b.Key("zip"), n)
		}
	}
	if list, ok := gs.Object(t, "goproxy", "cache/example.com/!g!c!s/mod/@v/list"); !ok ||
		string(list) != "v1.0.0\nv1.1.0-RC.1\n" {
		t.Errorf("bucket list object = %q (present %v)", list, ok)
	}
	if _, ok := gs.Object(t, "goproxy", "cache/sumdb/"+sumdbName+lookupPath(mods[0])); !ok {
		t.Errorf("the bucket has no verified lookup of %s", mods[0].Path)
	}
	first.Stop()

	// A new process, a new data_dir, no upstream: everything comes from the bucket.
	second := startStoa(t, up, stoatest.Config{Store: "gcs", Args: gcsArgs,
		Upstream: "http://" + stoatest.FreeAddr(t)})
	download(second)
	r := get(t, second.URL+"/"+mods[1].Key("zip"), "Range: bytes=10-19")
	if r.Status != 206 || string(r.Body) != string(mods[1].Zip[10:20]) {
		t.Errorf("range of a stored zip: %s", r)
	}
	if l := get(t, second.URL+"/example.com/!g!c!s/mod/@v/list"); l.Status != 200 ||
		string(l.Body) != "v1.0.0\nv1.1.0-RC.1\n" {
		t.Errorf("list from the bucket: %s", l)
	}
	if n := get(t, second.URL+"/example.com/!g!c!s/mod/@v/v9.9.9.info"); n.Status != 404 {
		t.Errorf("a version in no bucket and no upstream: %s, want 404", n)
	}
	second.Stop()
}

// `stoa index rebuild` and `stoa verify` on a GCS bucket: the index is filled from the bucket;
// bytes changed behind stoa's back are BAD, a missing recorded hash is STALE and `--repair`
// writes it through the bucket.
func TestGCSIndexRebuildAndVerify(t *testing.T) {
	t.Parallel()
	gs := gcstest.Start(t)
	gs.Bucket(t, "kept")
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/ggood", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	changed := modgen.MustBuild(t, modgen.Module{Path: "example.com/gchanged", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	up := newUpstream(t, good, changed)
	gcsArgs := []string{"--gcs-endpoint", gs.Endpoint, "--gcs-bucket", "kept"}
	s := startStoa(t, up, stoatest.Config{Store: "gcs", Args: gcsArgs})
	if _, stderr, err := goClient(t, s.URL).ModDownload(good.Path+"@"+good.Version,
		changed.Path+"@"+changed.Version); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	if !strings.Contains(s.Log(), "index = sqlite with store = gcs") {
		t.Errorf("no start-up warning that the index is this machine's own")
	}
	s.Stop()

	fresh := t.TempDir()
	res := stoatest.Run(t, time.Minute, nil, append([]string{"index", "rebuild", "--store", "gcs",
		"--data-dir", fresh, "--sumdb", "off"}, gcsArgs...)...)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "indexed 2 versions") {
		t.Fatalf("stoa index rebuild on gcs: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	third := startStoa(t, up, stoatest.Config{Store: "gcs", DataDir: fresh, Args: gcsArgs,
		Upstream: "http://" + stoatest.FreeAddr(t)})
	if r := get(t, third.URL+"/catalog"); !strings.Contains(string(r.Body), good.Sum) {
		t.Errorf("after index rebuild: /catalog %s, want the version with its hash %s", r, good.Sum)
	}
	third.Stop()

	// Behind stoa's back: one .mod's bytes change, the other zip's recorded hash goes.
	gs.Put(t, "kept", changed.Key("mod"), []byte("module example.com/gchanged // edited\n"))
	gs.Delete(t, "kept", good.Key("ziphash"))
	verify := func(extra ...string) stoatest.Result {
		args := append([]string{"verify", "--store", "gcs", "--data-dir", t.TempDir(),
			"--sumdb", "off"}, gcsArgs...)
		return stoatest.Run(t, time.Minute, nil, append(args, extra...)...)
	}
	r := verify()
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, "BAD example.com/gchanged@v1.0.0 mod: bytes changed") ||
		!strings.Contains(r.Stdout, "STALE example.com/ggood@v1.0.0 zip: no recorded hash") {
		t.Errorf("stoa verify on gcs: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if _, ok := gs.Object(t, "kept", good.Key("ziphash")); ok {
		t.Errorf("verify without --repair wrote to the bucket")
	}
	r = verify("--repair")
	if !strings.Contains(r.Stdout, "REPAIRED "+good.Key("ziphash")) {
		t.Errorf("stoa verify --repair on gcs: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if got, ok := gs.Object(t, "kept", good.Key("ziphash")); !ok || string(got) != good.Sum+"\n" {
		t.Errorf("repaired %s = %q (present %v), want %q", good.Key("ziphash"), got, ok, good.Sum+"\n")
	}
}
