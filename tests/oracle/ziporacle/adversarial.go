package main

// Adversarial zips: module zips built entry by entry with full control over every header field,
// then mutated where zip readers are known to disagree (Info-ZIP Unicode Path and Comment extra
// fields, local versus central headers, data descriptors, ZIP64, duplicate and case-colliding
// names, prepended bytes, several end-of-central-directory records, non-UTF-8 names), plus raw
// byte mutations of the result. Each zip gets the go command's verdict (see verdict) in the
// manifest, so stoa's reader can be compared with archive/zip and x/mod on every one.
//
//	ziporacle adversarial <outdir> <count> <seed>   write <count> zips and <outdir>/manifest.tsv
//	ziporacle serve                                 read "<module>\t<version>\t<zip>" lines on stdin,
//	                                                print one verdict line each (manifest format)

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/mod/module"
)

// zEntry is one entry as written: the local header, the data, an optional data descriptor and
// the central-directory header, each field settable on its own.
type zEntry struct {
	lname, cname     string
	lextra, cextra   []byte
	comment          []byte
	lflags, cflags   uint16
	lmethod, cmethod uint16
	lcrc, ccrc       uint32
	lcsize, lusize   uint32
	ccsize, cusize   uint64
	data             []byte // bytes after the local header (compressed content)
	descriptor       []byte // bytes after the data
	offsetDelta      int64  // added to the central header's local-header offset
	zip64            bool   // central sizes and offset as 0xffffffff plus a ZIP64 extra field
	zip64Short       bool   // ... with the ZIP64 field cut short
	skipLocal        bool   // no local header or data written for this entry
}

type zArchive struct {
	prefix          []byte // before the first local header (offsets not adjusted)
	entries         []*zEntry
	between         []byte // between the data and the central directory
	extraCentral    []byte // raw bytes right after the central directory (read by Go until a bad signature)
	countDelta      int
	sizeDelta       int64
	offsetDelta     int64
	zip64End        bool // write a ZIP64 end record and locator, with 0xffff/0xffffffff in the end record
	zip64Count      uint64
	comment         []byte
	commentLenDelta int
	trailer         []byte // after the end record
	secondEnd       bool   // append another end record, pointing at a copy of the central directory
}

func (e *zEntry) setContent(name string, content []byte, method uint16) {
	e.lname, e.cname = name, name
	e.lmethod, e.cmethod = method, method
	data := content
	if method == 8 {
		data = deflateBytes(content)
	}
	e.data = data
	crc := crc32.ChecksumIEEE(content)
	e.lcrc, e.ccrc = crc, crc
	e.lcsize, e.lusize = uint32(len(data)), uint32(len(content))
	e.ccsize, e.cusize = uint64(len(data)), uint64(len(content))
	if !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return r >= 0x80 }) >= 0 {
		e.lflags |= 0x800
		e.cflags |= 0x800
	}
}

// deflater is reused: a new flate.Writer per entry costs more than the rest of the generator.
var deflater, _ = flate.NewWriter(io.Discard, flate.DefaultCompression)

func deflateBytes(b []byte) []byte {
	var buf bytes.Buffer
	deflater.Reset(&buf)
	_, _ = deflater.Write(b)
	_ = deflater.Close()
	return buf.Bytes()
}

func le16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func le32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func le64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func (a *zArchive) bytes() []byte {
	out := append([]byte(nil), a.prefix...)
	offsets := make([]int64, len(a.entries))
	for i, e := range a.entries {
		offsets[i] = int64(len(out)) - int64(len(a.prefix))
		if e.skipLocal {
			continue
		}
		out = le32(out, 0x04034b50)
		out = le16(out, 20)
		out = le16(out, e.lflags)
		out = le16(out, e.lmethod)
		out = le16(out, 0)
		out = le16(out, 0x5821)
		out = le32(out, e.lcrc)
		out = le32(out, e.lcsize)
		out = le32(out, e.lusize)
		out = le16(out, uint16(len(e.lname)))
		out = le16(out, uint16(len(e.lextra)))
		out = append(out, e.lname...)
		out = append(out, e.lextra...)
		out = append(out, e.data...)
		out = append(out, e.descriptor...)
	}
	out = append(out, a.between...)
	central := func() []byte {
		var c []byte
		for i, e := range a.entries {
			csize, usize := e.ccsize, e.cusize
			off := uint64(offsets[i] + e.offsetDelta)
			extra := e.cextra
			c32, u32, o32 := uint32(csize), uint32(usize), uint32(off)
			if e.zip64 {
				c32, u32, o32 = 0xffffffff, 0xffffffff, 0xffffffff
				var z []byte
				z = le64(z, usize)
				z = le64(z, csize)
				z = le64(z, off)
				if e.zip64Short {
					z = z[:12]
				}
				f := le16(nil, 0x0001)
				f = le16(f, uint16(len(z)))
				extra = append(append(f, z...), extra...)
			}
			c = le32(c, 0x02014b50)
			c = le16(c, 0x031e)
			c = le16(c, 20)
			c = le16(c, e.cflags)
			c = le16(c, e.cmethod)
			c = le16(c, 0)
			c = le16(c, 0x5821)
			c = le32(c, e.ccrc)
			c = le32(c, c32)
			c = le32(c, u32)
			c = le16(c, uint16(len(e.cname)))
			c = le16(c, uint16(len(extra)))
			c = le16(c, uint16(len(e.comment)))
			c = le16(c, 0)
			c = le16(c, 0)
			c = le32(c, 0o644<<16)
			c = le32(c, o32)
			c = append(c, e.cname...)
			c = append(c, extra...)
			c = append(c, e.comment...)
		}
		return c
	}
	cd := central()
	cdOffset := int64(len(out)) - int64(len(a.prefix))
	out = append(out, cd...)
	out = append(out, a.extraCentral...)
	count := uint64(int64(len(a.entries)) + int64(a.countDelta))
	size := uint64(int64(len(cd)) + a.sizeDelta)
	offset := uint64(cdOffset + a.offsetDelta)
	out = a.end(out, count, size, offset)
	if a.secondEnd {
		// A second archive view: a copy of the central directory minus its last entry, then
		// another end record (the one Go finds, searching from the end).
		cd2Offset := int64(len(out)) - int64(len(a.prefix))
		n := len(a.entries)
		if n > 0 {
			saved := a.entries
			a.entries = a.entries[:n-1]
			cd2 := central()
			a.entries = saved
			out = append(out, cd2...)
			out = a.end(out, uint64(n-1), uint64(len(cd2)), uint64(cd2Offset))
		} else {
			out = a.end(out, 0, 0, uint64(cd2Offset))
		}
	}
	return out
}

func (a *zArchive) end(out []byte, count, size, offset uint64) []byte {
	if a.zip64End {
		recOffset := uint64(len(out) - len(a.prefix))
		out = le32(out, 0x06064b50)
		out = le64(out, 44)
		out = le16(out, 45)
		out = le16(out, 45)
		out = le32(out, 0)
		out = le32(out, 0)
		c := count
		if a.zip64Count != 0 {
			c = a.zip64Count
		}
		out = le64(out, c)
		out = le64(out, c)
		out = le64(out, size)
		out = le64(out, offset)
		out = le32(out, 0x07064b50)
		out = le32(out, 0)
		out = le64(out, recOffset)
		out = le32(out, 1)
		count, size, offset = 0xffff, 0xffffffff, 0xffffffff
	}
	out = le32(out, 0x06054b50)
	out = le16(out, 0)
	out = le16(out, 0)
	out = le16(out, uint16(count))
	out = le16(out, uint16(count))
	out = le32(out, uint32(size))
	out = le32(out, uint32(offset))
	out = le16(out, uint16(len(a.comment)+a.commentLenDelta))
	out = append(out, a.comment...)
	return append(out, a.trailer...)
}

// ---------------------------------------------------------------------------------------------
// Base modules: small realistic module trees.

var baseDirs = []string{"", "", "internal/", "cmd/tool/", "pkg/", "a/b/c/", "docs/", "vendor/x/", "testdata/"}
var baseNames = []string{"main.go", "doc.go", "util.go", "README.md", "x_test.go", "data.txt",
	"LICENSE", "go.sum", "Makefile", ".gitignore", "é.go", "config.yaml"}

func baseArchive(rng *rand.Rand, prefix string) *zArchive {
	a := &zArchive{}
	method := func() uint16 {
		if rng.Intn(4) == 0 {
			return 0
		}
		return 8
	}
	if rng.Intn(3) == 0 {
		e := &zEntry{}
		e.setContent(prefix, nil, 0)
		a.entries = append(a.entries, e)
	}
	e := &zEntry{}
	e.setContent(prefix+"go.mod", []byte("module "+defPath+"\n\ngo 1.22\n"), method())
	a.entries = append(a.entries, e)
	seen := map[string]bool{"go.mod": true}
	for n := rng.Intn(7); n > 0; n-- {
		name := baseDirs[rng.Intn(len(baseDirs))] + baseNames[rng.Intn(len(baseNames))]
		if seen[strings.ToLower(name)] || (strings.Contains(name, "/") && strings.HasSuffix(name, "LICENSE")) {
			continue
		}
		seen[strings.ToLower(name)] = true
		var content []byte
		switch rng.Intn(4) {
		case 0:
			content = nil
		case 1:
			content = []byte("package x\n\nfunc F() int { return " + strconv.Itoa(rng.Intn(1000)) + " }\n")
		case 2:
			content = bytes.Repeat([]byte("abcdefgh\n"), rng.Intn(400))
		default:
			content = make([]byte, rng.Intn(3000))
			rng.Read(content)
		}
		e := &zEntry{}
		e.setContent(prefix+name, content, method())
		a.entries = append(a.entries, e)
	}
	if rng.Intn(5) == 0 {
		e := &zEntry{}
		e.setContent(prefix+"internal/", nil, 0)
		a.entries = append(a.entries, e)
	}
	return a
}

// ---------------------------------------------------------------------------------------------
// Mutations

func unicodePathField(tag uint16, headerName string, crcOK bool, value string) []byte {
	data := []byte{1, 0, 0, 0, 0}
	crc := crc32.ChecksumIEEE([]byte(headerName))
	if !crcOK {
		crc ^= 1
	}
	binary.LittleEndian.PutUint32(data[1:], crc)
	data = append(data, value...)
	f := le16(nil, tag)
	f = le16(f, uint16(len(data)))
	return append(f, data...)
}

var evilNames = []string{"../evil.go", "../../x", "/abs.go", "a/../b.go", "A.GO", "Go.Mod",
	"sub/go.mod", "x\x00y.go", "a\xffb.go", "a:b", "con.go", "./x.go", "a//b", "vendor/go.mod",
	"é.go", "e\u0301.go", "\u212a.go", "k.go", "main.go", "MAIN.go", "doc.go", "", "d/", "LICENSE"}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.Intn(len(s))] }

func randomEntry(rng *rand.Rand, a *zArchive) *zEntry {
	if len(a.entries) == 0 {
		e := &zEntry{}
		e.setContent(defPath+"@"+defVers+"/x.go", []byte("package x\n"), 8)
		a.entries = append(a.entries, e)
	}
	return a.entries[rng.Intn(len(a.entries))]
}

type mutation struct {
	name string
	fn   func(rng *rand.Rand, a *zArchive, prefix string)
}

var mutations = []mutation{
	{"unicode-path", func(rng *rand.Rand, a *zArchive, prefix string) {
		// The extra field carries a genuine name, the raw name something else (or the reverse).
		e := randomEntry(rng, a)
		genuine := e.cname
		raw := prefix + pick(rng, evilNames)
		if rng.Intn(3) == 0 {
			raw, genuine = genuine, raw
		}
		f := unicodePathField(0x7075, raw, rng.Intn(5) != 0, genuine)
		switch rng.Intn(3) {
		case 0:
			e.cextra = append(e.cextra, f...)
		case 1:
			e.cextra = append(f, e.cextra...)
		default:
			e.cextra = append(e.cextra, f...)
			e.lextra = append(e.lextra, unicodePathField(0x7075, raw, true, genuine)...)
		}
		e.cname = raw
		if rng.Intn(2) == 0 {
			e.lname = raw
		}
	}},
	{"unicode-comment", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.comment = []byte(pick(rng, []string{"comment", "\xff\xfe", "é", "../x"}))
		e.cextra = append(e.cextra, unicodePathField(0x6375, string(e.comment), rng.Intn(2) == 0, "genuine comment é")...)
	}},
	{"local-name-differs", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.lname = prefix + pick(rng, evilNames)
	}},
	{"central-name-differs", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.cname = prefix + pick(rng, evilNames)
	}},
	{"local-extra", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		junk := make([]byte, 4+rng.Intn(20))
		rng.Read(junk)
		e.lextra = append(e.lextra, junk...)
		if rng.Intn(2) == 0 {
			// Make the local extra swallow the data: the content Go reads moves.
			e.data = e.data[min(len(e.data), rng.Intn(8)):]
		}
	}},
	{"local-fields-differ", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.lmethod = uint16(rng.Intn(13))
		e.lcrc = rng.Uint32()
		e.lcsize = rng.Uint32()
		e.lusize = rng.Uint32() % 100
		e.lflags ^= uint16(rng.Intn(16))
	}},
	{"data-descriptor", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.cflags |= 0x8
		if rng.Intn(2) == 0 {
			e.lflags |= 0x8
			e.lcrc, e.lcsize, e.lusize = 0, 0, 0
		}
		crc := e.ccrc
		switch rng.Intn(5) {
		case 0:
			crc ^= 0x10
		case 1:
			e.ccrc = 0
			crc = 0
		case 2:
			e.ccrc = 0
		}
		var d []byte
		if rng.Intn(2) == 0 {
			d = le32(d, 0x08074b50)
		}
		d = le32(d, crc)
		d = le32(d, uint32(len(e.data)))
		d = le32(d, uint32(e.cusize))
		if rng.Intn(6) == 0 {
			d = d[:rng.Intn(len(d))]
		}
		e.descriptor = d
	}},
	{"zip64-entry", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.zip64 = true
		switch rng.Intn(5) {
		case 0:
			e.zip64Short = true
		case 1:
			e.cusize += uint64(rng.Intn(3)) - 1
		case 2:
			e.ccsize = 1 << 63
		}
	}},
	{"zip64-end", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.zip64End = true
		switch rng.Intn(4) {
		case 0:
			a.zip64Count = uint64(len(a.entries)) + 65536
		case 1:
			a.zip64Count = uint64(len(a.entries)) + 1
		}
	}},
	{"duplicate", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		d := *e
		if rng.Intn(2) == 0 {
			d.setContent(e.cname, []byte("other content\n"), 8)
		}
		if rng.Intn(3) == 0 {
			d.skipLocal = true
		}
		a.entries = append(a.entries, &d)
	}},
	{"duplicate-dir", func(rng *rand.Rand, a *zArchive, prefix string) {
		name := prefix + pick(rng, []string{"", "d/", "internal/", "a/b/"})
		for i := 0; i < 2; i++ {
			e := &zEntry{}
			e.setContent(name, nil, 0)
			if rng.Intn(2) == 0 {
				e.cusize = uint64(rng.Intn(3))
			}
			if rng.Intn(4) == 0 {
				e.offsetDelta = 1
			}
			a.entries = append(a.entries, e)
		}
	}},
	{"case-collision", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		d := *e
		name := strings.TrimPrefix(e.cname, prefix)
		switch rng.Intn(3) {
		case 0:
			name = strings.ToUpper(name)
		case 1:
			name = strings.ReplaceAll(strings.ReplaceAll(name, "k", "\u212a"), "s", "\u017f")
		default:
			name = strings.ToUpper(name[:min(1, len(name))]) + name[min(1, len(name)):]
		}
		d.cname, d.lname = prefix+name, prefix+name
		a.entries = append(a.entries, &d)
	}},
	{"prepended", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.prefix = []byte(pick(rng, []string{"#!/bin/sh\nexit 0\n", "PK\x03\x04", "\x00", "MZ" + strings.Repeat("\x00", 100)}))
		switch rng.Intn(3) {
		case 0: // offsets counted from the file start, as most prepending tools fix them up
			a.offsetDelta = int64(len(a.prefix))
			for _, e := range a.entries {
				e.offsetDelta += int64(len(a.prefix))
			}
		case 1: // directory offset fixed, entry offsets not
			a.offsetDelta = int64(len(a.prefix))
		}
	}},
	{"second-end", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.secondEnd = true
	}},
	{"end-in-comment", func(rng *rand.Rand, a *zArchive, prefix string) {
		fake := le32(nil, 0x06054b50)
		fake = append(fake, make([]byte, 16)...)
		fake = le16(fake, uint16(rng.Intn(3)))
		a.comment = append([]byte("note "), fake...)
		if rng.Intn(2) == 0 {
			a.comment = append(a.comment, "tail"...)
		}
	}},
	{"comment-length", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.comment = []byte("zip comment")
		a.commentLenDelta = rng.Intn(5) - 2
		if rng.Intn(3) == 0 {
			a.trailer = bytes.Repeat([]byte{0}, rng.Intn(2000))
		}
	}},
	{"non-utf8-name", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		name := prefix + pick(rng, []string{"\xff.go", "caf\xe9.go", "\x81\x40.txt", "\xc3\x28.go", "é.go"})
		e.cname, e.lname = name, name
		e.cflags ^= 0x800
	}},
	{"count", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.countDelta = pick(rng, []int{-1, 1, 65536, -65536, 2})
	}},
	{"directory-size", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.sizeDelta = int64(rng.Intn(200)) - 100
	}},
	{"directory-offset", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.offsetDelta = int64(rng.Intn(9)) - 4
	}},
	{"extra-central", func(rng *rand.Rand, a *zArchive, prefix string) {
		// A central header beyond the declared directory: Go reads it too.
		e := &zEntry{}
		e.setContent(prefix+pick(rng, evilNames), []byte("x"), 0)
		e.skipLocal = true
		b := &zArchive{entries: []*zEntry{e}}
		raw := b.bytes()
		i := bytes.Index(raw, []byte("PK\x01\x02"))
		j := bytes.Index(raw, []byte("PK\x05\x06"))
		if i >= 0 && j > i {
			a.extraCentral = raw[i:j]
		}
	}},
	{"between", func(rng *rand.Rand, a *zArchive, prefix string) {
		a.between = bytes.Repeat([]byte("PK"), rng.Intn(10))
	}},
	{"sizes", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		switch rng.Intn(4) {
		case 0:
			e.cusize += uint64(rng.Intn(3)) - 1
		case 1:
			e.ccsize += uint64(rng.Intn(5)) - 2
		case 2:
			e.ccsize = 0xffffffff
		default:
			e.cusize = 0xffffffff
		}
	}},
	{"crc", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		if rng.Intn(2) == 0 {
			e.ccrc = 0
		} else {
			e.ccrc ^= 1 << uint(rng.Intn(32))
		}
	}},
	{"method", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.cmethod = pick(rng, []uint16{0, 8, 1, 9, 12, 14, 93, 99})
	}},
	{"header-offset", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.offsetDelta += int64(rng.Intn(61)) - 30
	}},
	{"directory-content", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := &zEntry{}
		e.setContent(prefix+"d/", []byte("dir content"), uint16(pick(rng, []int{0, 8})))
		if rng.Intn(2) == 0 {
			e.cusize = 0
		}
		a.entries = append(a.entries, e)
	}},
	{"rename", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		name := pick(rng, evilNames)
		if rng.Intn(4) == 0 {
			e.cname, e.lname = name, name // outside the prefix
		} else {
			e.cname, e.lname = prefix+name, prefix+name
		}
	}},
	{"deflate-bytes", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		if len(e.data) > 0 {
			e.data = append([]byte(nil), e.data...)
			e.data[rng.Intn(len(e.data))] ^= byte(1 << uint(rng.Intn(8)))
		}
	}},
	{"trailing-data", func(rng *rand.Rand, a *zArchive, prefix string) {
		e := randomEntry(rng, a)
		e.data = append(append([]byte(nil), e.data...), "GARBAGE"...)
		if rng.Intn(2) == 0 {
			e.ccsize += 7
		}
	}},
}

// byteMutate flips, inserts, deletes or truncates raw bytes.
func byteMutate(rng *rand.Rand, z []byte) []byte {
	z = append([]byte(nil), z...)
	for n := 1 + rng.Intn(3); n > 0 && len(z) > 0; n-- {
		i := rng.Intn(len(z))
		switch rng.Intn(5) {
		case 0, 1:
			z[i] ^= byte(1 << uint(rng.Intn(8)))
		case 2:
			z[i] = pick(rng, []byte{0, 0xff, 0x7f, 0x80, 0x01})
		case 3:
			z = append(z[:i], append([]byte{byte(rng.Intn(256))}, z[i:]...)...)
		default:
			z = z[:i]
		}
	}
	return z
}

// adversarialZip returns one generated zip and the labels of what was done to it.
func adversarialZip(rng *rand.Rand) ([]byte, string) {
	prefix := defPath + "@" + defVers + "/"
	a := baseArchive(rng, prefix)
	var labels []string
	if rng.Intn(10) != 0 {
		for n := 1 + rng.Intn(3); n > 0; n-- {
			m := mutations[rng.Intn(len(mutations))]
			m.fn(rng, a, prefix)
			labels = append(labels, m.name)
		}
	} else {
		labels = append(labels, "base")
	}
	z := a.bytes()
	if rng.Intn(8) == 0 {
		z = byteMutate(rng, z)
		labels = append(labels, "bytes")
	}
	return z, strings.Join(labels, "+")
}

// adversarial writes <dir>/zips.bin (the zips, one after the other) and <dir>/manifest.tsv, one
// line per zip: the verdict line (with the labels of its mutations as the file name), then the
// zip's offset and length in zips.bin. One file instead of ten thousand keeps it fast.
func adversarial(dir string, count int, seed int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	m := module.Version{Path: defPath, Version: defVers}
	rng := rand.New(rand.NewSource(seed))
	zips := make([][]byte, count)
	labels := make([]string, count)
	for i := range zips {
		zips[i], labels[i] = adversarialZip(rng)
	}
	lines := make([]string, count)
	workers := runtime.NumCPU()
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// One scratch file per worker, rewritten for every zip (x/mod reads zips by path).
			scratch := filepath.Join(dir, fmt.Sprintf("scratch-%d", w))
			defer os.Remove(scratch)
			for i := w; i < count; i += workers {
				if err := os.WriteFile(scratch, zips[i], 0o644); err != nil {
					errs[w] = err
					return
				}
				line := formatVerdict(m, scratch, unzipReads)
				f := strings.Split(line, "\t")
				f[1] = fmt.Sprintf("adv-%05d-%s", i, labels[i])
				lines[i] = strings.Join(f, "\t")
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	var bin bytes.Buffer
	var manifest strings.Builder
	for i, z := range zips {
		fmt.Fprintf(&manifest, "%s\t%d\t%d\n", lines[i], bin.Len(), len(z))
		bin.Write(z)
	}
	if err := os.WriteFile(filepath.Join(dir, "zips.bin"), bin.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.tsv"), []byte(manifest.String()), 0o644)
}

// serve answers verdict questions, one per line, until stdin ends.
func serve() error {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Split(in.Text(), "\t")
		if len(f) != 3 {
			return fmt.Errorf("serve: want <module>\\t<version>\\t<zip>, got %q", in.Text())
		}
		fmt.Fprintln(out, formatVerdict(module.Version{Path: f[0], Version: f[1]}, f[2], unzipReads))
		if err := out.Flush(); err != nil {
			return err
		}
	}
	return in.Err()
}

// fuzzSeeds writes a small seed corpus for fuzz/zip_differential: generated adversarial zips of
// at most 1.5 KB, at most two per mutation label and verdict, about 60 KB in all.
func fuzzSeeds(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	m := module.Version{Path: defPath, Version: defVers}
	rng := rand.New(rand.NewSource(7))
	scratch := filepath.Join(dir, ".scratch")
	defer os.Remove(scratch)
	taken := map[string]int{}
	total, n := 0, 0
	for i := 0; i < 20000 && total < 60000; i++ {
		z, label := adversarialZip(rng)
		if len(z) > 1500 {
			continue
		}
		if err := os.WriteFile(scratch, z, 0o644); err != nil {
			return err
		}
		_, failure := verdictWith(m, scratch, unzipReads)
		key := strings.Split(label, "+")[0] + fmt.Sprint(failure == "")
		if taken[key] >= 2 {
			continue
		}
		taken[key]++
		verdict := "ok"
		if failure != "" {
			verdict = "err"
		}
		name := fmt.Sprintf("seed-%02d-%s-%s", n, verdict, label)
		if err := os.WriteFile(filepath.Join(dir, name), z, 0o644); err != nil {
			return err
		}
		total += len(z)
		n++
	}
	return nil
}
