package e2e

// git over ssh for private origins: a real OpenSSH server on loopback (internal/sshtest) with its
// own host key and port serves a private git repository; stoa fetches it through the go command
// with direct_ssh_key and the known_hosts it is given (direct_ssh_known_hosts, else
// <direct_home>/.ssh/known_hosts). A host key that is not the known one is refused, an unknown
// host too (never accepted and remembered), and the private key's contents appear nowhere stoa
// writes or answers.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/sshtest"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/vcstest"
)

const sshModule = vcstest.Host + "/ssh/secret.git"

type sshWorld struct {
	srv       *sshtest.Server
	root      string
	gitConfig string // insteadOf https://vcs.test/ssh/ -> ssh://user@127.0.0.1:port/<root>/git/
	known     string // known_hosts with the server's host key
	keyLines  []string
}

func newSSHWorld(t *testing.T) *sshWorld {
	t.Helper()
	root := t.TempDir()
	srvDir := filepath.Join(root, "sshd")
	if err := os.MkdirAll(srvDir, 0o700); err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, srvDir)
	w := &sshWorld{srv: srv, root: root}

	env := vcstest.Env(filepath.Join(root, "home"))
	repo := filepath.Join(root, "git", "secret")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := vcstest.Run(env, repo, "git", "init", "-q", "-b", "main"); err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(repo, map[string]string{
		"go.mod": "module " + sshModule + "\n\ngo 1.21\n", "s.go": "package secret\n"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "first"}, {"tag", "v1.0.0"}} {
		if _, err := vcstest.Run(env, repo, "git", args...); err != nil {
			t.Fatal(err)
		}
	}

	w.gitConfig = filepath.Join(root, "gitconfig")
	cfg := fmt.Sprintf("[url \"ssh://%s@127.0.0.1:%s%s/\"]\n\tinsteadOf = https://%s/ssh/\n",
		srv.User, srv.Port, filepath.Join(root, "git"), vcstest.Host)
	if err := os.WriteFile(w.gitConfig, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.known = filepath.Join(root, "known_hosts")
	if err := os.WriteFile(w.known, []byte(srv.KnownHostsLine()), 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(srv.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(key), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
			w.keyLines = append(w.keyLines, line)
		}
	}
	if len(w.keyLines) == 0 {
		t.Fatalf("no key material found in %s", srv.ClientKey)
	}
	return w
}

func (w *sshWorld) stoa(t *testing.T, extra ...string) *stoatest.Stoa {
	t.Helper()
	return stoatest.Start(t, stoatest.Config{
		Upstream: "direct",
		Args: append([]string{
			"--direct-git-config", w.gitConfig,
			"--private-modules", vcstest.Host + "/ssh",
			"--direct-ssh-key", w.srv.ClientKey,
			"--direct-timeout", "1m",
			"--direct-negative-ttl", "1s",
		}, extra...),
	})
}

// accepted counts the logins sshd let in.
func (w *sshWorld) accepted() int {
	return strings.Count(w.srv.Log(), "Accepted publickey for "+w.srv.User)
}

// connections counts the connections sshd was opened.
func (w *sshWorld) connections() int {
	return strings.Count(w.srv.Log(), "Connection from 127.0.0.1 ")
}

// leaks reports every text and every file under dir that holds a line of the private key.
func (w *sshWorld) leaks(t *testing.T, dir string, texts ...string) {
	t.Helper()
	for i, text := range texts {
		for _, l := range w.keyLines {
			if strings.Contains(text, l) {
				t.Errorf("output %d contains the ssh private key: %.300s", i, text)
				break
			}
		}
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 || fi.Size() > 1<<20 {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, l := range w.keyLines {
			if strings.Contains(string(data), l) {
				t.Errorf("%s contains the ssh private key", p)
				break
			}
		}
		return nil
	})
}

func TestDirectGitOverSSH(t *testing.T) {
	w := newSSHWorld(t)

	t.Run("known host", func(t *testing.T) {
		before := w.accepted()
		s := w.stoa(t, "--direct-ssh-known-hosts", w.known)
		g := gocmd.New(t, s.URL, sharedGoCache)
		d := download(t, g, sshModule+"@v1.0.0")
		if d.Version != "v1.0.0" {
			t.Errorf("version %q", d.Version)
		}
		list := get(t, s.URL+"/"+sshModule+"/@v/list")
		if list.Status != 200 || !strings.Contains(string(list.Body), "v1.0.0") {
			t.Errorf("list: %v", list)
		}
		if w.accepted() == before {
			t.Fatalf("sshd let nobody in: the module did not come over ssh\n%s", w.srv.Log())
		}
		// A private path: its answers are for the client only, never for a shared cache.
		if cc := get(t, s.URL+"/"+sshModule+"/@v/v1.0.0.mod").Header.Get("Cache-Control"); !strings.HasPrefix(cc, "private") {
			t.Errorf("Cache-Control %q for a private module", cc)
		}
		metrics := get(t, s.URL+"/metrics")
		w.leaks(t, s.DataDir, s.Log(), string(list.Body), string(metrics.Body))
	})

	// The documented default: known_hosts in direct_home's .ssh (ssh itself reads the passwd
	// entry's home, never HOME, so stoa must name the file).
	t.Run("known_hosts in direct_home", func(t *testing.T) {
		home := filepath.Join(t.TempDir(), "home")
		if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), []byte(w.srv.KnownHostsLine()), 0o644); err != nil {
			t.Fatal(err)
		}
		s := w.stoa(t, "--direct-home", home)
		r := get(t, s.URL+"/"+sshModule+"/@v/v1.0.0.info")
		if r.Status != 200 {
			t.Fatalf("with known_hosts in direct_home: %v\n%s", r, s.Log())
		}
	})

	refused := func(t *testing.T, known string) {
		t.Helper()
		before, _ := os.ReadFile(known)
		logins, conns := w.accepted(), w.connections()
		s := w.stoa(t, "--direct-ssh-known-hosts", known)
		var bodies []string
		for _, p := range []string{"/@v/v1.0.0.info", "/@v/list", "/@latest"} {
			r := get(t, s.URL+"/"+sshModule+p)
			bodies = append(bodies, string(r.Body))
			// Refused is a failure, never "not found" (a client would give up on the module).
			if r.Status == 200 || r.Status == 404 || r.Status == 410 {
				t.Errorf("%s: %v, want a failure that is not a 404", p, r)
			}
		}
		// stoa's ssh reached sshd, and left before authenticating: the host key was refused.
		if w.connections() == conns {
			t.Errorf("stoa's ssh never reached sshd: the test proves nothing\n%s", s.Log())
		}
		if w.accepted() != logins {
			t.Errorf("sshd let stoa in with a host key it did not know")
		}
		if after, _ := os.ReadFile(known); string(after) != string(before) {
			t.Errorf("known_hosts was changed (a host key accepted and remembered): %q", after)
		}
		metrics := get(t, s.URL+"/metrics")
		w.leaks(t, s.DataDir, append(bodies, s.Log(), string(metrics.Body))...)
	}

	t.Run("wrong host key", func(t *testing.T) {
		other, err := sshtest.Keygen(filepath.Join(t.TempDir(), "other"))
		if err != nil {
			t.Fatal(err)
		}
		known := filepath.Join(t.TempDir(), "known_hosts")
		line := fmt.Sprintf("[127.0.0.1]:%s %s\n", w.srv.Port, other)
		if err := os.WriteFile(known, []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		refused(t, known)
	})

	t.Run("unknown host", func(t *testing.T) {
		known := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(known, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		refused(t, known)
	})
}
