package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// corpusModule is one module of the manifest that bench/run reads.
type corpusModule struct {
	Path     string   `json:"path"`
	Escaped  string   `json:"escaped"`
	Kind     string   `json:"kind"` // small, many, big, flat
	Versions []string `json:"versions"`
	ZipBytes []int64  `json:"zip_bytes"`
}

type corpusManifest struct {
	Prefix  string         `json:"prefix"`
	Modules []corpusModule `json:"modules"`
	Files   int            `json:"files"`
	Bytes   int64          `json:"bytes"`
}

var baseTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type corpusWriter struct {
	root   string
	man    corpusManifest
	rng    *rand.Rand
	chacha *rand.ChaCha8
	gosum  *bytes.Buffer // go.sum lines of the small modules, when asked for
}

func runCorpus(args []string) error {
	fl := flag.NewFlagSet("corpus", flag.ExitOnError)
	out := fl.String("out", "", "root of the GOPROXY tree to write (created)")
	manifest := fl.String("manifest", "", "where to write the JSON manifest")
	prefix := fl.String("prefix", "bench.example", "module path prefix")
	modules := fl.Int("modules", 0, "number of small modules (log-normal zip sizes)")
	versions := fl.Int("versions", 3, "versions per small module")
	medianKiB := fl.Float64("median-kib", 60, "median zip size of small modules, KiB")
	sigma := fl.Float64("sigma", 0.8, "sigma of the log-normal zip size distribution")
	many := fl.Int("many", 0, "versions of the one many-version module (0: none)")
	big := fl.String("big", "", "big zips, name:bytes,... (module <prefix>/big/<name> v1.0.0)")
	flat := fl.Int("flat", 0, "versions of tiny modules, 10 versions per module (store-size corpus)")
	seed := fl.Uint64("seed", 1, "random seed (the corpus is deterministic)")
	gosum := fl.String("gosum", "", "also write go.sum lines (h1: hashes) of the small modules here")
	fl.Parse(args)
	if *out == "" || *manifest == "" {
		return fmt.Errorf("-out and -manifest are required")
	}
	w := &corpusWriter{root: *out, man: corpusManifest{Prefix: *prefix}}
	if *gosum != "" {
		w.gosum = &bytes.Buffer{}
	}
	w.rng = rand.New(rand.NewPCG(*seed, 0x5704))
	var key [32]byte
	copy(key[:], fmt.Sprintf("stoa-bench-%d", *seed))
	w.chacha = rand.NewChaCha8(key)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}

	for i := 0; i < *modules; i++ {
		name := fmt.Sprintf("mod%03d", i)
		if i%10 == 7 { // exercise case-encoding: Upper007 is stored and requested as !upper007
			name = fmt.Sprintf("Upper%03d", i)
		}
		path := *prefix + "/m/" + name
		var vs []string
		for v := 0; v < *versions; v++ {
			vs = append(vs, fmt.Sprintf("v1.%d.0", v))
		}
		if err := w.module(path, "small", vs, func(int) int64 {
			kib := *medianKiB * math.Exp(*sigma*w.rng.NormFloat64())
			return int64(min(max(kib, 2), 4096) * 1024)
		}); err != nil {
			return err
		}
	}
	if *many > 0 {
		var vs []string
		for i := 0; i < *many; i++ {
			vs = append(vs, fmt.Sprintf("v1.%d.%d", i/100, i%100))
		}
		if err := w.module(*prefix+"/many", "many", vs, func(int) int64 { return 0 }); err != nil {
			return err
		}
	}
	for i := 0; i < *flat; i += 10 {
		var vs []string
		for v := i; v < min(i+10, *flat); v++ {
			vs = append(vs, fmt.Sprintf("v0.%d.0", v-i))
		}
		path := fmt.Sprintf("%s/s8/m%06d", *prefix, i/10)
		if err := w.module(path, "flat", vs, func(int) int64 { return 0 }); err != nil {
			return err
		}
	}
	if *big != "" {
		for _, spec := range strings.Split(*big, ",") {
			name, size, ok := strings.Cut(spec, ":")
			n, err := strconv.ParseInt(size, 10, 64)
			if !ok || err != nil || n <= 0 {
				return fmt.Errorf("bad -big entry %q", spec)
			}
			if err := w.bigModule(*prefix+"/big/"+name, n); err != nil {
				return err
			}
		}
	}
	if w.gosum != nil {
		if err := os.WriteFile(*gosum, w.gosum.Bytes(), 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(w.man, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*manifest, b, 0o644); err != nil {
		return err
	}
	emit(map[string]any{"modules": len(w.man.Modules), "files": w.man.Files, "bytes": w.man.Bytes})
	return nil
}

func infoJSON(v string, i int) []byte {
	return []byte(fmt.Sprintf("{\"Version\":%q,\"Time\":%q}\n", v,
		baseTime.Add(time.Duration(i)*time.Minute).Format(time.RFC3339)))
}

func goMod(path string) []byte { return []byte("module " + path + "\n\ngo 1.21\n") }

func (w *corpusWriter) write(rel string, data []byte) error {
	full := filepath.Join(w.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	w.man.Files++
	w.man.Bytes += int64(len(data))
	return os.WriteFile(full, data, 0o644)
}

// module writes .info, .mod and .zip of every version, then list and @latest. zipTarget gives
// the wanted zip size of version i (0: just go.mod and one small file).
func (w *corpusWriter) module(path, kind string, versions []string, zipTarget func(int) int64) error {
	esc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	m := corpusModule{Path: path, Escaped: esc, Kind: kind}
	for i, v := range versions {
		ev, err := module.EscapeVersion(v)
		if err != nil {
			return err
		}
		base := esc + "/@v/" + ev
		if err := w.write(base+".info", infoJSON(v, i)); err != nil {
			return err
		}
		if err := w.write(base+".mod", goMod(path)); err != nil {
			return err
		}
		z, err := w.smallZip(path, v, zipTarget(i))
		if err != nil {
			return fmt.Errorf("%s@%s: %w", path, v, err)
		}
		if err := w.write(base+".zip", z); err != nil {
			return err
		}
		if w.gosum != nil && kind == "small" {
			if err := w.sum(path, v, filepath.Join(w.root, filepath.FromSlash(base))); err != nil {
				return err
			}
		}
		m.Versions = append(m.Versions, v)
		m.ZipBytes = append(m.ZipBytes, int64(len(z)))
	}
	return w.finishModule(m)
}

// sum appends the go.sum lines of path@v, whose files are at base+".zip" and base+".mod".
func (w *corpusWriter) sum(path, v, base string) error {
	zh, err := dirhash.HashZip(base+".zip", dirhash.Hash1)
	if err != nil {
		return err
	}
	mh, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return os.Open(base + ".mod")
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w.gosum, "%s %s %s\n%s %s/go.mod %s\n", path, v, zh, path, v, mh)
	return nil
}

func (w *corpusWriter) finishModule(m corpusModule) error {
	sorted := append([]string(nil), m.Versions...)
	semver.Sort(sorted)
	if err := w.write(m.Escaped+"/@v/list", []byte(strings.Join(sorted, "\n")+"\n")); err != nil {
		return err
	}
	latest := sorted[len(sorted)-1]
	idx := 0
	for i, v := range m.Versions {
		if v == latest {
			idx = i
		}
	}
	if err := w.write(m.Escaped+"/@latest", infoJSON(latest, idx)); err != nil {
		return err
	}
	w.man.Modules = append(w.man.Modules, m)
	return nil
}

// text returns n bytes of random base64 lines: about as compressible as source code is not,
// which keeps zip sizes close to their targets.
func (w *corpusWriter) text(n int64) []byte {
	raw := make([]byte, n*3/4+3)
	w.chacha.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	b.WriteString("package p\n\n/*\n")
	for len(enc) > 0 && int64(b.Len()) < n {
		line := enc[:min(76, len(enc))]
		enc = enc[len(line):]
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteString("*/\n")
	return b.Bytes()
}

type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (i memInfo) Name() string       { return filepath.Base(i.name) }
func (i memInfo) Size() int64        { return int64(len(i.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return baseTime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// smallZip makes a module zip with the go command's rules (x/mod/zip.Create): go.mod, LICENSE
// and source files of up to 16 KiB until the compressed size is near target.
func (w *corpusWriter) smallZip(path, version string, target int64) ([]byte, error) {
	files := []modzip.File{
		memFile{"go.mod", goMod(path)},
		memFile{"LICENSE", []byte("Synthetic module for stoa's benchmarks. No rights reserved.\n")},
	}
	raw := target * 4 / 3 // base64 text deflates to about 3/4
	for i := 0; raw > 0 || i == 0; i++ {
		n := min(raw, 16<<10)
		files = append(files, memFile{fmt.Sprintf("pkg%d/f%03d.go", i/50, i), w.text(max(n, 64))})
		raw -= n
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, module.Version{Path: path, Version: version}, files); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// bigModule writes one version, v1.0.0, whose zip is about `size` bytes of stored (not
// deflated) random blobs, and checks it against x/mod/zip's rules.
func (w *corpusWriter) bigModule(path string, size int64) error {
	esc, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	const v = "v1.0.0"
	base := esc + "/@v/" + v
	if err := w.write(base+".info", infoJSON(v, 0)); err != nil {
		return err
	}
	if err := w.write(base+".mod", goMod(path)); err != nil {
		return err
	}
	full := filepath.Join(w.root, filepath.FromSlash(base+".zip"))
	f, err := os.Create(full)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	prefix := path + "@" + v + "/"
	add := func(name string, data []byte) error {
		h := &zip.FileHeader{Name: prefix + name, Method: zip.Store, Modified: baseTime}
		h.SetMode(0o644)
		e, err := zw.CreateHeader(h)
		if err == nil {
			_, err = e.Write(data)
		}
		return err
	}
	if err := add("go.mod", goMod(path)); err != nil {
		return err
	}
	// Leave room for the zip's headers (local, central, data descriptor) so the file is about
	// `size` bytes and a 500 MiB one stays within the module zip limits.
	left := size - 4096 - 256*(size/(8<<20)+2)
	buf := make([]byte, 8<<20)
	for i := 0; left > 0; i++ {
		n := min(left, int64(len(buf)))
		w.chacha.Read(buf[:n])
		if err := add(fmt.Sprintf("data/blob%04d.bin", i), buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := modzip.CheckZip(module.Version{Path: path, Version: v}, full); err != nil {
		return fmt.Errorf("%s: generated zip breaks the module zip rules: %w", path, err)
	}
	w.man.Files++
	w.man.Bytes += st.Size()
	return w.finishModule(corpusModule{Path: path, Escaped: esc, Kind: "big",
		Versions: []string{v}, ZipBytes: []int64{st.Size()}})
}
