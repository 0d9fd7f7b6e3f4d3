package modgen

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func TestBuild(t *testing.T) {
	cases := []struct {
		name       string
		m          Module
		escPath    string
		escVersion string
		mod        string
		time       time.Time
	}{
		{
			name:       "uppercase path and version",
			m:          Module{Path: "example.com/Azure/SDK", Version: "v1.1.0-RC.1", Files: map[string]string{"sdk.go": "package sdk\n"}},
			escPath:    "example.com/!azure/!s!d!k",
			escVersion: "v1.1.0-!r!c.1",
			mod:        "module example.com/Azure/SDK\n",
			time:       DefaultTime,
		},
		{
			name:       "incompatible without go.mod",
			m:          Module{Path: "example.com/old", Version: "v2.0.0+incompatible", NoGoMod: true},
			escPath:    "example.com/old",
			escVersion: "v2.0.0+incompatible",
			mod:        "module example.com/old\n",
			time:       DefaultTime,
		},
		{
			name:       "explicit go.mod",
			m:          Module{Path: "example.com/m/v2", Version: "v2.3.4", GoMod: "module example.com/m/v2\n\ngo 1.21\n"},
			escPath:    "example.com/m/v2",
			escVersion: "v2.3.4",
			mod:        "module example.com/m/v2\n\ngo 1.21\n",
			time:       DefaultTime,
		},
		{
			name:       "pseudo-version takes its time",
			m:          Module{Path: "example.com/notags", Version: "v0.0.0-20230405060708-abcdefabcdef"},
			escPath:    "example.com/notags",
			escVersion: "v0.0.0-20230405060708-abcdefabcdef",
			mod:        "module example.com/notags\n",
			time:       time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := MustBuild(t, tc.m)
			if b.EscPath != tc.escPath || b.EscVersion != tc.escVersion {
				t.Errorf("escaped = %q %q, want %q %q", b.EscPath, b.EscVersion, tc.escPath, tc.escVersion)
			}
			if string(b.Mod) != tc.mod {
				t.Errorf("mod = %q, want %q", b.Mod, tc.mod)
			}
			var info struct{ Version, Time string }
			if err := json.Unmarshal(b.Info, &info); err != nil {
				t.Fatal(err)
			}
			if info.Version != tc.m.Version || info.Time != tc.time.Format(time.RFC3339) {
				t.Errorf("info = %s", b.Info)
			}
			if want := tc.escPath + "/@v/" + tc.escVersion + ".zip"; b.Key("zip") != want {
				t.Errorf("Key(zip) = %q, want %q", b.Key("zip"), want)
			}

			// The zip obeys the module zip rules and hashes as x/mod hashes a zip file.
			zipFile := filepath.Join(t.TempDir(), "m.zip")
			if err := os.WriteFile(zipFile, b.Zip, 0o644); err != nil {
				t.Fatal(err)
			}
			mv := module.Version{Path: tc.m.Path, Version: tc.m.Version}
			if _, err := modzip.CheckZip(mv, zipFile); err != nil {
				t.Errorf("CheckZip: %v", err)
			}
			want, err := dirhash.HashZip(zipFile, dirhash.Hash1)
			if err != nil {
				t.Fatal(err)
			}
			if b.Sum != want {
				t.Errorf("Sum = %s, dirhash.HashZip = %s", b.Sum, want)
			}
			modFile := filepath.Join(t.TempDir(), "go.mod")
			if err := os.WriteFile(modFile, b.Mod, 0o644); err != nil {
				t.Fatal(err)
			}
			wantMod, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(modFile) })
			if err != nil {
				t.Fatal(err)
			}
			if b.ModSum != wantMod {
				t.Errorf("ModSum = %s, want %s", b.ModSum, wantMod)
			}

			// go.mod is in the zip exactly when the module has one.
			zr, err := zip.NewReader(bytes.NewReader(b.Zip), int64(len(b.Zip)))
			if err != nil {
				t.Fatal(err)
			}
			hasGoMod := false
			for _, f := range zr.File {
				if !strings.HasPrefix(f.Name, Prefix(tc.m.Path, tc.m.Version)) {
					t.Errorf("entry %q lacks the module prefix", f.Name)
				}
				if f.Name == Prefix(tc.m.Path, tc.m.Version)+"go.mod" {
					hasGoMod = true
				}
			}
			if hasGoMod == tc.m.NoGoMod {
				t.Errorf("zip has go.mod = %v, NoGoMod = %v", hasGoMod, tc.m.NoGoMod)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	cases := []Module{
		{Path: "example.com/m", Version: "v1.0"},   // not canonical
		{Path: "example.com/m", Version: "v2.0.0"}, // major mismatch
		{Path: "Example.com/m", Version: "v1.0.0"}, // bad path
		{Path: "example.com/m", Version: "v1.0.0", Files: map[string]string{"go.mod": ""}},
		{Path: "example.com/m", Version: "v1.0.0", Files: map[string]string{"a/../../b": "x"}},
		{Path: "example.com/m", Version: "v1.0.0", Files: map[string]string{"A.go": "x", "a.go": "y"}},
		{Path: "example.com/m", Version: "v1.0.0", NoGoMod: true, GoMod: "module example.com/m\n"},
	}
	for _, m := range cases {
		if _, err := Build(m); err == nil {
			t.Errorf("Build(%+v) succeeded, want an error", m)
		}
	}
}

func TestSynthesizedModQuotes(t *testing.T) {
	if got := string(SynthesizedMod("example.com/a")); got != "module example.com/a\n" {
		t.Errorf("got %q", got)
	}
	// A path that go.mod syntax cannot hold bare ("//" starts a comment) is quoted.
	if got := string(SynthesizedMod("example.com/a//b")); got != "module \"example.com/a//b\"\n" {
		t.Errorf("got %q", got)
	}
}

func TestRawZipSizeLie(t *testing.T) {
	data := RawZip([]Entry{{Name: "x/a.txt", Data: strings.Repeat("abc", 100), DeclaredSize: 10}})
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if zr.File[0].UncompressedSize64 != 10 {
		t.Errorf("declared size %d, want 10", zr.File[0].UncompressedSize64)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(rc); err == nil {
		t.Error("reading an entry whose size lies succeeded")
	}
}

func TestRawZipZeros(t *testing.T) {
	data := RawZip([]Entry{{Name: "x/zeros", Zeros: 8 << 20}})
	if len(data) > 1<<20 {
		t.Errorf("8 MiB of zeros take %d bytes zipped", len(data))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || zr.File[0].UncompressedSize64 != 8<<20 {
		t.Fatalf("%v %+v", err, zr)
	}
}

func TestRawZipIsRefusedByCheckZip(t *testing.T) {
	const p, v = "example.com/bad", "v1.0.0"
	cases := map[string][]Entry{
		"dot-dot":      {{Name: Prefix(p, v) + "../evil.go", Data: "package evil\n"}},
		"wrong prefix": {{Name: "example.com/other@v1.0.0/x.go", Data: "package x\n"}},
		"case clash":   {{Name: Prefix(p, v) + "a.go", Data: "a"}, {Name: Prefix(p, v) + "A.go", Data: "b"}},
		"huge go.mod":  {{Name: Prefix(p, v) + "go.mod", Zeros: 16<<20 + 1}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "bad.zip")
			if err := os.WriteFile(f, RawZip(entries), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := modzip.CheckZip(module.Version{Path: p, Version: v}, f); err == nil {
				t.Errorf("CheckZip accepted a zip with %s", name)
			}
		})
	}
}
