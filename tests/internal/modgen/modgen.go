// Package modgen builds Go modules in memory, the way a GOPROXY serves them: the module zip
// (created with golang.org/x/mod/zip, so it obeys the module zip rules), the .mod file, the .info
// JSON, and the go.sum hashes x/mod computes for them. It also builds deliberately broken zips
// (RawZip) for tests of a proxy's validation.
package modgen

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"
	"sort"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// DefaultTime is the commit time of a built version that names no time (and is not a
// pseudo-version, whose time is part of the version).
var DefaultTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// Module describes one version of a module.
type Module struct {
	Path    string
	Version string
	// Time of the version in .info; zero means the pseudo-version's time or DefaultTime.
	Time time.Time
	// GoMod is the content of the zip's go.mod (and of .mod). Empty means "module <path>\n".
	GoMod string
	// NoGoMod leaves go.mod out of the zip; .mod is then the synthesized "module <path>\n".
	NoGoMod bool
	// Files maps slash-separated paths relative to the module root to their content.
	// go.mod must not be listed here (use GoMod). Nil means one README file.
	Files map[string]string
}

// Built is one built module version: every byte a proxy serves for it plus the hashes.
type Built struct {
	Path       string
	Version    string
	EscPath    string // case-encoded path, as on the wire and in GOPROXY file trees
	EscVersion string // case-encoded version
	Time       time.Time
	Info       []byte // {"Version":...,"Time":...}
	Mod        []byte // the .mod file
	Zip        []byte // the module zip
	Sum        string // go.sum "h1:" hash of the zip
	ModSum     string // go.sum "h1:" hash of the .mod
}

// Key returns the GOPROXY-relative path of one of the version's files: ext is "info", "mod"
// or "zip". Example: "example.com/!azure/@v/v1.0.0.zip".
func (b *Built) Key(ext string) string {
	return b.EscPath + "/@v/" + b.EscVersion + "." + ext
}

// ListKey is the GOPROXY-relative path of the module's version list.
func (b *Built) ListKey() string { return b.EscPath + "/@v/list" }

// LatestKey is the GOPROXY-relative path of the module's @latest.
func (b *Built) LatestKey() string { return b.EscPath + "/@latest" }

// Build builds the module version m. It fails for an invalid path or version or for files
// the module zip rules reject.
func Build(m Module) (*Built, error) {
	if err := module.Check(m.Path, m.Version); err != nil {
		return nil, err
	}
	if m.Version != module.CanonicalVersion(m.Version) {
		return nil, fmt.Errorf("modgen: version %q is not canonical", m.Version)
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return nil, err
	}
	escVersion, err := module.EscapeVersion(m.Version)
	if err != nil {
		return nil, err
	}
	t := m.Time
	if t.IsZero() {
		if module.IsPseudoVersion(m.Version) {
			t, err = module.PseudoVersionTime(m.Version)
			if err != nil {
				return nil, err
			}
		} else {
			t = DefaultTime
		}
	}

	var mod []byte
	files := map[string]string{}
	if m.Files == nil {
		files["README"] = m.Path + "@" + m.Version + "\n"
	}
	for name, content := range m.Files {
		if name == "go.mod" {
			return nil, fmt.Errorf("modgen: list go.mod in Module.GoMod, not in Files")
		}
		files[name] = content
	}
	if m.NoGoMod {
		if m.GoMod != "" {
			return nil, fmt.Errorf("modgen: GoMod set together with NoGoMod")
		}
		mod = SynthesizedMod(m.Path)
	} else {
		gomod := m.GoMod
		if gomod == "" {
			gomod = string(SynthesizedMod(m.Path))
		}
		files["go.mod"] = gomod
		mod = []byte(gomod)
	}

	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	zfiles := make([]modzip.File, 0, len(names))
	for _, name := range names {
		zfiles = append(zfiles, memFile{name: name, data: []byte(files[name])})
	}
	var zbuf bytes.Buffer
	if err := modzip.Create(&zbuf, module.Version{Path: m.Path, Version: m.Version}, zfiles); err != nil {
		return nil, err
	}
	sum, err := HashZipBytes(zbuf.Bytes())
	if err != nil {
		return nil, err
	}
	modSum, err := HashMod(mod)
	if err != nil {
		return nil, err
	}
	return &Built{
		Path:       m.Path,
		Version:    m.Version,
		EscPath:    escPath,
		EscVersion: escVersion,
		Time:       t,
		Info:       InfoJSON(m.Version, t),
		Mod:        mod,
		Zip:        zbuf.Bytes(),
		Sum:        sum,
		ModSum:     modSum,
	}, nil
}

// MustBuild is Build that ends the test on error.
func MustBuild(tb testing.TB, m Module) *Built {
	tb.Helper()
	b, err := Build(m)
	if err != nil {
		tb.Fatalf("modgen.Build(%s@%s): %v", m.Path, m.Version, err)
	}
	return b
}

// SynthesizedMod is the .mod a proxy serves for a module version without go.mod:
// "module <path>\n", the path quoted when go.mod syntax requires it.
func SynthesizedMod(modPath string) []byte {
	return []byte("module " + modfile.AutoQuote(modPath) + "\n")
}

// InfoJSON is the .info (and @latest) body for version v at time t.
func InfoJSON(v string, t time.Time) []byte {
	b, err := json.Marshal(struct {
		Version string
		Time    string
	}{v, t.UTC().Format(time.RFC3339)})
	if err != nil {
		panic(err) // cannot happen for two strings
	}
	return b
}

// HashZipBytes is dirhash.HashZip(…, dirhash.Hash1) over a zip held in memory.
func HashZipBytes(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	byName := map[string]*zip.File{}
	var names []string
	for _, f := range zr.File {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		f, ok := byName[name]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return f.Open()
	})
}

// HashMod is the go.sum "/go.mod h1:" hash of a .mod file.
func HashMod(mod []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(mod)), nil
	})
}

// Entry is one member of a RawZip.
type Entry struct {
	Name string
	Data string
	// Zeros, if positive, makes the content that many zero bytes instead of Data (streamed
	// and compressed, so a huge entry costs little memory and a small zip).
	Zeros int64
	// DeclaredSize, if positive, is written as the entry's uncompressed size instead of the
	// real one (a size lie; the content is Data).
	DeclaredSize uint64
}

// RawZip writes the entries as a zip without any module zip checks, for building zips that
// a proxy must refuse (bad names, wrong prefixes, collisions, size lies, huge contents).
func RawZip(entries []Entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, e := range entries {
		if err := writeEntry(zw, e); err != nil {
			panic(err) // archive/zip and flate fail only on misuse
		}
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func writeEntry(zw *zip.Writer, e Entry) error {
	if e.DeclaredSize > 0 {
		var comp bytes.Buffer
		fw, err := flate.NewWriter(&comp, flate.BestSpeed)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, e.Data); err != nil {
			return err
		}
		if err := fw.Close(); err != nil {
			return err
		}
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name:               e.Name,
			Method:             zip.Deflate,
			CRC32:              crc32.ChecksumIEEE([]byte(e.Data)),
			CompressedSize64:   uint64(comp.Len()),
			UncompressedSize64: e.DeclaredSize,
		})
		if err != nil {
			return err
		}
		_, err = w.Write(comp.Bytes())
		return err
	}
	w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if e.Zeros <= 0 {
		_, err = io.WriteString(w, e.Data)
		return err
	}
	chunk := make([]byte, 1<<20)
	for left := e.Zeros; left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}

// Prefix is the directory every entry of the zip of path@version starts with.
func Prefix(modPath, version string) string { return modPath + "@" + version + "/" }

type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return path.Base(i.f.name) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return DefaultTime }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
