// Command ziporacle answers module-zip questions with golang.org/x/mod, the reference that
// stoa's src/stoa/modzip is differentially tested against.
//
//	ziporacle gen <outdir>         write a corpus of zips and go.mod files plus <outdir>/manifest.tsv
//	ziporacle check <module> <version> <zip>   print one verdict line for an existing zip
//	ziporacle adversarial <outdir> <count> <seed>   write <count> generated adversarial zips
//	                               and <outdir>/manifest.tsv (adversarial.go)
//	ziporacle fuzz-seeds <dir>     (re)write the seed-* files of fuzz/corpus/zip_differential
//	ziporacle serve                answer "<module>\t<version>\t<zip>" lines on stdin with verdict lines
//	ziporacle gomod <file>         print the h1: of a go.mod file
//	ziporacle names                print module.CheckFilePath / path.Clean / strings.EqualFold verdicts
//	                               for generated file names (hex-encoded)
//	ziporacle unicode              print unicode.IsLetter ranges (>= U+0080) and SimpleFold minima
//	ziporacle unicode-inc          print src/stoa/modzip/unicode_tables.inc
//
// A verdict is what the go command decides when it downloads a zip: modfetch hashes it with
// dirhash.HashZip and extracts it with zip.Unzip, which runs zip.CheckZip first. The zip is "ok"
// only when all three succeed.
//
// manifest.tsv lines (tab-separated, error text last with newlines escaped):
//
//	zip    <file> <module> <version> ok  <h1>  -
//	zip    <file> <module> <version> err -     <stage>: <first error>
//	gomod  <file> <h1>
package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		if len(os.Args) != 3 {
			usage()
		}
		err = gen(os.Args[2])
	case "check":
		if len(os.Args) != 5 {
			usage()
		}
		var line string
		line, err = verdictLine(module.Version{Path: os.Args[2], Version: os.Args[3]}, os.Args[4])
		fmt.Println(line)
	case "gomod":
		if len(os.Args) != 3 {
			usage()
		}
		var data []byte
		if data, err = os.ReadFile(os.Args[2]); err == nil {
			var h string
			h, err = hashGoMod(data)
			fmt.Println(h)
		}
	case "adversarial":
		if len(os.Args) != 5 {
			usage()
		}
		var count int
		var seed int64
		if count, err = strconv.Atoi(os.Args[3]); err == nil {
			if seed, err = strconv.ParseInt(os.Args[4], 10, 64); err == nil {
				err = adversarial(os.Args[2], count, seed)
			}
		}
	case "serve":
		err = serve()
	case "fuzz-seeds":
		if len(os.Args) != 3 {
			usage()
		}
		err = fuzzSeeds(os.Args[2])
	case "names":
		printNames(os.Stdout)
	case "unicode":
		printUnicode(os.Stdout)
	case "unicode-inc":
		printUnicodeInc(os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ziporacle:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: ziporacle gen <outdir> | adversarial <outdir> <count> <seed> | serve | fuzz-seeds <dir> | check <module> <version> <zip> | gomod <file> | names | unicode | unicode-inc")
	os.Exit(2)
}

// verdict returns the go command's decision on a downloaded zip: "" and the h1 when it
// accepts it, else the failing stage and error.
func verdict(m module.Version, file string) (h1 string, failure string) {
	return verdictWith(m, file, unzipToDisk)
}

// verdictWith is verdict with zip.Unzip's stage done by `unzip`.
func verdictWith(m module.Version, file string, unzip func(module.Version, string) error) (h1 string, failure string) {
	if _, err := modzip.CheckZip(m, file); err != nil {
		return "", "checkzip: " + err.Error()
	}
	h1, err := dirhash.HashZip(file, dirhash.Hash1)
	if err != nil {
		return "", "hashzip: " + err.Error()
	}
	if err := unzip(m, file); err != nil {
		return "", "unzip: " + err.Error()
	}
	return h1, ""
}

// unzipToDisk runs zip.Unzip into a temporary directory.
func unzipToDisk(m module.Version, file string) error {
	dir, err := os.MkdirTemp("", "ziporacle-unzip-")
	if err != nil {
		return err
	}
	defer removeAll(dir)
	return modzip.Unzip(filepath.Join(dir, "x"), m, file)
}

// unzipReads does what zip.Unzip does once CheckZip passed, minus the file system: it opens
// every file entry and reads it through a LimitedReader of its declared size + 1, as Unzip
// copies it to disk. (What the disk adds, such as a name too long for the file system, depends
// on the machine, not on the zip reader.) Ten thousand zips take seconds instead of a minute.
func unzipReads(m module.Version, file string) error {
	z, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer z.Close()
	prefix := m.Path + "@" + m.Version + "/"
	for _, zf := range z.File {
		name := zf.Name[len(prefix):]
		if name == "" || strings.HasSuffix(name, "/") {
			continue
		}
		r, err := zf.Open()
		if err != nil {
			return err
		}
		lr := &io.LimitedReader{R: r, N: int64(zf.UncompressedSize64) + 1}
		_, err = io.Copy(io.Discard, lr)
		r.Close()
		if err != nil {
			return err
		}
		if lr.N <= 0 {
			return fmt.Errorf("uncompressed size of file %s is larger than declared size (%d bytes)", zf.Name, zf.UncompressedSize64)
		}
	}
	return nil
}

// removeAll undoes Unzip's read-only files and directories.
func removeAll(dir string) {
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			_ = os.Chmod(p, 0o777)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

func verdictLine(m module.Version, file string) (string, error) {
	return formatVerdict(m, file, unzipToDisk), nil
}

func formatVerdict(m module.Version, file string, unzip func(module.Version, string) error) string {
	h1, failure := verdictWith(m, file, unzip)
	if failure == "" {
		return strings.Join([]string{"zip", filepath.Base(file), m.Path, m.Version, "ok", h1, "-"}, "\t")
	}
	failure = strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(failure)
	return strings.Join([]string{"zip", filepath.Base(file), m.Path, m.Version, "err", "-", failure}, "\t")
}

func hashGoMod(data []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// ---------------------------------------------------------------------------------------------
// Corpus

const (
	defPath = "example.com/m"
	defVers = "v1.0.0"
	mib     = 1 << 20
)

type memFile struct {
	path string
	data []byte
	mode os.FileMode
}

func (f memFile) Path() string                 { return f.path }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return path.Base(i.f.path) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
func (i memInfo) Mode() os.FileMode {
	if i.f.mode == 0 {
		return 0o644
	}
	return i.f.mode
}

// files builds memFiles from alternating path, content pairs.
func files(kv ...string) []modzip.File {
	var fs []modzip.File
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, memFile{path: kv[i], data: []byte(kv[i+1])})
	}
	return fs
}

type corpus struct {
	dir      string
	manifest strings.Builder
	n        int
}

func (c *corpus) name(label string) string {
	c.n++
	return fmt.Sprintf("%03d-%s.zip", c.n, label)
}

func (c *corpus) record(file string, m module.Version) error {
	line, err := verdictLine(m, filepath.Join(c.dir, file))
	if err != nil {
		return err
	}
	c.manifest.WriteString(line + "\n")
	return nil
}

// created writes a zip made by x/mod's zip.Create (what the go command and proxies produce).
func (c *corpus) created(label, modPath, vers string, fs []modzip.File) error {
	file := c.name(label)
	var buf bytes.Buffer
	m := module.Version{Path: modPath, Version: vers}
	if err := modzip.Create(&buf, m, fs); err != nil {
		return fmt.Errorf("%s: zip.Create: %w", label, err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, file), buf.Bytes(), 0o644); err != nil {
		return err
	}
	return c.record(file, m)
}

// hand writes a zip with archive/zip directly; build adds the entries.
func (c *corpus) hand(label, modPath, vers string, build func(w *zip.Writer) error) error {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	if err := build(w); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return c.raw(label, modPath, vers, buf.Bytes())
}

// raw writes arbitrary bytes as a zip file.
func (c *corpus) raw(label, modPath, vers string, data []byte) error {
	file := c.name(label)
	if err := os.WriteFile(filepath.Join(c.dir, file), data, 0o644); err != nil {
		return err
	}
	return c.record(file, module.Version{Path: modPath, Version: vers})
}

// handFiles writes one deflated entry per name, content = the name's index as text.
func (c *corpus) handFiles(label string, names ...string) error {
	return c.hand(label, defPath, defVers, func(w *zip.Writer) error {
		for i, n := range names {
			if err := add(w, n, fmt.Sprintf("content %d\n", i), zip.Deflate); err != nil {
				return err
			}
		}
		return nil
	})
}

func add(w *zip.Writer, name, data string, method uint16) error {
	fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: method})
	if err != nil || strings.HasSuffix(name, "/") {
		return err
	}
	_, err = io.WriteString(fw, data)
	return err
}

func addMode(w *zip.Writer, name, data string, mode os.FileMode) error {
	fh := &zip.FileHeader{Name: name, Method: zip.Deflate}
	fh.SetMode(mode)
	fw, err := w.CreateHeader(fh)
	if err != nil {
		return err
	}
	_, err = io.WriteString(fw, data)
	return err
}

// addRaw writes an entry with exactly the given header fields and (already compressed) bytes.
func addRaw(w *zip.Writer, fh zip.FileHeader, comp []byte) error {
	fh.CompressedSize64 = uint64(len(comp))
	fw, err := w.CreateRaw(&fh)
	if err != nil {
		return err
	}
	_, err = fw.Write(comp)
	return err
}

func deflate(data []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	_, _ = fw.Write(data)
	_ = fw.Close()
	return buf.Bytes()
}

// zeros writes n zero bytes deflated through w (the entry stays small on disk).
func addZeros(w *zip.Writer, name string, n int) error {
	fw, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	_, err = io.CopyN(fw, zeroReader{}, int64(n))
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func gen(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c := &corpus{dir: dir}
	p := defPath + "@" + defVers + "/"
	steps := []func() error{
		// ---- zips made by zip.Create ----
		func() error {
			return c.created("simple", defPath, defVers, files(
				"go.mod", "module example.com/m\n\ngo 1.21\n",
				"LICENSE", "Copyright nobody\n",
				"m.go", "package m\n"))
		},
		func() error { return c.created("empty-module", defPath, defVers, nil) },
		func() error {
			return c.created("empty-files", defPath, defVers, files("a.go", "", "b/c.go", "", "go.mod", ""))
		},
		func() error {
			return c.created("unicode-names", defPath, defVers, files(
				"héllo/wörld.go", "package wörld\n",
				"日本語/ファイル.txt", "こんにちは\n",
				"Ωmega.go", "ω\n",
				"ǅ.txt", "title case\n",
				"ʰmod.txt", "modifier letter\n",
				"straße.txt", "eszett\n",
				"strasse.txt", "no collision with eszett\n"))
		},
		func() error {
			var kv []string
			d := ""
			for i := 0; i < 60; i++ {
				d += fmt.Sprintf("d%d/", i)
				kv = append(kv, d+"f.go", fmt.Sprintf("package d%d\n", i))
			}
			return c.created("deep-tree", defPath, defVers, files(kv...))
		},
		func() error {
			return c.created("sort-order", defPath, defVers, files(
				"B.go", "1", "a.go", "2", "C/x.go", "3", "b2.go", "4", "é.go", "5", "Z.go", "6",
				"_.go", "7", "a-b", "8", "a.b", "9", "a/b", "10", "~x", "11", "0.go", "12",
				"A b.go", "13", "Ab.go", "14"))
		},
		func() error {
			var kv []string
			for i := 0; i < 3000; i++ {
				kv = append(kv, fmt.Sprintf("pkg%02d/file%04d.go", i%37, i), fmt.Sprintf("package p\n// %d\n", i))
			}
			return c.created("many-files", defPath, defVers, files(kv...))
		},
		func() error {
			return c.created("vendor-go123", defPath, defVers, files(
				"go.mod", "module example.com/m\n\ngo 1.23\n",
				"vendor/modules.txt", "# example.com/dep v1.0.0\n",
				"vendor/example.com/dep/dep.go", "package dep\n",
				"vendor/vendor.go", "package vendor\n",
				"pkg/vendor/vendor.go", "package vendor\n",
				"pkg/vendor/x/x.go", "package x\n"))
		},
		func() error {
			return c.created("vendor-go124", defPath, defVers, files(
				"go.mod", "module example.com/m\n\ngo 1.24\n",
				"vendor/modules.txt", "# example.com/dep v1.0.0\n",
				"vendor/example.com/dep/dep.go", "package dep\n",
				"pkg/vendor/vendor.go", "package vendor\n",
				"pkg/vendor/x/x.go", "package x\n"))
		},
		func() error {
			return c.created("submodule-omitted", defPath, defVers, files(
				"go.mod", "module example.com/m\n",
				"sub/go.mod", "module example.com/m/sub\n",
				"sub/x.go", "package sub\n",
				"top.go", "package m\n"))
		},
		func() error {
			return c.created("major-v2", "example.com/m/v2", "v2.3.4", files("go.mod", "module example.com/m/v2\n", "m.go", "package m\n"))
		},
		func() error {
			return c.created("incompatible", "example.com/old", "v3.0.0+incompatible", files("old.go", "package old\n"))
		},
		func() error {
			return c.created("pseudo", defPath, "v0.0.0-20240101000000-abcdefabcdef", files("m.go", "package m\n"))
		},
		func() error {
			return c.created("gopkg-in", "gopkg.in/yaml.v3", "v3.0.1", files("yaml.go", "package yaml\n"))
		},
		func() error {
			return c.created("uppercase-module", "github.com/Azure/Go-SDK", "v1.0.0-RC1", files("go.mod", "module github.com/Azure/Go-SDK\n", "sdk.go", "package sdk\n"))
		},
		func() error {
			return c.created("punctuation-names", defPath, defVers, files(
				"a b!#$%&()+,-.=@[]^_{}~.txt", "x", ".hidden", "x", "-dash", "x", "x~1", "x", ".hg_archival.txt", "x"))
		},
		func() error {
			return c.created("binary-3MiB", defPath, defVers, []modzip.File{memFile{path: "blob.bin", data: pseudoRandom(3 * mib)}})
		},
		func() error {
			return c.created("license-16MiB", defPath, defVers, []modzip.File{
				memFile{path: "LICENSE", data: make([]byte, 16*mib)},
				memFile{path: "go.mod", data: []byte("module example.com/m\n")}})
		},
		func() error {
			return c.created("go-mod-only", defPath, defVers, files("go.mod", "module example.com/m\n"))
		},

		// ---- hand-made zips: names and prefixes ----
		func() error {
			return c.handFiles("dir-entries-ok", p, p+"sub/", p+"sub/x.go", p+"empty/", p+"sub/", p+"go.mod/", p+"go.mod/x.go")
		},
		func() error { return c.handFiles("wrong-module", "example.com/n@v1.0.0/x.go") },
		func() error { return c.handFiles("wrong-module-case", "example.com/M@v1.0.0/x.go") },
		func() error { return c.handFiles("wrong-version", "example.com/m@v1.0.1/x.go") },
		func() error { return c.handFiles("prefix-no-slash", "example.com/m@v1.0.0") },
		func() error { return c.handFiles("no-prefix", "go.mod") },
		func() error { return c.handFiles("leading-slash", "/"+p+"x.go") },
		func() error { return c.handFiles("escaped-prefix", "github.com/!azure/x@v1.0.0/x.go") },
		func() error {
			return c.hand("escaped-module-real-prefix", "github.com/Azure/x", defVers, func(w *zip.Writer) error {
				return add(w, "github.com/Azure/x@v1.0.0/x.go", "x", zip.Deflate)
			})
		},
		func() error { return c.handFiles("dotdot", p+"../evil.go") },
		func() error { return c.handFiles("inner-dotdot", p+"a/../b.go") },
		func() error { return c.handFiles("dot-elem", p+"./a.go") },
		func() error { return c.handFiles("inner-dot", p+"a/./b.go") },
		func() error { return c.handFiles("double-slash", p+"a//b.go") },
		func() error { return c.handFiles("prefix-double-slash-dir", p+"/") },
		func() error { return c.handFiles("name-dot", p+".") },
		func() error { return c.handFiles("name-dots", p+"...") },
		func() error { return c.handFiles("trailing-dot", p+"a.") },
		func() error { return c.handFiles("colon", p+"a:b.go") },
		func() error { return c.handFiles("star", p+"a*b.go") },
		func() error { return c.handFiles("backslash", p+`a\b.go`) },
		func() error { return c.handFiles("quote", p+`a"b.go`) },
		func() error { return c.handFiles("tab", p+"a\tb.go") },
		func() error { return c.handFiles("newline", p+"a\nb.go") },
		func() error { return c.handFiles("con", p+"con") },
		func() error { return c.handFiles("con-ext", p+"dir/CON.txt") },
		func() error { return c.handFiles("com1", p+"Com1.go") },
		func() error { return c.handFiles("lpt9-dir", p+"lpt9/x.go") },
		func() error { return c.handFiles("com0-ok", p+"com0.go") },
		func() error { return c.handFiles("conx-ok", p+"conx.go") },
		func() error { return c.handFiles("invalid-utf8", p+"a\xff.go") },
		func() error { return c.handFiles("surrogate-utf8", p+"a\xed\xa0\x80.go") },
		func() error { return c.handFiles("overlong-utf8", p+"a\xc0\xaf.go") },
		func() error { return c.handFiles("emoji", p+"😀.go") },
		func() error { return c.handFiles("combining-mark", p+"e\u0301.go") },
		func() error { return c.handFiles("letter-number", p+"Ⅻ.go") },
		func() error { return c.handFiles("arabic-digit", p+"٣.go") },
		func() error { return c.handFiles("nbsp", p+"a\u00a0b.go") },
		func() error { return c.handFiles("cjk-ok", p+"漢字/文字.go") },
		func() error {
			return c.hand("non-ascii-no-utf8-flag", defPath, defVers, func(w *zip.Writer) error {
				fw, err := w.CreateHeader(&zip.FileHeader{Name: p + "é.go", Method: zip.Deflate, NonUTF8: true})
				if err != nil {
					return err
				}
				_, err = io.WriteString(fw, "package m\n")
				return err
			})
		},

		// ---- collisions and duplicates ----
		func() error { return c.handFiles("case-collision", p+"README", p+"readme") },
		func() error { return c.handFiles("case-collision-dir", p+"a/B.go", p+"A/c.go") },
		func() error { return c.handFiles("kelvin-collision", p+"K.go", p+"\u212a.go") },
		func() error { return c.handFiles("long-s-collision", p+"s.go", p+"\u017f.go") },
		func() error { return c.handFiles("sigma-collision", p+"σ.go", p+"ς.go") },
		func() error { return c.handFiles("dz-collision", p+"ǅ", p+"ǆ") },
		func() error { return c.handFiles("capital-sharp-s-collision", p+"ß", p+"ẞ") },
		func() error { return c.handFiles("sharp-s-ss-ok", p+"ß", p+"ss") },
		func() error { return c.handFiles("duplicate-file", p+"x.go", p+"x.go") },
		func() error { return c.handFiles("duplicate-dir-ok", p+"d/", p+"d/", p+"d/x.go") },
		func() error { return c.handFiles("file-and-dir", p+"a", p+"a/b.go") },
		func() error { return c.handFiles("dir-entry-and-file", p+"a/", p+"a") },
		func() error { return c.handFiles("file-then-dir-entry", p+"a", p+"a/") },

		// ---- go.mod, LICENSE, vendor ----
		func() error { return c.handFiles("gomod-upper", p+"GO.MOD") },
		func() error { return c.handFiles("gomod-mixed", p+"go.MOD") },
		func() error { return c.handFiles("gomod-subdir", p+"go.mod", p+"sub/go.mod") },
		func() error { return c.handFiles("gomod-subdir-upper", p+"sub/Go.Mod") },
		func() error { return c.handFiles("gomod-vendor", p+"vendor/go.mod") },
		func() error {
			return c.handFiles("vendor-hand-ok", p+"vendor/modules.txt", p+"vendor/example.com/dep/dep.go")
		},
		func() error {
			return c.hand("gomod-declared-too-big", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("module example.com/m\n")
				return addRaw(w, zip.FileHeader{Name: p + "go.mod", Method: zip.Store,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 16*mib + 1}, data)
			})
		},
		func() error {
			return c.hand("license-declared-too-big", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("license\n")
				return addRaw(w, zip.FileHeader{Name: p + "LICENSE", Method: zip.Store,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 16*mib + 1}, data)
			})
		},
		func() error {
			return c.hand("license-16MiB+1", defPath, defVers, func(w *zip.Writer) error {
				return addZeros(w, p+"LICENSE", 16*mib+1)
			})
		},
		func() error {
			return c.hand("sub-license-16MiB+1-ok", defPath, defVers, func(w *zip.Writer) error {
				return addZeros(w, p+"sub/LICENSE", 16*mib+1)
			})
		},
		func() error {
			return c.hand("gomod-16MiB-ok", defPath, defVers, func(w *zip.Writer) error {
				return addZeros(w, p+"go.mod", 16*mib)
			})
		},
		func() error {
			return c.hand("total-declared-too-big", defPath, defVers, func(w *zip.Writer) error {
				for _, n := range []string{"a", "b"} {
					data := []byte(n)
					if err := addRaw(w, zip.FileHeader{Name: p + n, Method: zip.Store,
						CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 300 * mib}, data); err != nil {
						return err
					}
				}
				return nil
			})
		},
		func() error {
			return c.hand("zeros-20MiB", defPath, defVers, func(w *zip.Writer) error {
				return addZeros(w, p+"zeros.bin", 20*mib)
			})
		},

		// ---- file modes ----
		func() error {
			return c.hand("symlink", defPath, defVers, func(w *zip.Writer) error {
				if err := addMode(w, p+"link", "target.go", os.ModeSymlink|0o777); err != nil {
					return err
				}
				return add(w, p+"target.go", "package m\n", zip.Deflate)
			})
		},
		func() error {
			return c.hand("fifo-mode", defPath, defVers, func(w *zip.Writer) error {
				return addMode(w, p+"fifo", "", os.ModeNamedPipe|0o644)
			})
		},
		func() error {
			return c.hand("dir-mode-file", defPath, defVers, func(w *zip.Writer) error {
				return addMode(w, p+"notadir", "data", os.ModeDir|0o755)
			})
		},
		func() error {
			return c.hand("executable", defPath, defVers, func(w *zip.Writer) error {
				return addMode(w, p+"run.sh", "#!/bin/sh\n", 0o755)
			})
		},

		// ---- declared sizes, checksums, methods ----
		func() error { return c.sizeCase("stored-declared-smaller", zip.Store, -1, 0, 0) },
		func() error { return c.sizeCase("stored-declared-larger", zip.Store, +1, 0, 0) },
		func() error { return c.sizeCase("deflated-declared-smaller", zip.Deflate, -1, 0, 0) },
		func() error { return c.sizeCase("deflated-declared-larger", zip.Deflate, +1, 0, 0) },
		func() error { return c.sizeCase("deflated-declared-zero", zip.Deflate, -11, 0, 0) },
		func() error { return c.sizeCase("stored-exact-ok", zip.Store, 0, 0, 0) },
		func() error { return c.sizeCase("deflated-exact-ok", zip.Deflate, 0, 0, 0) },
		func() error { return c.sizeCase("stored-bad-crc", zip.Store, 0, 1, 0) },
		func() error { return c.sizeCase("deflated-bad-crc", zip.Deflate, 0, 1, 0) },
		func() error { return c.sizeCase("stored-crc-zero-ok", zip.Store, 0, 2, 0) },
		func() error { return c.sizeCase("deflated-crc-zero-ok", zip.Deflate, 0, 2, 0) },
		func() error { return c.sizeCase("descriptor-bad-crc", zip.Deflate, 0, 1, 0x8) },
		func() error { return c.sizeCase("encrypted-flag-stored", zip.Store, 0, 0, 0x1) },
		func() error { return c.sizeCase("encrypted-flag-deflated", zip.Deflate, 0, 0, 0x1) },
		func() error {
			return c.hand("stored-comp-size-differs", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("hello")
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Store,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 5}, []byte("hello!"))
			})
		},
		func() error {
			return c.hand("stored-zero-declared-nonzero-comp", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Store}, []byte("hello"))
			})
		},
		func() error {
			return c.hand("deflated-truncated", defPath, defVers, func(w *zip.Writer) error {
				data := pseudoRandom(5000)
				comp := deflate(data)
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Deflate,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: uint64(len(data))}, comp[:len(comp)-10])
			})
		},
		func() error {
			return c.hand("deflated-trailing-garbage", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("hello, trailing garbage\n")
				comp := append(deflate(data), "GARBAGE"...)
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Deflate,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: uint64(len(data))}, comp)
			})
		},
		func() error {
			return c.hand("deflated-corrupt", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("hello")
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Deflate,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 5}, []byte{0xff, 0xff, 0xff, 0xff})
			})
		},
		func() error {
			return c.hand("deflated-empty-stream-missing", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Deflate}, nil)
			})
		},
		func() error {
			return c.hand("deflated-empty-ok", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Deflate}, deflate(nil))
			})
		},
		func() error {
			return c.hand("method-bzip2", defPath, defVers, func(w *zip.Writer) error {
				data := []byte("hello")
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: 12,
					CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: 5}, data)
			})
		},
		func() error {
			return c.hand("method-bzip2-empty", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "x", Method: 12}, nil)
			})
		},
		func() error {
			return c.hand("method-bzip2-dir-ok", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "d/", Method: 12}, nil)
			})
		},
		func() error {
			return c.hand("dir-declared-size", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "d/", Method: zip.Store, UncompressedSize64: 5}, nil)
			})
		},
		func() error {
			return c.hand("root-dir-declared-size", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p, Method: zip.Store, UncompressedSize64: 5}, nil)
			})
		},
		func() error {
			// archive/zip refuses data for directory entries: write "dX", then rename it "d/".
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			if err := addRaw(w, zip.FileHeader{Name: p + "dX", Method: zip.Deflate}, deflate(nil)); err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			z := bytes.ReplaceAll(buf.Bytes(), []byte(p+"dX"), []byte(p+"d/"))
			return c.raw("dir-deflated-empty-ok", defPath, defVers, z)
		},
		func() error {
			return c.hand("stored-and-deflated", defPath, defVers, func(w *zip.Writer) error {
				if err := add(w, p+"go.mod", "module example.com/m\n", zip.Store); err != nil {
					return err
				}
				if err := add(w, p+"a.go", "package m\n", zip.Deflate); err != nil {
					return err
				}
				return add(w, p+"b.go", "", zip.Store)
			})
		},
		func() error {
			// Same files as stored-and-deflated, other methods and order: same h1.
			return c.hand("deflated-and-stored", defPath, defVers, func(w *zip.Writer) error {
				if err := add(w, p+"b.go", "", zip.Deflate); err != nil {
					return err
				}
				if err := add(w, p+"a.go", "package m\n", zip.Store); err != nil {
					return err
				}
				return add(w, p+"go.mod", "module example.com/m\n", zip.Deflate)
			})
		},
		func() error {
			return c.hand("with-comment", defPath, defVers, func(w *zip.Writer) error {
				if err := w.SetComment("a zip comment"); err != nil {
					return err
				}
				return add(w, p+"x.go", "package x\n", zip.Deflate)
			})
		},

		// ---- zip-format corners where libzip and archive/zip read different things ----
		func() error { return c.handFiles("nul-in-name", p+"a\x00b.go") },
		func() error {
			return c.hand("unicode-path-extra-hides-dotdot", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "x.go", Method: zip.Store,
					Extra: unicodePathExtra(p+"x.go", p+"../x.go")}, nil)
			})
		},
		func() error {
			return c.hand("unicode-path-extra-fixes-name", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "a:b.go", Method: zip.Store,
					Extra: unicodePathExtra(p+"a:b.go", p+"ab.go")}, nil)
			})
		},
		func() error {
			return c.hand("unicode-path-extra-same-name", defPath, defVers, func(w *zip.Writer) error {
				return addRaw(w, zip.FileHeader{Name: p + "é.go", Method: zip.Store,
					Extra: unicodePathExtra(p+"é.go", p+"é.go")}, nil)
			})
		},
		func() error { return c.sizeCase("descriptor-crc-zero", zip.Deflate, 0, 2, 0x8) },
		func() error {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			data := []byte("0123456789a")
			if err := addRaw(w, zip.FileHeader{Name: p + "x", Method: zip.Store, Flags: 0x8,
				CRC32: crc32.ChecksumIEEE(data), UncompressedSize64: uint64(len(data))}, data); err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			z := buf.Bytes()
			i := bytes.Index(z, []byte("PK\x07\x08"))
			if i < 0 {
				return errors.New("no data descriptor written")
			}
			z[i+4] ^= 0xff // the descriptor's CRC; the central directory's stays right
			return c.raw("descriptor-field-bad-crc", defPath, defVers, z)
		},

		// ---- not zips ----
		func() error { return c.raw("empty-zip-ok", defPath, defVers, emptyZip()) },
		func() error { return c.raw("zero-bytes", defPath, defVers, nil) },
		func() error {
			var buf bytes.Buffer
			w := zip.NewWriter(&buf)
			if err := add(w, p+"x.go", "package x\n", zip.Deflate); err != nil {
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
			return c.raw("prepended-data", defPath, defVers, append([]byte("#!/bin/sh\nexit 0\n"), buf.Bytes()...))
		},
		func() error { return c.raw("text", defPath, defVers, []byte("this is not a zip file\n")) },
		func() error {
			z := emptyZip()
			return c.raw("truncated-eocd", defPath, defVers, z[:len(z)-3])
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	for i, gomod := range [][]byte{
		nil,
		[]byte("module example.com/m\n"),
		[]byte("module example.com/m\n\ngo 1.22\n\nrequire golang.org/x/mod v0.43.0\n"),
		[]byte("no trailing newline"),
		[]byte("module \"example.com/é\"\r\n"),
		pseudoRandom(200000),
	} {
		file := fmt.Sprintf("gomod-%02d.mod", i)
		if err := os.WriteFile(filepath.Join(dir, file), gomod, 0o644); err != nil {
			return err
		}
		h, err := hashGoMod(gomod)
		if err != nil {
			return err
		}
		fmt.Fprintf(&c.manifest, "gomod\t%s\t%s\n", file, h)
	}
	return os.WriteFile(filepath.Join(dir, "manifest.tsv"), []byte(c.manifest.String()), 0o644)
}

// sizeCase writes one entry "x" with content pseudoRandom(10) whose header lies:
// declared size off by sizeDelta; crcMode 1 = wrong CRC, 2 = CRC field 0; flags added verbatim.
func (c *corpus) sizeCase(label string, method uint16, sizeDelta int, crcMode int, flags uint16) error {
	return c.hand(label, defPath, defVers, func(w *zip.Writer) error {
		data := []byte("0123456789a")
		comp := data
		if method == zip.Deflate {
			comp = deflate(data)
		}
		crc := crc32.ChecksumIEEE(data)
		switch crcMode {
		case 1:
			crc ^= 0x5a5a
		case 2:
			crc = 0
		}
		return addRaw(w, zip.FileHeader{Name: defPath + "@" + defVers + "/x", Method: method, Flags: flags,
			CRC32: crc, UncompressedSize64: uint64(len(data) + sizeDelta)}, comp)
	})
}

// unicodePathExtra is an Info-ZIP Unicode Path extra field (0x7075): readers that honour it
// use `name` instead of the header's name when the CRC of the header's name matches.
func unicodePathExtra(headerName, name string) []byte {
	data := []byte{1, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(data[1:], crc32.ChecksumIEEE([]byte(headerName)))
	data = append(data, name...)
	extra := binary.LittleEndian.AppendUint16(nil, 0x7075)
	extra = binary.LittleEndian.AppendUint16(extra, uint16(len(data)))
	return append(extra, data...)
}

func emptyZip() []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	_ = w.Close()
	return buf.Bytes()
}

// ---------------------------------------------------------------------------------------------
// Unicode tables (the parts of package unicode that module.CheckFilePath and strToFold use)

type runeRange struct{ lo, hi rune }

func letterRanges() []runeRange {
	var rs []runeRange
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		if !unicode.IsLetter(r) {
			continue
		}
		if n := len(rs); n > 0 && rs[n-1].hi == r-1 {
			rs[n-1].hi = r
		} else {
			rs = append(rs, runeRange{r, r})
		}
	}
	return rs
}

// foldMin returns the smallest rune in r's unicode.SimpleFold orbit (as strToFold computes it).
func foldMin(r rune) rune {
	for {
		r0 := r
		r = unicode.SimpleFold(r0)
		if r <= r0 {
			return r
		}
	}
}

type foldPair struct{ r, min rune }

func foldPairs() []foldPair {
	var ps []foldPair
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if m := foldMin(r); m != r {
			ps = append(ps, foldPair{r, m})
		}
	}
	return ps
}

func printUnicode(w io.Writer) {
	fmt.Fprintf(w, "version %s\n", unicode.Version)
	for _, r := range letterRanges() {
		fmt.Fprintf(w, "letter %d %d\n", r.lo, r.hi)
	}
	for _, p := range foldPairs() {
		fmt.Fprintf(w, "fold %d %d\n", p.r, p.min)
	}
}

func printUnicodeInc(w io.Writer) {
	fmt.Fprintf(w, "// Generated by `ziporacle unicode-inc` (tests/oracle/ziporacle) from Go's package unicode,\n")
	fmt.Fprintf(w, "// Unicode %s. Do not edit; differential_test.cpp checks it against the oracle.\n", unicode.Version)
	fmt.Fprintf(w, "// clang-format off\n\n")
	fmt.Fprintf(w, "// unicode.IsLetter for runes >= U+0080: inclusive ranges, sorted.\n")
	fmt.Fprintf(w, "inline constexpr RuneRange k_letter_ranges[] = {\n")
	for i, r := range letterRanges() {
		sep := " "
		if i%4 == 0 {
			sep = "    "
		}
		fmt.Fprintf(w, "%s{0x%X, 0x%X},", sep, r.lo, r.hi)
		if i%4 == 3 {
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n};\n\n")
	fmt.Fprintf(w, "// Runes whose unicode.SimpleFold orbit has a smaller member: {rune, smallest}, sorted.\n")
	fmt.Fprintf(w, "inline constexpr FoldPair k_fold_min[] = {\n")
	for i, p := range foldPairs() {
		sep := " "
		if i%4 == 0 {
			sep = "    "
		}
		fmt.Fprintf(w, "%s{0x%X, 0x%X},", sep, p.r, p.min)
		if i%4 == 3 {
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\n};\n")
	fmt.Fprintf(w, "// clang-format on\n")
}

// ---------------------------------------------------------------------------------------------
// File names: module.CheckFilePath, path.Clean and strings.EqualFold (which x/mod's strToFold
// stands for) over generated names. Lines:
//
//	name <hex> <ok|err> <hex of path.Clean(name)>
//	fold <hex a> <hex b> <0|1>

var nameParts = []string{
	"a", "B", "z", "Z", "0", "9", "go", "mod", "go.mod", "GO.MOD", "LICENSE", "vendor", ".", "..", "...",
	"/", "//", "-", "_", "~", "~1", " ", "!", "#", "$", "%", "&", "(", ")", "+", ",", "=", "@",
	"[", "]", "^", "{", "}", "'", "\"", "*", "<", ">", "?", "`", "|", ":", "\\", ";", "\t",
	"\n", "\x00", "\x7f", "con", "CON", "Nul", "com1", "COM9", "lpt1", "LPT0", "aux.txt",
	"é", "e\u0301", "ß", "ẞ", "ss", "K", "\u212a", "k", "s", "ſ", "σ", "ς", "Σ", "ǅ", "Ǆ", "ǆ",
	"İ", "ı", "i", "I", "ﬀ", "Ω", "ω", "\u2126", "日本", "ʰ", "Ⅻ", "٣", "😀", "\u00a0",
	"\u200b", "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
}

func printNames(w io.Writer) {
	x := uint32(88172645)
	next := func(n int) int {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		return int(x % uint32(n))
	}
	var names []string
	for _, p := range nameParts {
		names = append(names, p, p+".go", "dir/"+p, p+"/x")
	}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for k := 1 + next(6); k > 0; k-- {
			b.WriteString(nameParts[next(len(nameParts))])
		}
		names = append(names, b.String())
	}
	for _, n := range names {
		verdict := "ok"
		if module.CheckFilePath(n) != nil {
			verdict = "err"
		}
		fmt.Fprintf(w, "name %s %s %s\n", hexOrDash(n), verdict, hexOrDash(path.Clean(n)))
	}
	for i, a := range names {
		// b: a with some runes replaced by another member of their case-fold orbit, or
		// (every third name) a random other name.
		var b strings.Builder
		if i%3 == 2 {
			b.WriteString(names[next(len(names))])
		} else {
			for _, r := range a {
				for k := next(4); k > 0; k-- {
					r = unicode.SimpleFold(r)
				}
				b.WriteRune(r)
			}
		}
		eq := 0
		if strings.EqualFold(a, b.String()) {
			eq = 1
		}
		fmt.Fprintf(w, "fold %s %s %d\n", hexOrDash(a), hexOrDash(b.String()), eq)
	}
}

func hexOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return hex.EncodeToString([]byte(s))
}
