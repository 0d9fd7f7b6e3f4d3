#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (deterministic: same bytes every run).

Usage: fuzz/make_corpus.py            rewrites every fuzz/corpus/<target>/seed-* file
Seeds are small realistic inputs (real request paths, versions, GOPROXY values, tiny zips made
here with Python's zipfile) plus hostile shapes (.., %2F, %00, raw uppercase, option-like
versions, zip slip, case collisions, size lies). Files a
fuzzer run adds go to build/, never here; regression inputs are added by hand as regress-*
(docs/fuzzing.md) and are left alone by this script.
"""
import base64
import hashlib
import io
import pathlib
import re
import struct
import subprocess
import tempfile
import warnings
import zipfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"

REQUEST_PATHS = [
    "/golang.org/x/mod/@v/list",
    "/golang.org/x/mod/@v/v0.14.0.info",
    "/golang.org/x/mod/@v/v0.14.0.mod",
    "/golang.org/x/mod/@v/v0.14.0.zip",
    "/golang.org/x/mod/@latest",
    "/github.com/!azure/azure-sdk-for-go/@v/list",
    "/github.com/!burnt!sushi/toml/@v/v1.3.2.zip",
    "/gopkg.in/yaml.v3/@v/v3.0.1.info",
    "/gopkg.in/check.v1/@v/v1.0.0-20201130134442-10cb98267c6c.mod",
    "/rsc.io/quote/v3/@v/v3.1.0.zip",
    "/github.com/pkg/errors/@v/v0.9.1.info",
    "/github.com/docker/docker/@v/v24.0.7+incompatible.zip",
    "/golang.org/x/tools/@v/v0.0.0-20191109021931-daa7c04131f5.info",
    "/golang.org/x/net/@v/master.info",
    "/github.com/google/go-cmp/@v/v0.6.info",
    "/example.com/m/@v/v1.0.0-rc.1.zip",
    "/example.com/m/@v/v1.0.0-!r!c.1.info",
    "/example.com/m/v2/@v/v1.0.0.mod",
    "/example.com/m/@v/v1%2e0%2e0.info",
    "/%2e%2e/x/@v/list",
    "/example.com/../etc/@v/list",
    "/example.com/x%2Fy/@v/list",
    "/example.com/x%5Cy/@v/list",
    "/example.com/x%00/@v/list",
    "/GitHub.com/x/y/@v/list",
    "/github.com/!!x/y/@v/list",
    "/github.com/x/y/@v/--upload-pack=x.info",
    "/github.com/x/y/@v/v1;id.info",
    "/github.com/x/y/@v/$(id).info",
    "/github.com/x/y/@v/%2fetc%2fpasswd.info",
    "/example.com/con/@v/list",
    "/example.com/x~1/@v/list",
    "/example.com/.git/@v/list",
    "/example.com/m/@v/v1.0.0.zip?go-get=1",
    "/example.com//m/@v/list",
    "/example.com/m/@v/",
    "/example.com/m/@v/v1.0.0.zip%00",
    "/example.com/m/@v/v1.0.0\n.zip",
    "/",
    "example.com/m/@v/list",
    "/example.com/m/@v/list/",
    "/ex%41mple.com/m/@latest",
    "/example.com/m/@v/v1.2.3.info/@latest",
]

MODULE_PATHS = [
    "github.com/Azure/azure-sdk-for-go",
    "github.com/!azure/azure-sdk-for-go",
    "github.com/BurntSushi/toml",
    "golang.org/x/mod",
    "gopkg.in/yaml.v3",
    "gopkg.in/check.v1-unstable",
    "gopkg.in/yaml.v0",
    "rsc.io/quote/v3",
    "example.com/m/v2",
    "example.com/m/v1",
    "example.com/m/v02",
    "example.com",
    "x",
    "-x.com/y",
    "example.com/con",
    "example.com/x~1",
    "example.com/x/",
    "example.com//x",
    "example.com/./x",
    "example.com/.x",
    "a..b.com/x",
    "ex\u00e4mple.com/x".encode(),
    "example.com/x!y",
    "example.com/!x",
    "example.com/x!",
    "example.com/x+y",
    "v1.2.3",
    "v1.0.0-RC1",
    "v1.0.0-!r!c1",
    "v1.0.0+incompatible",
    "master",
    "v1.0.0 ",
    "!",
    "",
]

SEMVER = [
    "v1.2.3\nv1.2\nv1",
    "v1.0.0-alpha\nv1.0.0-alpha.1\nv1.0.0-beta.11",
    "v1.0.0-beta.2\nv1.0.0-beta.11\nv1.0.0-rc.1",
    "v2.0.0+incompatible\nv2.0.0\nv2.0.0+meta",
    "v0.0.0-20191109021931-daa7c04131f5\nv1.2.4-0.20191109021931-daa7c04131f5\nv1.2.3-pre.0.20191109021931-daa7c04131f5",
    "1.2.3\nv01.2.3\nv1.2.3-01",
    "v1.0.0-0\nv1.0.0-a.b.c\nv1.0.0--",
    "v1.2.3-pre+build\nv1.2.3+build\nv1.2.3-pre",
    "v99999999999999999999.0.0\nv18446744073709551616.0.0\nv9.0.0",
    "v1.2.3-\nv1.2.3+\nv1..3",
    "v1.0.0-x.7.z.92\nv1.0.0-x.07\nv1.0.0-1.2",
    "v0\nv0.0\nv0.0.0",
    "\n\n",
]

GO_OUTPUT = [
    '{\n\t"Path": "vcs.test/repo.git",\n\t"Version": "v1.0.0",\n\t"Info": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.info",\n\t"GoMod": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.mod",\n\t"Zip": "/c/cache/download/vcs.test/repo.git/@v/v1.0.0.zip",\n\t"Sum": "h1:ujDXaQF4PmWcwZTxWhPMuWojCTBp9Qu8H8wLbrUJ/Zc=",\n\t"Origin": {"VCS": "git", "URL": "https://vcs.test/repo", "Ref": "refs/tags/v1.0.0"}\n}\n',
    '{"Path":"vcs.test/r.git","Version":"v9.0.0","Error":"vcs.test/r.git@v9.0.0: invalid version: unknown revision v9.0.0"}',
    '{"Path":"vcs.test/r.git","Versions":["v1.0.0","v1.1.0","v2.0.0+incompatible","v0.0.0-20200101000000-abcdefabcdef"]}',
    '{"Path":"vcs.test/r.git","Version":"v1.0.1-0.20261125120216-463a3f1f22b6","Query":"main","Time":"2026-11-25T12:02:16Z"}',
    '{"Path":"x","Error":{"Err":"module x: not found"}}',
    'go: downloading vcs.test/r.git v1.0.0\ngo: vcs.test/r.git@v1.0.0: invalid version: git ls-remote -q origin: exit status 128:\n\tfatal: unable to access \'https://user:pw@vcs.test/r/\': Could not resolve host: vcs.test\n',
    'go: vcs.test/x@latest: unrecognized import path "vcs.test/x": reading https://vcs.test/x?go-get=1: 404 Not Found',
    '{"Versions":[1,2]}',
    '{"Versions":"v1.0.0"}',
]

INFO_JSON = [
    '{"Version":"v1.0.0","Time":"2023-01-01T00:00:00Z"}',
    '{"Version":"v0.14.0","Time":"2023-10-27T17:27:39Z","Origin":{"VCS":"git","URL":"https://vcs.test/mod"}}',
    '{"Version":"v1.0.0"}',
    '{"Version":1}',
    '{"Version":"v1.0.0","Time":5}',
    '{"Time":"2023-01-01T00:00:00Z"}',
    '[]',
    '{',
    '{"Version":"v1.0.0\\u0000\\n","Time":"\\ud83d\\ude00"}',
    '{"Version":"v1.0.0","Version":"v2.0.0"}',
    "v1.0.0\nv1.1.0\nv1.0.1 2023-01-01T00:00:00Z\nv2.0.0+incompatible\n",
    "v0.0.0-20191109021931-daa7c04131f5\nv1.0.0-rc.1\nbogus\n\n",
    "v1.0.0\r\nv1.0.0\r\nv0.9.0\t2022-01-01T00:00:00Z extra\r\n",
    "v1.2\nv1.2.0\nv1.2.0+meta\n",
    "v1.0.0-rc.1\nv1.0.0-rc.2\n",
]

RANGES = [
    'bytes=0-99\n\n"h1abc"\n1000',
    'bytes=-500\n\n"h1abc"\n1000',
    'bytes=500-\n\n"h1abc"\n1000',
    'bytes=0-0,5-6\n\n"e"\n100',
    'bytes=1000-\n\n"e"\n1000',
    'bytes=-0\n\n"e"\n10',
    'bytes= 5 - 10 \n\n"e"\n10',
    'bytes=0-18446744073709551615\n\n"e"\n18446744073709551615',
    'bytes=18446744073709551615-\n\n"e"\n18446744073709551615',
    'bytes=99999999999999999999-\n\n"e"\n10',
    'bytes=5-1\n\n"e"\n10',
    'bytes=0-10\n"e"\n"e"\n100',
    'bytes=0-10\nW/"e"\n"e"\n100',
    'bytes=0-10\n"other"\n"e"\n100',
    'bytes=-1\n\n"e"\n0',
    'items=0-1\n\n"e"\n10',
    '"e", W/"f"\n*\n"e"\n10',
    '*\n\n"e"\n10',
]

PROXY_LISTS = [
    "https://proxy.example.com,direct",
    "off",
    "direct",
    "proxy.example.com",
    "https://a.example|https://b.example,direct",
    "http://user:secret-password@127.0.0.1:9000/x/",
    "https://[::1]:8080/goproxy",
    "https://[fe80::1%25eth0]:8080",
    "file:///tmp/goproxy",
    "https://x.example/?q=1",
    "https://x.example/#f",
    ",,",
    "",
    "HTTPS://Example.COM/",
    " https://a.example , https://b.example ",
    "https://a.example|",
    "noscheme",
    "https://a\tb.example",
    "http://",
    "https://:80",
    "https://a.example:99999",
    "https://user@a.example,off,https://b.example",
    "ftp://a.example",
    "https://a.example//",
    "https://\u00e9.example".encode(),
]


# --- checksum database (sumdb_note, sumdb_record, sumdb_tile) -------------------------------
# A fixed Ed25519 key (its seed is derived from a constant, so every run signs identically:
# Ed25519 signatures are deterministic). fuzz/sumdb_note.cpp embeds its verifier key; main()
# checks that the two agree. Signing goes through the openssl command line.
SUMDB_NAME = "stoa.fuzz.example"
SUMDB_SEED = hashlib.sha256(b"stoa fuzz sumdb note key").digest()
PKCS8_ED25519_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def ed25519(seed, message=None):
    """(public key, signature of `message` or None) for the Ed25519 key with this 32-byte seed."""
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        (d / "key.der").write_bytes(PKCS8_ED25519_PREFIX + seed)
        openssl("pkey", "-inform", "DER", "-in", str(d / "key.der"), "-pubout", "-outform", "DER",
                "-out", str(d / "pub.der"))
        sig = None
        if message is not None:
            (d / "msg").write_bytes(message)
            openssl("pkeyutl", "-sign", "-keyform", "DER", "-inkey", str(d / "key.der"), "-rawin",
                    "-in", str(d / "msg"), "-out", str(d / "sig"))
            sig = (d / "sig").read_bytes()
        return (d / "pub.der").read_bytes()[-32:], sig


def key_hash(name, keydata):
    return hashlib.sha256(name.encode() + b"\n" + keydata).digest()[:4]


def verifier_key(name=SUMDB_NAME, seed=SUMDB_SEED):
    pub, _ = ed25519(seed)
    keydata = b"\x01" + pub
    return f"{name}+{key_hash(name, keydata).hex()}+{base64.b64encode(keydata).decode()}"


def signature_line(text, name=SUMDB_NAME, seed=SUMDB_SEED, claimed=None, tamper=False):
    pub, sig = ed25519(seed, text)
    if tamper:
        sig = bytes([sig[0] ^ 1]) + sig[1:]
    h = claimed if claimed is not None else key_hash(name, b"\x01" + pub)
    return "\u2014 ".encode() + name.encode() + b" " + base64.b64encode(h + sig) + b"\n"


def signed(text, *lines):
    return text + b"\n" + b"".join(lines or [signature_line(text)])


def b64hash(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def tree_text(n, seed=b"tree"):
    return f"go.sum database tree\n{n}\n{b64hash(seed + str(n).encode())}\n".encode()


def h1(data):
    return "h1:" + b64hash(data)


def gosum_record(module, version):
    return (f"{module} {version} {h1(module.encode() + version.encode())}\n"
            f"{module} {version}/go.mod {h1(b'mod' + module.encode() + version.encode())}\n").encode()


def sumdb_notes():
    tree = tree_text(12345)
    other_seed = hashlib.sha256(b"another key").digest()
    return {
        "tree-signed": signed(tree),
        "tree-two-keys": signed(tree, signature_line(tree, "sum.example.org", other_seed),
                                signature_line(tree)),
        "tree-duplicate-sig": signed(tree, signature_line(tree), signature_line(tree)),
        "tree-bad-sig": signed(tree, signature_line(tree, tamper=True)),
        "tree-wrong-hash": signed(tree, signature_line(tree, claimed=b"\0\0\0\0")),
        "tree-unknown-key": signed(tree, signature_line(tree, "sum.example.org", other_seed)),
        "text-multiline": signed(b"hello\nworld\n"),
        "no-blank-line": tree + signature_line(tree),
        "no-signature": tree + b"\n",
        "no-final-newline": signed(tree)[:-1],
        "control-char": signed(b"a\x01b\n"),
        "not-utf8": signed(b"\xff\xfe\n"),
        "ascii-dash": signed(tree, b"- " + signature_line(tree)[4:]),
        "empty": b"",
    }


def sumdb_records():
    tree = tree_text(42)
    note = signed(tree)
    rec = gosum_record("golang.org/x/mod", "v0.14.0")
    return {
        "lookup": b"41\n" + rec + b"\n" + note,
        "lookup-leading-zeros": b"0041\n" + rec + b"\n" + note,
        "lookup-negative": b"-1\n" + rec + b"\n" + note,
        "lookup-plus": b"+7\n" + rec + b"\n" + note,
        "lookup-no-blank": b"41\n" + rec + note,
        "lookup-huge-id": b"99999999999999999999\n" + rec + b"\n" + note,
        "lookup-bad-utf8": b"41\n" + rec[:-1] + b"\xc3\x28\n\n" + note,
        "lookup-cr": b"41\r\n" + rec.replace(b"\n", b"\r\n") + b"\r\n" + note,
        "gosum-extra-space": b"1\ngolang.org/x/mod  v0.14.0 h1:x\n\n",
        "gosum-short-hash": b"1\nexample.com/m v1.0.0 h1:AAAA\nexample.com/m v1.0.0/go.mod h2:x=\n\n",
        "tree": tree,
        "tree-extra-lines": tree + b"future field\n",
        "tree-leading-zero": b"go.sum database tree\n012\n" + b64hash(b"x").encode() + b"\n",
        "tree-negative": b"go.sum database tree\n-1\n" + b64hash(b"x").encode() + b"\n",
        "tree-short-hash": b"go.sum database tree\n1\nAAAA\n",
        "empty": b"",
    }


def tile_hashes(records):
    return b"".join(hashlib.sha256(b"\0" + r).digest() for r in records)


def sumdb_tiles():
    recs = [gosum_record("golang.org/x/mod", f"v0.{i}.0") for i in range(3)]
    data = b"".join(r + b"\n" for r in recs)
    hashes = tile_hashes(recs)
    return {
        "data-partial": b"tile/8/data/000.p/3\n0\n" + data,
        "hash-partial": b"tile/8/0/000.p/3\n1\n" + hashes,
        "hash-partial-index2": b"tile/8/0/000.p/3\n3\n" + hashes,
        "hash-full": b"tile/8/0/x001/234\n" + str(1234 * 256 * 2).encode() + b"\n" + b"\0" * 64,
        "level1": b"tile/8/1/000.p/1\n2\n" + hashes[:32],
        "big-number": b"tile/8/2/x123/x456/789\n0\n",
        "height-30": b"tile/30/0/000.p/1\n0\n" + b"\1" * 32,
        "leading-zero-group": b"tile/8/0/x01/234\n0\n",
        "missing-x": b"tile/8/0/001/234\n0\n",
        "full-as-partial": b"tile/8/0/000.p/256\n0\n",
        "zero-width": b"tile/8/0/000.p/0\n0\n",
        "level-minus-one": b"tile/8/-1/000\n0\n",
        "height-31": b"tile/31/0/000\n0\n",
        "level-63": b"tile/8/63/000\n0\n",
        "data-no-blank": b"tile/8/data/000.p/1\n0\n" + recs[0],
        "data-empty-record": b"tile/8/data/000.p/1\n0\n\n\n",
        "not-a-tile": b"lookup/golang.org/x/mod@v0.14.0\n0\n",
        "negative-index": b"tile/8/0/000.p/3\n-1\n" + hashes,
    }


def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    """A zip with (name, data) entries, fixed timestamps; data None makes a directory entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2023, 1, 1, 0, 0, 0))
            if data is None:
                info.external_attr = 0o40755 << 16 | 0x10
                z.writestr(info, b"")
            else:
                info.compress_type = compression
                info.external_attr = 0o644 << 16
                z.writestr(info, data)
    return buf.getvalue()


P = "example.com/mod@v1.0.0/"
GO_MOD = b"module example.com/mod\n\ngo 1.21\n"
MAIN = b"package mod\n\nfunc F() int { return 1 }\n"


def zips():
    valid = zip_bytes([(P + "go.mod", GO_MOD), (P + "mod.go", MAIN), (P + "LICENSE", b"MIT\n")])
    bad_crc = bytearray(zip_bytes([(P + "go.mod", GO_MOD)], zipfile.ZIP_STORED))
    bad_crc[14] ^= 0xFF  # local header CRC
    cd = bad_crc.find(b"PK\x01\x02")
    bad_crc[cd + 16] ^= 0xFF  # central directory CRC
    big_size = bytearray(zip_bytes([(P + "go.mod", GO_MOD)], zipfile.ZIP_STORED))
    cd = big_size.find(b"PK\x01\x02")
    struct.pack_into("<I", big_size, cd + 24, 0x7FFFFFFF)  # declared uncompressed size
    small_size = bytearray(zip_bytes([(P + "go.mod", GO_MOD)], zipfile.ZIP_STORED))
    cd = small_size.find(b"PK\x01\x02")
    struct.pack_into("<I", small_size, cd + 24, 5)  # declares fewer bytes than stored
    struct.pack_into("<I", small_size, 22, 5)
    return {
        "valid-deflate": valid,
        "valid-stored": zip_bytes([(P + "go.mod", GO_MOD), (P + "mod.go", MAIN)], zipfile.ZIP_STORED),
        "valid-dirs": zip_bytes([(P + "sub/", None), (P + "sub/x.go", b"package sub\n"), (P + "go.mod", GO_MOD)]),
        "valid-empty-file": zip_bytes([(P + "empty.txt", b"")]),
        "wrong-prefix": zip_bytes([("example.com/other@v1.0.0/go.mod", GO_MOD)]),
        "dotdot": zip_bytes([(P + "../evil.go", MAIN)]),
        "absolute": zip_bytes([("/" + P + "x.go", MAIN)]),
        "backslash": zip_bytes([(P + "a\\b.go", MAIN)]),
        "case-collision": zip_bytes([(P + "a.go", MAIN), (P + "A.go", MAIN)]),
        "duplicate": zip_bytes([(P + "a.go", MAIN), (P + "a.go", MAIN)]),
        "file-and-dir": zip_bytes([(P + "a", b"x"), (P + "a/b.go", MAIN)]),
        "nested-go-mod": zip_bytes([(P + "sub/go.mod", GO_MOD)]),
        "go-mod-case": zip_bytes([(P + "GO.MOD", GO_MOD)]),
        "vendor": zip_bytes([(P + "vendor/x/y.go", MAIN), (P + "vendor/modules.txt", b"# x\n")]),
        "dot-git": zip_bytes([(P + ".git/config", b"[core]\n")]),
        "unicode-name": zip_bytes([(P + "\u00e9t\u00e9.go", MAIN), (P + "\u00c9T\u00c9.go", MAIN)]),
        "bad-crc": bytes(bad_crc),
        "size-lies": bytes(big_size),
        "size-lies-small": bytes(small_size),
        "truncated": valid[: len(valid) // 2],
        "end-only": valid[valid.rfind(b"PK\x05\x06"):],
        "empty-zip": zip_bytes([]),
        "not-a-zip": b"this is not a zip file\n",
        "empty": b"",
    }


def slug(s):
    text = s.decode("utf-8", "replace") if isinstance(s, bytes) else s
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.")[:40] or "empty"


INDEX_QUERIES = [
    "2019-04-10T19:08:52.997264Z\n",
    "2019-04-10T21:08:52+02:00\n" + "example.com/m\nv1.0.0".encode().hex(),
    "1970-01-01T00:00:00Z\n0a",
    "2024-02-29T23:59:59.999999999-12:30\n",
    "9999-12-31T23:59:59Z\nzz",
    "2023-02-29T00:00:00Z\n" + "m\n".encode().hex(),
]


# Request targets under /sumdb/ (fuzz/sumdb_target.cpp; the database proxied is "sum.example",
# modules under corp.example/ are private).
SUMDB_TARGETS = [
    "/sumdb/sum.example/supported",
    "/sumdb/sum.example/latest",
    "/sumdb/sum.example/lookup/golang.org/x/mod@v0.14.0",
    "/sumdb/sum.example/lookup/github.com/%21azure/x@v1.0.0",
    "/sumdb/sum.example/lookup/corp.example/secret@v1.0.0",
    "/sumdb/sum.example/lookup/example.com/m@v1.0.0%",
    "/sumdb/sum.example/tile/8/0/001",
    "/sumdb/sum.example/tile/8/1/x123/456.p/7",
    "/sumdb/sum.example/tile/8/data/000",
    "/sumdb/sum.example/tile/4/0/001",
    "/sumdb/other.example/latest",
    "/sumdb/sum.example/../latest",
]

# /index and /catalog targets with their queries (fuzz/index_target.cpp).
INDEX_TARGETS = [
    "/index",
    "/index?since=2019-04-10T19:08:52.997264Z&limit=10",
    "/index?limit=%32%30",
    "/index?since=&limit=",
    "/catalog?limit=1000",
    "/catalog?cursor=" + "example.com/m\nv1.0.0".encode().hex() + "&limit=5",
    "/catalog?cursor=zz",
    "/catalog?x=1&&limit=3",
]


# .info bodies as the go command decodes them (fuzz/rev_info.cpp), hostile shapes included.
REV_INFO = [
    '{"Version":"v1.0.0","Time":"2023-01-01T00:00:00Z"}',
    '{"Version":"v1.0.0","VERSION":"v9.9.9"}',
    '{"version":"v1.0.0","time":"2023-01-01T1:00:00,5+24:60"}',
    '{"Ver\\u017fion":"v1.0.0","Origin":{"VCS":"git","Hash":null,"X":[1,{}]}}',
    '{"Version":"v1.0.0","Origin":5}',
    '{"Version":"\\u00761.0.0\\ud800","Time":null}',
    "null",
]

# .mod bodies as the go command parses a dependency's go.mod (fuzz/go_mod.cpp).
GO_MOD_FILES = [
    "module example.com/m\n\ngo 1.21\n\nrequire (\n\texample.com/a v1.0.0 // indirect\n)\n",
    'module "example.com/\\x6d" // c\r\nretract [v1.0.0, v1.1.0]\r\n',
    "// Deprecated: x\nmodule (\n\texample.com/m\n)\nfrob ( a b )\n",
    "module example.com/m\nmodule example.com/m\n",
    "\ufeffmodule example.com/m\n",
    "<!DOCTYPE html>\n<html></html>\n",
    "go 1.21.x\nrequire example.com/a/v2 v2.0.0+incompatible\n",
]


# Authorization header values (fuzz/authorization.cpp: alice's password is "pw", token "tok" is ci's).
AUTHORIZATION = [
    "Basic YWxpY2U6cHc=",  # alice:pw
    "Bearer tok",
    "Basic Y2k6dG9r",  # ci:tok
    "Basic YWxpY2U6d3Jvbmc=",  # alice:wrong
    "Digest x",
    "Basic ====",
]

# fuzz/text.cpp: prefix, user, password, rest (one per line); the whole input is also escaped.
TEXT = [
    b"see \nalice\np@ss:w?rd#1\n[::1]:8080/m/@v/list",
    b"host=h\nu\nsecret\ndbname=d sslmode=require",
    b"go: get \nuser\ns3cret\nh.example/x: 401 and http://a:b@c/",
    b"\nTOKEN\n\nproxy.example,https://h2|direct",
    b"x://y\nu%40x\np%3Aw\nh password='a b' \"q\"",
    "caf\u00e9 \U0001F600\n".encode() + b"\xff\xfe\x01\x7f\n\xed\xa0\x80\n\\ \"q\"",
]


def write(target, named):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob("seed-*"):
        old.unlink()
    for i, (name, data) in enumerate(named):
        if isinstance(data, str):
            data = data.encode()
        (d / f"seed-{i:02d}-{slug(name)}").write_bytes(data)
    total = sum(p.stat().st_size for p in d.iterdir())
    print(f"{target}: {len(named)} seeds, {total} bytes")


def main():
    warnings.filterwarnings("ignore", "Duplicate name")  # the "duplicate" zip seed
    write("request_path", [(s, s) for s in REQUEST_PATHS])
    write("module_path", [(s, s) for s in MODULE_PATHS])
    write("semver", [(s, s) for s in SEMVER])
    write("zip_check", list(zips().items()))
    write("info_json", [(s, s) for s in INFO_JSON])
    write("rev_info", [(s, s) for s in REV_INFO])
    write("go_mod", [(s, s) for s in GO_MOD_FILES])
    write("range_header", [(s, s) for s in RANGES])
    write("proxy_list", [(s, s) for s in PROXY_LISTS])
    write("index_query", [(s, s) for s in INDEX_QUERIES])
    write("sumdb_target", [(s, s) for s in SUMDB_TARGETS])
    write("index_target", [(s, s) for s in INDEX_TARGETS])
    write("go_output", [(s, s) for s in GO_OUTPUT])
    write("authorization", [(s, s) for s in AUTHORIZATION])
    write("text", [(s, s) for s in TEXT])
    write("sumdb_note", list(sumdb_notes().items()))
    write("sumdb_record", list(sumdb_records().items()))
    write("sumdb_tile", list(sumdb_tiles().items()))
    vkey = verifier_key()
    harness = pathlib.Path(__file__).resolve().parent / "sumdb_note.cpp"
    if not harness.exists() or f'"{vkey}"' not in harness.read_text():
        print(f"fuzz/sumdb_note.cpp must use the verifier key {vkey}")


if __name__ == "__main__":
    main()
