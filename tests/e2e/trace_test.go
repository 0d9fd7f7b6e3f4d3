package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"stoa.test/internal/modgen"
	"stoa.test/internal/stoatest"
)

// otlpSpan is the part of an OTLP/JSON span the tests look at.
type otlpSpan struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
	Kind         int    `json:"kind"`
}

type otlpRequest struct {
	ResourceSpans []struct {
		ScopeSpans []struct {
			Spans []otlpSpan `json:"spans"`
		} `json:"scopeSpans"`
	} `json:"resourceSpans"`
}

// collector is a small OTLP/HTTP receiver (JSON encoding) recording every span it is sent.
type collector struct {
	mu    sync.Mutex
	spans []otlpSpan
	srv   *httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("collector got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var req otlpRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("collector: bad OTLP JSON: %v\n%s", err, body)
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				c.spans = append(c.spans, ss.Spans...)
			}
		}
		c.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "{}")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// waitSpans polls (with a deadline) until pred holds over the spans of traceID.
func (c *collector) waitSpans(t *testing.T, traceID string, pred func([]otlpSpan) bool) []otlpSpan {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		var got []otlpSpan
		for _, s := range c.spans {
			if s.TraceID == traceID {
				got = append(got, s)
			}
		}
		c.mu.Unlock()
		if pred(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("spans of trace %s never satisfied the test; got %+v", traceID, got)
		}
		sleepPoll()
	}
}

// TestTracingSpansAndPropagation: a request carrying a W3C traceparent gets a server span that is
// its child; the upstream fetch is a client span under it, and the upstream receives a
// traceparent naming that fetch span.
func TestTracingSpansAndPropagation(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/traced", Version: "v1.0.0"})
	up := newUpstream(t, m)
	c := newCollector(t)
	s := startStoa(t, up, stoatest.Config{Env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + c.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=50"}})

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const clientSpan = "00f067aa0ba902b7"
	r := get(t, s.URL+"/"+m.Key("zip"), "traceparent: 00-"+traceID+"-"+clientSpan+"-01")
	if r.Status != 200 {
		t.Fatalf("GET zip: %v", r)
	}
	spans := c.waitSpans(t, traceID, func(ss []otlpSpan) bool {
		var server, fetch bool
		for _, s := range ss {
			server = server || s.Kind == 2
			fetch = fetch || s.Name == "upstream.fetch"
		}
		return server && fetch
	})
	var server, fetch otlpSpan
	for _, sp := range spans {
		switch {
		case sp.Kind == 2:
			server = sp
		case sp.Name == "upstream.fetch":
			fetch = sp
		}
	}
	if server.ParentSpanID != clientSpan {
		t.Errorf("server span's parent = %q, want the client's span %s", server.ParentSpanID, clientSpan)
	}
	if !strings.Contains(server.Name, "zip") {
		t.Errorf("server span name %q does not say what was asked", server.Name)
	}
	if fetch.ParentSpanID != server.SpanID || fetch.Kind != 3 {
		t.Errorf("upstream.fetch span %+v is not a client span under the server span %s", fetch, server.SpanID)
	}
	var sawHeader bool
	for _, h := range up.HitLog() {
		if h.Key == m.Key("zip") {
			sawHeader = true
			if want := "00-" + traceID + "-" + fetch.SpanID + "-01"; h.Traceparent != want {
				t.Errorf("upstream got traceparent %q, want %q", h.Traceparent, want)
			}
		}
	}
	if !sawHeader {
		t.Errorf("upstream never asked for the zip")
	}
	if !strings.Contains(s.WaitLog("trace_id="+traceID, 1, 10*time.Second), "trace_id="+traceID) {
		t.Errorf("the access log does not carry the trace id")
	}
}

// TestTracingRootSpanTraceIDIsTheAccessLines: a request without traceparent (as the go command
// sends them) starts a trace; its access line carries that trace's id, so the line and the
// exported spans meet.
func TestTracingRootSpanTraceIDIsTheAccessLines(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/rooted", Version: "v1.0.0"})
	up := newUpstream(t, m)
	c := newCollector(t)
	s := startStoa(t, up, stoatest.Config{Env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + c.srv.URL, "OTEL_BSP_SCHEDULE_DELAY=50"}})
	r := get(t, s.URL+"/"+m.Key("mod"))
	if r.Status != 200 {
		t.Fatalf("GET mod: %v", r)
	}
	id := r.Header.Get("X-Request-Id")
	log := s.WaitLog(`path="/`+m.Key("mod")+`"`, 1, 10*time.Second)
	match := regexp.MustCompile(`access request_id=` + id + ` .* trace_id=([0-9a-f]{32})`).FindStringSubmatch(log)
	if match == nil {
		t.Fatalf("no access line with a trace id for request %s:\n%s", id, log)
	}
	spans := c.waitSpans(t, match[1], func(ss []otlpSpan) bool {
		for _, s := range ss {
			if s.Kind == 2 && s.ParentSpanID == "" {
				return true
			}
		}
		return false
	})
	if len(spans) == 0 {
		t.Errorf("no root server span in trace %s", match[1])
	}
}

// TestTracingCollectorDownDoesNotHurt: with the collector unreachable, requests are served as
// usual and stoa counts the spans it could not deliver.
func TestTracingCollectorDownDoesNotHurt(t *testing.T) {
	t.Parallel()
	m := modgen.MustBuild(t, modgen.Module{Path: "example.com/untraced", Version: "v1.0.0"})
	up := newUpstream(t, m)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	s := startStoa(t, up, stoatest.Config{Env: []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + deadURL, "OTEL_BSP_SCHEDULE_DELAY=50"}})
	for i := 0; i < 20; i++ {
		for _, ext := range []string{"info", "mod", "zip"} {
			if r := get(t, s.URL+"/"+m.Key(ext)); r.Status != 200 {
				t.Fatalf("GET %s with the collector down: %v", ext, r)
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		body := string(get(t, s.URL+"/metrics").Body)
		if !strings.Contains(body, "stoa_trace_spans_dropped 0\n") && strings.Contains(body, "stoa_trace_spans_dropped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no dropped spans counted with the collector down:\n%s", body)
		}
		sleepPoll()
	}
}
