package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// runVerify GETs every path listed in -paths from -base and compares the body with the file at
// the same (percent-decoded) path under -root: same size and SHA-256. A list answer is compared
// as a set of versions (stoa orders it by semver, a file tree as written).
func runVerify(args []string) error {
	fl := flag.NewFlagSet("verify", flag.ExitOnError)
	base := fl.String("base", "", "server URL, e.g. http://127.0.0.1:8080")
	root := fl.String("root", "", "GOPROXY tree holding the expected bytes")
	paths := fl.String("paths", "", "file with one request path per line")
	fl.Parse(args)
	if *base == "" || *root == "" || *paths == "" {
		return fmt.Errorf("-base, -root and -paths are required")
	}
	f, err := os.Open(*paths)
	if err != nil {
		return err
	}
	defer f.Close()
	client := &http.Client{Timeout: 2 * time.Minute}
	var checked, ok int
	var bytesN int64
	var bad []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" {
			continue
		}
		checked++
		problem, n := verifyOne(client, *base, *root, p)
		bytesN += n
		if problem == "" {
			ok++
		} else if len(bad) < 10 {
			bad = append(bad, p+": "+problem)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	emit(map[string]any{"checked": checked, "ok": ok, "bytes": bytesN, "bad": bad})
	if ok != checked || checked == 0 {
		return fmt.Errorf("%d of %d answers differ from the files: %v", checked-ok, checked, bad)
	}
	return nil
}

func verifyOne(client *http.Client, base, root, p string) (string, int64) {
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return "bad path", 0
	}
	want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(decoded)))
	if err != nil {
		return "no expected file: " + err.Error(), 0
	}
	resp, err := client.Get(base + p)
	if err != nil {
		return err.Error(), 0
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return "reading body: " + err.Error(), int64(len(got))
	}
	if resp.StatusCode != 200 {
		return fmt.Sprintf("status %d", resp.StatusCode), int64(len(got))
	}
	if strings.HasSuffix(p, "/@v/list") {
		if !slices.Equal(versionSet(got), versionSet(want)) {
			return fmt.Sprintf("list %q, want the versions of %q", trim(got), trim(want)), int64(len(got))
		}
		return "", int64(len(got))
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want)), int64(len(got))
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		return "SHA-256 mismatch", int64(len(got))
	}
	return "", int64(len(got))
}

func versionSet(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func trim(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
