package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
