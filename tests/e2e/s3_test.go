package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/s3test"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// store = "s3" on a real S3 server (versitygw): the go command downloads modules through stoa,
// the bucket holds them as a GOPROXY file tree under the prefix (a zip over the part size
// through a multipart upload, verified against a checksum database), and a restarted stoa with an empty data_dir and a dead
// upstream serves them from the bucket alone. No secret reaches the log.
func TestS3StoreServesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	bucketDir := gw.Bucket(t, "goproxy")
	mods := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: "example.com/S3/mod", Version: "v1.0.0",
			Files: map[string]string{"mod.go": "package mod\n"}}),
		// Incompressible 6 MiB: over the 5 MiB part size, so a two-part upload; over 1 MiB, so
		// read back through a spooled file.
		modgen.MustBuild(t, modgen.Module{Path: "example.com/S3/mod", Version: "v1.1.0-RC.1",
			Files: randomFiles(7, 6<<20)}),
	}
	up := newUpstream(t, mods...)
	db := sumdbtest.New(t, sumdbName)
	db.Add(mods...)
	s3Args := []string{"--s3-endpoint", gw.Endpoint, "--s3-bucket", "goproxy",
		"--s3-prefix", "cache", "--s3-part-size", "5242880"}
	start := func(upstreamURL string) *stoatest.Stoa {
		return startStoa(t, up, stoatest.Config{Store: "s3", Upstream: upstreamURL, Args: s3Args,
			Env: gw.Env()})
	}
	want := []string{"example.com/S3/mod@v1.0.0", "example.com/S3/mod@v1.1.0-RC.1"}
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
			i := slices.IndexFunc(ds, func(d gocmd.Download) bool { return d.Version == b.Version })
			if i < 0 {
				t.Fatalf("no download of %s", b.Version)
			}
			checkDownload(t, ds[i], b)
		}
	}

	// The first one verifies against a checksum database: the h1: hashes land in the bucket,
	// the verified tree head in its own data_dir.
	first := startStoa(t, up, stoatest.Config{Store: "s3", Args: s3Args, Env: gw.Env(),
		Sumdb: db.GOSUMDB()})
	download(first)
	if head, err := os.ReadFile(headFile(first.DataDir)); err != nil || string(head) != string(db.Log().Head()) {
		t.Errorf("persisted tree head %q (%v), want the database's", head, err)
	}
	for _, b := range mods {
		checkStored(t, filepath.Join(bucketDir, "cache"), b, "info", "mod", "zip")
		checkHashesKept(t, filepath.Join(bucketDir, "cache"), b)
		if n := up.Hits(b.Key("zip")); n != 1 {
			t.Errorf("upstream hits for %s = %d, want 1", b.Key("zip"), n)
		}
	}
	// What the verifying client verified is kept in the bucket: the lookups and the tile (of a
	// two-record tree: partial) that proved them.
	for _, key := range []string{"sumdb/" + sumdbName + lookupPath(mods[0]), "sumdb/" + sumdbName + lookupPath(mods[1]),
		"sumdb/" + sumdbName + "/tile/8/0/000.p/2"} {
		if _, ok := dataFile(filepath.Join(bucketDir, "cache"), key); !ok {
			t.Errorf("the bucket has no %s", key)
		}
	}
	if list, ok := dataFile(filepath.Join(bucketDir, "cache"), "example.com/!s3/mod/@v/list"); !ok ||
		string(list) != "v1.0.0\nv1.1.0-RC.1\n" {
		t.Errorf("bucket list object = %q (present %v)", list, ok)
	}
	first.Stop()
	for _, secret := range []string{s3test.SecretKey, s3test.AccessKey} {
		if strings.Contains(first.Log(), secret) {
			t.Errorf("stoa's log contains a credential")
		}
	}

	// A new process, a new data_dir, no upstream: everything comes from the bucket.
	second := start("http://" + stoatest.FreeAddr(t))
	download(second)
	r := get(t, second.URL+"/"+mods[1].Key("zip"), "Range: bytes=10-19")
	if r.Status != 206 || string(r.Body) != string(mods[1].Zip[10:20]) {
		t.Errorf("range of a stored zip: %s", r)
	}
	second.Stop()

	// s3_presign_ttl: a stored zip is a 302 to a presigned URL of the bucket, which the go
	// command follows; .info and .mod still come from stoa.
	third := startStoa(t, up, stoatest.Config{Store: "s3", Upstream: "http://" + stoatest.FreeAddr(t),
		Args: append(slices.Clone(s3Args), "--s3-presign-ttl", "5m"), Env: gw.Env()})
	download(third)
	z := get(t, third.URL+"/"+mods[1].Key("zip"))
	loc := z.Header.Get("Location")
	if z.Status != 302 || !strings.HasPrefix(loc, gw.Endpoint+"/goproxy/cache/") ||
		!strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("stored zip with s3_presign_ttl: %s, Location %q", z, loc)
	}
	if zb := get(t, loc); zb.Status != 200 || string(zb.Body) != string(mods[1].Zip) {
		t.Errorf("the presigned URL answers %d with %d bytes", zb.Status, len(zb.Body))
	}
	if m := get(t, third.URL+"/"+mods[1].Key("mod")); m.Status != 200 {
		t.Errorf(".mod with s3_presign_ttl: %s", m)
	}
	if n := get(t, third.URL+"/example.com/!s3/mod/@v/v9.9.9.zip"); n.Status == 302 {
		t.Errorf("a zip that is not stored was redirected: %s", n)
	}
}

// The index with store = "s3": a SQLite file in this machine's data_dir (it was an in-memory
// database, empty after each restart), said so at start; refused when a lock says replicas share
// the bucket; and `stoa index rebuild` fills it from the bucket (it refused any store but disk).
func TestS3IndexIsKeptAndRebuiltFromTheBucket(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	gw.Bucket(t, "indexed")
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/indexed", Version: "v1.2.0",
		Files: map[string]string{"x.go": "package x\n"}})
	up := newUpstream(t, b)
	s3Args := []string{"--s3-endpoint", gw.Endpoint, "--s3-bucket", "indexed"}
	listed := func(s *stoatest.Stoa) bool {
		r := get(t, s.URL+"/index")
		return r.Status == 200 && strings.Contains(string(r.Body), `"Path":"example.com/indexed","Version":"v1.2.0"`)
	}
	data := filepath.Join(t.TempDir(), "data")
	first := startStoa(t, up, stoatest.Config{Store: "s3", DataDir: data, Args: s3Args, Env: gw.Env()})
	if _, stderr, err := goClient(t, first.URL).ModDownload(b.Path + "@" + b.Version); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	if !listed(first) {
		t.Fatalf("/index does not list the downloaded version: %s", get(t, first.URL+"/index"))
	}
	if !strings.Contains(first.Log(), "index = sqlite with store = s3") {
		t.Errorf("no start-up warning that the index is this machine's own")
	}
	first.Stop()

	// Restarted on the same data_dir, without an upstream: the index is still there.
	second := startStoa(t, up, stoatest.Config{Store: "s3", DataDir: data, Args: s3Args, Env: gw.Env(),
		Upstream: "http://" + stoatest.FreeAddr(t)})
	if !listed(second) {
		t.Errorf("after a restart /index lost the version: %s", get(t, second.URL+"/index"))
	}
	second.Stop()

	// A new machine: `stoa index rebuild` reads the bucket.
	fresh := filepath.Join(t.TempDir(), "fresh")
	res := stoatest.Run(t, time.Minute, gw.Env(), append([]string{"index", "rebuild", "--store", "s3",
		"--data-dir", fresh, "--sumdb", "off"}, s3Args...)...)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "indexed 1 versions") {
		t.Fatalf("stoa index rebuild on s3: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	third := startStoa(t, up, stoatest.Config{Store: "s3", DataDir: fresh, Args: s3Args, Env: gw.Env(),
		Upstream: "http://" + stoatest.FreeAddr(t)})
	if !listed(third) {
		t.Errorf("after index rebuild: /index %s", get(t, third.URL+"/index"))
	}
	if r := get(t, third.URL+"/catalog"); !strings.Contains(string(r.Body), b.Sum) {
		t.Errorf("after index rebuild: /catalog %s, want the version with its hash %s", r, b.Sum)
	}

	// Replicas (a lock) with a per-machine index: refused, naming the way out.
	refused := stoatest.Run(t, 30*time.Second, gw.Env(), append([]string{"serve", "--store", "s3",
		"--listen", stoatest.FreeAddr(t), "--data-dir", filepath.Join(t.TempDir(), "r"),
		"--upstream", up.URL(), "--lock", "redis", "--redis-url", "redis://127.0.0.1:9"}, s3Args...)...)
	if refused.ExitCode == 0 || !strings.Contains(refused.Stderr, "set index = postgres") {
		t.Errorf("s3 + lock + sqlite index: exit %d, stderr %q, want a refusal naming index = postgres",
			refused.ExitCode, refused.Stderr)
	}
}

// `stoa verify` on a bucket (it refused every store but disk): bytes changed behind stoa's back
// are BAD, a missing recorded hash is STALE and `--repair` writes it through the bucket;
// `--quarantine`, which would move objects, is refused with what to do instead.
func TestS3VerifyChecksAndRepairsTheBucket(t *testing.T) {
	t.Parallel()
	gw := s3test.Start(t)
	bucketDir := gw.Bucket(t, "verified")
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/vgood", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	changed := modgen.MustBuild(t, modgen.Module{Path: "example.com/vchanged", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	up := newUpstream(t, good, changed)
	s3Args := []string{"--s3-endpoint", gw.Endpoint, "--s3-bucket", "verified"}
	s := startStoa(t, up, stoatest.Config{Store: "s3", Args: s3Args, Env: gw.Env()})
	if _, stderr, err := goClient(t, s.URL).ModDownload(good.Path+"@"+good.Version, changed.Path+"@"+changed.Version); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	s.Stop()
	// Behind stoa's back: one .mod's bytes change, the other zip's recorded hash goes.
	if err := os.WriteFile(filepath.Join(bucketDir, filepath.FromSlash(changed.Key("mod"))),
		[]byte("module example.com/vchanged // edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(bucketDir, filepath.FromSlash(good.Key("ziphash")))); err != nil {
		t.Fatal(err)
	}
	verify := func(extra ...string) stoatest.Result {
		args := append([]string{"verify", "--store", "s3", "--data-dir", filepath.Join(t.TempDir(), "d"),
			"--sumdb", "off"}, s3Args...)
		return stoatest.Run(t, time.Minute, gw.Env(), append(args, extra...)...)
	}
	r := verify()
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, "BAD example.com/vchanged@v1.0.0 mod: bytes changed") ||
		!strings.Contains(r.Stdout, "STALE example.com/vgood@v1.0.0 zip: no recorded hash") {
		t.Errorf("stoa verify on s3: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if _, ok := dataFile(bucketDir, good.Key("ziphash")); ok {
		t.Errorf("verify without --repair wrote to the bucket")
	}
	r = verify("--repair")
	if !strings.Contains(r.Stdout, "REPAIRED "+good.Key("ziphash")) {
		t.Errorf("stoa verify --repair on s3: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if got, ok := dataFile(bucketDir, good.Key("ziphash")); !ok || string(got) != good.Sum+"\n" {
		t.Errorf("repaired %s = %q (present %v), want %q", good.Key("ziphash"), got, ok, good.Sum+"\n")
	}
	r = verify("--quarantine")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "works on the disk store only") {
		t.Errorf("stoa verify --quarantine on s3: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
}
