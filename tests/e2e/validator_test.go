package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// validatorCall is one POST stoa made to the validator hook.
type validatorCall struct {
	Module  string `json:"module"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
	Size    int64  `json:"size"`
	H1      string `json:"h1"`
}

// TestValidatorHook: a policy endpoint allows or denies each new zip before it is stored; the
// go user sees the denial reason; an unreachable validator fails closed (503) by default and
// open with validator_failure = allow.
func TestValidatorHook(t *testing.T) {
	t.Parallel()
	good := modgen.MustBuild(t, modgen.Module{Path: "example.com/allowed", Version: "v1.0.0"})
	bad := modgen.MustBuild(t, modgen.Module{Path: "example.com/gpl", Version: "v1.0.0"})
	up := newUpstream(t, good, bad)

	var mu sync.Mutex
	var calls []validatorCall
	policy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var c validatorCall
		if err := json.Unmarshal(body, &c); err != nil || r.Method != http.MethodPost {
			t.Errorf("validator got %s %q: %v", r.Method, body, err)
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		if c.Module == "example.com/gpl" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "license GPL-3.0 is not allowed here\n")
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(policy.Close)

	s := startStoa(t, up, stoatest.Config{Args: []string{"--validator-url", policy.URL + "/check"}})
	g := goClient(t, s.URL)
	if _, msg, err := g.ModDownload("example.com/allowed@v1.0.0"); err != nil {
		t.Fatalf("allowed module: %v\n%s", err, msg)
	}
	_, msg, err := g.ModDownload("example.com/gpl@v1.0.0")
	if err == nil {
		t.Fatalf("denied module downloaded")
	}
	if !strings.Contains(msg, "license GPL-3.0 is not allowed here") {
		t.Errorf("the go user does not see the policy's reason:\n%s", msg)
	}
	if r := get(t, s.URL+"/"+bad.Key("zip")); r.Status != http.StatusForbidden {
		t.Errorf("GET denied zip: %v, want 403", r)
	}
	if _, ok := dataFile(s.DataDir, bad.Key("zip")); ok {
		t.Errorf("a denied zip was stored")
	}
	if _, ok := dataFile(s.DataDir, good.Key("zip")); !ok {
		t.Errorf("an allowed zip was not stored")
	}
	mu.Lock()
	var sawGood bool
	for _, c := range calls {
		if c.Kind != "zip" {
			t.Errorf("validator asked about kind %q; only zips are checked", c.Kind)
		}
		if c.Module == good.Path {
			sawGood = true
			if c.H1 != good.Sum || c.Size != int64(len(good.Zip)) || c.Version != good.Version {
				t.Errorf("validator call %+v, want h1 %s size %d", c, good.Sum, len(good.Zip))
			}
		}
	}
	mu.Unlock()
	if !sawGood {
		t.Errorf("validator never asked about %s", good.Path)
	}
}

func TestValidatorUnreachable(t *testing.T) {
	t.Parallel()
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := closed.URL
	closed.Close()
	for _, tc := range []struct {
		failure string
		want    int
	}{{"deny", http.StatusServiceUnavailable}, {"allow", http.StatusOK}} {
		t.Run(tc.failure, func(t *testing.T) {
			m := modgen.MustBuild(t, modgen.Module{Path: "example.com/v" + tc.failure, Version: "v1.0.0"})
			up := newUpstream(t, m)
			s := startStoa(t, up, stoatest.Config{Args: []string{
				"--validator-url", dead + "/check", "--validator-timeout", "2s", "--validator-failure", tc.failure}})
			r := get(t, s.URL+"/"+m.Key("zip"))
			if r.Status != tc.want {
				t.Fatalf("GET zip with the validator down, failure=%s: %v, want %d", tc.failure, r, tc.want)
			}
			_, stored := dataFile(s.DataDir, m.Key("zip"))
			if stored != (tc.want == http.StatusOK) {
				t.Errorf("stored=%v with failure=%s", stored, tc.failure)
			}
			if tc.want == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After")
			}
		})
	}
}
