package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// filteredModule builds path at each version with one Go file, so that a consumer can import it.
func filteredModule(t *testing.T, path string, versions ...string) []*modgen.Built {
	t.Helper()
	name := path[strings.LastIndex(path, "/")+1:]
	var out []*modgen.Built
	for _, v := range versions {
		out = append(out, modgen.MustBuild(t, modgen.Module{Path: path, Version: v,
			Files: map[string]string{name + ".go": "// Package " + name + " is test data (" + v + ").\npackage " + name + "\n"}}))
	}
	return out
}

// consumer writes a main module requiring path at version and importing its package.
func consumer(t *testing.T, path, version string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/consumer\n\ngo 1.21\n\nrequire "+path+" "+version+"\n")
	writeFile(t, filepath.Join(dir, "main.go"), "package main\n\nimport _ \""+path+"\"\n\nfunc main() {}\n")
	return dir
}

// required reads the version of path that dir's go.mod requires ("" when none).
func required(t *testing.T, dir, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	return ""
}

// Policy filters are where stoa deliberately differs from its upstream (docs/operations.md,
// "Version resolution"): a version a deny rule forbids is absent from list, never the @latest
// answer (stoa answers the newest allowed version itself when the upstream's @latest is
// denied), refused with the rule's reason for its files and for a query resolving to it. So
// `go get m@latest` and `go get -u` land on the newest allowed version, and a pinned denied
// version fails with the reason printed.
func TestDenyRangeGoGetChoosesNewestAllowed(t *testing.T) {
	t.Parallel()
	const path = "example.com/held"
	vs := filteredModule(t, path, "v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0")
	up := newUpstream(t, vs...)
	up.SetFile(path+"/@v/main.info", vs[3].Info) // a branch resolving to a denied version
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "hold-1.2"
modules = "example.com/held"
versions = ">=v1.2.0"
action = "deny"
message = "CVE-2099-7: stay on v1.1 until reviewed"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}})

	if r := get(t, s.URL+"/"+vs[0].ListKey()); r.Status != http.StatusOK || string(r.Body) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("GET list: %d %q, want the allowed versions only", r.Status, r.Body)
	}
	r := get(t, s.URL+"/"+vs[0].LatestKey())
	var info struct{ Version string }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &info) != nil || info.Version != "v1.1.0" {
		t.Errorf("GET @latest (the upstream's is v1.3.0, denied): %d %s, want v1.1.0", r.Status, r.Body)
	}
	if r := get(t, s.URL+"/"+path+"/@v/main.info"); r.Status != http.StatusForbidden ||
		!strings.HasPrefix(string(r.Body), "forbidden: "+path+"@v1.3.0") || !strings.Contains(string(r.Body), `rule "hold-1.2"`) {
		t.Errorf("GET a query resolving to a denied version: %v", r)
	}

	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/latest")
	if _, stderr, err := g.Run(dir, "get", path+"@latest"); err != nil {
		t.Fatalf("go get %s@latest: %v\n%s", path, err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("go get %s@latest chose %q, want v1.1.0 (the newest allowed)", path, v)
	}

	dir = consumer(t, path, "v1.0.0")
	if _, stderr, err := g.Run(dir, "get", "-u", "./..."); err != nil {
		t.Fatalf("go get -u ./...: %v\n%s", err, stderr)
	}
	if v := required(t, dir, path); v != "v1.1.0" {
		t.Errorf("go get -u ./... chose %q, want v1.1.0 (the newest allowed)", v)
	}

	_, stderr, err := g.Run(dir, "get", path+"@v1.3.0")
	if err == nil {
		t.Fatalf("go get %s@v1.3.0 (denied) succeeded", path)
	}
	for _, want := range []string{"403", `denied by rule "hold-1.2"`, "CVE-2099-7: stay on v1.1 until reviewed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("go get of a denied version: output lacks %q:\n%s", want, stderr)
		}
	}
	if n := up.Hits(vs[2].Key("zip")) + up.Hits(vs[3].Key("zip")) + up.Hits(vs[3].Key("mod")); n != 0 {
		t.Errorf("denied versions fetched from upstream: %v", up.HitLog())
	}

	m := string(get(t, s.URL+"/metrics").Body)
	if !strings.Contains(m, `stoa_versions_filtered_total{rule="hold-1.2",reason="deny",answer="list"}`) ||
		!strings.Contains(m, `stoa_versions_filtered_total{rule="hold-1.2",reason="deny",answer="latest"}`) ||
		!strings.Contains(m, `stoa_versions_filtered_total{rule="hold-1.2",reason="deny",answer="query"}`) ||
		!strings.Contains(m, `stoa_versions_filtered_total{rule="hold-1.2",reason="deny",answer="file"}`) {
		t.Errorf("filter metrics missing:\n%s", grepLines(m, "stoa_versions_filtered"))
	}
	for _, want := range []string{`v1.3.0 (rule "hold-1.2")`, `refused example.com/held@v1.3.0: denied by rule "hold-1.2"`} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("no log line %q:\n%s", want, s.Log())
		}
	}
}

// A module whose every version is denied: nothing listed, @latest refused with the reason,
// and the go command fails with it instead of choosing anything.
func TestEveryVersionDenied(t *testing.T) {
	t.Parallel()
	const path = "example.com/banned"
	vs := filteredModule(t, path, "v1.0.0", "v1.1.0")
	up := newUpstream(t, vs...)
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "ban"
modules = "example.com/banned"
versions = "<v2.0.0"
action = "deny"
message = "withdrawn by security review"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}})
	if r := get(t, s.URL+"/"+vs[0].ListKey()); r.Status != http.StatusOK || len(r.Body) != 0 {
		t.Errorf("GET list: %d %q, want an empty list", r.Status, r.Body)
	}
	if r := get(t, s.URL+"/"+vs[0].LatestKey()); r.Status != http.StatusForbidden ||
		!strings.Contains(string(r.Body), "withdrawn by security review") {
		t.Errorf("GET @latest: %v, want 403 with the reason", r)
	}
	g := goClient(t, s.URL)
	dir := g.InitModule("example.com/none")
	_, stderr, err := g.Run(dir, "get", path+"@latest")
	if err == nil {
		t.Fatalf("go get %s@latest succeeded; every version is denied", path)
	}
	if !strings.Contains(stderr, "withdrawn by security review") {
		t.Errorf("go get %s@latest: the reason is not printed:\n%s", path, stderr)
	}
	if v := required(t, dir, path); v != "" {
		t.Errorf("go.mod requires %s %s", path, v)
	}
}

// A rule added by a reload hides a version that was served and stored before it: list and
// @latest answers cached before the reload, /index and /catalog no longer show it.
func TestDenyRuleReloadHidesCachedVersion(t *testing.T) {
	t.Parallel()
	const path = "example.com/recalled"
	vs := filteredModule(t, path, "v1.0.0", "v1.1.0")
	up := newUpstream(t, vs...)
	rulesPath := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), "# no rules yet\n")
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rulesPath, "--rules-check-interval", "0", "--list-ttl", "1h"}})
	g := goClient(t, s.URL)
	if _, msg, err := g.ModDownload(path+"@v1.0.0", path+"@v1.1.0"); err != nil {
		t.Fatalf("warming: %v\n%s", err, msg)
	}
	if r := get(t, s.URL+"/"+vs[0].ListKey()); string(r.Body) != "v1.0.0\nv1.1.0\n" {
		t.Fatalf("list before the rule: %q", r.Body)
	}
	if r := get(t, s.URL+"/"+vs[0].LatestKey()); !strings.Contains(string(r.Body), "v1.1.0") {
		t.Fatalf("@latest before the rule: %s", r.Body)
	}
	if !strings.Contains(string(get(t, s.URL+"/index").Body), `"Version":"v1.1.0"`) {
		t.Fatalf("/index before the rule lacks v1.1.0")
	}

	writeFile(t, rulesPath, "[[rule]]\nname = \"recall\"\nmodules = \""+path+"\"\nversions = \"=v1.1.0\"\naction = \"deny\"\nmessage = \"recalled\"\n")
	s.Signal(syscall.SIGHUP)
	waitLog(t, s, "policy reloaded: 1 rule(s)")
	if r := get(t, s.URL+"/"+vs[0].ListKey()); string(r.Body) != "v1.0.0\n" {
		t.Errorf("list after the rule: %q", r.Body)
	}
	if r := get(t, s.URL+"/"+vs[0].LatestKey()); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"v1.0.0"`) {
		t.Errorf("@latest after the rule: %v", r)
	}
	for _, p := range []string{"/index", "/catalog"} {
		r := get(t, s.URL+p)
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), "v1.1.0") || !strings.Contains(string(r.Body), "v1.0.0") {
			t.Errorf("GET %s after the rule: %d %s", p, r.Status, r.Body)
		}
	}
	if r := get(t, s.URL+"/"+vs[1].Key("zip")); r.Status != http.StatusForbidden || !strings.HasPrefix(string(r.Body), "forbidden: "+path+"@v1.1.0") {
		t.Errorf("GET the stored zip of the recalled version: %v", r)
	}
	out, stderr, err := g.Run("", "list", "-m", "-versions", path)
	if err != nil || strings.TrimSpace(out) != path+" v1.0.0" {
		t.Errorf("go list -m -versions: %q %v\n%s", out, err, stderr)
	}
}
