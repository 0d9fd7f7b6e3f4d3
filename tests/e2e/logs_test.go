package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// logRecord is one JSON line of stoa's stderr (application and access log alike).
type logRecord struct {
	Msg       string `json:"msg"`
	Path      string `json:"path"`
	RequestID string `json:"request_id"`
	TraceID   string `json:"trace_id"`
}

// jsonRecords parses every line of a JSON-format log; a line that is not JSON fails the test.
func jsonRecords(t *testing.T, log string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		var r logRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, r)
	}
	return out
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// adminURL is the admin listener's URL, from the line stoa logs when it binds it.
func adminURL(t *testing.T, s *stoatest.Stoa) string {
	t.Helper()
	m := regexp.MustCompile(`admin listener on (http://[0-9.:]+)`).FindStringSubmatch(
		s.WaitLog("admin listener on http://", 1, 10*time.Second))
	if m == nil {
		t.Fatalf("no admin listener in the log:\n%s", s.Log())
	}
	return m[1]
}

// TestJSONLogsCarryTheRequestAsFields: in JSON logs a line about a request (here: the fetch a
// miss started) has request_id and trace_id as fields of their own, the same as the request's
// access line, and its message holds no "[request_id=...]" text. Every access line has a trace
// id although the client (like the go command) sent no traceparent, a different one per request.
func TestJSONLogsCarryTheRequestAsFields(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/fields", Version: "v1.0.0"})
	up := newUpstream(t, m)
	s := startStoa(t, up, stoatest.Config{LogFormat: "json"})
	if r := get(t, s.URL+"/"+m.Key("zip")); r.Status != 200 {
		t.Fatalf("GET zip: %v", r)
	}
	if r := get(t, s.URL+"/"+m.Key("mod")); r.Status != 200 {
		t.Fatalf("GET mod: %v", r)
	}
	s.WaitLog(`"path":"/`+m.Key("mod")+`"`, 1, 10*time.Second)
	records := jsonRecords(t, s.Log())

	access := map[string]logRecord{} // path -> access line
	traces := map[string]bool{}
	for _, r := range records {
		if r.Msg != "access" {
			continue
		}
		access[r.Path] = r
		if !traceIDPattern.MatchString(r.TraceID) || r.TraceID == strings.Repeat("0", 32) {
			t.Errorf("access line of %s: trace_id %q, want 32 hex digits", r.Path, r.TraceID)
		}
		if traces[r.TraceID] {
			t.Errorf("trace_id %s on two access lines", r.TraceID)
		}
		traces[r.TraceID] = true
	}
	zip, ok := access["/"+m.Key("zip")]
	if !ok {
		t.Fatalf("no access line for the zip:\n%s", s.Log())
	}
	var stored *logRecord
	for i, r := range records {
		if strings.Contains(r.Msg, "request_id") || strings.Contains(r.Msg, "trace_id") {
			t.Errorf("message text carries the request: %q", r.Msg)
		}
		if strings.HasPrefix(r.Msg, "stored "+m.Key("zip")) {
			stored = &records[i]
		}
	}
	if stored == nil {
		t.Fatalf("no \"stored\" line for the zip:\n%s", s.Log())
	}
	if stored.RequestID == "" || stored.RequestID != zip.RequestID {
		t.Errorf("the stored line's request_id %q, want the access line's %q", stored.RequestID, zip.RequestID)
	}
	if stored.TraceID != zip.TraceID {
		t.Errorf("the stored line's trace_id %q, want the access line's %q", stored.TraceID, zip.TraceID)
	}
}

// TestTextLogsEndWithTheRequest: in text logs the same line ends with
// "[request_id=N trace_id=X]", X being the access line's trace id.
func TestTextLogsEndWithTheRequest(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/suffix", Version: "v1.0.0"})
	up := newUpstream(t, m)
	s := startStoa(t, up, stoatest.Config{})
	r := get(t, s.URL+"/"+m.Key("info"))
	if r.Status != 200 {
		t.Fatalf("GET info: %v", r)
	}
	id := r.Header.Get("X-Request-Id")
	log := s.WaitLog(`path="/`+m.Key("info")+`"`, 1, 10*time.Second)
	access := regexp.MustCompile(`access request_id=` + id + ` .* trace_id=([0-9a-f]{32})`).FindStringSubmatch(log)
	if access == nil {
		t.Fatalf("no access line with a trace id for request %s:\n%s", id, log)
	}
	want := "stored " + m.Key("info")
	suffix := " [request_id=" + id + " trace_id=" + access[1] + "]"
	found := false
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, want) {
			found = true
			if !strings.HasSuffix(line, suffix) {
				t.Errorf("line %q does not end with %q", line, suffix)
			}
		}
	}
	if !found {
		t.Errorf("no %q line:\n%s", want, log)
	}
}

// TestRequestIDsAreUniqueAcrossListeners: the main and the admin listener hand out ids from one
// counter, so an id in the logs names one request.
func TestRequestIDsAreUniqueAcrossListeners(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	s := startStoa(t, up, stoatest.Config{Args: []string{"--admin-listen", "127.0.0.1:0"}})
	admin := adminURL(t, s)
	seen := map[string]string{}
	for i := 0; i < 5; i++ {
		for _, u := range []string{s.URL + "/healthz", admin + "/healthz"} {
			r := get(t, u)
			id := r.Header.Get("X-Request-Id")
			if r.Status != 200 || id == "" {
				t.Fatalf("GET %s: %v (X-Request-Id %q)", u, r, id)
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("request id %s given twice: to %s and to %s", id, prev, u)
			}
			seen[id] = u
		}
	}
}
