// Command sumdbgen builds checksum databases with golang.org/x/mod (sumdb.NewServer over an
// in-memory ServerOps, sumdb/note keys, sumdb/tlog hashes) and answers parsing questions, for
// stoa's differential tests (src/stoa/sumdb/differential_test.cpp, client_test.cpp).
//
//	sumdbgen gen <outdir>       write the databases described below
//	sumdbgen parse <vkey>       answer one parsing question per stdin line
//
// gen writes one directory per database under <outdir>, each served the way a checksum
// database serves it (every byte comes from x/mod's sumdb.Server handler):
//
//	<db>/vkey                   the verifier key the database signs with
//	<db>/stages                 tree sizes at which the database published a signed head
//	<db>/note/<size>            the signed tree note at each stage (GET /latest)
//	<db>/tile/8/...             every tile published at any stage (GET /tile/...), data tiles
//	                            included (except for "big")
//	<db>/lookups.tsv            one line per record served: id, module, version, escaped module,
//	                            escaped version, zip h1, mod h1, and the base64 body of
//	                            GET /lookup/<escaped module>@<escaped version> at the last stage
//	                            (checked to be tlog.FormatRecord followed by the signed note)
//
// The databases:
//
//	main       key A, 3000 records, many stages (partial tiles, level-1 tiles)
//	fork       key A, main's first 500 records then different ones (a forked log)
//	rollback   key A, main's first 10 records then different ones, 600 records only
//	otherkey   key B: same name as A, another key; main's records
//	othername  key C: another name; main's records
//	big        key A, 65836 records (full level-1 tile, level-2 tile); lookups for a sample
//	forged, forged-twin
//	           key A, 700 records: forgeries for the client's regression tests (see genForged)
//
// Plus <outdir>/proofs.tsv for main: x/mod's tlog answers (tab-separated):
//
//	treehash  <n> <hash>                  tlog.TreeHash
//	recordproof <t> <n> <hash>...         tlog.ProveRecord
//	treeproof <t> <n> <hash>...           tlog.ProveTree
//	index <level> <n> <index>             tlog.StoredHashIndex (and SplitStoredHashIndex agrees)
//	count <n> <count>                     tlog.StoredHashCount
//	tileforindex <h> <index> <path>       tlog.TileForIndex(h, index).Path()
//	newtiles <h> <old> <new> <path>...    tlog.NewTiles
//
// parse reads lines "<kind> <hex>" and writes one line each:
//
//	vkey   ok <hex name> <hash %08x>                     | err
//	note   ok <hex text> <#sigs> <#unverified sigs>      | err malformed|unverified|invalid|<other>
//	       (note.Open against the verifier key given on the command line)
//	tree   ok <n> <base64 hash>                          | err
//	record ok <id> <hex text> <hex rest>                 | err
//	tile   ok <h> <l> <n> <w>                            | err
//
// Hex strings are written with an "x" prefix so that an empty one is still a field.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "gen":
		err = gen(os.Args[2])
	case len(os.Args) == 3 && os.Args[1] == "parse":
		err = parse(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: sumdbgen gen <outdir> | parse <vkey>")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sumdbgen:", err)
		os.Exit(1)
	}
}

// ops is a minimal in-memory sumdb.ServerOps: an append-only list of records.
type ops struct {
	mu      sync.Mutex
	signer  note.Signer
	records [][]byte
	hashes  []tlog.Hash
	ids     map[module.Version]int64
}

func newOps(skey string) (*ops, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	return &ops{signer: s, ids: map[module.Version]int64{}}, nil
}

func (o *ops) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var list []tlog.Hash
	for _, x := range indexes {
		if x < 0 || x >= int64(len(o.hashes)) {
			return nil, fmt.Errorf("hash index %d out of range", x)
		}
		list = append(list, o.hashes[x])
	}
	return list, nil
}

func (o *ops) add(m module.Version, text []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := int64(len(o.records))
	hs, err := tlog.StoredHashes(id, text, o)
	if err != nil {
		return err
	}
	o.records = append(o.records, text)
	o.hashes = append(o.hashes, hs...)
	o.ids[m] = id
	return nil
}

func (o *ops) Signed(ctx context.Context) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := int64(len(o.records))
	h, err := tlog.TreeHash(n, o)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: string(tlog.FormatTree(tlog.Tree{N: n, Hash: h}))}, o.signer)
}

func (o *ops) ReadRecords(ctx context.Context, id, n int64) ([][]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if id < 0 || n < 0 || id+n > int64(len(o.records)) {
		return nil, errors.New("missing records")
	}
	return o.records[id : id+n], nil
}

func (o *ops) Lookup(ctx context.Context, m module.Version) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	id, ok := o.ids[m]
	if !ok {
		return 0, os.ErrNotExist
	}
	return id, nil
}

func (o *ops) ReadTileData(ctx context.Context, t tlog.Tile) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return tlog.ReadTileData(t, o)
}

// get serves one path through x/mod's server handler.
func get(srv *sumdb.Server, path string) ([]byte, error) {
	req := httptest.NewRequest("GET", "http://sumdb.invalid/"+path, nil)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
	return w.Body.Bytes(), nil
}

type rec struct {
	m            module.Version
	zipH1, modH1 string
	text         string // the record text when not the usual two lines (forged database)
}

func h1(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "h1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// mainRecord is record i of the main database: a mix of plain, upper-case (escaped with '!'),
// pre-release, +incompatible and /vN module versions.
func mainRecord(i int, salt string) rec {
	var m module.Version
	switch i % 5 {
	case 0:
		m = module.Version{Path: fmt.Sprintf("example.com/mod%d", i), Version: fmt.Sprintf("v1.%d.%d", i%7, i)}
	case 1:
		m = module.Version{Path: fmt.Sprintf("github.com/User%d/Repo", i), Version: fmt.Sprintf("v0.0.%d", i)}
	case 2:
		m = module.Version{Path: fmt.Sprintf("example.org/x%d", i), Version: fmt.Sprintf("v1.0.0-RC%d", i)}
	case 3:
		m = module.Version{Path: fmt.Sprintf("example.net/inc%d", i), Version: fmt.Sprintf("v3.%d.0+incompatible", i)}
	default:
		m = module.Version{Path: fmt.Sprintf("gopkg.example/y%d/v2", i), Version: fmt.Sprintf("v2.%d.1", i)}
	}
	return rec{m: m, zipH1: h1("zip", m.Path, m.Version, salt), modH1: h1("mod", m.Path, m.Version, salt)}
}

func bigRecord(i int) rec {
	m := module.Version{Path: fmt.Sprintf("big.example/m%d", i), Version: "v1.0.0"}
	return rec{m: m, zipH1: h1("zip", m.Path), modH1: h1("mod", m.Path)}
}

type dbSpec struct {
	name     string
	skey     string
	vkey     string
	records  []rec
	stages   []int
	data     bool              // write data tiles
	lookupOf func(id int) bool // which lookups to write (nil: all)
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func buildDB(dir string, spec dbSpec) (*ops, error) {
	o, err := newOps(spec.skey)
	if err != nil {
		return nil, err
	}
	srv := sumdb.NewServer(o)
	if err := writeFile(filepath.Join(dir, "vkey"), []byte(spec.vkey+"\n")); err != nil {
		return nil, err
	}
	var stages strings.Builder
	prev := 0
	for _, size := range spec.stages {
		for i := prev; i < size; i++ {
			r := spec.records[i]
			text := fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", r.m.Path, r.m.Version, r.zipH1, r.m.Path, r.m.Version, r.modH1)
			if r.text != "" {
				text = r.text
			}
			if err := o.add(r.m, []byte(text)); err != nil {
				return nil, err
			}
		}
		signed, err := get(srv, "latest")
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(dir, "note", strconv.Itoa(size)), signed); err != nil {
			return nil, err
		}
		for _, t := range tlog.NewTiles(8, int64(prev), int64(size)) {
			paths := []string{t.Path()}
			if spec.data && t.L == 0 {
				d := t
				d.L = -1
				paths = append(paths, d.Path())
			}
			for _, p := range paths {
				data, err := get(srv, p)
				if err != nil {
					return nil, err
				}
				if err := writeFile(filepath.Join(dir, p), data); err != nil {
					return nil, err
				}
			}
		}
		fmt.Fprintf(&stages, "%d\n", size)
		prev = size
	}
	if err := writeFile(filepath.Join(dir, "stages"), []byte(stages.String())); err != nil {
		return nil, err
	}

	var tsv strings.Builder
	for id := 0; id < prev; id++ {
		if spec.lookupOf != nil && !spec.lookupOf(id) {
			continue
		}
		r := spec.records[id]
		ep, err := module.EscapePath(r.m.Path)
		if err != nil {
			return nil, err
		}
		ev, err := module.EscapeVersion(r.m.Version)
		if err != nil {
			return nil, err
		}
		rel := ep + "@" + ev
		body, err := get(srv, "lookup/"+rel)
		if err != nil {
			return nil, err
		}
		formatted, err := tlog.FormatRecord(int64(id), o.records[id])
		if err != nil {
			return nil, err
		}
		signed, err := o.Signed(context.Background())
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(body, append(formatted, signed...)) {
			return nil, fmt.Errorf("lookup %s is not its record and the signed note", rel)
		}
		fmt.Fprintf(&tsv, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id, r.m.Path, r.m.Version, ep, ev, r.zipH1, r.modH1,
			base64.StdEncoding.EncodeToString(body))
	}
	return o, writeFile(filepath.Join(dir, "lookups.tsv"), []byte(tsv.String()))
}

func gen(out string) error {
	skeyA, vkeyA, err := note.GenerateKey(rand.Reader, "sumdb.test")
	if err != nil {
		return err
	}
	skeyB, vkeyB, err := note.GenerateKey(rand.Reader, "sumdb.test")
	if err != nil {
		return err
	}
	skeyC, vkeyC, err := note.GenerateKey(rand.Reader, "other.test")
	if err != nil {
		return err
	}

	const n = 3000
	mainRecs := make([]rec, n)
	for i := range mainRecs {
		mainRecs[i] = mainRecord(i, "")
	}
	forked := func(from, count int) []rec {
		rs := make([]rec, count)
		for i := range rs {
			if i < from {
				rs[i] = mainRecs[i]
			} else {
				rs[i] = mainRecord(i, "fork")
			}
		}
		return rs
	}
	bigN := 65536 + 300
	bigRecs := make([]rec, bigN)
	for i := range bigRecs {
		bigRecs[i] = bigRecord(i)
	}

	// Lookups written for the secondary databases: a few on each side of the fork points.
	sample := func(id int) bool { return id%50 == 0 || (id >= 5 && id < 15) || (id >= 495 && id < 505) }
	mainStages := []int{1, 2, 3, 4, 7, 8, 255, 256, 257, 300, 511, 512, 513, 1000, 2048, 2999, n}
	specs := map[string]dbSpec{
		"main": {skey: skeyA, vkey: vkeyA, records: mainRecs, stages: mainStages, data: true},
		"fork": {skey: skeyA, vkey: vkeyA, records: forked(500, 3500), stages: []int{600, 1000, 3000, 3500},
			data: true, lookupOf: sample},
		"rollback": {skey: skeyA, vkey: vkeyA, records: forked(10, 600), stages: []int{600},
			data: true, lookupOf: sample},
		"otherkey": {skey: skeyB, vkey: vkeyB, records: mainRecs, stages: []int{1000},
			data: true, lookupOf: sample},
		"othername": {skey: skeyC, vkey: vkeyC, records: mainRecs, stages: []int{1000},
			data: true, lookupOf: sample},
		"big": {skey: skeyA, vkey: vkeyA, records: bigRecs, stages: []int{bigN},
			lookupOf: func(id int) bool { return id%997 == 0 || id >= bigN-3 || id == 65535 || id == 65536 }},
	}
	var mainOps *ops
	for name, spec := range specs {
		o, err := buildDB(filepath.Join(out, name), spec)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if name == "main" {
			mainOps = o
		}
	}
	if err := genForged(out, skeyA, vkeyA); err != nil {
		return fmt.Errorf("forged: %v", err)
	}
	return writeProofs(filepath.Join(out, "proofs.tsv"), mainOps)
}

// Forgeries, all made by x/mod's own server (the client tests' regression cases):
//
//	forged       key A, 700 records, stages 300 and 700, data tiles. Record 10 is
//	             victim.example/a v1.0.0 and also lists hashes of bystander.example/b v1.0.0
//	             (forgedZipH1/forgedModH1); record 20 is bystander.example/b v1.0.0 with its own
//	             hashes; record 30 lists only the go.mod hash of halfrec.example/c v1.0.0.
//	forged/misdirected.tsv
//	             lookups answered by x/mod's server over ops whose Lookup returns another
//	             record: kind, asked module, asked version, escaped module, escaped version,
//	             record id, base64 body. Kinds: other-module, other-version, case-variant,
//	             go-mod-only (record 30 for its own module).
//	forged-twin  the same log but record 290 (tile 0/001) differs: its tiles, signed heads and
//	             data tiles are internally consistent x/mod output that forged's heads do not
//	             sign.
const (
	forgedZipH1 = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	forgedModH1 = "h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="
)

// misdirectOps answers lookups of some module versions with another record.
type misdirectOps struct {
	*ops
	to map[module.Version]int64
}

func (o *misdirectOps) Lookup(ctx context.Context, m module.Version) (int64, error) {
	if id, ok := o.to[m]; ok {
		return id, nil
	}
	return o.ops.Lookup(ctx, m)
}

func forgedRecords(twin bool) []rec {
	rs := make([]rec, 700)
	for i := range rs {
		salt := "forged"
		if twin && i == 290 {
			salt = "twin"
		}
		rs[i] = mainRecord(i, salt)
	}
	victim := module.Version{Path: "victim.example/a", Version: "v1.0.0"}
	by := module.Version{Path: "bystander.example/b", Version: "v1.0.0"}
	half := module.Version{Path: "halfrec.example/c", Version: "v1.0.0"}
	v := rec{m: victim, zipH1: h1("zip", victim.Path), modH1: h1("mod", victim.Path)}
	v.text = fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n%s %s %s\n%s %s/go.mod %s\n",
		by.Path, by.Version, forgedZipH1, by.Path, by.Version, forgedModH1,
		victim.Path, victim.Version, v.zipH1, victim.Path, victim.Version, v.modH1)
	rs[10] = v
	rs[20] = rec{m: by, zipH1: h1("zip", by.Path), modH1: h1("mod", by.Path)}
	h := rec{m: half, modH1: h1("mod", half.Path)}
	h.text = fmt.Sprintf("%s %s/go.mod %s\n", half.Path, half.Version, h.modH1)
	rs[30] = h
	return rs
}

func genForged(out, skey, vkey string) error {
	spec := dbSpec{skey: skey, vkey: vkey, records: forgedRecords(false), stages: []int{300, 700}, data: true}
	o, err := buildDB(filepath.Join(out, "forged"), spec)
	if err != nil {
		return err
	}
	twin := spec
	twin.records = forgedRecords(true)
	twin.lookupOf = func(int) bool { return false }
	if _, err := buildDB(filepath.Join(out, "forged-twin"), twin); err != nil {
		return err
	}

	type ask struct {
		kind string
		m    module.Version
		id   int64
	}
	asks := []ask{
		{"other-module", module.Version{Path: "asked.example/m", Version: "v1.0.0"}, 20},
		{"other-version", module.Version{Path: "bystander.example/b", Version: "v1.0.1"}, 20},
		{"case-variant", module.Version{Path: "bystander.example/B", Version: "v1.0.0"}, 20},
		{"go-mod-only", module.Version{Path: "halfrec.example/c", Version: "v1.0.0"}, 30},
	}
	mo := &misdirectOps{ops: o, to: map[module.Version]int64{}}
	for _, a := range asks {
		mo.to[a.m] = a.id
	}
	srv := sumdb.NewServer(mo)
	var tsv strings.Builder
	for _, a := range asks {
		ep, err := module.EscapePath(a.m.Path)
		if err != nil {
			return err
		}
		ev, err := module.EscapeVersion(a.m.Version)
		if err != nil {
			return err
		}
		body, err := get(srv, "lookup/"+ep+"@"+ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(&tsv, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", a.kind, a.m.Path, a.m.Version, ep, ev, a.id,
			base64.StdEncoding.EncodeToString(body))
	}
	return writeFile(filepath.Join(out, "forged", "misdirected.tsv"), []byte(tsv.String()))
}

func writeProofs(path string, o *ops) error {
	var b strings.Builder
	n := int64(len(o.records))
	sizes := []int64{0, 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 300, 511, 512, 513, 767, 1000, 1024, 2047, 2048, 2049, 2999, n}
	for _, t := range sizes {
		h, err := tlog.TreeHash(t, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "treehash\t%d\t%v\n", t, h)
	}
	for _, t := range sizes {
		for _, m := range []int64{0, 1, 2, 3, 7, 100, 255, 256, 257, 299, 511, 512, 1000, 2047, 2999} {
			if m < t {
				p, err := tlog.ProveRecord(t, m, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "recordproof\t%d\t%d", t, m)
				for _, h := range p {
					fmt.Fprintf(&b, "\t%v", h)
				}
				b.WriteString("\n")
			}
			if m >= 1 && m <= t {
				p, err := tlog.ProveTree(t, m, o)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "treeproof\t%d\t%d", t, m)
				for _, h := range p {
					fmt.Fprintf(&b, "\t%v", h)
				}
				b.WriteString("\n")
			}
		}
	}
	for level := 0; level < 20; level++ {
		for _, x := range []int64{0, 1, 2, 3, 5, 255, 256, 1000, 123456789} {
			idx := tlog.StoredHashIndex(level, x)
			if l, nn := tlog.SplitStoredHashIndex(idx); l != level || nn != x {
				return fmt.Errorf("SplitStoredHashIndex(%d) = %d, %d", idx, l, nn)
			}
			fmt.Fprintf(&b, "index\t%d\t%d\t%d\n", level, x, idx)
		}
	}
	for _, x := range []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 255, 256, 257, 1000, 65535, 65536, 1 << 40} {
		fmt.Fprintf(&b, "count\t%d\t%d\n", x, tlog.StoredHashCount(x))
	}
	for _, h := range []int{1, 2, 8} {
		for _, idx := range []int64{0, 1, 2, 3, 4, 5, 100, 509, 510, 511, 512, 1000, 5000, 131071, 1 << 33} {
			fmt.Fprintf(&b, "tileforindex\t%d\t%d\t%s\n", h, idx, tlog.TileForIndex(h, idx).Path())
		}
		for _, pair := range [][2]int64{{0, 1}, {0, 256}, {1, 257}, {255, 257}, {300, 3000}, {0, 65836}, {65536, 70000}, {5, 5}} {
			if h < 8 && pair[1] > 300 {
				continue // keep the lines short
			}
			fmt.Fprintf(&b, "newtiles\t%d\t%d\t%d", h, pair[0], pair[1])
			for _, t := range tlog.NewTiles(h, pair[0], pair[1]) {
				fmt.Fprintf(&b, "\t%s", t.Path())
			}
			b.WriteString("\n")
		}
	}
	return writeFile(path, []byte(b.String()))
}

func x(b []byte) string { return "x" + hex.EncodeToString(b) }

func parse(vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	known := note.VerifierList(v)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<16), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for line := 1; in.Scan(); line++ {
		kind, arg, ok := strings.Cut(in.Text(), " ")
		data, err := hex.DecodeString(arg)
		if !ok || err != nil {
			return fmt.Errorf("line %d: malformed input", line)
		}
		out.WriteString(answer(kind, data, known))
		out.WriteByte('\n')
	}
	return in.Err()
}

func answer(kind string, data []byte, known note.Verifiers) string {
	switch kind {
	case "vkey":
		v, err := note.NewVerifier(string(data))
		if err != nil {
			return "err"
		}
		return fmt.Sprintf("ok %s %08x", x([]byte(v.Name())), v.KeyHash())
	case "note":
		n, err := note.Open(data, known)
		if err != nil {
			var unverified *note.UnverifiedNoteError
			var invalid *note.InvalidSignatureError
			switch {
			case errors.As(err, &unverified):
				return "err unverified"
			case errors.As(err, &invalid):
				return "err invalid"
			case err.Error() == "malformed note":
				return "err malformed"
			}
			return "err " + strings.ReplaceAll(err.Error(), " ", "_")
		}
		return fmt.Sprintf("ok %s %d %d", x([]byte(n.Text)), len(n.Sigs), len(n.UnverifiedSigs))
	case "tree":
		t, err := tlog.ParseTree(data)
		if err != nil {
			return "err"
		}
		return fmt.Sprintf("ok %d %v", t.N, t.Hash)
	case "record":
		id, text, rest, err := tlog.ParseRecord(data)
		if err != nil {
			return "err"
		}
		return fmt.Sprintf("ok %d %s %s", id, x(text), x(rest))
	case "tile":
		t, err := tlog.ParseTilePath(string(data))
		if err != nil {
			return "err"
		}
		return fmt.Sprintf("ok %d %d %d %d", t.H, t.L, t.N, t.W)
	}
	return "err unknown kind " + kind
}
