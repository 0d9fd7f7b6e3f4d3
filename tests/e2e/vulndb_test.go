package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// osvEntry is the part of an OSV entry a test database fills in.
type osvEntry struct {
	ID       string        `json:"id"`
	Modified string        `json:"modified"`
	Summary  string        `json:"summary,omitempty"`
	Affected []osvAffected `json:"affected"`
	// govulncheck prints database_specific.url, and crashes without it (v1.9.0).
	DatabaseSpecific struct {
		URL string `json:"url"`
	} `json:"database_specific"`
}

type osvAffected struct {
	Package           osvPackage    `json:"package"`
	Ranges            []osvRange    `json:"ranges"`
	EcosystemSpecific *osvEcosystem `json:"ecosystem_specific,omitempty"`
}

type osvPackage struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

type osvRange struct {
	Type   string              `json:"type"`
	Events []map[string]string `json:"events"`
}

type osvEcosystem struct {
	Imports []osvImport `json:"imports"`
}

type osvImport struct {
	Path    string   `json:"path"`
	Symbols []string `json:"symbols,omitempty"`
}

// writeVulnDB writes a database in its published layout (index/db.json, index/modules.json,
// index/vulns.json, ID/<id>.json) holding the raw entries given, with indexes derived from
// them as the database's own tooling derives them. It returns the directory.
func writeVulnDB(t *testing.T, dir string, entries map[string][]byte) string {
	t.Helper()
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	type moduleVuln struct {
		ID       string `json:"id"`
		Modified string `json:"modified"`
		Fixed    string `json:"fixed,omitempty"`
	}
	type moduleMeta struct {
		Path  string       `json:"path"`
		Vulns []moduleVuln `json:"vulns"`
	}
	type vulnMeta struct {
		ID       string   `json:"id"`
		Modified string   `json:"modified"`
		Aliases  []string `json:"aliases"`
	}
	modules := map[string]*moduleMeta{}
	var vulns []vulnMeta
	var newest time.Time
	ids := make([]string, 0, len(entries))
	for id := range entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		raw := entries[id]
		var e struct {
			ID       string   `json:"id"`
			Modified string   `json:"modified"`
			Aliases  []string `json:"aliases"`
			Affected []struct {
				Package osvPackage `json:"package"`
				Ranges  []osvRange `json:"ranges"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("entry %s: %v", id, err)
		}
		mod, err := time.Parse(time.RFC3339, e.Modified)
		if err != nil {
			t.Fatalf("entry %s: %v", id, err)
		}
		if mod.After(newest) {
			newest = mod
		}
		if e.Aliases == nil {
			e.Aliases = []string{}
		}
		vulns = append(vulns, vulnMeta{e.ID, e.Modified, e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			fixed := ""
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if f, ok := ev["fixed"]; ok {
						fixed = f
					}
				}
			}
			m.Vulns = append(m.Vulns, moduleVuln{e.ID, e.Modified, fixed})
		}
		writeFile(t, filepath.Join(dir, "ID", id+".json"), string(raw))
	}
	paths := make([]string, 0, len(modules))
	for p := range modules {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var mods []*moduleMeta
	for _, p := range paths {
		mods = append(mods, modules[p])
	}
	mustJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	writeFile(t, filepath.Join(dir, "index", "db.json"), mustJSON(map[string]string{"modified": newest.UTC().Format(time.RFC3339)}))
	writeFile(t, filepath.Join(dir, "index", "modules.json"), mustJSON(mods))
	writeFile(t, filepath.Join(dir, "index", "vulns.json"), mustJSON(vulns))
	return dir
}

// mustLog waits (up to a minute: the machine may be loaded) until stoa has logged text.
func mustLog(t *testing.T, s *stoatest.Stoa, text string) {
	t.Helper()
	if !strings.Contains(s.WaitLog(text, 1, time.Minute), text) {
		t.Fatalf("stoa never logged %q", text)
	}
}

func govulncheckBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("STOA_GOVULNCHECK"); p != "" {
		return p
	}
	p, err := exec.LookPath("govulncheck")
	if err != nil {
		t.Fatal("govulncheck not found: run scripts/install-deps.sh test (or set STOA_GOVULNCHECK)")
	}
	return p
}

func gunzipBody(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("gzip: %v", err)
	}
	return out
}

// The real govulncheck, pointed at stoa's /vulndb/ and nothing else (GOPROXY=off, no other
// database), finds a vulnerability planted in a test module: the database is imported with
// `stoa vulndb import` into a running stoa, which picks the new snapshot up without a
// restart, and serves its documents byte for byte (.json as imported, .json.gz of the same).
func TestGovulncheckAgainstImportedDatabase(t *testing.T) {
	t.Parallel()
	const path = "example.com/vulnlib"
	const id = "GO-2099-0001"
	src := func(v string) map[string]string {
		return map[string]string{"vulnlib.go": "// Package vulnlib is test data (" + v + ").\npackage vulnlib\n\n// Parse is vulnerable before v1.1.0.\nfunc Parse(s string) int { return len(s) }\n"}
	}
	vs := []*modgen.Built{
		modgen.MustBuild(t, modgen.Module{Path: path, Version: "v1.0.0", Files: src("v1.0.0")}),
		modgen.MustBuild(t, modgen.Module{Path: path, Version: "v1.1.0", Files: src("v1.1.0")}),
	}
	up := newUpstream(t, vs...)
	vulndbDir := filepath.Join(t.TempDir(), "vulndb")
	s := startStoa(t, up, stoatest.Config{Args: []string{"--vulndb-dir", vulndbDir, "--rules-check-interval", "50ms"}})

	if r := get(t, s.URL+"/vulndb/index/db.json.gz"); r.Status != http.StatusNotFound {
		t.Errorf("GET /vulndb/index/db.json.gz with no database: %v, want 404", r)
	}

	e := osvEntry{
		ID: id, Modified: "2099-01-02T03:04:05Z", Summary: "Planted vulnerability in vulnlib.Parse",
		Affected: []osvAffected{{
			Package:           osvPackage{Name: path, Ecosystem: "Go"},
			Ranges:            []osvRange{{Type: "SEMVER", Events: []map[string]string{{"introduced": "0"}, {"fixed": "1.1.0"}}}},
			EcosystemSpecific: &osvEcosystem{Imports: []osvImport{{Path: path, Symbols: []string{"Parse"}}}},
		}},
	}
	e.DatabaseSpecific.URL = "https://vulns.example/" + id
	entry, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	db := writeVulnDB(t, filepath.Join(t.TempDir(), "db"), map[string][]byte{id: entry})
	if r := stoatest.Run(t, time.Minute, nil, "vulndb", "import", db, "--vulndb-dir", vulndbDir); r.ExitCode != 0 {
		t.Fatalf("stoa vulndb import: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	mustLog(t, s, "vulndb: serving 1 entries")

	for _, doc := range []string{"index/db", "index/modules", "index/vulns", "ID/" + id} {
		want, err := os.ReadFile(filepath.Join(db, doc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r := get(t, s.URL+"/vulndb/"+doc+".json")
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
			t.Errorf("GET /vulndb/%s.json: %d %q, want the imported bytes %q", doc, r.Status, r.Body, want)
		}
		r = get(t, s.URL+"/vulndb/"+doc+".json.gz")
		if r.Status != http.StatusOK || !bytes.Equal(gunzipBody(t, r.Body), want) {
			t.Errorf("GET /vulndb/%s.json.gz: %d, not the imported bytes", doc, r.Status)
		}
	}

	// A consumer of the vulnerable version, its modules fetched through stoa.
	g := goClient(t, s.URL)
	dir := consumer(t, path, "v1.0.0")
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nimport \"example.com/vulnlib\"\n\nfunc main() { println(vulnlib.Parse(\"x\")) }\n")
	if _, stderr, err := g.Run(dir, "mod", "tidy"); err != nil {
		t.Fatalf("go mod tidy: %v\n%s", err, stderr)
	}

	// Offline: no module proxy, the database only at stoa.
	cmd := exec.Command(govulncheckBin(t), "-db", s.URL+"/vulndb", "./...")
	cmd.Dir = dir
	cmd.Env = append(g.With("GOPROXY=off", "GOFLAGS=-mod=mod").Env, "GOVULNDB=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("govulncheck: %v (want exit 3: vulnerabilities found)\n%s", err, out.String())
	}
	for _, want := range []string{id, "Planted vulnerability in vulnlib.Parse", "example.com/vulnlib@v1.0.0", "Fixed in: example.com/vulnlib@v1.1.0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("govulncheck output lacks %q:\n%s", want, out.String())
		}
	}

	// A hostile database is refused by the import and nothing under /vulndb/ changes.
	before := get(t, s.URL+"/vulndb/index/modules.json").Body
	bad := writeVulnDB(t, filepath.Join(t.TempDir(), "bad"), map[string][]byte{
		id: []byte(`{"id":"../../` + id + `","modified":"2099-02-01T00:00:00Z"}`),
	})
	r := stoatest.Run(t, time.Minute, nil, "vulndb", "import", bad, "--vulndb-dir", vulndbDir)
	if r.ExitCode != 1 || !strings.Contains(r.Stderr, "refused, the database served is unchanged") || !strings.Contains(r.Stderr, "invalid id") {
		t.Errorf("import of an entry with a path as its id: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if after := get(t, s.URL+"/vulndb/index/modules.json").Body; !bytes.Equal(after, before) {
		t.Errorf("/vulndb/ changed after a refused import: %q -> %q", before, after)
	}
}

// The golang.org/x/vulndb module carries the real database's OSV entries (data/osv). Built into
// a database in the published layout and imported, every document comes back from /vulndb/
// byte for byte in both forms, and govulncheck reads the database (its db.json time).
func TestRealVulnerabilityDatabaseServedByteForByte(t *testing.T) {
	t.Parallel()
	const vulndbModule = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"
	// The module comes from the module cache only: scripts/install-deps.sh (test) downloads it
	// there, the test stays on loopback.
	dl := exec.Command(gocmd.Bin(t), "mod", "download", "-json", vulndbModule)
	dl.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOPROXY=off")
	dl.Dir = t.TempDir()
	out, err := dl.Output()
	if err != nil {
		t.Fatalf("go mod download %s (run scripts/install-deps.sh test): %v\n%s", vulndbModule, err, out)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v\n%s", vulndbModule, err, out)
	}
	osvFiles, err := filepath.Glob(filepath.Join(mod.Dir, "data", "osv", "*.json"))
	if err != nil || len(osvFiles) < 1000 {
		t.Fatalf("%s: %d OSV files in data/osv (%v)", vulndbModule, len(osvFiles), err)
	}
	entries := map[string][]byte{}
	for _, f := range osvFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		entries[strings.TrimSuffix(filepath.Base(f), ".json")] = b
	}
	db := writeVulnDB(t, filepath.Join(t.TempDir(), "db"), entries)
	vulndbDir := filepath.Join(t.TempDir(), "vulndb")
	if r := stoatest.Run(t, 5*time.Minute, nil, "vulndb", "import", db, "--vulndb-dir", vulndbDir); r.ExitCode != 0 {
		t.Fatalf("stoa vulndb import of the real database: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--vulndb-dir", vulndbDir, "--access-log=false"}})

	docs := []string{"index/db", "index/modules", "index/vulns"}
	for id := range entries {
		docs = append(docs, "ID/"+id)
	}
	for _, doc := range docs {
		want, err := os.ReadFile(filepath.Join(db, doc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r := get(t, s.URL+"/vulndb/"+doc+".json.gz")
		if r.Status != http.StatusOK || !bytes.Equal(gunzipBody(t, r.Body), want) {
			t.Fatalf("GET /vulndb/%s.json.gz: %d, not the bytes of the database", doc, r.Status)
		}
		if r := get(t, s.URL+"/vulndb/"+doc+".json"); r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
			t.Fatalf("GET /vulndb/%s.json: %d, not the bytes of the database", doc, r.Status)
		}
	}

	var meta struct{ Modified time.Time }
	b, _ := os.ReadFile(filepath.Join(db, "index", "db.json"))
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(govulncheckBin(t), "-db", s.URL+"/vulndb", "-version")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOPROXY=off")
	vout, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(vout), "DB updated: "+meta.Modified.Format("2006-01-02")) {
		t.Errorf("govulncheck -version against stoa's database: %v, want the db.json date %s\n%s", err, meta.Modified.Format("2006-01-02"), vout)
	}
}

// vulnSource serves a database in its published layout (.json.gz only, with strong ETags, as
// the database's own server does), counting requests by path; its content can be replaced.
type vulnSource struct {
	mu     sync.Mutex
	files  map[string][]byte // "index/db.json.gz" -> gzip bytes
	hits   map[string]int
	notMod int
	srv    *httptest.Server
}

func newVulnSource(t *testing.T) *vulnSource {
	t.Helper()
	s := &vulnSource{hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		s.mu.Lock()
		b, ok := s.files[name]
		s.hits[name]++
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(b)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			s.mu.Lock()
			s.notMod++
			s.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(b)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// set serves the database in dir (as writeVulnDB writes it), gzipped.
func (s *vulnSource) set(t *testing.T, dir string) {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)+".gz"] = buf.Bytes()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.files = files
	s.mu.Unlock()
}

func (s *vulnSource) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[name]
}

func vulnEntry(t *testing.T, id, modified, module, fixed string) []byte {
	t.Helper()
	e := osvEntry{ID: id, Modified: modified, Summary: "test " + id, Affected: []osvAffected{{
		Package: osvPackage{Name: module, Ecosystem: "Go"},
		Ranges:  []osvRange{{Type: "SEMVER", Events: []map[string]string{{"introduced": "0"}, {"fixed": fixed}}}},
	}}}
	e.DatabaseSpecific.URL = "https://vulns.example/" + id
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The periodic sync from vulndb_source: the first sync takes the whole database; a newer one
// is taken with only its changed entries fetched; an unchanged source costs one conditional
// GET (304); a hostile database at the source is refused and /vulndb/ keeps serving the last
// good one.
func TestVulndbSyncFromSource(t *testing.T) {
	t.Parallel()
	src := newVulnSource(t)
	one := vulnEntry(t, "GO-2099-0001", "2099-01-01T00:00:00Z", "example.com/a", "1.1.0")
	src.set(t, writeVulnDB(t, filepath.Join(t.TempDir(), "v1"), map[string][]byte{"GO-2099-0001": one}))
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{Args: []string{
		"--vulndb-dir", filepath.Join(t.TempDir(), "vulndb"), "--vulndb-source", src.srv.URL + "/",
		"--vulndb-sync-interval", "100ms", "--rules-check-interval", "50ms", "--log-level", "debug"}})
	mustLog(t, s, "vulndb: synced from "+src.srv.URL+": 1 entries, 1 fetched")
	if r := get(t, s.URL+"/vulndb/ID/GO-2099-0001.json"); r.Status != http.StatusOK || !bytes.Equal(r.Body, one) {
		t.Fatalf("after the first sync: %v", r)
	}
	mustLog(t, s, "vulndb: sync from "+src.srv.URL+": index/db.json not modified")
	src.mu.Lock()
	if src.notMod == 0 {
		t.Errorf("no conditional GET answered 304")
	}
	src.mu.Unlock()

	two := vulnEntry(t, "GO-2099-0002", "2099-02-01T00:00:00Z", "example.com/b", "2.0.0")
	src.set(t, writeVulnDB(t, filepath.Join(t.TempDir(), "v2"), map[string][]byte{"GO-2099-0001": one, "GO-2099-0002": two}))
	mustLog(t, s, "vulndb: synced from "+src.srv.URL+": 2 entries, 1 fetched")
	if r := get(t, s.URL+"/vulndb/ID/GO-2099-0002.json"); r.Status != http.StatusOK || !bytes.Equal(r.Body, two) {
		t.Fatalf("after the second sync: %v", r)
	}
	if n := src.count("ID/GO-2099-0001.json.gz"); n != 1 {
		t.Errorf("an unchanged entry was fetched %d times, want once", n)
	}

	before := get(t, s.URL+"/vulndb/index/modules.json").Body
	bad := writeVulnDB(t, filepath.Join(t.TempDir(), "v3"), map[string][]byte{
		"GO-2099-0001": one, "GO-2099-0002": two,
		"GO-2099-0003": vulnEntry(t, "GO-2099-0003", "2099-03-01T00:00:00Z", "example.com/c", "1.0.0"),
	})
	writeFile(t, filepath.Join(bad, "ID", "GO-2099-0003.json"), `{"id":"GO-2099-0003","modified":"2099-03-01T00:00:00Z","affected":[{"package":{"name":"example.com/c","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"fixed":"not-a-version"}]}]}]}`)
	src.set(t, bad)
	mustLog(t, s, "vulndb: sync from "+src.srv.URL+" failed; keeping the database served: refused: ")
	if after := get(t, s.URL+"/vulndb/index/modules.json").Body; !bytes.Equal(after, before) {
		t.Errorf("/vulndb/ changed after a refused sync")
	}
	if r := get(t, s.URL+"/vulndb/ID/GO-2099-0003.json"); r.Status != http.StatusNotFound {
		t.Errorf("an entry of a refused database is served: %v", r)
	}
}

// A rule `vulnerable = "deny"` hides the versions a known vulnerability of the mirrored
// database affects: `go get -u` lands on the version that fixes it (not on a newer vulnerable
// one), and a pinned vulnerable version is refused with 403 naming the id and the fix.
func TestVulnerableDenyLandsOnFixedVersion(t *testing.T) {
	t.Parallel()
	const path = "example.com/vulnerable"
	const id = "GO-2099-0042"
	vs := filteredModule(t, path, "v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0")
	up := newUpstream(t, vs...)
	e := osvEntry{ID: id, Modified: "2099-01-01T00:00:00Z", Summary: "planted", Affected: []osvAffected{{
		Package: osvPackage{Name: path, Ecosystem: "Go"},
		Ranges: []osvRange{{Type: "SEMVER", Events: []map[string]string{
			{"introduced": "1.1.0"}, {"fixed": "1.2.0"}, {"introduced": "1.3.0"}}}},
	}}}
	e.DatabaseSpecific.URL = "https://vulns.example/" + id
	entry, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	vulndbDir := filepath.Join(t.TempDir(), "vulndb")
	db := writeVulnDB(t, filepath.Join(t.TempDir(), "db"), map[string][]byte{id: entry})
	if r := stoatest.Run(t, time.Minute, nil, "vulndb", "import", db, "--vulndb-dir", vulndbDir); r.ExitCode != 0 {
		t.Fatalf("stoa vulndb import: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "no-known-vulns"
modules = "example.com/*"
vulnerable = "deny"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules, "--vulndb-dir", vulndbDir}})

	if r := get(t, s.URL+"/"+vs[0].ListKey()); r.Status != http.StatusOK || string(r.Body) != "v1.0.0\nv1.2.0\n" {
		t.Errorf("GET list: %d %q, want the versions no vulnerability affects", r.Status, r.Body)
	}
	g := goClient(t, s.URL)
	dir := consumer(t, path, "v1.0.0")
	if _, stderr, err := g.Run(dir, "get", "-u", "./..."); err != nil {
		t.Fatalf("go get -u ./...: %v\n%s", err, stderr)
	}
	if v := required(t, dir, path); v != "v1.2.0" {
		t.Errorf("go get -u ./... chose %q, want v1.2.0 (the fix; v1.3.0 is vulnerable again)", v)
	}
	_, stderr, err := g.Run(dir, "get", path+"@v1.1.0")
	if err == nil {
		t.Fatalf("go get %s@v1.1.0 (vulnerable) succeeded", path)
	}
	for _, want := range []string{"403", id + " (fixed in v1.2.0)", `rule "no-known-vulns"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("go get of a vulnerable version: output lacks %q:\n%s", want, stderr)
		}
	}
	m := string(get(t, s.URL+"/metrics").Body)
	for _, answer := range []string{"list", "file"} {
		if !strings.Contains(m, `stoa_versions_filtered_total{rule="no-known-vulns",reason="vulnerable",answer="`+answer+`"}`) {
			t.Errorf("no filter metric for answer %q:\n%s", answer, grepLines(m, "stoa_versions_filtered"))
		}
	}

	// stoa rules test explains the same decisions from the same database.
	for _, c := range []struct {
		version string
		exit    int
		want    []string
	}{
		{"v1.1.0", 1, []string{`vulnerability rule: "no-known-vulns" (vulnerable = deny)`,
			"known vulnerabilities (1 entries in the database): " + id + " (fixed in v1.2.0)",
			"decision: denied", "reason: affected by " + id + ` (fixed in v1.2.0); refused by rule "no-known-vulns"`}},
		{"v1.3.0", 1, []string{id + " (no fixed version)", "decision: denied"}},
		{"v1.2.0", 0, []string{"known vulnerabilities (1 entries in the database): none", "decision: allowed"}},
	} {
		r := stoatest.Run(t, 30*time.Second, nil, "rules", "test", "--rules-file", rules, "--vulndb-dir", vulndbDir, path+"@"+c.version)
		if r.ExitCode != c.exit {
			t.Errorf("stoa rules test %s@%s: exit %d, want %d\n%s%s", path, c.version, r.ExitCode, c.exit, r.Stdout, r.Stderr)
		}
		for _, want := range c.want {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("stoa rules test %s@%s: output lacks %q:\n%s", path, c.version, want, r.Stdout)
			}
		}
	}
	waived := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "waived"
modules = "example.com/*"
vulnerable = "deny"
allow = ["`+id+`"]
`)
	r := stoatest.Run(t, 30*time.Second, nil, "rules", "test", "--rules-file", waived, "--vulndb-dir", vulndbDir, path+"@v1.1.0")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "waived by allow: "+id) || !strings.Contains(r.Stdout, "decision: allowed") {
		t.Errorf("stoa rules test with %s waived: exit %d, want 0 naming the waiver:\n%s%s", id, r.ExitCode, r.Stdout, r.Stderr)
	}
}
