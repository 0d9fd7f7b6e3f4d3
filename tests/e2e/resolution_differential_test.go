package e2e

// The go command is the judge of version resolution (#20): the same go commands run through a
// chain ending in stoa and through that chain without it must pick the same versions and leave
// the same go.mod and go.sum. Chains: the upstream directly against stoa in front of it, stoa
// against stoa behind it (federation), goproxy (another module proxy) against stoa in front of
// goproxy. Each upstream behaviour (a proxy with and without @latest, lists with and without
// pseudo-versions and a time column, direct through real git) is a row; each command is a
// column. Every target gets a fresh module cache per command.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/goproxytest"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
	"stoa.test/internal/vcstest"
)

// resolutionModules is what a client imports and asks for (the rows of one upstream together:
// each row's modules have a path of their own, so the go command resolves them independently).
type resolutionModules struct {
	imports  []string          // module paths whose root package the client imports
	queried  []string          // module paths asked @latest, @upgrade and @patch one by one
	start    map[string]string // module path -> the version go.mod requires at first
	branches []string          // "module@branch", queries
	tools    []string          // "module/cmd@latest" for go install, one command each
	patch    []string          // the modules asked @patch (those with a tagged start version)
}

// add appends the modules of another row.
func (m *resolutionModules) add(o resolutionModules) {
	m.imports = append(m.imports, o.imports...)
	m.queried = append(m.queried, o.queried...)
	if m.start == nil {
		m.start = map[string]string{}
	}
	for p, v := range o.start {
		m.start[p] = v
	}
	m.branches = append(m.branches, o.branches...)
	m.tools = append(m.tools, o.tools...)
	m.patch = append(m.patch, o.patch...)
}

// The proxy rows' modules, under a base path per row (resBase for a test of one row).
const (
	resBase       = "example.com/res"
	resLib        = "lib"        // tags, a pre-release above them, a branch
	resRetracted  = "retracted"  // the newest tag retracts itself
	resDeprecated = "deprecated" // the newest go.mod says Deprecated
	resPseudo     = "pseudo"     // only pseudo-versions
	resIncompat   = "incompat"   // no go.mod; newest tag v2.0.0+incompatible
	resTool       = "tool"       // a command
	resLoose      = "loose"      // its list names v1.3, a valid but not canonical version
)

// resolutionFixture is every version the fake upstream serves for one row, and the extra
// lines of the lists that name pseudo-versions.
type resolutionFixture struct {
	base      string // the module paths are base + "/" + resLib etc.
	built     []*modgen.Built
	byMod     map[string][]*modgen.Built
	lists     map[string][]string // module -> list lines (pseudo-versions included, each with a time)
	libMain   *modgen.Built       // what lib@main resolves to
	looseInfo []byte              // the answer to loose's "v1.3" query
}

func buildResolutionFixture(t *testing.T, base string) *resolutionFixture {
	t.Helper()
	f := &resolutionFixture{base: base, byMod: map[string][]*modgen.Built{}, lists: map[string][]string{}}
	add := func(m modgen.Module, listTime string) *modgen.Built {
		m.Path = base + "/" + m.Path
		if m.Files == nil {
			pkg := filepath.Base(m.Path)
			m.Files = map[string]string{pkg + ".go": fmt.Sprintf("package %s\n\nconst V = %q\n", pkg, m.Version)}
		}
		if m.GoMod == "" && !m.NoGoMod {
			m.GoMod = "module " + m.Path + "\n\ngo 1.21\n"
		}
		b := modgen.MustBuild(t, m)
		f.built = append(f.built, b)
		f.byMod[m.Path] = append(f.byMod[m.Path], b)
		if listTime == "" {
			listTime = b.Time.UTC().Format(time.RFC3339)
		}
		f.lists[m.Path] = append(f.lists[m.Path], b.Version+" "+listTime)
		return b
	}
	day := func(d int) time.Time { return time.Date(2024, 1, d, 0, 0, 0, 0, time.UTC) }
	for i, v := range []string{"v1.0.0", "v1.0.1", "v1.1.0", "v1.2.0-rc.1"} {
		add(modgen.Module{Path: resLib, Version: v, Time: day(1 + i)}, "")
	}
	f.libMain = add(modgen.Module{Path: resLib, Version: "v1.1.1-0.20240601000000-cccccccccccc"}, "")
	for i, v := range []string{"v1.0.0", "v1.1.0"} {
		add(modgen.Module{Path: resRetracted, Version: v, Time: day(1 + i)}, "")
	}
	add(modgen.Module{Path: resRetracted, Version: "v1.2.0", Time: day(3),
		GoMod: "module " + f.path(resRetracted) + "\n\ngo 1.21\n\nretract v1.2.0 // broken\n"}, "")
	add(modgen.Module{Path: resDeprecated, Version: "v1.0.0", Time: day(1)}, "")
	add(modgen.Module{Path: resDeprecated, Version: "v1.1.0", Time: day(2),
		GoMod: "// Deprecated: use " + f.path(resLib) + ".\nmodule " + f.path(resDeprecated) + "\n\ngo 1.21\n"}, "")
	// The time column says the lower pseudo-version is the newer commit (a rebased branch).
	add(modgen.Module{Path: resPseudo, Version: "v0.0.0-20240101000000-aaaaaaaaaaaa"}, "2024-01-01T00:00:00Z")
	add(modgen.Module{Path: resPseudo, Version: "v0.0.0-20240201000000-bbbbbbbbbbbb"}, "2024-05-01T00:00:00Z")
	add(modgen.Module{Path: resPseudo, Version: "v0.0.0-20240301000000-dddddddddddd"}, "2024-03-01T00:00:00Z")
	add(modgen.Module{Path: resIncompat, Version: "v1.0.0", Time: day(1), NoGoMod: true}, "")
	add(modgen.Module{Path: resIncompat, Version: "v2.0.0+incompatible", Time: day(2), NoGoMod: true}, "")
	// The list says "v1.3" (the go command keeps any valid semver line) and its .info query
	// answers v1.3.0; the list also has a line indented by blanks.
	add(modgen.Module{Path: resLoose, Version: "v1.0.0", Time: day(1)}, "")
	loose := add(modgen.Module{Path: resLoose, Version: "v1.3.0", Time: day(3)}, "")
	f.lists[f.path(resLoose)] = []string{"  v1.0.0 " + day(1).Format(time.RFC3339), "v1.3 " + day(3).Format(time.RFC3339)}
	f.looseInfo = loose.Info
	for i, v := range []string{"v1.0.0", "v1.1.0"} {
		add(modgen.Module{Path: resTool, Version: v, Time: day(1 + i),
			Files: map[string]string{"cmd/hello/main.go": "package main\n\nfunc main() {}\n"}}, "")
	}
	return f
}

// path is the module path of name in this row.
func (f *resolutionFixture) path(name string) string { return f.base + "/" + name }

// proxyBehaviour configures the fake upstream of one row.
type proxyBehaviour struct {
	name     string // also the last element of the row's base path
	noLatest bool   // @latest answers 404 (the go command computes it from the list)
	pseudo   bool   // the lists name pseudo-versions
	times    bool   // the lists have the time column
}

var proxyBehaviours = []proxyBehaviour{
	{name: "latest"},
	{name: "latest-pseudo-times", pseudo: true, times: true},
	{name: "no-latest", noLatest: true},
	{name: "no-latest-pseudo", noLatest: true, pseudo: true},
	{name: "no-latest-pseudo-times", noLatest: true, pseudo: true, times: true},
}

// modules is what the clients of the row import and ask for: not the module with only
// pseudo-versions when nothing names them (no @latest, no pseudo-versions in its list), for the
// go command then finds no version of it at all (list-queries compares that failure).
// listsDropPseudo is for a chain whose lists never name pseudo-versions (goproxy keeps only
// releases and pre-releases).
func (b proxyBehaviour) modules(f *resolutionFixture, listsDropPseudo bool) resolutionModules {
	p := f.path
	m := resolutionModules{
		imports: []string{p(resLib), p(resRetracted), p(resDeprecated), p(resPseudo), p(resIncompat), p(resLoose)},
		queried: []string{p(resLib), p(resRetracted), p(resDeprecated), p(resPseudo), p(resIncompat), p(resTool), p(resLoose)},
		start: map[string]string{p(resLib): "v1.0.0", p(resRetracted): "v1.0.0", p(resDeprecated): "v1.0.0",
			p(resPseudo): "v0.0.0-20240101000000-aaaaaaaaaaaa", p(resIncompat): "v1.0.0", p(resLoose): "v1.0.0"},
		branches: []string{p(resLib) + "@main"},
		tools:    []string{p(resTool) + "/cmd/hello@latest"},
		patch:    []string{p(resLib), p(resRetracted), p(resDeprecated), p(resIncompat), p(resLoose)},
	}
	if b.noLatest && (!b.pseudo || listsDropPseudo) {
		m.imports = slices.DeleteFunc(m.imports, func(mod string) bool { return mod == p(resPseudo) })
		delete(m.start, p(resPseudo))
	}
	return m
}

// resolutionRow is one behaviour over its own fixture.
type resolutionRow struct {
	b proxyBehaviour
	f *resolutionFixture
}

// startResolutionUpstream starts one fake upstream serving every row, each as its behaviour
// says (the rows' module paths differ, so a row's faults and lists touch only its modules).
func startResolutionUpstream(t *testing.T, rows ...resolutionRow) *upstream.Server {
	t.Helper()
	up := newUpstream(t)
	for _, r := range rows {
		setResolutionRow(up, r.f, r.b)
	}
	return up
}

// setResolutionRow serves fixture f on up with behaviour b.
func setResolutionRow(up *upstream.Server, f *resolutionFixture, b proxyBehaviour) {
	up.Add(f.built...)
	up.SetFile(f.path(resLib)+"/@v/main.info", f.libMain.Info)
	up.SetFile(f.path(resLoose)+"/@v/v1.3.info", f.looseInfo)
	for mod, lines := range f.lists {
		if b.noLatest {
			up.SetFault(mod+"/@latest", upstream.Fault{Status: 404})
		}
		if !b.pseudo && !b.times && mod != f.path(resLoose) {
			continue // the automatic list: tags only, no time column
		}
		var list []string
		for _, l := range lines {
			v, tm, _ := strings.Cut(l, " ")
			if !b.pseudo && module.IsPseudoVersion(v) {
				continue
			}
			if b.times {
				list = append(list, v+" "+tm)
			} else {
				list = append(list, v)
			}
		}
		up.SetList(mod, list...)
	}
}

// resolutionTarget is one way to reach the upstream: directly, through stoa, through stoa
// behind stoa, through goproxy, through stoa in front of goproxy.
type resolutionTarget struct {
	name    string
	goproxy string
	env     []string // extra client environment
	// against names the target whose outputs this one must equal: the one stoa fetches from.
	// "" for a reference (the upstream itself, goproxy), whose outputs must succeed.
	against string
	// modules, when set, replaces what the clients of this target import and ask for (the
	// same for a target and the one it is compared against).
	modules *resolutionModules
}

// resolutionCommand is one column: it prepares a client directory, runs go commands in it and
// returns what must be the same through every target.
type resolutionCommand struct {
	name string
	run  func(c *resolutionClient, m resolutionModules) (string, error)
}

// resolutionClient is one target's go command with a fresh module cache, for one command.
type resolutionClient struct {
	g   *gocmd.Go
	dir string
}

// goRun runs one go command; its output is returned normalized (paths and the proxy URL
// replaced, stderr lines sorted: downloads run in parallel).
func (c *resolutionClient) goRun(args ...string) (string, error) {
	stdout, stderr, err := c.g.Run(c.dir, args...)
	norm := func(s string) string {
		s = strings.ReplaceAll(s, c.g.ModCache, "$GOMODCACHE")
		s = strings.ReplaceAll(s, c.dir, "$WORK")
		if strings.HasPrefix(c.g.GOPROXY, "http") {
			s = strings.ReplaceAll(s, c.g.GOPROXY, "$GOPROXY")
		}
		return s
	}
	lines := strings.Split(strings.TrimSpace(norm(stderr)), "\n")
	sort.Strings(lines)
	out := "$ go " + strings.Join(args, " ") + "\n" + norm(stdout) + "stderr:\n" + strings.Join(lines, "\n") + "\n"
	if err != nil {
		out += "exit: failed\n"
		return out, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// files returns the named files of the client directory, for comparison.
func (c *resolutionClient) files(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(c.dir, n))
		if err != nil {
			fmt.Fprintf(&b, "== %s: %v\n", n, err)
			continue
		}
		fmt.Fprintf(&b, "== %s\n%s", n, data)
	}
	return b.String()
}

// writeClient writes the client module: main.go importing every module, go.mod requiring the
// start versions (none when bare).
func (c *resolutionClient) writeClient(m resolutionModules, bare bool) error {
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, p := range m.imports {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	var gomod strings.Builder
	gomod.WriteString("module example.com/client\n\ngo 1.21\n")
	if !bare {
		gomod.WriteString("\nrequire (\n")
		for _, p := range m.imports {
			fmt.Fprintf(&gomod, "\t%s %s\n", p, m.start[p])
		}
		gomod.WriteString(")\n")
	}
	if err := os.WriteFile(filepath.Join(c.dir, "go.mod"), []byte(gomod.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "main.go"), []byte(src.String()), 0o644)
}

// listJSON normalizes `go list -m -u -json all`: one line per module with the fields that
// describe resolution.
func listJSON(out string) string {
	dec := json.NewDecoder(strings.NewReader(out))
	var b strings.Builder
	for {
		var m struct {
			Path, Version, Time string
			Main, Indirect      bool
			Update              *struct{ Version, Time string }
			Retracted           []string
			Deprecated          string
			Error               *struct{ Err string }
		}
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(&b, "bad JSON: %v\n", err)
			}
			return b.String()
		}
		fmt.Fprintf(&b, "%s %s time=%s main=%v indirect=%v", m.Path, m.Version, m.Time, m.Main, m.Indirect)
		if m.Update != nil {
			fmt.Fprintf(&b, " update=%s@%s", m.Update.Version, m.Update.Time)
		}
		if len(m.Retracted) > 0 {
			fmt.Fprintf(&b, " retracted=%q", m.Retracted)
		}
		if m.Deprecated != "" {
			fmt.Fprintf(&b, " deprecated=%q", m.Deprecated)
		}
		if m.Error != nil {
			fmt.Fprintf(&b, " error=%q", m.Error.Err)
		}
		b.WriteString("\n")
	}
}

// getEach runs `go get m@query` for each module in one command.
func getEach(c *resolutionClient, mods []string, query string) (string, error) {
	args := []string{"get"}
	for _, p := range mods {
		args = append(args, p+"@"+query)
	}
	out, err := c.goRun(args...)
	return out + c.files("go.mod", "go.sum"), err
}

var resolutionCommands = []resolutionCommand{
	{"list-m-u", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		text, err := c.goRun("list", "-m", "-u", "all")
		if err != nil {
			return text, err
		}
		out, err := c.goRun("list", "-m", "-u", "-retracted", "-json", "all")
		if err != nil {
			return text + out, err
		}
		stdout, _, _ := strings.Cut(out, "stderr:\n")
		_, stdout, _ = strings.Cut(stdout, "\n")
		return text + listJSON(stdout) + c.files("go.mod"), nil
	}},
	{"get-u", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		out, err := c.goRun("get", "-u", "./...")
		return out + c.files("go.mod", "go.sum"), err
	}},
	{"get-latest", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		return getEach(c, m.imports, "latest")
	}},
	{"get-upgrade", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		return getEach(c, m.imports, "upgrade")
	}},
	{"get-patch", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		return getEach(c, m.patch, "patch")
	}},
	{"get-branch", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		out, err := c.goRun(append([]string{"get"}, m.branches...)...)
		return out + c.files("go.mod", "go.sum"), err
	}},
	{"list-queries", func(c *resolutionClient, m resolutionModules) (string, error) {
		// One by one, errors included (-e): a module that cannot be resolved must fail alike.
		if err := c.writeClient(m, false); err != nil {
			return "", err
		}
		args := []string{"list", "-m", "-e", "-json"}
		for _, p := range m.queried {
			for _, q := range []string{"latest", "upgrade", "patch"} {
				args = append(args, p+"@"+q)
			}
		}
		out, err := c.goRun(args...)
		if err != nil {
			return out, err
		}
		stdout, _, _ := strings.Cut(out, "stderr:\n")
		_, stdout, _ = strings.Cut(stdout, "\n")
		return listJSON(stdout), nil
	}},
	{"install-latest", func(c *resolutionClient, m resolutionModules) (string, error) {
		// -n: resolve and download as go install does, print the build instead of running it
		// (building the runtime into a fresh cache costs minutes on a loaded machine). One
		// command per tool (go install takes the packages of one module@version at a time),
		// all at once: each downloads only its own module into the shared module cache.
		outs := make([]string, len(m.tools))
		errs := make([]error, len(m.tools))
		var wg sync.WaitGroup
		for i, tool := range m.tools {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = c.goRun("install", "-n", tool)
			}()
		}
		wg.Wait()
		out, err := strings.Join(outs, ""), errors.Join(errs...)
		var keep []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "go: ") || strings.HasPrefix(l, "$ ") || strings.HasPrefix(l, "exit:") {
				keep = append(keep, l)
			} else if i := strings.Index(l, "$GOMODCACHE/"); i >= 0 {
				// The module directory the build reads: path@version.
				f := strings.Fields(l[i:])
				keep = append(keep, "reads "+strings.Trim(f[0], `"'`))
			}
		}
		sort.Strings(keep)
		return strings.Join(slices.Compact(keep), "\n") + "\n", err
	}},
	{"mod-tidy", func(c *resolutionClient, m resolutionModules) (string, error) {
		if err := c.writeClient(m, true); err != nil {
			return "", err
		}
		out, err := c.goRun("mod", "tidy")
		return out + c.files("go.mod", "go.sum"), err
	}},
}

// compareResolution runs every command through every target (the targets of one command
// concurrently) and reports, line by line, where a target differs from the one it must equal.
// A reference other than the first (goproxy) may differ from the first: that is goproxy's
// own resolution, logged with -v, not stoa's.
func compareResolution(t *testing.T, targets []resolutionTarget, m resolutionModules) {
	index := map[string]int{}
	for i, tg := range targets {
		index[tg.name] = i
	}
	for _, cmd := range resolutionCommands {
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel()
			outs := make([]string, len(targets))
			errs := make([]error, len(targets))
			var wg sync.WaitGroup
			for i, tg := range targets {
				// On a memory filesystem: a fresh module cache per command and target is most of
				// this suite's file creation (gocmd.MemDir).
				g := gocmd.NewIn(t, gocmd.MemDir(t), tg.goproxy, sharedGoCache).With(tg.env...)
				c := &resolutionClient{g: g, dir: gocmd.MemDir(t)}
				mods := m
				if tg.modules != nil {
					mods = *tg.modules
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					outs[i], errs[i] = cmd.run(c, mods)
					if testing.Verbose() {
						t.Logf("%s: %s", tg.name, time.Since(start).Round(time.Millisecond))
					}
				}()
			}
			wg.Wait()
			for i, tg := range targets {
				if tg.against != "" {
					continue
				}
				// A reference must have worked: two equal failures would prove nothing (a module
				// that cannot be resolved is compared one by one, with -e, in list-queries).
				if errs[i] != nil {
					t.Errorf("%s: %v", tg.name, errs[i])
				} else if testing.Verbose() {
					t.Logf("%s:\n%s", tg.name, outs[i])
				}
				if d := lineDiff(outs[0], outs[i]); i > 0 && d != "" && testing.Verbose() {
					t.Logf("%s differs from %s (not stoa's doing; - %s, + %s):\n%s", tg.name, targets[0].name,
						targets[0].name, tg.name, d)
				}
			}
			for i, tg := range targets {
				if tg.against == "" {
					continue
				}
				ref, ok := index[tg.against]
				if !ok {
					t.Fatalf("%s: no target %q", tg.name, tg.against)
				}
				if errs[ref] != nil {
					continue // reported above
				}
				if d := lineDiff(outs[ref], outs[i]); d != "" {
					t.Errorf("%s differs from %s, its upstream (- %s, + %s):\n%s", tg.name, tg.against,
						tg.against, tg.name, d)
				}
			}
		})
	}
}

// lineDiff is a line-by-line comparison: "" when equal, else the differing lines (a simple
// longest-common-subsequence diff; the outputs are a few dozen lines).
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var d strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			fmt.Fprintf(&d, "  %s\n", x[i])
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			fmt.Fprintf(&d, "+ %s\n", y[j])
			j++
		default:
			fmt.Fprintf(&d, "- %s\n", x[i])
			i++
		}
	}
	return d.String()
}

// Every proxy behaviour at once: one fake upstream serves each row under its own base path
// (example.com/res/<behaviour>/...), so one set of proxies and one go command per target and
// command cover every row (the go command resolves each module on its own).
func TestResolutionDifferentialProxy(t *testing.T) {
	t.Parallel()
	var rows []resolutionRow
	var m, viaGoproxy resolutionModules
	for _, b := range proxyBehaviours {
		f := buildResolutionFixture(t, resBase+"/"+b.name)
		rows = append(rows, resolutionRow{b: b, f: f})
		m.add(b.modules(f, false))
		viaGoproxy.add(b.modules(f, true))
	}
	up := startResolutionUpstream(t, rows...)
	s := stoatest.Start(t, stoatest.Config{Upstream: up.URL(), FetchTimeout: "20s", DataDir: gocmd.MemDir(t)})
	chained := stoatest.Start(t, stoatest.Config{Upstream: s.URL, FetchTimeout: "20s", DataDir: gocmd.MemDir(t)})
	gp := goproxytest.Start(t, goproxytest.Config{Upstream: up.URL(), Dir: gocmd.MemDir(t)})
	inFront := stoatest.Start(t, stoatest.Config{Upstream: gp.URL, FetchTimeout: "20s", DataDir: gocmd.MemDir(t)})
	compareResolution(t, []resolutionTarget{
		{name: "direct", goproxy: up.URL()},
		{name: "stoa", goproxy: s.URL, against: "direct"},
		{name: "stoa-stoa", goproxy: chained.URL, against: "stoa"},
		{name: "goproxy", goproxy: gp.URL, modules: &viaGoproxy},
		{name: "stoa-goproxy", goproxy: inFront.URL, against: "goproxy", modules: &viaGoproxy},
	}, m)
}

// The direct row's repositories on the shared git server (direct_test.go): resolve.git has tags
// v1.0.0, v1.0.1, v1.1.0 and v1.2.0 (whose go.mod retracts it and deprecates the module), a
// commit after them on main and a branch "dev"; old.git has no go.mod and tags v1.0.0 and v2.0.0
// (v2.0.0+incompatible); untagged.git has two commits and no tag.
var (
	resolutionGitOnce sync.Once
	resolutionGitErr  error
)

const (
	gitResolve  = vcstest.Host + "/resolve.git"
	gitOld      = vcstest.Host + "/old.git"
	gitUntagged = vcstest.Host + "/untagged.git" // commits, no tag: only pseudo-versions
)

func resolutionGit(t *testing.T) *vcsWorld {
	t.Helper()
	w := getWorld(t)
	resolutionGitOnce.Do(func() {
		resolutionGitErr = func() error {
			repo, err := w.gitInit("resolve")
			if err != nil {
				return err
			}
			gomod := "module " + gitResolve + "\n\ngo 1.21\n"
			for i, v := range []string{"v1.0.0", "v1.0.1", "v1.1.0"} {
				files := map[string]string{"go.mod": gomod, "resolve.go": fmt.Sprintf("package resolve\n\nconst V = %d\n", i),
					"cmd/hello/main.go": "package main\n\nfunc main() {}\n"}
				if _, err := w.gitCommit(repo, files, v); err != nil {
					return err
				}
			}
			last := "// Deprecated: use something else.\n" + gomod + "\nretract v1.2.0 // broken\n"
			if _, err := w.gitCommit(repo, map[string]string{"go.mod": last}, "v1.2.0"); err != nil {
				return err
			}
			if _, err := w.gitCommit(repo, map[string]string{"resolve.go": "package resolve\n\nconst V = 9\n"}); err != nil {
				return err
			}
			if _, err := vcstest.Run(w.env, repo, "git", "checkout", "-q", "-b", "dev"); err != nil {
				return err
			}
			if _, err := w.gitCommit(repo, map[string]string{"dev.go": "package resolve\n\nconst Dev = 1\n"}); err != nil {
				return err
			}
			if _, err := vcstest.Run(w.env, repo, "git", "checkout", "-q", "main"); err != nil {
				return err
			}
			old, err := w.gitInit("old")
			if err != nil {
				return err
			}
			for _, v := range []string{"v1.0.0", "v2.0.0"} {
				if _, err := w.gitCommit(old, map[string]string{"old.go": "package old // " + v + "\n"}, v); err != nil {
					return err
				}
			}
			untagged, err := w.gitInit("untagged")
			if err != nil {
				return err
			}
			for i := range 2 {
				files := map[string]string{"go.mod": "module " + gitUntagged + "\n\ngo 1.21\n",
					"u.go": fmt.Sprintf("package untagged // %d\n", i)}
				if _, err := w.gitCommit(untagged, files); err != nil {
					return err
				}
			}
			return nil
		}()
	})
	if resolutionGitErr != nil {
		t.Fatalf("setting up the git repositories: %v", resolutionGitErr)
	}
	return w
}

// Direct through real git: the go command with GOPROXY=direct, against stoa whose upstream is
// direct (stoa runs the go command itself), and stoa behind that stoa.
func TestResolutionDifferentialDirect(t *testing.T) {
	t.Parallel()
	w := resolutionGit(t)
	s := w.stoa(t, "--data-dir", gocmd.MemDir(t))
	chained := stoatest.Start(t, stoatest.Config{Upstream: s.URL, FetchTimeout: "60s", DataDir: gocmd.MemDir(t)})
	gitEnv := []string{"GIT_CONFIG_GLOBAL=" + w.gitConfig, "GIT_CONFIG_NOSYSTEM=1"}
	gp := goproxytest.Start(t, goproxytest.Config{Upstream: "direct", Env: gitEnv, Dir: gocmd.MemDir(t)})
	inFront := stoatest.Start(t, stoatest.Config{Upstream: gp.URL, FetchTimeout: "60s", DataDir: gocmd.MemDir(t)})
	compareResolution(t, []resolutionTarget{
		{name: "direct", goproxy: "direct", env: gitEnv},
		{name: "stoa", goproxy: s.URL, against: "direct"},
		{name: "stoa-stoa", goproxy: chained.URL, against: "stoa"},
		{name: "goproxy", goproxy: gp.URL},
		{name: "stoa-goproxy", goproxy: inFront.URL, against: "goproxy"},
	}, resolutionModules{
		imports:  []string{gitResolve, gitOld},
		queried:  []string{gitResolve, gitOld, gitUntagged},
		start:    map[string]string{gitResolve: "v1.0.0", gitOld: "v1.0.0"},
		branches: []string{gitResolve + "@dev"},
		tools:    []string{gitResolve + "/cmd/hello@latest"},
		patch:    []string{gitResolve, gitOld},
	})
}

// goReadList reads a list body as the go command does (modfetch/proxy.go): the versions it
// chooses from (valid, not pseudo-versions; sorted, each once) and the version it would call
// latest when the upstream has no @latest (the line with the newest time, the time column
// first, else a pseudo-version's own; the first line of equal times wins).
func goReadList(body string) (versions []string, latest string) {
	var best time.Time
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !semver.IsValid(f[0]) {
			continue
		}
		if !module.IsPseudoVersion(f[0]) {
			versions = append(versions, f[0])
		}
		var t time.Time
		switch {
		case len(f) >= 2:
			t, _ = time.Parse(time.RFC3339, f[1])
		case module.IsPseudoVersion(f[0]):
			t, _ = module.PseudoVersionTime(f[0])
		default:
			continue
		}
		if best.Before(t) {
			best, latest = t, f[0]
		}
	}
	sort.Slice(versions, func(i, j int) bool {
		if c := semver.Compare(versions[i], versions[j]); c != 0 {
			return c < 0
		}
		return versions[i] < versions[j]
	})
	return slices.Compact(versions), latest
}

// Upstream lists as they come (odd ones included): through stoa the go command must read the
// same versions and the same latest as from the upstream's own list.
func TestResolutionListLinesAsTheGoCommandReadsThem(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{})
	const (
		a = "v0.0.0-20240101000000-aaaaaaaaaaaa"
		b = "v0.0.0-20240101000000-bbbbbbbbbbbb"
		c = "v0.0.0-20230101000000-cccccccccccc"
	)
	for i, body := range []string{
		"v1.2\nv1.0.0\n",                          // valid, not canonical: the go command lists it
		"  v1.0.0\n\tv1.1.0\nv1.1.1\t\n",          // leading and trailing white space
		"v1.0.0\u00a0\nv1.1.0\u2003x\nv1.3.0\v\n", // Unicode and vertical white space
		"v1.0.0\r\nv1.1.0 2024-01-01T00:00:00Z\r\n",
		"v1.5.0+meta\nv1.4.0\nv2.0.0+incompatible\n",
		"v1.0.0\nv2.0.0\nv3.1.0+incompatible\n", // another major version: the go command filters it
		"not-a-version\n\n v\nv1..0\nv1.0.0-\n",
		a + " yesterday\n" + c + "\n", // a pseudo-version whose time the go command cannot read
		b + "\n" + a + "\n",           // equal times: the first line wins
		a + " 2024-01-01T00:00:00Z\n" + c + " 2024-06-01T00:00:00Z\n" + a + " 2025-01-01T00:00:00Z\n",
		"v1.0.0 2024-01-01T00:00:00Z\n" + c + "\n", // a release with a time counts too
		"v1.0.0 2024-01-01T00:00:00+01:00\n" + c + " 2023-12-31T23:30:00Z\n",
		// Times Go's time.Parse takes beyond the strict form, and one it refuses.
		a + " 2024-01-01T1:00:00Z\n" + b + " 2024-01-01T00:30:00,5Z\n" + c + " 2024-13-01T00:00:00Z\n",
		c + " 2024-01-01T00:00:00.1234567890123+24:00\n" + a + "\n",
	} {
		mod := fmt.Sprintf("example.com/lines/m%d", i)
		up.SetFile(mod+"/@v/list", []byte(body))
		r := get(t, s.URL+"/"+mod+"/@v/list")
		if r.Status != 200 {
			t.Errorf("list %q through stoa: %v", body, r)
			continue
		}
		wantVersions, wantLatest := goReadList(body)
		gotVersions, gotLatest := goReadList(string(r.Body))
		if !slices.Equal(gotVersions, wantVersions) || gotLatest != wantLatest {
			t.Errorf("upstream list %q, through stoa %q:\n the go command reads versions %q, latest %q through stoa; %q, %q from the upstream",
				body, r.Body, gotVersions, gotLatest, wantVersions, wantLatest)
		}
	}
}

// Where stoa deliberately differs: with its upstream down, stoa answers from what it has (the
// last good answer in memory, else the store: the stored versions, latest the highest of them;
// docs/operations.md), while the go command against the upstream itself fails.
func TestResolutionUpstreamDownStoaAnswersFromItsStore(t *testing.T) {
	t.Parallel()
	f := buildResolutionFixture(t, resBase)
	up := startResolutionUpstream(t, resolutionRow{f: f, b: proxyBehaviour{name: "no-latest-pseudo-times", noLatest: true, pseudo: true, times: true}})
	lib := f.path(resLib)
	data := filepath.Join(t.TempDir(), "data")
	s := stoatest.Start(t, stoatest.Config{Upstream: up.URL(), DataDir: data, FetchTimeout: "5s"})
	// Through stoa, a client downloads lib v1.0.0 and then the newest lib, v1.1.0.
	warm := &resolutionClient{g: goClient(t, s.URL), dir: t.TempDir()}
	if err := warm.writeClient(resolutionModules{imports: []string{lib}, start: map[string]string{lib: "v1.0.0"}}, false); err != nil {
		t.Fatal(err)
	}
	if out, err := warm.goRun("mod", "download", lib+"@v1.0.0"); err != nil {
		t.Fatal(out)
	}
	if out, err := warm.goRun("get", lib+"@latest"); err != nil {
		t.Fatal(out)
	}
	s.Stop()
	up.Close()

	// A stoa without the remembered answers: only its store.
	s = stoatest.Start(t, stoatest.Config{Upstream: up.URL(), DataDir: data, FetchTimeout: "5s"})
	query := func(goproxy string) (string, error) {
		c := &resolutionClient{g: goClient(t, goproxy), dir: t.TempDir()}
		if err := c.writeClient(resolutionModules{imports: []string{lib}, start: map[string]string{lib: "v1.0.0"}}, false); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := c.g.Run(c.dir, "list", "-m", "-u", lib)
		if err != nil {
			return stderr, err
		}
		return strings.TrimSpace(stdout), nil
	}
	if out, err := query(up.URL()); err == nil {
		t.Errorf("directly against the stopped upstream, go list -m -u worked:\n%s", out)
	}
	got, err := query(s.URL)
	if err != nil {
		t.Fatalf("through stoa with its upstream down: %v", err)
	}
	// The list is the stored versions (no pseudo-version, no time column), so the update offered
	// is the highest stored one.
	if want := lib + " v1.0.0 [v1.1.0]"; got != want {
		t.Errorf("through stoa with its upstream down: %q, want %q", got, want)
	}
	if r := get(t, s.URL+"/"+lib+"/@v/list"); r.Status != 200 || string(r.Body) != "v1.0.0\nv1.1.0\n" {
		t.Errorf("list from the store: %v", r)
	}
	if r := get(t, s.URL+"/"+lib+"/@latest"); r.Status != 200 || !strings.Contains(string(r.Body), `"v1.1.0"`) {
		t.Errorf("@latest from the store: %v", r)
	}
}

// Where stoa deliberately differs: a version stoa has stored stays in its list after the
// upstream stopped listing it (a deleted tag; stored versions are never dropped), so through
// stoa the go command may still pick it where against the upstream it no longer would.
func TestResolutionStoredVersionStaysListed(t *testing.T) {
	t.Parallel()
	const mod = "example.com/res/forgotten"
	var built []*modgen.Built
	for _, v := range []string{"v1.0.0", "v1.1.0", "v1.2.0"} {
		built = append(built, modgen.MustBuild(t, modgen.Module{Path: mod, Version: v}))
	}
	up := newUpstream(t, built...)
	data := filepath.Join(t.TempDir(), "data")
	s := stoatest.Start(t, stoatest.Config{Upstream: up.URL(), DataDir: data})
	if _, stderr, err := goClient(t, s.URL).ModDownload(mod + "@v1.2.0"); err != nil {
		t.Fatalf("go mod download through stoa: %v\n%s", err, stderr)
	}
	s.Stop()
	// The upstream forgets v1.2.0 (its files stay reachable, as a deleted tag's do in a cache).
	up.SetList(mod, "v1.0.0", "v1.1.0")
	up.SetLatest(mod, built[1].Info)
	s = stoatest.Start(t, stoatest.Config{Upstream: up.URL(), DataDir: data})
	latest := func(goproxy string) string {
		t.Helper()
		out := goClient(t, goproxy).MustRun("", "list", "-m", "-json", mod+"@latest")
		var m struct{ Version string }
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("go list output %q: %v", out, err)
		}
		return m.Version
	}
	if got := latest(up.URL()); got != "v1.1.0" {
		t.Fatalf("directly against the upstream, latest is %s; the test expects v1.1.0", got)
	}
	if got := latest(s.URL); got != "v1.2.0" {
		t.Errorf("through stoa, latest is %s, want the stored v1.2.0", got)
	}
}
