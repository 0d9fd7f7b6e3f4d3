package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"

	"stoa.test/internal/gocmd"
	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// unicodePathExtra is an Info-ZIP Unicode Path extra field (0x7075): readers that honour it
// (libzip, Info-ZIP unzip) show `name` instead of the raw name `raw`, whose CRC it carries. Go's
// archive/zip, and so the go command, ignores it.
func unicodePathExtra(raw, name string) []byte {
	data := binary.LittleEndian.AppendUint32([]byte{1}, crc32.ChecksumIEEE([]byte(raw)))
	data = append(data, name...)
	extra := binary.LittleEndian.AppendUint16(nil, 0x7075)
	extra = binary.LittleEndian.AppendUint16(extra, uint16(len(data)))
	return append(extra, data...)
}

// disguised rewrites b's zip: every entry whose name rename changes gets the new name as its
// raw name and the genuine one in a Unicode Path extra field; the content is copied unchanged.
func disguised(t *testing.T, b *modgen.Built, rename func(string) string) *modgen.Built {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b.Zip), int64(len(b.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	changed := 0
	for _, f := range zr.File {
		fh := f.FileHeader
		if raw := rename(f.Name); raw != f.Name {
			fh.Extra = append(unicodePathExtra(raw, f.Name), fh.Extra...)
			fh.Name = raw
			changed++
		}
		r, err := f.OpenRaw()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if changed == 0 {
		t.Fatalf("test setup: no entry of %s renamed", b.Path)
	}
	d := *b
	d.Zip = buf.Bytes()
	if sum, err := modgen.HashZipBytes(d.Zip); err == nil && sum == b.Sum {
		t.Fatalf("test setup: the disguised zip hashes like the genuine one")
	}
	return &d
}

// An upstream serves a zip whose Info-ZIP Unicode Path fields carry the genuine names while the
// raw names, the ones Go's archive/zip and so the go command read, differ; the checksum
// database lists the genuine zip. stoa must judge the names the go command will see: refuse the
// zip (502, nothing stored), so that a go command through stoa never gets a stored file it
// rejects with a SECURITY ERROR. A control module served genuinely passes end to end.
func TestZipUnicodePathFieldsDoNotHideRawNames(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.go": "package unicodepath\n", "sub/b.go": "package sub\n"}
	db := sumdbtest.New(t, sumdbName)
	var served []*modgen.Built
	cases := []struct {
		path   string
		rename func(string) string // the raw names the go command sees
	}{
		// Raw names the go command accepts in a zip, but they hash differently (a SECURITY
		// ERROR if stored).
		{"example.com/unicodepath/case", func(n string) string {
			return strings.Replace(n, "/a.go", "/A.go", 1)
		}},
		// Raw names that leave the module root (the go command refuses the zip).
		{"example.com/unicodepath/dotdot", func(n string) string {
			return strings.Replace(n, "/sub/b.go", "/../b.go", 1)
		}},
	}
	genuine := make([]*modgen.Built, len(cases))
	for i, c := range cases {
		genuine[i] = modgen.MustBuild(t, modgen.Module{Path: c.path, Version: "v1.0.0", Files: files})
		db.Add(genuine[i])
		served = append(served, disguised(t, genuine[i], c.rename))
	}
	control := modgen.MustBuild(t, modgen.Module{Path: "example.com/unicodepath/control", Version: "v1.0.0", Files: files})
	db.Add(control)
	served = append(served, control)
	up := newUpstream(t, served...)
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB()})
	g := gocmd.New(t, s.URL, sharedGoCache).With("GOSUMDB=" + db.GOSUMDB())

	for _, b := range genuine {
		r := get(t, s.URL+"/"+b.Key("zip"))
		if r.Status != http.StatusBadGateway {
			t.Errorf("GET %s (raw names differ from the Unicode Path names): %v, want 502", b.Key("zip"), r)
		}
		checkNothingStored(t, s.DataDir, b, "zip", "ziphash")
		_, msg, err := g.ModDownload(b.Path + "@" + b.Version)
		if err == nil {
			t.Errorf("go mod download %s@%s succeeded through stoa", b.Path, b.Version)
		}
		if strings.Contains(msg, "SECURITY ERROR") {
			t.Errorf("go mod download %s@%s: the go command got a zip it rejects:\n%s", b.Path, b.Version, msg)
		}
		if !strings.Contains(msg, "502") {
			t.Errorf("go mod download %s@%s: want stoa's 502 in the error, got:\n%s", b.Path, b.Version, msg)
		}
		checkNothingStored(t, s.DataDir, b, "zip", "ziphash")
	}

	ds, msg, err := g.ModDownload(control.Path + "@" + control.Version)
	if err != nil || len(ds) != 1 || ds[0].Sum != control.Sum {
		t.Errorf("go mod download of the genuine control module: %v %+v\n%s", err, ds, msg)
	}
	checkStored(t, s.DataDir, control, "zip")
}
