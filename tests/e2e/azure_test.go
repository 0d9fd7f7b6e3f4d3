package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/azuretest"
	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// store = "azure" on a real Blob service (Azurite), configured the way Azure tools are, by
// AZURE_STORAGE_CONNECTION_STRING: the go command downloads modules through stoa, the container
// holds them as a GOPROXY tree under the prefix (a zip over the block size through Put Block and
// Put Block List, verified against a checksum database), and a restarted stoa with an empty
// data_dir and a dead upstream serves them from the container alone. No secret reaches the log.
func TestAzureStoreServesAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	az := azuretest.Start(t)
	az.Container(t, "goproxy")
	mods := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/mod", Version: "v1.0.0",
			Files: map[string]string{"mod.go": "package mod\n"}}),
		// Incompressible 3 MiB: over the 1 MiB block size, so four blocks; over 1 MiB, so read
		// back through a spooled file.
		modgen.MustBuild(t, modgen.Module{Path: "example.com/Azure/mod", Version: "v1.1.0-RC.1",
			Files: randomFiles(11, 3<<20)}),
	}
	up := newUpstream(t, mods...)
	db := sumdbtest.New(t, sumdbName)
	db.Add(mods...)
	args := []string{"--azure-container", "goproxy", "--azure-prefix", "cache", "--azure-block-size", "1048576"}
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.ConnectionString()}
	want := []string{"example.com/Azure/mod@v1.0.0", "example.com/Azure/mod@v1.1.0-RC.1"}
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

	first := startStoa(t, up, stoatest.Config{Store: "azure", Args: args, Env: env, Sumdb: db.GOSUMDB()})
	download(first)
	for _, b := range mods {
		for ext, want := range map[string][]byte{"mod": b.Mod, "zip": b.Zip,
			"ziphash": []byte(b.Sum + "\n"), "modhash": []byte(b.ModSum + "\n")} {
			if got, ok := az.Get(t, "goproxy/cache/"+b.Key(ext)); !ok || string(got) != string(want) {
				t.Errorf("the container's %s: present %v, %d bytes, want %d", b.Key(ext), ok, len(got), len(want))
			}
		}
		if n := up.Hits(b.Key("zip")); n != 1 {
			t.Errorf("upstream hits for %s = %d, want 1", b.Key("zip"), n)
		}
	}
	if _, ok := az.Get(t, "goproxy/cache/sumdb/"+sumdbName+lookupPath(mods[0])); !ok {
		t.Errorf("the container has no verified lookup of %s", mods[0].Key("zip"))
	}
	if list, ok := az.Get(t, "goproxy/cache/example.com/!azure/mod/@v/list"); !ok ||
		string(list) != "v1.0.0\nv1.1.0-RC.1\n" {
		t.Errorf("the container's list = %q (present %v)", list, ok)
	}
	first.Stop()
	if strings.Contains(first.Log(), azuretest.Key) {
		t.Errorf("stoa's log contains the account key")
	}
	if !strings.Contains(first.Log(), "index = sqlite with store = azure") {
		t.Errorf("no start-up warning that the index is this machine's own")
	}

	// A new process, a new data_dir, no upstream: everything comes from the container.
	second := startStoa(t, up, stoatest.Config{Store: "azure", Upstream: "http://" + stoatest.FreeAddr(t),
		Args: args, Env: env})
	download(second)
	r := get(t, second.URL+"/"+mods[1].Key("zip"), "Range: bytes=10-19")
	if r.Status != 206 || string(r.Body) != string(mods[1].Zip[10:20]) {
		t.Errorf("range of a stored zip: %s", r)
	}
	if n := get(t, second.URL+"/example.com/!azure/mod/@v/v9.9.9.info"); n.Status != 404 && n.Status != 410 && n.Status != 502 {
		t.Errorf("a version in neither the container nor the (dead) upstream: %s", n)
	}
}

// `stoa index rebuild` and `stoa verify` on a container: the index is filled from the
// container's listing; bytes changed behind stoa's back are BAD, a missing recorded hash is
// STALE and `--repair` writes it through the Blob service.
func TestAzureIndexRebuildAndVerify(t *testing.T) {
	t.Parallel()
	az := azuretest.Start(t)
	az.Container(t, "verified")
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/azgood", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	changed := modgen.MustBuild(t, modgen.Module{Path: "example.com/azchanged", Version: "v1.0.0",
		Files: map[string]string{"x.go": "package x\n"}})
	up := newUpstream(t, good, changed)
	// The account and key the Azure CLI way: AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY.
	env := []string{"AZURE_STORAGE_ACCOUNT=" + azuretest.Account, "AZURE_STORAGE_KEY=" + azuretest.Key}
	args := []string{"--azure-endpoint", az.Endpoint, "--azure-container", "verified"}
	s := startStoa(t, up, stoatest.Config{Store: "azure", Args: args, Env: env})
	if _, stderr, err := goClient(t, s.URL).ModDownload(good.Path+"@"+good.Version, changed.Path+"@"+changed.Version); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, stderr)
	}
	s.Stop()

	fresh := t.TempDir()
	res := stoatest.Run(t, time.Minute, env, append([]string{"index", "rebuild", "--store", "azure",
		"--data-dir", fresh, "--sumdb", "off"}, args...)...)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "indexed 2 versions") {
		t.Fatalf("stoa index rebuild on azure: exit %d\n%s%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	third := startStoa(t, up, stoatest.Config{Store: "azure", DataDir: fresh, Args: args, Env: env,
		Upstream: "http://" + stoatest.FreeAddr(t)})
	if r := get(t, third.URL+"/index"); !strings.Contains(string(r.Body), `"Path":"example.com/azgood","Version":"v1.0.0"`) {
		t.Errorf("after index rebuild: /index %s", r)
	}
	third.Stop()

	// Behind stoa's back: one .mod's bytes change, the other zip's recorded hash goes.
	az.Put(t, "verified/"+changed.Key("mod"), []byte("module example.com/azchanged // edited\n"))
	az.Delete(t, "verified/"+good.Key("ziphash"))
	verify := func(extra ...string) stoatest.Result {
		args := append([]string{"verify", "--store", "azure", "--data-dir", t.TempDir(), "--sumdb", "off"}, args...)
		return stoatest.Run(t, time.Minute, env, append(args, extra...)...)
	}
	r := verify()
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, "BAD example.com/azchanged@v1.0.0 mod: bytes changed") ||
		!strings.Contains(r.Stdout, "STALE example.com/azgood@v1.0.0 zip: no recorded hash") {
		t.Errorf("stoa verify on azure: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if _, ok := az.Get(t, "verified/"+good.Key("ziphash")); ok {
		t.Errorf("verify without --repair wrote to the container")
	}
	r = verify("--repair")
	if !strings.Contains(r.Stdout, "REPAIRED "+good.Key("ziphash")) {
		t.Errorf("stoa verify --repair on azure: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if got, ok := az.Get(t, "verified/"+good.Key("ziphash")); !ok || string(got) != good.Sum+"\n" {
		t.Errorf("repaired %s = %q (present %v), want %q", good.Key("ziphash"), got, ok, good.Sum+"\n")
	}
}
