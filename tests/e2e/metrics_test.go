package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// TestMetricsAfterAScriptedWorkload: /metrics counts exactly what a known workload did, and never
// uses a module path as a label.
func TestMetricsAfterAScriptedWorkload(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/counted", Version: "v1.0.0"})
	up := newUpstream(t, m)
	s := startStoa(t, up, stoatest.Config{})

	for i := 0; i < 3; i++ { // 1 miss, then 2 hits
		if r := get(t, s.URL+"/"+m.Key("zip")); r.Status != http.StatusOK {
			t.Fatalf("GET zip: %v", r)
		}
	}
	if r := get(t, s.URL+"/"+m.Key("mod")); r.Status != http.StatusOK { // 1 miss
		t.Fatalf("GET mod: %v", r)
	}
	if r := get(t, s.URL+"/example.com/counted/@v/v9.9.9.info"); r.Status != http.StatusNotFound { // not found (major mismatch, no fetch)
		t.Fatalf("GET bad major: %v", r)
	}
	if r := get(t, s.URL+"/example.com/counted/@v/v1.9.9.info"); r.Status != http.StatusNotFound { // upstream 404
		t.Fatalf("GET missing info: %v", r)
	}
	if r := get(t, s.URL+"/example.com/%2e%2e/@v/list"); r.Status != http.StatusBadRequest {
		t.Fatalf("GET hostile: %v", r)
	}
	body := string(get(t, s.URL+"/metrics").Body)
	for _, want := range []string{
		`stoa_http_requests_total{endpoint="zip",code="200"} 3`,
		`stoa_http_requests_total{endpoint="mod",code="200"} 1`,
		`stoa_http_requests_total{endpoint="info",code="404"} 1`,
		`stoa_http_requests_total{endpoint="other",code="404"} 1`,
		`stoa_http_requests_total{endpoint="other",code="400"} 1`,
		`stoa_upstream_fetches_total{kind="zip",result="ok"} 1`,
		`stoa_upstream_fetches_total{kind="mod",result="ok"} 1`,
		`stoa_upstream_fetches_total{kind="info",result="not_found"} 1`,
		`stoa_cache_answers_total{outcome="miss"} 2`,
		`stoa_cache_answers_total{outcome="hit"} 2`,
		`stoa_cache_answers_total{outcome="not-found"} 2`,
		`stoa_cache_answers_total{outcome="rejected"} 1`,
		`stoa_http_response_bytes_total{endpoint="zip"} ` + strconv.Itoa(3*len(m.Zip)),
		`stoa_fetches_in_flight 0`,
		`stoa_build_info{version="`,
	} {
		// A whole line, except for the build_info prefix.
		if (strings.HasSuffix(want, `"`) && !strings.Contains(body, want)) ||
			(!strings.HasSuffix(want, `"`) && !strings.Contains(body, want+"\n")) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "example.com") {
		t.Errorf("/metrics names a module path")
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
