// Command fetchcheck answers, for stoa's differential tests (src/stoa/proxy/validate_test.cpp),
// what the go command makes of a .info or .mod body a proxy sends it:
//
//	info    json.Unmarshal into a struct shaped like cmd/go's modfetch.RevInfo (Version,
//	        Time time.Time, Origin *codehost.Origin with string fields; Name and Short are
//	        json:"-"): "ok <hex of Version>", or "err"
//	time    (time.Time).UnmarshalJSON of the body between double quotes: "ok" or "err"
//	mod     modfile.ParseLax("go.mod", body, nil), as cmd/go's modload parses a dependency's
//	        go.mod: "err", "nomodule" (no module statement), or "ok <hex of the module path>"
//
// Input: records "<op> <length>\n<length bytes>\n", any bytes. Output: one line per record.
// `fetchcheck print-ranges` prints unicode.IsPrint for runes >= U+0080 as C++ range rows, the
// table src/stoa/proxy/gomod_tables.inc holds.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/modfile"
)

// origin mirrors cmd/go's codehost.Origin: the member names and types json decodes.
type origin struct {
	VCS       string `json:",omitempty"`
	URL       string `json:",omitempty"`
	Subdir    string `json:",omitempty"`
	Hash      string `json:",omitempty"`
	TagPrefix string `json:",omitempty"`
	TagSum    string `json:",omitempty"`
	Ref       string `json:",omitempty"`
	RepoSum   string `json:",omitempty"`
}

// revInfo mirrors cmd/go's modfetch.RevInfo.
type revInfo struct {
	Version string
	Time    time.Time
	Name    string  `json:"-"`
	Short   string  `json:"-"`
	Origin  *origin `json:",omitempty"`
}

func answer(op string, body []byte) string {
	switch op {
	case "info":
		info := new(revInfo)
		if err := json.Unmarshal(body, info); err != nil {
			return "err"
		}
		return "ok " + hex.EncodeToString([]byte(info.Version))
	case "time":
		var t time.Time
		if err := t.UnmarshalJSON([]byte(`"` + string(body) + `"`)); err != nil {
			return "err"
		}
		return "ok"
	case "mod":
		f, err := modfile.ParseLax("go.mod", body, nil)
		if err != nil {
			return "err"
		}
		if f.Module == nil {
			return "nomodule"
		}
		return "ok " + hex.EncodeToString([]byte(f.Module.Mod.Path))
	}
	fmt.Fprintf(os.Stderr, "fetchcheck: unknown op %q\n", op)
	os.Exit(2)
	return ""
}

func printRanges() {
	start := rune(-1)
	for r := rune(0x80); r <= unicode.MaxRune+1; r++ {
		in := r <= unicode.MaxRune && unicode.IsPrint(r)
		if in && start < 0 {
			start = r
		} else if !in && start >= 0 {
			fmt.Printf("    {0x%X, 0x%X},\n", start, r-1)
			start = -1
		}
	}
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "print-ranges" {
		printRanges()
		return
	}
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for {
		head, err := in.ReadString('\n')
		if err == io.EOF && head == "" {
			return
		}
		op, n, ok := strings.Cut(strings.TrimSuffix(head, "\n"), " ")
		size, convErr := strconv.Atoi(n)
		if err != nil || !ok || convErr != nil || size < 0 {
			fmt.Fprintf(os.Stderr, "fetchcheck: bad record header %q\n", head)
			os.Exit(2)
		}
		body := make([]byte, size+1)
		if _, err := io.ReadFull(in, body); err != nil || body[size] != '\n' {
			fmt.Fprintf(os.Stderr, "fetchcheck: short record\n")
			os.Exit(2)
		}
		fmt.Fprintln(out, answer(op, body[:size]))
	}
}
