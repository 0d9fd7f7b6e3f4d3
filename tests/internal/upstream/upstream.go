// Package upstream is a GOPROXY server simulator for tests of a caching proxy: it serves
// list, .info, .mod, .zip and @latest for the modules given to it, records every request it
// receives (so tests can count upstream fetches), and has per-path fault knobs: a status
// override, a body cut after N bytes, a hang, a block until released, a wrong .info Version and
// a replaced body.
//
// Paths ("keys") are GOPROXY-relative and case-encoded, without a leading slash, exactly as
// in a GOPROXY file tree: "example.com/!azure/@v/v1.0.0.zip", "example.com/m/@v/list",
// "example.com/m/@latest".
package upstream

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"stoa.test/internal/modgen"
)

// Fault changes how the server answers one path (SetFault) or every path (SetDefaultFault).
// The zero Fault changes nothing. Knobs apply in this order: Arrived, Delay, Block, Hang, Status,
// then the body (Body, WrongVersion, Cut).
type Fault struct {
	// Arrived, if set, receives the request's key when a request arrives (the send never blocks:
	// give the channel enough buffer).
	Arrived chan<- string
	// Delay postpones the answer.
	Delay time.Duration
	// Block, if set, holds the answer until the channel is closed. If the client goes away or
	// the server is closed first, the connection is dropped without an answer.
	Block <-chan struct{}
	// Hang never answers: the handler returns (dropping the connection) only when the client
	// goes away or the server is closed.
	Hang bool
	// Status, if non-zero, is sent instead of the file, with a text/plain body (Body if set).
	Status int
	// Redirect, if set (and Status is zero), answers 302 with this Location.
	Redirect string
	// Body, if set (and Status is zero), replaces the bytes of the file (status 200, even for a
	// path the server does not have).
	Body []byte
	// WrongVersion, if set, replaces the Version field of a served .info or @latest JSON.
	WrongVersion string
	// Cut, with CutAfter = N, declares the full Content-Length, sends only the first N bytes
	// of the body and then closes the connection.
	Cut      bool
	CutAfter int
	// Stall, with Cut, keeps the connection open after the first CutAfter bytes, sending
	// nothing more, until the client goes away or the server is closed.
	Stall bool
	// Pause, if set (and Cut is not), sends the first PauseAfter bytes of the body, then waits
	// for the channel to be closed before sending the rest: a slow transfer caught mid-way. If
	// the client goes away first, the connection is dropped.
	Pause      <-chan struct{}
	PauseAfter int
}

// Hit is one request the server received.
type Hit struct {
	Method string
	Key    string // the request path, percent-decoded, without the leading slash
	Status int    // the status sent; 0 when the connection was dropped before a status was sent
	Cut    bool   // the body was cut short
	Time   time.Time
	// Traceparent is the request's W3C traceparent header, if any.
	Traceparent string
}

// Server is a running simulator. All methods are safe for concurrent use.
type Server struct {
	ts      *httptest.Server
	prefix  string // URL path prefix the server is mounted at ("" or "/x/y")
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	files    map[string][]byte          // key -> bytes
	versions map[string]map[string]bool // escaped module path -> versions added
	lists    map[string][]byte          // escaped module path -> explicit list body
	latest   map[string][]byte          // escaped module path -> explicit @latest body
	faults   map[string]Fault           // key -> fault
	dflt     *Fault                     // fault for every key without its own
	hits     []Hit
}

// New starts a simulator on a loopback port. Close it when done.
func New() *Server { return NewAt("") }

// NewAt starts a simulator that serves under a URL path prefix ("/a/b"), as GOPROXY servers
// behind a path do; requests outside the prefix get 404. Hit keys are relative to the prefix.
func NewAt(prefix string) *Server {
	s := &Server{
		prefix:   strings.TrimSuffix(prefix, "/"),
		closing:  make(chan struct{}),
		files:    map[string][]byte{},
		versions: map[string]map[string]bool{},
		lists:    map[string][]byte{},
		latest:   map[string][]byte{},
		faults:   map[string]Fault{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL of the simulator, e.g. "http://127.0.0.1:41234" (a GOPROXY entry),
// with the prefix if any.
func (s *Server) URL() string { return s.ts.URL + s.prefix }

// Close stops the server: blocked and hanging requests are dropped, new connections refused.
// Idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// Add serves the built versions: their .info, .mod and .zip, and makes them part of the
// module's automatic list (pseudo-versions excepted) and @latest.
func (s *Server) Add(bs ...*modgen.Built) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range bs {
		s.files[b.Key("info")] = b.Info
		s.files[b.Key("mod")] = b.Mod
		s.files[b.Key("zip")] = b.Zip
		if s.versions[b.EscPath] == nil {
			s.versions[b.EscPath] = map[string]bool{}
		}
		s.versions[b.EscPath][b.Version] = true
	}
}

// SetFile serves body at key (anything: a query's .info such as "m/@v/master.info", or a
// replacement for a file). A nil body removes the key.
func (s *Server) SetFile(key string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == nil {
		delete(s.files, key)
		return
	}
	s.files[key] = body
}

// SetList fixes the list of modPath (unescaped) to the given versions, one per line, instead
// of the automatic list. No versions means an empty (but present, 200) list.
func (s *Server) SetList(modPath string, versions ...string) {
	esc := mustEscapePath(modPath)
	body := ""
	for _, v := range versions {
		body += v + "\n"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists[esc] = []byte(body)
}

// SetLatest fixes the @latest answer of modPath (unescaped) to info.
func (s *Server) SetLatest(modPath string, info []byte) {
	esc := mustEscapePath(modPath)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest[esc] = info
}

// SetFault installs f for key, replacing any previous fault of key.
func (s *Server) SetFault(key string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[key] = f
}

// ClearFault removes the fault of key.
func (s *Server) ClearFault(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, key)
}

// SetDefaultFault installs f for every key that has no fault of its own; nil removes it.
func (s *Server) SetDefaultFault(f *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		s.dflt = nil
		return
	}
	c := *f
	s.dflt = &c
}

// Hits is the number of requests received for key so far.
func (s *Server) Hits(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		if h.Key == key {
			n++
		}
	}
	return n
}

// HitLog is a copy of every request received so far, in arrival order.
func (s *Server) HitLog() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hit(nil), s.hits...)
}

// TotalHits is the number of requests received so far.
func (s *Server) TotalHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hits)
}

// ResetHits forgets the requests received so far.
func (s *Server) ResetHits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = nil
}

func mustEscapePath(p string) string {
	esc, err := module.EscapePath(p)
	if err != nil {
		panic(fmt.Sprintf("upstream: bad module path %q: %v", p, err))
	}
	return esc
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".info"), strings.HasSuffix(key, "/@latest"):
		return "application/json"
	case strings.HasSuffix(key, ".zip"):
		return "application/zip"
	default:
		return "text/plain; charset=utf-8"
	}
}

// lookupLocked finds the bytes served at key.
func (s *Server) lookupLocked(key string) ([]byte, bool) {
	if b, ok := s.files[key]; ok {
		return b, true
	}
	if esc, ok := strings.CutSuffix(key, "/@v/list"); ok {
		if b, ok := s.lists[esc]; ok {
			return b, true
		}
		vs, ok := s.versions[esc]
		if !ok {
			return nil, false
		}
		var list []string
		for v := range vs {
			if !module.IsPseudoVersion(v) {
				list = append(list, v)
			}
		}
		semver.Sort(list)
		body := ""
		for _, v := range list {
			body += v + "\n"
		}
		return []byte(body), true
	}
	if esc, ok := strings.CutSuffix(key, "/@latest"); ok {
		if b, ok := s.latest[esc]; ok {
			return b, true
		}
		v := latestOf(s.versions[esc])
		if v == "" {
			return nil, false
		}
		ev, err := module.EscapeVersion(v)
		if err != nil {
			return nil, false
		}
		b, ok := s.files[esc+"/@v/"+ev+".info"]
		return b, ok
	}
	return nil, false
}

// latestOf picks what a proxy's @latest answers: the highest release, else the highest
// pre-release, else the highest pseudo-version.
func latestOf(vs map[string]bool) string {
	var release, pre, pseudo []string
	for v := range vs {
		switch {
		case module.IsPseudoVersion(v):
			pseudo = append(pseudo, v)
		case semver.Prerelease(v) != "":
			pre = append(pre, v)
		default:
			release = append(release, v)
		}
	}
	for _, group := range [][]string{release, pre, pseudo} {
		if len(group) > 0 {
			sort.Slice(group, func(i, j int) bool { return semver.Compare(group[i], group[j]) > 0 })
			return group[0]
		}
	}
	return ""
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	key, inPrefix := strings.CutPrefix(r.URL.Path, s.prefix+"/")
	if !inPrefix {
		key = r.URL.Path // recorded as is; never found
	}
	s.mu.Lock()
	f, hasFault := s.faults[key]
	if !hasFault && s.dflt != nil {
		f = *s.dflt
	}
	body, found := s.lookupLocked(key)
	found = found && inPrefix
	idx := len(s.hits)
	s.hits = append(s.hits, Hit{Method: r.Method, Key: key, Time: time.Now(), Traceparent: r.Header.Get("traceparent")})
	s.mu.Unlock()

	record := func(status int, cut bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if idx < len(s.hits) && s.hits[idx].Key == key {
			s.hits[idx].Status = status
			s.hits[idx].Cut = cut
		}
	}
	// drop ends the request without an answer: the connection is closed.
	drop := func() { panic(http.ErrAbortHandler) }

	if f.Arrived != nil {
		select {
		case f.Arrived <- key:
		default:
		}
	}
	if f.Delay > 0 {
		timer := time.NewTimer(f.Delay)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			drop()
		case <-s.closing:
			timer.Stop()
			drop()
		}
	}
	if f.Block != nil {
		select {
		case <-f.Block:
		case <-r.Context().Done():
			drop()
		case <-s.closing:
			drop()
		}
	}
	if f.Hang {
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		drop()
	}
	if f.Status != 0 {
		msg := f.Body
		if msg == nil {
			msg = []byte(fmt.Sprintf("upstream fault: status %d for %s\n", f.Status, key))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.Status)
		_, _ = w.Write(msg)
		record(f.Status, false)
		return
	}
	if f.Redirect != "" {
		http.Redirect(w, r, f.Redirect, http.StatusFound)
		record(http.StatusFound, false)
		return
	}
	if f.Body != nil {
		body, found = f.Body, true
	}
	if !found {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprintf(w, "not found: %s\n", key)
		record(http.StatusNotFound, false)
		return
	}
	if f.WrongVersion != "" && (strings.HasSuffix(key, ".info") || strings.HasSuffix(key, "/@latest")) {
		var info map[string]any
		if err := json.Unmarshal(body, &info); err == nil {
			info["Version"] = f.WrongVersion
			body, _ = json.Marshal(info)
		}
	}
	w.Header().Set("Content-Type", contentType(key))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if f.Cut {
		n := min(max(f.CutAfter, 0), len(body))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:n])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		record(http.StatusOK, true)
		if f.Stall {
			select {
			case <-r.Context().Done():
			case <-s.closing:
			}
		}
		drop()
	}
	w.WriteHeader(http.StatusOK)
	if f.Pause != nil {
		n := min(max(f.PauseAfter, 0), len(body))
		_, _ = w.Write(body[:n])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		select {
		case <-f.Pause:
		case <-r.Context().Done():
			record(http.StatusOK, true)
			drop()
		case <-s.closing:
			record(http.StatusOK, true)
			drop()
		}
		body = body[n:]
	}
	_, _ = w.Write(body)
	record(http.StatusOK, false)
}
