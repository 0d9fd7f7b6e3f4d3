// Package sumdbtest is a real Go checksum database for tests: golang.org/x/mod/sumdb's HTTP
// server over an in-memory log (records hashed into a Merkle tree with sumdb/tlog, tree heads
// signed with a sumdb/note key generated per database). Tests add module versions with the
// go.sum hashes they choose (the true ones from modgen, or deliberately wrong ones to play a
// tampered upstream), count the requests the database receives, and switch the database to a
// fork: another history signed with the same key.
//
// A DB listens on its own loopback port, serving /lookup/, /tile/ and /latest at its root
// (GOSUMDB="<key> <url>"). Mount puts it at /sumdb/<name>/ in front of an upstream GOPROXY, the
// way the public proxy serves the public checksum database (GOSUMDB="<key>" reached through the proxy).
package sumdbtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"stoa.test/internal/modgen"
)

// Log is one history of a checksum database: go.sum records appended in order, and the tree
// heads over them signed with the database's key. It implements sumdb.ServerOps. All methods
// are safe for concurrent use.
type Log struct {
	name   string
	signer note.Signer

	mu      sync.Mutex
	records [][]byte               // record id -> text
	hashes  []tlog.Hash            // stored hashes (tlog.StoredHashIndex order)
	ids     map[module.Version]int // module version -> record id
}

func newLog(skey string) (*Log, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	return &Log{name: signer.Name(), signer: signer, ids: map[module.Version]int{}}, nil
}

// Record is the text of the record of path@version: its go.sum lines, the zip's first
// ("path version h1:..." then "path version/go.mod h1:..."). An empty zipSum leaves the zip
// line out.
func Record(path, version, zipSum, modSum string) []byte {
	var b strings.Builder
	if zipSum != "" {
		fmt.Fprintf(&b, "%s %s %s\n", path, version, zipSum)
	}
	fmt.Fprintf(&b, "%s %s/go.mod %s\n", path, version, modSum)
	return []byte(b.String())
}

// AddSums appends the record of path@version with the given hashes (any hashes: wrong ones
// make the database disagree with what an upstream serves) and returns its id. A version can
// be recorded only once per log.
func (l *Log) AddSums(path, version, zipSum, modSum string) (int64, error) {
	if err := module.Check(path, version); err != nil {
		return 0, err
	}
	return l.append(module.Version{Path: path, Version: version}, Record(path, version, zipSum, modSum))
}

// Add appends the records of the built versions with their true hashes. It panics on a
// version already recorded (a test bug).
func (l *Log) Add(bs ...*modgen.Built) {
	for _, b := range bs {
		if _, err := l.AddSums(b.Path, b.Version, b.Sum, b.ModSum); err != nil {
			panic(fmt.Sprintf("sumdbtest: %v", err))
		}
	}
}

func (l *Log) append(mv module.Version, text []byte) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.ids[mv]; dup {
		return 0, fmt.Errorf("%s is already in the log", mv)
	}
	id := int64(len(l.records))
	hashes, err := tlog.StoredHashesForRecordHash(id, tlog.RecordHash(text), hashSlice(l.hashes))
	if err != nil {
		return 0, err
	}
	l.records = append(l.records, text)
	l.hashes = append(l.hashes, hashes...)
	l.ids[mv] = int(id)
	return id, nil
}

// Size is the number of records in the log.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.records))
}

// Tree is the current tree head (size and root hash).
func (l *Log) Tree() tlog.Tree {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.treeLocked()
}

func (l *Log) treeLocked() tlog.Tree {
	n := int64(len(l.records))
	h, err := tlog.TreeHash(n, hashSlice(l.hashes))
	if err != nil {
		panic(fmt.Sprintf("sumdbtest: tree hash of %d records: %v", n, err)) // the log is consistent by construction
	}
	return tlog.Tree{N: n, Hash: h}
}

// Head is the signed note of the current tree head, as GET /latest serves it. Ed25519
// signatures are deterministic: the same tree always gives the same bytes.
func (l *Log) Head() []byte {
	b, err := l.Signed(context.Background())
	if err != nil {
		panic(fmt.Sprintf("sumdbtest: signing: %v", err))
	}
	return b
}

// Signed implements sumdb.ServerOps.
func (l *Log) Signed(context.Context) ([]byte, error) {
	l.mu.Lock()
	tree := l.treeLocked()
	l.mu.Unlock()
	return note.Sign(&note.Note{Text: string(tlog.FormatTree(tree))}, l.signer)
}

// ReadRecords implements sumdb.ServerOps.
func (l *Log) ReadRecords(_ context.Context, id, n int64) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if id < 0 || n < 0 || id+n > int64(len(l.records)) {
		return nil, fs.ErrNotExist // 404 (sumdb.Server recognizes only the bare error)
	}
	return append([][]byte(nil), l.records[id:id+n]...), nil
}

// Lookup implements sumdb.ServerOps. An unknown version is fs.ErrNotExist (404).
func (l *Log) Lookup(_ context.Context, m module.Version) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.ids[m]
	if !ok {
		// sumdb.Server answers 404 only for an error os.IsNotExist recognizes: not a wrapped one.
		return 0, fs.ErrNotExist
	}
	return int64(id), nil
}

// ReadTileData implements sumdb.ServerOps (hash tiles only).
func (l *Log) ReadTileData(_ context.Context, t tlog.Tile) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	data, err := tlog.ReadTileData(t, hashSlice(l.hashes))
	if err != nil {
		// A tile (or a width of it) past the end of the tree does not exist yet: 404.
		return nil, fs.ErrNotExist
	}
	return data, nil
}

// hashSlice reads stored hashes from a slice; an index past its end is an error (a tile or
// proof beyond the tree), not a panic.
type hashSlice []tlog.Hash

func (h hashSlice) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, 0, len(indexes))
	for _, i := range indexes {
		if i < 0 || i >= int64(len(h)) {
			return nil, fmt.Errorf("stored hash %d: the log has %d", i, len(h))
		}
		out = append(out, h[i])
	}
	return out, nil
}

// Request is one request a DB received.
type Request struct {
	Method string
	// Path is relative to the database root ("/lookup/example.com/!m@v1.0.0", "/tile/8/0/000.p/3",
	// "/latest"; "/supported" for a probe of a Mount), percent-decoded.
	Path string
	// URI is the request target as received (for a Mount, with its /sumdb/<name> prefix).
	URI    string
	Status int
}

// DB is a running checksum database: one name and key, serving one Log at a time.
type DB struct {
	name string
	skey string
	vkey string
	ts   *httptest.Server

	mu     sync.Mutex
	active *Log
	reqs   []Request
}

// New starts an empty database named name (a host-like name such as "sum.stoa.test") with a
// fresh key, on a loopback port. It is closed at the end of the test.
func New(tb testing.TB, name string) *DB {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		tb.Fatalf("sumdbtest: generating a key for %q: %v", name, err)
	}
	l, err := newLog(skey)
	if err != nil {
		tb.Fatalf("sumdbtest: %v", err)
	}
	d := &DB{name: name, skey: skey, vkey: vkey, active: l}
	d.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.serve(w, r, r.URL.Path)
	}))
	tb.Cleanup(d.Close)
	return d
}

// Name is the database's name (the first field of its verifier key).
func (d *DB) Name() string { return d.name }

// VerifierKey is "<name>+<hash>+<keydata>": a GOSUMDB value that reaches the database through
// the GOPROXY's /sumdb/<name>/ endpoint.
func (d *DB) VerifierKey() string { return d.vkey }

// URL is the database's own base URL ("http://127.0.0.1:PORT").
func (d *DB) URL() string { return d.ts.URL }

// GOSUMDB is "<verifier key> <url>": a GOSUMDB value naming the database's own URL.
func (d *DB) GOSUMDB() string { return d.vkey + " " + d.ts.URL }

// Close stops the database server (its URL then refuses connections). Idempotent.
func (d *DB) Close() { d.ts.Close() }

// Log is the history the database serves now.
func (d *DB) Log() *Log {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active
}

// Add appends the built versions with their true hashes to the served log.
func (d *DB) Add(bs ...*modgen.Built) { d.Log().Add(bs...) }

// AddSums appends path@version with the given hashes to the served log. It ends the test on
// error.
func (d *DB) AddSums(tb testing.TB, path, version, zipSum, modSum string) {
	tb.Helper()
	if _, err := d.Log().AddSums(path, version, zipSum, modSum); err != nil {
		tb.Fatalf("sumdbtest: %v", err)
	}
}

// Fork returns a new log signed with the same key whose first keep records are those of the
// served log; records added to it afterwards make a different history. Switch serves it.
func (d *DB) Fork(keep int) *Log {
	src := d.Log()
	l, err := newLog(d.skey)
	if err != nil {
		panic(fmt.Sprintf("sumdbtest: %v", err)) // the key was valid when the database started
	}
	src.mu.Lock()
	records := append([][]byte(nil), src.records[:min(keep, len(src.records))]...)
	ids := map[int]module.Version{}
	for mv, id := range src.ids {
		ids[id] = mv
	}
	src.mu.Unlock()
	for id, text := range records {
		if _, err := l.append(ids[id], text); err != nil {
			panic(fmt.Sprintf("sumdbtest: copying record %d: %v", id, err))
		}
	}
	return l
}

// Switch makes the database serve l from now on (same URL, same key if l came from Fork).
func (d *DB) Switch(l *Log) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.active = l
}

// Requests is a copy of every request received so far, in arrival order.
func (d *DB) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.reqs...)
}

// RequestCount is the number of requests received so far.
func (d *DB) RequestCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.reqs)
}

// Count is the number of requests so far for path (a Request.Path: relative to the database
// root, percent-decoded, e.g. "/lookup/example.com/!m@v1.0.0").
func (d *DB) Count(path string) int {
	n := 0
	for _, r := range d.Requests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// CountContaining is the number of requests so far whose Path or URI contains s, ignoring the
// case of letters.
func (d *DB) CountContaining(s string) int {
	s = strings.ToLower(s)
	n := 0
	for _, r := range d.Requests() {
		if strings.Contains(strings.ToLower(r.Path), s) || strings.Contains(strings.ToLower(r.URI), s) {
			n++
		}
	}
	return n
}

// Lookups is the number of /lookup/ requests so far.
func (d *DB) Lookups() int {
	n := 0
	for _, r := range d.Requests() {
		if strings.HasPrefix(r.Path, "/lookup/") {
			n++
		}
	}
	return n
}

// ResetRequests forgets the requests received so far.
func (d *DB) ResetRequests() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reqs = nil
}

// serve answers one request for path rel (relative to the database root) from the served
// log, with x/mod's sumdb.Server, and records it.
func (d *DB) serve(w http.ResponseWriter, r *http.Request, rel string) {
	d.mu.Lock()
	l := d.active
	idx := len(d.reqs)
	d.reqs = append(d.reqs, Request{Method: r.Method, Path: rel, URI: r.RequestURI})
	d.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	r2 := r.Clone(r.Context())
	r2.URL.Path = rel
	r2.URL.RawPath = ""
	sumdb.NewServer(l).ServeHTTP(sw, r2)

	d.mu.Lock()
	if idx < len(d.reqs) {
		d.reqs[idx].Status = sw.status()
	}
	d.mu.Unlock()
}

// Mount starts a server that serves db at /sumdb/<name>/ (/supported answering 200, as a
// proxy that proxies the database does) and passes every other request to the GOPROXY at
// upstreamURL. It returns the server's URL, a GOPROXY entry; the server is closed at the end of
// the test. Requests for other database names get 404.
func Mount(tb testing.TB, db *DB, upstreamURL string) string {
	tb.Helper()
	target, err := url.Parse(upstreamURL)
	if err != nil {
		tb.Fatalf("sumdbtest: upstream URL %q: %v", upstreamURL, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	prefix := "/sumdb/" + db.name
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix+"/")
		switch {
		case ok && rest == "supported":
			db.mu.Lock()
			db.reqs = append(db.reqs, Request{Method: r.Method, Path: "/supported", URI: r.RequestURI, Status: http.StatusOK})
			db.mu.Unlock()
			w.WriteHeader(http.StatusOK)
		case ok:
			db.serve(w, r, "/"+rest)
		case strings.HasPrefix(r.URL.Path, "/sumdb/"):
			http.NotFound(w, r)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	tb.Cleanup(ts.Close)
	return ts.URL
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) status() int { return s.code }
