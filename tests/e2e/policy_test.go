package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
	"stoa.test/internal/upstream"
)

// privatePrefix is the module path prefix the private-rule tests use. No public upstream or
// checksum database may ever see it, in any spelling.
const privatePrefix = "corp.example.com"

var (
	publicMu        sync.Mutex
	publicUpstreams []*upstream.Server
)

func registerPublic(up *upstream.Server) {
	publicMu.Lock()
	defer publicMu.Unlock()
	publicUpstreams = append(publicUpstreams, up)
}

// privateLeaks lists every request a public upstream received that names the private prefix.
func privateLeaks() []string {
	publicMu.Lock()
	defer publicMu.Unlock()
	var leaks []string
	for _, up := range publicUpstreams {
		for _, h := range up.HitLog() {
			if strings.Contains(strings.ToLower(h.Key), privatePrefix) {
				leaks = append(leaks, up.URL()+" "+h.Method+" "+h.Key)
			}
		}
	}
	return leaks
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// usersLine makes a users_file line with `stoa passwd` (bcrypt through libcrypt).
func usersLine(t *testing.T, name, password string) string {
	t.Helper()
	bin := stoatest.Bin(t)
	cmd := exec.Command(bin, "passwd", name)
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stoa passwd %s: %v", name, err)
	}
	line := strings.TrimSpace(string(out))
	if !strings.HasPrefix(line, name+":$2b$") {
		t.Fatalf("stoa passwd %s printed %q", name, line)
	}
	return line
}

// testTLS makes a CA and a certificate for 127.0.0.1 signed by it, writes the CA, the
// certificate and its key as PEM under dir, and returns a client configuration trusting the CA.
func testTLS(t *testing.T, dir string) (caFile, certFile, keyFile string, client *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "stoa test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = writeFile(t, filepath.Join(dir, "ca.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	certFile = writeFile(t, filepath.Join(dir, "cert.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, filepath.Join(dir, "key.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return caFile, certFile, keyFile, &tls.Config{RootCAs: pool}
}

// A denied version fails in the go command with stoa's message naming the rule; other versions
// of the module, and the list, are served.
func TestPolicyDeny(t *testing.T) {
	t.Parallel()
	old := modgen.MustBuild(t, modgen.Module{Path: "example.com/denied", Version: "v1.1.0"})
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/denied", Version: "v1.2.0"})
	up := newUpstream(t, old, good)
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "cve-2099-1"
modules = "example.com/denied"
versions = "<v1.2.0"
action = "deny"
message = "CVE-2099-1: use v1.2.0 or later"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}})
	g := goClient(t, s.URL)
	_, msg, err := g.ModDownload("example.com/denied@v1.1.0")
	if err == nil {
		t.Fatalf("go mod download of a denied version succeeded")
	}
	for _, want := range []string{`denied by rule "cve-2099-1"`, "CVE-2099-1: use v1.2.0 or later", "403"} {
		if !strings.Contains(msg, want) {
			t.Errorf("go mod download output lacks %q:\n%s", want, msg)
		}
	}
	if _, msg, err := g.ModDownload("example.com/denied@v1.2.0"); err != nil {
		t.Errorf("go mod download of an allowed version: %v\n%s", err, msg)
	}
	if up.Hits(old.Key("zip"))+up.Hits(old.Key("info"))+up.Hits(old.Key("mod")) != 0 {
		t.Errorf("a denied version was fetched from upstream: %v", up.HitLog())
	}
	if r := get(t, s.URL+"/"+old.Key("mod")); r.Status != http.StatusForbidden ||
		!strings.Contains(string(r.Body), "cve-2099-1") {
		t.Errorf("GET denied .mod: %v", r)
	}
	if _, ok := dataFile(s.DataDir, old.Key("zip")); ok {
		t.Errorf("a denied version is in the store")
	}
	if m := get(t, s.URL+"/metrics"); !strings.Contains(string(m.Body),
		`stoa_policy_refusals_total{action="deny",reason="denied"} 2`) {
		t.Errorf("refusals metric missing or wrong:\n%s", grepLines(string(m.Body), "stoa_policy"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A passthrough module is served to the go command and is not in the store afterwards: a
// second client fetches it from upstream again.
func TestPolicyPassthrough(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/pass", Version: "v1.0.0",
		Files: randomFiles(7, 200_000)})
	up := newUpstream(t, m)
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
modules = "example.com/pass"
action = "passthrough"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}})
	for i := range 2 {
		ds, msg, err := goClient(t, s.URL).ModDownload("example.com/pass@v1.0.0")
		if err != nil || len(ds) != 1 || ds[0].Sum != m.Sum {
			t.Fatalf("download %d: %v %+v\n%s", i, err, ds, msg)
		}
	}
	if n := up.Hits(m.Key("zip")); n != 2 {
		t.Errorf("upstream served the passthrough zip %d times, want 2 (never from the store)", n)
	}
	// Nothing of the module in the data directory, and no staging file left behind.
	_ = filepath.WalkDir(s.DataDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.Contains(p, "example.com/pass") || (!d.IsDir() && strings.Contains(p, "pass-"))) {
			t.Errorf("passthrough left %s in the data directory", p)
		}
		return nil
	})
	// A range request on a passthrough zip works like on a stored one.
	if r := get(t, s.URL+"/"+m.Key("zip"), "Range: bytes=0-3"); r.Status != http.StatusPartialContent ||
		string(r.Body) != string(m.Zip[:4]) {
		t.Errorf("range GET of a passthrough zip: %v", r)
	}
}

// The private-module test: TLS, credentials from the client's netrc, 401 without them, the
// answer of a nonexistent module for a client who may not read it, and no request naming the
// private prefix at the public upstream or the checksum database.
func TestPolicyPrivateOverTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/lib", Version: "v1.0.0",
		Files: map[string]string{"lib.go": "package lib\n"}})
	privUp := upstream.New() // the private upstream: the only place allowed to see the prefix
	t.Cleanup(privUp.Close)
	privUp.Add(priv)

	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/public", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(pub)
	up := newUpstream(t, pub)

	caFile, certFile, keyFile, clientTLS := testTLS(t, dir)
	users := writeFile(t, filepath.Join(dir, "users"),
		usersLine(t, "alice", "alice-pw")+"\n"+usersLine(t, "bob", "bob-pw")+"\n")
	token := "tok-" + hex.EncodeToString([]byte("ci secret"))
	sum := sha256.Sum256([]byte(token))
	tokens := writeFile(t, filepath.Join(dir, "tokens"), "ci "+hex.EncodeToString(sum[:])+"\n")
	rules := writeFile(t, filepath.Join(dir, "rules.toml"), `
[groups]
platform = ["alice"]

[[rule]]
name = "corp"
modules = "`+privatePrefix+`"
action = "private"
readers = ["@platform", "ci"]
upstream = "`+privUp.URL()+`"
`)
	s := startStoa(t, up, stoatest.Config{
		Sumdb: db.GOSUMDB(),
		TLS:   clientTLS,
		Args: []string{"--rules-file", rules, "--users-file", users, "--tokens-file", tokens,
			"--tls-cert", certFile, "--tls-key", keyFile},
	})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: clientTLS}}
	fetch := func(path string, user, pass string) response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body := make([]byte, 0, 1024)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			body = append(body, buf[:n]...)
			if err != nil {
				break
			}
		}
		return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
	}

	// 1. The go command with credentials in its netrc, over TLS.
	home := t.TempDir()
	// The go command matches netrc machines against host:port when the URL has a port.
	netrc := writeFile(t, filepath.Join(home, ".netrc"), "machine "+s.Addr+" login alice password alice-pw\n")
	g := goClient(t, s.URL).With("SSL_CERT_FILE="+caFile, "NETRC="+netrc, "GOAUTH=netrc")
	ds, msg, err := g.ModDownload(privatePrefix + "/lib@v1.0.0")
	if err != nil || len(ds) != 1 || ds[0].Sum != priv.Sum {
		t.Fatalf("private download with netrc credentials: %v %+v\n%s", err, ds, msg)
	}
	if _, msg, err := g.ModDownload("example.com/public@v1.0.0"); err != nil {
		t.Errorf("public download over TLS: %v\n%s", err, msg)
	}
	// A token as the password of a netrc entry works too.
	netrcTok := writeFile(t, filepath.Join(home, "netrc-token"), "machine "+s.Addr+" login ci password "+token+"\n")
	if _, msg, err := goClient(t, s.URL).With("SSL_CERT_FILE="+caFile, "NETRC="+netrcTok, "GOAUTH=netrc").
		ModDownload(privatePrefix + "/lib@v1.0.0"); err != nil {
		t.Errorf("private download with a token in netrc: %v\n%s", err, msg)
	}

	// 2. Without credentials: 401 with a Basic challenge, and the go command fails.
	for _, p := range []string{"/" + priv.Key("info"), "/" + priv.Key("zip"), "/" + priv.ListKey(), "/" + priv.LatestKey()} {
		r := fetch(p, "", "")
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != `Basic realm="stoa"` {
			t.Errorf("GET %s without credentials: %v %q", p, r, r.Header.Get("WWW-Authenticate"))
		}
		if r := fetch(p, "alice", "wrong"); r.Status != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong password: %v", p, r)
		}
	}
	if _, msg, err := goClient(t, s.URL).With("SSL_CERT_FILE=" + caFile).ModDownload(privatePrefix + "/lib@v1.0.0"); err == nil {
		t.Errorf("private download without credentials succeeded")
	} else if !strings.Contains(msg, "401") {
		t.Errorf("private download without credentials: want a 401 in the output:\n%s", msg)
	}

	// 3. bob is authenticated but not a reader: every answer equals that of a module that
	// does not exist (asked by a reader).
	missing := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/lib", Version: "v1.9.9"})
	ghost := modgen.MustBuild(t, modgen.Module{Path: privatePrefix + "/ghost", Version: "v1.0.0"})
	pairs := [][2]string{
		{"/" + priv.Key("info"), "/" + missing.Key("info")},
		{"/" + priv.Key("mod"), "/" + missing.Key("mod")},
		{"/" + priv.Key("zip"), "/" + missing.Key("zip")},
		{"/" + priv.ListKey(), "/" + ghost.ListKey()},
		{"/" + priv.LatestKey(), "/" + ghost.LatestKey()},
	}
	for _, pr := range pairs {
		hidden := fetch(pr[0], "bob", "bob-pw")
		absent := fetch(pr[1], "alice", "alice-pw") // a reader asking for what does not exist
		wantBody := strings.Replace(string(absent.Body), missing.Version, priv.Version, 1)
		wantBody = strings.Replace(wantBody, "/ghost", "/lib", 1)
		if hidden.Status != http.StatusNotFound || absent.Status != http.StatusNotFound ||
			string(hidden.Body) != wantBody ||
			hidden.Header.Get("Content-Type") != absent.Header.Get("Content-Type") ||
			hidden.Header.Get("Cache-Control") != absent.Header.Get("Cache-Control") {
			t.Errorf("GET %s as a non-reader: %v; a nonexistent module: %v", pr[0], hidden, absent)
		}
	}

	// 4. The checksum database is never asked about the private path, in any spelling.
	for p, want := range map[string]int{
		privatePrefix + "/lib@v1.0.0":     http.StatusForbidden,
		privatePrefix + "/!lib@v1.0.0":    http.StatusForbidden, // corp.example.com/Lib
		privatePrefix + "/x/y/z@v0.0.1":   http.StatusForbidden,
		"!corp.example.com/lib@v1.0.0":    http.StatusBadRequest, // upper case in the domain: invalid
		"corp.!example.!c!o!m/lib@v1.0.0": http.StatusBadRequest,
		"corp.example.com%2Flib@v1.0.0":   http.StatusForbidden, // decoded like any lookup
	} {
		if r := fetch("/sumdb/"+sumdbName+"/lookup/"+p, "alice", "alice-pw"); r.Status != want {
			t.Errorf("sumdb lookup of %s: %v, want %d", p, r, want)
		}
	}
	for _, r := range db.Requests() {
		if strings.Contains(strings.ToLower(r.URI), privatePrefix) {
			t.Errorf("the checksum database saw %s", r.URI)
		}
	}
	for _, h := range up.HitLog() {
		if strings.Contains(strings.ToLower(h.Key), privatePrefix) {
			t.Errorf("the public upstream saw %s", h.Key)
		}
	}
	if privUp.Hits(priv.Key("zip")) != 1 {
		t.Errorf("the private upstream served the zip %d times, want 1 (then the store)", privUp.Hits(priv.Key("zip")))
	}
	checkStored(t, s.DataDir, priv, "mod", "zip")
	// The access log never carries credentials.
	for _, secret := range []string{"alice-pw", "bob-pw", token, "Authorization", "Basic "} {
		if strings.Contains(s.Log(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
}

// An offline rule serves and lists stored versions with the upstream down, and never contacts
// it; the rule arrives by a reload (SIGHUP), and a broken rules file keeps the previous rules.
func TestPolicyOfflineAfterReload(t *testing.T) {
	t.Parallel()
	v1 := modgen.MustBuild(t, modgen.Module{Path: "example.com/frozen", Version: "v1.0.0"})
	v2 := modgen.MustBuild(t, modgen.Module{Path: "example.com/frozen", Version: "v1.1.0"})
	v3 := modgen.MustBuild(t, modgen.Module{Path: "example.com/frozen", Version: "v1.2.0"})
	up := newUpstream(t, v1, v2, v3)
	rulesPath := filepath.Join(t.TempDir(), "rules.toml")
	writeFile(t, rulesPath, "# no rules yet\n")
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rulesPath, "--rules-check-interval", "0"}})
	if _, msg, err := goClient(t, s.URL).ModDownload("example.com/frozen@v1.0.0", "example.com/frozen@v1.1.0"); err != nil {
		t.Fatalf("warming the store: %v\n%s", err, msg)
	}

	writeFile(t, rulesPath, "[[rule]]\nname = \"freeze\"\nmodules = \"example.com/frozen\"\naction = \"offline\"\n")
	s.Signal(syscall.SIGHUP)
	waitLog(t, s, "policy reloaded: 1 rule(s)")
	up.ResetHits()
	up.SetDefaultFault(&upstream.Fault{Status: http.StatusServiceUnavailable}) // upstream "down"

	g := goClient(t, s.URL)
	if ds, msg, err := g.ModDownload("example.com/frozen@v1.1.0"); err != nil || len(ds) != 1 || ds[0].Sum != v2.Sum {
		t.Errorf("offline download of a stored version: %v %+v\n%s", err, ds, msg)
	}
	out, stderr, err := g.Run("", "list", "-m", "-versions", "example.com/frozen")
	if err != nil || strings.TrimSpace(out) != "example.com/frozen v1.0.0 v1.1.0" {
		t.Errorf("go list -m -versions: %q %v\n%s", out, err, stderr)
	}
	out, stderr, err = g.Run("", "list", "-m", "example.com/frozen@latest")
	if err != nil || strings.TrimSpace(out) != "example.com/frozen v1.1.0" {
		t.Errorf("go list -m @latest: %q %v\n%s", out, err, stderr)
	}
	if r := get(t, s.URL+"/"+v3.Key("info")); r.Status != http.StatusNotFound ||
		!strings.Contains(string(r.Body), `rule "freeze" is offline`) {
		t.Errorf("GET a version that is not stored: %v", r)
	}
	if n := up.TotalHits(); n != 0 {
		t.Errorf("offline rule: upstream contacted %d times: %v", n, up.HitLog())
	}

	// A broken rules file: the error is logged and the offline rule stays in force.
	writeFile(t, rulesPath, "[[rule]]\nmodules = \"example.com/frozen\"\naction = \"bogus\"\n")
	s.Signal(syscall.SIGHUP)
	waitLog(t, s, "policy reload failed; keeping the previous rules")
	if r := get(t, s.URL+"/"+v3.Key("info")); r.Status != http.StatusNotFound {
		t.Errorf("after a failed reload: %v", r)
	}
	if n := up.TotalHits(); n != 0 {
		t.Errorf("after a failed reload the upstream was contacted: %v", up.HitLog())
	}
}

// A changed rules file is picked up without a signal (mtime check).
func TestPolicyReloadOnChange(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/later", Version: "v1.0.0"})
	up := newUpstream(t, m)
	rulesPath := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), "")
	s := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rulesPath, "--rules-check-interval", "100ms"}})
	if r := get(t, s.URL+"/"+m.Key("info")); r.Status != http.StatusOK {
		t.Fatalf("before: %v", r)
	}
	writeFile(t, rulesPath, "[[rule]]\nmodules = \"example.com/later\"\naction = \"deny\"\n")
	waitLog(t, s, "policy reloaded: 1 rule(s)")
	if r := get(t, s.URL+"/"+m.Key("info")); r.Status != http.StatusForbidden {
		t.Errorf("after the change: %v", r)
	}
}

// redirect answers 302 to the rule's base plus the request path without stoa's path prefix;
// the prefix itself serves the protocol and nothing outside it.
func TestPolicyRedirectAndPathPrefix(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/here", Version: "v1.0.0"})
	up := newUpstream(t, m)
	cfg := writeFile(t, filepath.Join(t.TempDir(), "stoa.toml"), `
path_prefix = "/goproxy/"

[[rule]]
modules = "example.com/elsewhere"
action = "redirect"
to = "https://mirror.example.net/go/"
`)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--config", cfg}})
	r := get(t, s.URL+"/goproxy/example.com/elsewhere/@v/list")
	if r.Status != http.StatusFound || r.Header.Get("Location") != "https://mirror.example.net/go/example.com/elsewhere/@v/list" {
		t.Errorf("redirect: %v Location %q", r, r.Header.Get("Location"))
	}
	if _, msg, err := goClient(t, s.URL+"/goproxy").ModDownload("example.com/here@v1.0.0"); err != nil {
		t.Errorf("download under the path prefix: %v\n%s", err, msg)
	}
	for _, p := range []string{"/" + m.Key("info"), "/goproxyx/" + m.Key("info"), "/goproxy"} {
		if r := get(t, s.URL+p); r.Status != http.StatusNotFound {
			t.Errorf("GET %s outside the prefix: %v", p, r)
		}
	}
	if r := get(t, s.URL+"/healthz"); r.Status != http.StatusOK {
		t.Errorf("/healthz with a path prefix: %v", r)
	}
}

// stoa rules test: which rule applies, why, and the decision; exit 0 allowed, 1 denied, 2 for
// bad input.
func TestRulesTestCommand(t *testing.T) {
	t.Parallel()
	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "old"
modules = "example.com/lib"
versions = ">=v1.0.0 <v1.2.0"
action = "deny"
message = "too old"
[[rule]]
modules = "example.com/lib"
action = "passthrough"
[[rule]]
name = "gone"
modules = "example.com/gone"
action = "deny"
`)
	cases := []struct {
		arg  string
		code int
		want []string
	}{
		{"example.com/lib@v1.1.0", 1, []string{`rule #1 "old", action deny`, `is in ">=v1.0.0 <v1.2.0"`, "message: too old",
			"decision: denied: left out of list, @latest and /index", `reason: denied by rule "old": too old`}},
		{"example.com/lib@v1.1", 1, []string{`rule #1 "old"`, "decision: denied"}},
		{"example.com/lib@v1.2.0", 0, []string{`rule #2 "rule 2", action passthrough`, `"old": version v1.2.0 is not in`, "decision: allowed"}},
		{"example.com/lib", 0, []string{"action passthrough", "decision: allowed"}},
		{"example.com/gone@v1.0.0", 1, []string{`rule #3 "gone"`, `reason: denied by rule "gone"`}},
		{"example.com/gone", 1, []string{"decision: denied: every request for the module answers 403"}},
		{"other.org/x@v1.0.0", 0, []string{"no rule matches; action cache (the default)", "decision: allowed"}},
		{"example.com/lib@1.0", 2, nil},
		{"Example..com//x@v1.0.0", 2, nil},
	}
	for _, c := range cases {
		r := stoatest.Run(t, 30*time.Second, nil, "rules", "test", "--rules-file", rules, c.arg)
		if r.ExitCode != c.code {
			t.Errorf("stoa rules test %s: exit %d, want %d\n%s%s", c.arg, r.ExitCode, c.code, r.Stdout, r.Stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Stdout, w) {
				t.Errorf("stoa rules test %s: output lacks %q:\n%s", c.arg, w, r.Stdout)
			}
		}
	}
	bad := writeFile(t, filepath.Join(t.TempDir(), "bad.toml"), "[[rule]]\nmodules = \"x\"\nversions = \"~1\"\n")
	if r := stoatest.Run(t, 30*time.Second, nil, "rules", "test", "--rules-file", bad, "example.com/x@v1.0.0"); r.ExitCode != 2 ||
		!strings.Contains(r.Stderr, "not a semantic version") {
		t.Errorf("a bad rules file: exit %d\n%s", r.ExitCode, r.Stderr)
	}
}

// waitLog waits (bounded) until stoa's log contains s.
func waitLog(t *testing.T, s *stoatest.Stoa, text string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Log(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("stoa never logged %q", text)
		}
		sleepPoll()
	}
}

// SIGHUP loads the certificate and key again; a broken pair keeps the previous one.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	_, certFile, keyFile, firstTLS := testTLS(t, t.TempDir())
	s := startStoa(t, up, stoatest.Config{TLS: firstTLS,
		Args: []string{"--tls-cert", certFile, "--tls-key", keyFile}})
	handshake := func(cfg *tls.Config) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.Addr, cfg)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := handshake(firstTLS); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	// A new CA and certificate replace the files.
	_, cert2, key2, secondTLS := testTLS(t, t.TempDir())
	for src, dst := range map[string]string{cert2: certFile, key2: keyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dst, string(b))
	}
	s.Signal(syscall.SIGHUP)
	waitLog(t, s, "TLS certificate reloaded")
	if err := handshake(secondTLS); err != nil {
		t.Errorf("after the reload the new certificate is not served: %v", err)
	}
	if err := handshake(firstTLS); err == nil {
		t.Errorf("after the reload the old certificate is still served")
	}
	writeFile(t, certFile, "not a certificate\n")
	s.Signal(syscall.SIGHUP)
	waitLog(t, s, "TLS reload failed; keeping the previous certificate")
	if err := handshake(secondTLS); err != nil {
		t.Errorf("a failed reload dropped the working certificate: %v", err)
	}
}

// golang.org/fips140 ships inside GOROOT and the go command never downloads it: stoa refuses it
// with a 403 the go command shows, without asking the upstream, unless a rule names it.
func TestFipsModuleRefusedUnlessARuleNamesIt(t *testing.T) {
	t.Parallel()
	fips := modgen.MustBuild(t, modgen.Module{Path: "golang.org/fips140", Version: "v1.0.0"})
	up := newUpstream(t, fips)
	s := startStoa(t, up, stoatest.Config{})
	g := goClient(t, s.URL)
	_, msg, err := g.ModDownload("golang.org/fips140@v1.0.0")
	if err == nil {
		t.Fatalf("go mod download golang.org/fips140 through stoa succeeded")
	}
	for _, want := range []string{"403", "GOROOT/lib/fips140"} {
		if !strings.Contains(msg, want) {
			t.Errorf("go mod download output lacks %q:\n%s", want, msg)
		}
	}
	for _, key := range []string{fips.Key("info"), fips.Key("mod"), fips.Key("zip"), "golang.org/fips140/@v/list"} {
		if r := get(t, s.URL+"/"+key); r.Status != http.StatusForbidden {
			t.Errorf("GET %s: %v", key, r)
		}
	}
	for _, h := range up.HitLog() {
		if strings.Contains(strings.ToLower(h.Key), "fips140") {
			t.Errorf("the upstream was asked for the FIPS module: %v", h.Key)
		}
	}

	rules := writeFile(t, filepath.Join(t.TempDir(), "rules.toml"), `
[[rule]]
name = "fips-snapshots"
modules = "golang.org/fips140"
action = "cache"
`)
	allowed := startStoa(t, up, stoatest.Config{Args: []string{"--rules-file", rules}})
	if _, msg, err := goClient(t, allowed.URL).ModDownload("golang.org/fips140@v1.0.0"); err != nil {
		t.Errorf("with a rule naming it, go mod download failed: %v\n%s", err, msg)
	}
}
