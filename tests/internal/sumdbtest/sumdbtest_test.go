package sumdbtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb"

	"stoa.test/internal/modgen"
)

// clientOps is a sumdb.ClientOps over HTTP to base, with config and cache in memory.
type clientOps struct {
	base string
	key  string

	mu       sync.Mutex
	config   map[string][]byte
	cache    map[string][]byte
	security []string
}

func newClientOps(base, key string) *clientOps {
	return &clientOps{base: base, key: key, config: map[string][]byte{}, cache: map[string][]byte{}}
}

func (c *clientOps) ReadRemote(path string) ([]byte, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(c.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return body, nil
}

func (c *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(c.key), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.config[file], nil // nil: start from an empty tree
}

func (c *clientOps) WriteConfig(file string, old, new []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !bytes.Equal(c.config[file], old) {
		return sumdb.ErrWriteConflict
	}
	c.config[file] = new
	return nil
}

func (c *clientOps) ReadCache(file string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.cache[file]; ok {
		return b, nil
	}
	return nil, errors.New("not cached")
}

func (c *clientOps) WriteCache(file string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache[file] = data
}

func (c *clientOps) Log(string) {}

func (c *clientOps) SecurityError(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.security = append(c.security, msg)
}

func build(t *testing.T, path, version string) *modgen.Built {
	return modgen.MustBuild(t, modgen.Module{Path: path, Version: version})
}

// TestClientVerifies: x/mod's own checksum database client accepts what the database serves,
// with the hashes it was given, through both the root and a Mount.
func TestClientVerifies(t *testing.T) {
	db := New(t, "sum.stoa.test")
	var mods []*modgen.Built
	for i := range 300 { // more than one full tile of records
		mods = append(mods, build(t, fmt.Sprintf("example.com/M%03d", i), "v1.0.0-RC1"))
	}
	db.Add(mods...)
	wrong := build(t, "example.com/wrong", "v1.0.0")
	db.AddSums(t, wrong.Path, wrong.Version, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", wrong.ModSum)

	mount := Mount(t, db, "http://127.0.0.1:1") // the upstream is never asked here
	for _, base := range []string{db.URL(), mount + "/sumdb/" + db.Name()} {
		c := sumdb.NewClient(newClientOps(base, db.VerifierKey()))
		for _, m := range []*modgen.Built{mods[0], mods[257], mods[299]} {
			// Client.Lookup answers the lines of one artifact: the zip's, or the go.mod's for
			// version "<v>/go.mod".
			for _, q := range []struct{ vers, want string }{
				{m.Version, m.Path + " " + m.Version + " " + m.Sum},
				{m.Version + "/go.mod", m.Path + " " + m.Version + "/go.mod " + m.ModSum},
			} {
				lines, err := c.Lookup(m.Path, q.vers)
				if err != nil {
					t.Fatalf("%s: lookup %s@%s: %v", base, m.Path, q.vers, err)
				}
				if len(lines) != 1 || lines[0] != q.want {
					t.Errorf("%s: lookup %s@%s: %q, want %q", base, m.Path, q.vers, lines, q.want)
				}
			}
		}
		lines, err := c.Lookup(wrong.Path, wrong.Version)
		if err != nil || !strings.HasSuffix(lines[0], " h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") {
			t.Errorf("%s: lookup of the wrong record: %q, %v", base, lines, err)
		}
		if _, err := c.Lookup("example.com/absent", "v1.0.0"); err == nil {
			t.Errorf("%s: lookup of an absent module succeeded", base)
		}
	}
	if n := db.CountContaining("/LOOKUP/example.com/!m000@"); n != 2 || db.Count("/lookup/example.com/!m000@v1.0.0-!r!c1") != 2 {
		t.Errorf("CountContaining: %d lookups of M000, want 2 (one record per route)\n%v", n, db.Requests())
	}
	if resp, err := http.Get(mount + "/sumdb/" + db.Name() + "/supported"); err != nil || resp.StatusCode != 200 {
		t.Errorf("mount /supported: %v %v", resp, err)
	}
	if resp, err := http.Get(mount + "/sumdb/other.example/supported"); err != nil || resp.StatusCode != 404 {
		t.Errorf("mount /supported of another name: %v %v", resp, err)
	}
}

// TestForkIsDetected: a client that has seen the log switches to a Fork and x/mod's client
// reports a misbehaving server; a log that only grew is accepted.
func TestForkIsDetected(t *testing.T) {
	db := New(t, "sum.stoa.test")
	a, b := build(t, "example.com/a", "v1.0.0"), build(t, "example.com/b", "v1.0.0")
	x, y := build(t, "example.com/x", "v1.0.0"), build(t, "example.com/y", "v1.0.0")
	db.Add(a, b)
	ops := newClientOps(db.URL(), db.VerifierKey())
	c := sumdb.NewClient(ops)
	if _, err := c.Lookup(a.Path, a.Version); err != nil {
		t.Fatal(err)
	}
	head := db.Log().Head()

	// Growing the same log is consistent.
	db.Add(x)
	if _, err := sumdb.NewClient(ops).Lookup(x.Path, x.Version); err != nil {
		t.Fatalf("lookup in the grown log: %v", err)
	}
	if bytes.Equal(head, db.Log().Head()) {
		t.Fatalf("the head did not change when the log grew")
	}

	fork := db.Fork(1)
	if fork.Size() != 1 {
		t.Fatalf("fork size %d, want 1", fork.Size())
	}
	fork.Add(y, b, x) // same key, record 1 differs, larger tree
	db.Switch(fork)
	_, err := sumdb.NewClient(ops).Lookup(b.Path, b.Version)
	ops.mu.Lock()
	reports := len(ops.security)
	ops.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), sumdb.ErrSecurity.Error()) || reports == 0 {
		t.Fatalf("lookup in the fork: %v (security reports %q), want a security error", err, ops.security)
	}
}
