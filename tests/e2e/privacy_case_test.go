package e2e

import (
	"net/http"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/sumdbtest"
)

// TestPrivatePathsInAnyCaseNeverReachTheChecksumDatabase: private patterns (no_sumdb) are
// matched whatever the case of the letters of the pattern and of the path, wherever stoa
// consults them: the verification of a download, `stoa verify`, the lookups at /sumdb/. The
// module paths differ in case from the patterns that make them private ("Corp.Example/secret"
// itself is not a valid module path: its first element must be lower case).
func TestPrivatePathsInAnyCaseNeverReachTheChecksumDatabase(t *testing.T) {
	t.Parallel()
	secret := modgen.MustBuild(t, modgen.Module{Path: "corp.example/Secret", Version: "v1.0.0"})
	tool := modgen.MustBuild(t, modgen.Module{Path: "corp.example/team/tool", Version: "v1.0.0"})
	pub := modgen.MustBuild(t, modgen.Module{Path: "example.com/Public", Version: "v1.0.0"})
	db := sumdbtest.New(t, sumdbName)
	db.Add(pub) // the private modules are unknown to it, as they would be to a public database
	up := newUpstream(t, secret, tool, pub)
	const private = "corp.example/secret,CORP.Example/Team/*"
	s := startStoa(t, up, stoatest.Config{Sumdb: db.GOSUMDB(), Args: []string{"--no-sumdb", private}})

	for _, b := range []*modgen.Built{secret, tool, pub} {
		for _, ext := range []string{"info", "mod", "zip"} {
			if r := get(t, s.URL+"/"+b.Key(ext)); r.Status != http.StatusOK {
				t.Errorf("GET %s: %v, want 200", b.Key(ext), r)
			}
		}
	}
	checkStored(t, s.DataDir, secret, "info", "mod", "zip")
	checkStored(t, s.DataDir, tool, "info", "mod", "zip")
	if db.CountContaining(lookupPath(pub)) == 0 {
		t.Errorf("the public module was not verified: the database got %v", db.Requests())
	}
	checkChecks(t, s, map[string]float64{"match": 2, "not_found": 0, "skipped": 4})

	base := s.URL + "/sumdb/" + sumdbName
	for _, p := range []string{lookupPath(secret), lookupPath(tool), "/lookup/corp.example/team/!tool@v1.0.0"} {
		if r := get(t, base+p); r.Status != http.StatusForbidden {
			t.Errorf("GET /sumdb/%s%s (private in another case): %v, want 403", sumdbName, p, r)
		}
	}
	s.Stop()

	args := []string{"verify", "--data-dir", s.DataDir, "--upstream", up.URL(), "--sumdb", db.GOSUMDB(),
		"--no-sumdb", private}
	if r := stoatest.Run(t, time.Minute, nil, args...); r.ExitCode != 0 {
		t.Errorf("stoa verify: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if n := db.CountContaining("corp.example"); n != 0 {
		t.Errorf("private paths reached the checksum database %d times: %v", n, db.Requests())
	}
}
