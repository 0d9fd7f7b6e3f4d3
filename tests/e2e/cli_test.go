package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// configValues parses `stoa config` output ("key = value" lines, TOML: a value may be a quoted
// string and be followed by a # comment) into key -> unquoted value.
func configValues(out string) map[string]string {
	vals := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.TrimSpace(v)
		if q, err := strconv.QuotedPrefix(v); err == nil {
			if uq, err := strconv.Unquote(q); err == nil {
				v = uq
			}
		} else if i := strings.Index(v, "#"); i >= 0 {
			v = strings.TrimSpace(v[:i])
		}
		vals[strings.TrimSpace(k)] = v
	}
	return vals
}

// equalDuration is true if got and want are the same duration (got may be normalized).
func equalDuration(got string, want time.Duration) bool {
	d, err := time.ParseDuration(got)
	return err == nil && d == want
}

// stoa config prints the effective configuration, from flags, environment and a TOML file.
func TestConfigCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "stoa.toml")
	dataDir := filepath.Join(dir, "from-toml")
	if err := os.WriteFile(cfgFile, []byte("data_dir = \""+dataDir+"\"\nlog_format = \"json\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := stoatest.Run(t, 30*time.Second, []string{"STOA_LIST_TTL=17s", "STOA_UPSTREAM=http://127.0.0.1:9/env"},
		"config", "--config", cfgFile, "--fetch-timeout", "42s")
	if r.ExitCode != 0 {
		t.Fatalf("stoa config: exit %d (timed out %v)\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.TimedOut, r.Stdout, r.Stderr)
	}
	vals := configValues(r.Stdout)
	if v := vals["list_ttl"]; !equalDuration(v, 17*time.Second) {
		t.Errorf("list_ttl = %q, want 17s (from STOA_LIST_TTL)", v)
	}
	if v := vals["upstream"]; v != "http://127.0.0.1:9/env" {
		t.Errorf("upstream = %q, want the STOA_UPSTREAM value", v)
	}
	if v := vals["fetch_timeout"]; !equalDuration(v, 42*time.Second) {
		t.Errorf("fetch_timeout = %q, want 42s (from --fetch-timeout)", v)
	}
	if v := vals["data_dir"]; v != dataDir {
		t.Errorf("data_dir = %q, want %q (from the TOML file)", v, dataDir)
	}
	if v := vals["log_format"]; v != "json" {
		t.Errorf("log_format = %q, want json (from the TOML file)", v)
	}
	for _, key := range []string{"listen", "store"} {
		if _, ok := vals[key]; !ok {
			t.Errorf("stoa config does not print %s", key)
		}
	}
	if t.Failed() {
		t.Logf("stoa config output:\n%s", r.Stdout)
	}
}

// `stoa config` shows no credential: not a token written as the URL's user, not a quoted libpq
// password with a blank in it, not a password in a URI query.
func TestConfigCommandHidesCredentials(t *testing.T) {
	t.Parallel()
	r := stoatest.Run(t, 30*time.Second, []string{
		"STOA_UPSTREAM=https://tok-canary1@127.0.0.1:9/x,https://u:pw-canary2@127.0.0.1:9/y",
		"STOA_POSTGRES_URL=host=127.0.0.1 password='pw canary3' dbname=d",
		"STOA_REDIS_URL=redis://:pw-canary4@127.0.0.1:6379/0",
	}, "config")
	if r.ExitCode != 0 {
		t.Fatalf("stoa config: exit %d (timed out %v)\nstdout:\n%s\nstderr:\n%s", r.ExitCode, r.TimedOut, r.Stdout, r.Stderr)
	}
	for _, canary := range []string{"canary1", "canary2", "canary3", "canary4"} {
		if strings.Contains(r.Stdout, canary) || strings.Contains(r.Stderr, canary) {
			t.Errorf("stoa config shows %s:\n%s", canary, r.Stdout)
		}
	}
	vals := configValues(r.Stdout)
	if v := vals["upstream"]; v != "https://127.0.0.1:9/x,https://127.0.0.1:9/y" {
		t.Errorf("upstream = %q, want the URLs without their userinfo", v)
	}
}

// Bad configuration stops startup with a message: an unknown TOML key, an unknown flag.
func TestBadConfigurationRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "stoa.toml")
	if err := os.WriteFile(cfgFile, []byte("data_dir = \""+filepath.Join(dir, "data")+"\"\nbogus_key = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		mention string
	}{
		{"unknown TOML key", []string{"serve", "--config", cfgFile}, "bogus_key"},
		{"unknown flag", []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--bogus-flag", "1"}, "bogus-flag"},
		{"unknown TOML key in config", []string{"config", "--config", cfgFile}, "bogus_key"},
		{"failed-login window under a second", []string{"serve", "--data-dir", filepath.Join(dir, "data"), "--auth-failure-window", "0"}, "auth_failure_window (--auth-failure-window): must be at least 1s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := slices.Concat(tc.args, []string{"--listen", stoatest.FreeAddr(t), "--upstream", "http://127.0.0.1:9"})
			r := stoatest.Run(t, 30*time.Second, nil, args...)
			if r.TimedOut || r.ExitCode == 0 {
				t.Fatalf("stoa %s: exit %d (timed out %v), want a non-zero exit\nstderr:\n%s",
					strings.Join(args, " "), r.ExitCode, r.TimedOut, r.Stderr)
			}
			if !strings.Contains(r.Stderr, tc.mention) {
				t.Errorf("stoa %s: the message does not name %q:\n%s", strings.Join(args, " "), tc.mention, r.Stderr)
			}
		})
	}
}

// stoa refuses an upstream that is itself (however it is spelled), but not another stoa.
func TestRefusesItselfAsUpstream(t *testing.T) {
	t.Parallel()
	other := newUpstream(t)
	cases := []struct {
		name     string
		upstream func(addr string) string
	}{
		{"same address", func(addr string) string { return "http://" + addr }},
		{"trailing slash", func(addr string) string { return "http://" + addr + "/" }},
		{"localhost", func(addr string) string { return "http://localhost:" + addr[strings.LastIndex(addr, ":")+1:] }},
		{"second in the list", func(addr string) string { return other.URL() + ",http://" + addr }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := stoatest.FreeAddr(t)
			r := stoatest.Run(t, 60*time.Second, nil, "serve", "--listen", addr,
				"--data-dir", filepath.Join(t.TempDir(), "data"), "--upstream", tc.upstream(addr))
			if r.TimedOut || r.ExitCode == 0 {
				t.Fatalf("stoa with itself as upstream: exit %d (timed out %v), want a non-zero exit\nstderr:\n%s",
					r.ExitCode, r.TimedOut, r.Stderr)
			}
			if strings.TrimSpace(r.Stderr) == "" {
				t.Errorf("stoa exited %d without a message", r.ExitCode)
			}
		})
	}

	t.Run("another stoa is fine", func(t *testing.T) {
		t.Parallel()
		b := modgen.MustBuild(t, modgen.Module{Path: "example.com/chain", Version: "v1.0.0"})
		up := newUpstream(t, b)
		inner := startStoa(t, up, stoatest.Config{})
		outer := startStoa(t, up, stoatest.Config{Upstream: inner.URL})
		ds, stderr, err := goClient(t, outer.URL).ModDownload(b.Path + "@" + b.Version)
		if err != nil || len(ds) != 1 {
			t.Fatalf("go mod download through two stoas: %v\n%s", err, stderr)
		}
		checkDownload(t, ds[0], b)
	})
}

// nonEmptyLines are the lines of s that are not blank.
func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// Every usage error (unknown command, flag or argument, missing value) exits 2, the documented
// status for usage and configuration errors, with one line that says what was wrong; a
// mistyped command gets the closest real one suggested.
func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     []string
		mentions []string
	}{
		{"unknown command", []string{"servee"}, []string{`unknown command "servee"`, `did you mean "serve"?`}},
		{"unknown command, nothing close", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"unknown subcommand", []string{"index", "rebiuld"}, []string{`stoa index: unknown command "rebiuld"`, `did you mean "rebuild"?`}},
		{"no command", nil, []string{"subcommand"}},
		{"unknown flag", []string{"serve", "--bogus-flag", "1"}, []string{"--bogus-flag"}},
		{"missing value", []string{"serve", "--listen"}, []string{"--listen"}},
		{"extra argument", []string{"version", "extra"}, []string{"extra"}},
		{"missing argument", []string{"passwd"}, []string{"name"}},
		{"flag given twice", []string{"config", "--list-ttl", "1s", "--list-ttl", "2s"}, []string{"--list-ttl"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := stoatest.Run(t, 30*time.Second, nil, tc.args...)
			if r.TimedOut || r.ExitCode != 2 {
				t.Fatalf("stoa %s: exit %d (timed out %v), want 2\nstderr:\n%s", strings.Join(tc.args, " "), r.ExitCode, r.TimedOut, r.Stderr)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(r.Stderr, m) {
					t.Errorf("stoa %s: the message does not say %q:\n%s", strings.Join(tc.args, " "), m, r.Stderr)
				}
			}
			if lines := nonEmptyLines(r.Stderr); len(lines) != 1 {
				t.Errorf("stoa %s: %d lines on stderr, want one message:\n%s", strings.Join(tc.args, " "), len(lines), r.Stderr)
			}
		})
	}
}

// `stoa --version` prints what `stoa version` prints, and exits 0.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	want := stoatest.Run(t, 30*time.Second, nil, "version")
	got := stoatest.Run(t, 30*time.Second, nil, "--version")
	if got.ExitCode != 0 || want.ExitCode != 0 {
		t.Fatalf("stoa --version: exit %d, stoa version: exit %d\nstderr:\n%s", got.ExitCode, want.ExitCode, got.Stderr)
	}
	if !strings.HasPrefix(got.Stdout, "stoa ") || got.Stdout != want.Stdout {
		t.Errorf("stoa --version printed %q, stoa version %q", got.Stdout, want.Stdout)
	}
}

// A bad configuration stops stoa with exit 2 and a message naming where the bad value came
// from: the file with line and column, the STOA_* variable, or the flag.
func TestConfigurationErrorsNameTheirSource(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	syntax := file("syntax.toml", "list_ttl = \"5s\"\n\nfetch_timeout = \n")
	array := file("array.toml", "list_ttl = \"5s\"\nupstream = [\"http://127.0.0.1:9\"]\n")
	workers := file("workers.toml", "fetch_workers = 0\n")
	cert := file("cert.toml", "tls_cert = \""+filepath.Join(dir, "cert.pem")+"\"\n")
	typo := file("typo.toml", "lsten = \"127.0.0.1:1\"\n")
	cases := []struct {
		name     string
		env      []string
		args     []string
		mentions []string
	}{
		{"TOML syntax error", nil, []string{"--config", syntax}, []string{syntax + ":3:"}},
		{"array for a string", nil, []string{"--config", array}, []string{"upstream (" + array + ":2:1): must be a string, not an array"}},
		{"unknown key", nil, []string{"--config", typo}, []string{typo + ":1:1: unknown key \"lsten\"", "did you mean listen?"}},
		{"fetch_workers = 0", nil, []string{"--config", workers}, []string{"fetch_workers (" + workers + ":1:1): must be at least 1"}},
		{"fetch_workers = 0 in the environment", []string{"STOA_FETCH_WORKERS=0"}, nil, []string{"fetch_workers (STOA_FETCH_WORKERS): must be at least 1"}},
		{"tls_cert without tls_key", nil, []string{"--config", cert}, []string{"tls_cert (" + cert + ":1:1) is set but tls_key is not"}},
		{"tls_key without tls_cert", nil, []string{"--tls-key", filepath.Join(dir, "key.pem")}, []string{"tls_key (--tls-key) is set but tls_cert is not"}},
		{"unknown STOA_ variable", []string{"STOA_LISTN=127.0.0.1:1"}, nil, []string{"STOA_LISTN: unknown environment variable", "did you mean STOA_LISTEN?"}},
		{"port out of range", nil, []string{"--listen", "127.0.0.1:99999"}, []string{"listen (--listen): port 99999 is out of range (0-65535)"}},
		{"port out of range in the environment", []string{"STOA_LISTEN=127.0.0.1:65536"}, nil, []string{"listen (STOA_LISTEN): port 65536 is out of range"}},
		{"no port", nil, []string{"--admin-listen", "127.0.0.1"}, []string{"admin_listen (--admin-listen): not host:port"}},
	}
	for _, tc := range cases {
		for _, cmd := range []string{"serve", "config"} {
			t.Run(tc.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				args := slices.Concat([]string{cmd, "--data-dir", filepath.Join(t.TempDir(), "data"), "--upstream", "http://127.0.0.1:9"}, tc.args)
				r := stoatest.Run(t, 30*time.Second, tc.env, args...)
				if r.TimedOut || r.ExitCode != 2 {
					t.Fatalf("stoa %s: exit %d (timed out %v), want 2\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, r.TimedOut, r.Stderr)
				}
				for _, m := range tc.mentions {
					if !strings.Contains(r.Stderr, m) {
						t.Errorf("stoa %s: the message does not say %q:\n%s", strings.Join(args, " "), m, r.Stderr)
					}
				}
				if lines := nonEmptyLines(r.Stderr); len(lines) != 1 {
					t.Errorf("%d lines on stderr, want one message:\n%s", len(lines), r.Stderr)
				}
			})
		}
	}
}

// `stoa config` shows the value stoa uses for a key whose default is derived, not "".
func TestConfigShowsDerivedDefaults(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	r := stoatest.Run(t, 30*time.Second, nil, "config", "--data-dir", data,
		"--upstream", "http://127.0.0.1:9", "--fetch-timeout", "42s")
	if r.ExitCode != 0 {
		t.Fatalf("stoa config: exit %d\nstderr:\n%s", r.ExitCode, r.Stderr)
	}
	vals := configValues(r.Stdout)
	if v := vals["lock_wait"]; !equalDuration(v, 42*time.Second) {
		t.Errorf("lock_wait = %q, want 42s (fetch_timeout)", v)
	}
	if v, want := vals["direct_dir"], data+"/.stoa-state/direct"; v != want {
		t.Errorf("direct_dir = %q, want %q", v, want)
	}
	if v, want := vals["direct_home"], data+"/.stoa-state/direct/home"; v != want {
		t.Errorf("direct_home = %q, want %q", v, want)
	}
	if !strings.Contains(r.Stdout, "# derived from fetch_timeout") {
		t.Errorf("lock_wait's line does not say where it comes from:\n%s", r.Stdout)
	}

	// Without --upstream: the go command's GOPROXY, and the line says so.
	goEnv := exec.Command(gocmd.Bin(t), "env", "GOPROXY")
	goEnv.Env = stoatest.Env()
	want, err := goEnv.Output()
	if err != nil {
		t.Fatal(err)
	}
	r = stoatest.Run(t, 30*time.Second, nil, "config", "--data-dir", data)
	if r.ExitCode != 0 {
		t.Fatalf("stoa config: exit %d\nstderr:\n%s", r.ExitCode, r.Stderr)
	}
	if v := configValues(r.Stdout)["upstream"]; v != strings.TrimSpace(string(want)) {
		t.Errorf("upstream = %q, want `go env GOPROXY` = %q", v, want)
	}
	if !strings.Contains(r.Stdout, "# derived from go env GOPROXY") {
		t.Errorf("upstream's line does not say it comes from the go command:\n%s", r.Stdout)
	}
}

// With a lock configured, the start-up line names the lock wait: fetch_timeout when lock_wait
// is not set (it printed an undefined value before).
func TestStartupLineNamesTheLockWait(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	// A PostgreSQL lock connects lazily: nothing needs to listen at the URL for stoa to start.
	s := startStoa(t, up, stoatest.Config{FetchTimeout: "42s",
		Args: []string{"--lock", "postgres", "--postgres-url", "postgresql://127.0.0.1:9/none", "--index", "none"}})
	log := s.WaitLog("cross-replica lock", 1, 10*time.Second)
	if !strings.Contains(log, "wait up to 42000 ms") {
		t.Errorf("start-up log does not say the lock wait is 42000 ms:\n%s", log)
	}
}
