// Command modcheck answers questions about module paths and versions with golang.org/x/mod,
// for stoa's differential tests (src/stoa/module/differential_test.cpp).
//
// Each input line is "<op>\t<arg1>[\t<arg2>]" with every argument written as a Go-quoted string
// (strconv.Quote), so any byte can pass. Each output line is one Go-quoted string:
//
//	checkpath, checkimportpath, checkpathmajor      "ok", or "err: <x/mod's message>"
//	escapepath, unescapepath, escapeversion,
//	unescapeversion                                 the result, or "err: <message>"
//	splitpathversion                                prefix + "\x00" + pathMajor, or "err"
//	ispseudo, semvervalid                           "true" or "false"
//	canonical (semver.Canonical),
//	canonicalversion (module.CanonicalVersion),
//	major, prerelease, build                        the result (possibly empty)
//	compare                                         "-1", "0" or "1"
//	proxypath <module> <version>                    the request path the go command sends for
//	                                                <module>@<version> without the ".info"
//	                                                suffix, or "err: <message>"
//	match <pattern> <name>                          path.Match: "true", "false", or "err" for
//	                                                a malformed pattern
//	matchprefix <globs> <target>                    module.MatchPrefixPatterns: "true" or "false"
//	rfc3339                                         time.Parse(time.RFC3339): "<unix seconds>
//	                                                <nanoseconds>", or "err"
//	pseudotime                                      module.PseudoVersionTime: "<unix seconds>",
//	                                                or "err"
//	latestfromlist <list body>                      the version the go command takes as latest
//	                                                from an @v/list body when @latest is 404
//	                                                (modfetch latestFromList), or "err"
//
// "err..." cannot be mistaken for a result: no valid path or version contains ':'.
// A malformed input line is a fatal error (exit status 2).
package main

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 0, 1<<16), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for line := 1; in.Scan(); line++ {
		result, err := answer(in.Text())
		if err != nil {
			out.Flush()
			fmt.Fprintf(os.Stderr, "modcheck: line %d: %v\n", line, err)
			os.Exit(2)
		}
		out.WriteString(strconv.Quote(result))
		out.WriteByte('\n')
	}
	if err := in.Err(); err != nil {
		out.Flush()
		fmt.Fprintf(os.Stderr, "modcheck: %v\n", err)
		os.Exit(2)
	}
}

func answer(line string) (string, error) {
	fields := strings.Split(line, "\t")
	op, args := fields[0], make([]string, 0, 2)
	for _, f := range fields[1:] {
		a, err := strconv.Unquote(f)
		if err != nil {
			return "", fmt.Errorf("argument %s: %v", f, err)
		}
		args = append(args, a)
	}
	want := 1
	switch op {
	case "checkpathmajor", "compare", "proxypath", "match", "matchprefix":
		want = 2
	}
	if len(args) != want {
		return "", fmt.Errorf("%s takes %d arguments, got %d", op, want, len(args))
	}
	a := args[0]

	switch op {
	case "checkpath":
		return verdict(module.CheckPath(a)), nil
	case "checkimportpath":
		return verdict(module.CheckImportPath(a)), nil
	case "checkpathmajor":
		return verdict(module.CheckPathMajor(a, args[1])), nil
	case "escapepath":
		return value(module.EscapePath(a))
	case "unescapepath":
		return value(module.UnescapePath(a))
	case "escapeversion":
		return value(module.EscapeVersion(a))
	case "unescapeversion":
		return value(module.UnescapeVersion(a))
	case "splitpathversion":
		prefix, major, ok := module.SplitPathVersion(a)
		if !ok {
			return "err", nil
		}
		return prefix + "\x00" + major, nil
	case "ispseudo":
		return strconv.FormatBool(module.IsPseudoVersion(a)), nil
	case "semvervalid":
		return strconv.FormatBool(semver.IsValid(a)), nil
	case "canonical":
		return semver.Canonical(a), nil
	case "canonicalversion":
		return module.CanonicalVersion(a), nil
	case "major":
		return semver.Major(a), nil
	case "prerelease":
		return semver.Prerelease(a), nil
	case "build":
		return semver.Build(a), nil
	case "compare":
		return strconv.Itoa(semver.Compare(a, args[1])), nil
	case "proxypath":
		return proxyPath(a, args[1]), nil
	case "match":
		matched, err := path.Match(a, args[1])
		if err != nil {
			return "err", nil
		}
		return strconv.FormatBool(matched), nil
	case "matchprefix":
		return strconv.FormatBool(module.MatchPrefixPatterns(a, args[1])), nil
	case "rfc3339":
		t, err := time.Parse(time.RFC3339, a)
		if err != nil {
			return "err", nil
		}
		return fmt.Sprintf("%d %d", t.Unix(), t.Nanosecond()), nil
	case "pseudotime":
		t, err := module.PseudoVersionTime(a)
		if err != nil {
			return "err", nil
		}
		return strconv.FormatInt(t.Unix(), 10), nil
	case "latestfromlist":
		return latestFromList(a), nil
	}
	return "", fmt.Errorf("unknown op %q", op)
}

func verdict(err error) string {
	if err != nil {
		return "err: " + err.Error()
	}
	return "ok"
}

func value(s string, err error) (string, error) {
	if err != nil {
		return "err: " + err.Error(), nil
	}
	return s, nil
}

// proxyPath builds "/<module>/@v/<version>" the way the go command's proxy client does:
// case-encode both, then percent-escape each path segment, keeping the slashes.
func proxyPath(path, version string) string {
	escPath, err := module.EscapePath(path)
	if err != nil {
		return "err: " + err.Error()
	}
	escVersion, err := module.EscapeVersion(version)
	if err != nil {
		return "err: " + err.Error()
	}
	segments := strings.Split(escPath+"/@v/"+escVersion, "/")
	for i, s := range segments {
		segments[i] = url.PathEscape(s)
	}
	return "/" + strings.Join(segments, "/")
}

// latestFromList follows cmd/go/internal/modfetch's rule for a proxy that answers 404 for @latest
// (the go command's own function is internal, so its documented steps are written out here over
// the same library calls): among the lines whose first field is a valid semantic version, the
// one with the latest time, the time being the line's second field parsed as RFC 3339 when there
// is one (a malformed one is the zero time) and otherwise the pseudo-version's own time; tagged
// versions without a time are skipped; only a time after the zero time can win, the first of
// equals wins.
func latestFromList(body string) string {
	var bestTime time.Time
	best := ""
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) < 1 || !semver.IsValid(f[0]) {
			continue
		}
		var ft time.Time
		if len(f) >= 2 {
			ft, _ = time.Parse(time.RFC3339, f[1])
		} else if module.IsPseudoVersion(f[0]) {
			ft, _ = module.PseudoVersionTime(f[0])
		} else {
			continue
		}
		if bestTime.Before(ft) {
			bestTime = ft
			best = f[0]
		}
	}
	if best == "" {
		return "err"
	}
	return best
}
