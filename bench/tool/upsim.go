package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// upsim serves a GOPROXY file tree the way an upstream proxy would, with an injected delay before
// every answer and an optional bandwidth cap per response, and counts what was fetched.
type upsim struct {
	root      string
	latency   time.Duration
	bandwidth int64 // bytes per second per response; 0: unlimited

	mu       sync.Mutex
	requests int
	bytes    int64
	paths    map[string]int // GET/HEAD count per request path, 404s included
}

func runUpsim(args []string) error {
	fl := flag.NewFlagSet("upsim", flag.ExitOnError)
	root := fl.String("root", "", "GOPROXY tree to serve")
	listen := fl.String("listen", "127.0.0.1:0", "address to listen on")
	latency := fl.Duration("latency", 0, "delay before each answer")
	bandwidth := fl.Int64("bandwidth", 0, "bytes/s per response (0: unlimited)")
	fl.Parse(args)
	if *root == "" {
		return fmt.Errorf("-root is required")
	}
	s := &upsim{root: *root, latency: *latency, bandwidth: *bandwidth, paths: map[string]int{}}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	// The first line on stdout is the address: bench/run waits for it.
	fmt.Printf("http://%s\n", ln.Addr())
	os.Stdout.Sync()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	return srv.Serve(ln)
}

func (s *upsim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_sim/stats":
		s.mu.Lock()
		b, _ := json.Marshal(map[string]any{"requests": s.requests, "bytes": s.bytes, "paths": s.paths})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
		return
	case "/_sim/reset":
		s.mu.Lock()
		s.requests, s.bytes, s.paths = 0, 0, map[string]int{}
		s.mu.Unlock()
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.mu.Lock()
	s.requests++
	s.paths[r.URL.Path]++
	s.mu.Unlock()
	if s.latency > 0 {
		time.Sleep(s.latency)
	}
	clean := path.Clean("/" + r.URL.Path)
	if strings.Contains(clean, "/.") || strings.HasSuffix(clean, "/") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f, err := os.Open(filepath.Join(s.root, filepath.FromSlash(clean)))
	if err != nil {
		http.Error(w, "not found: "+clean, http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "not found: "+clean, http.StatusNotFound)
		return
	}
	switch {
	case strings.HasSuffix(clean, ".info"), strings.HasSuffix(clean, "/@latest"):
		w.Header().Set("Content-Type", "application/json")
	case strings.HasSuffix(clean, ".zip"):
		w.Header().Set("Content-Type", "application/zip")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	var n int64
	if s.bandwidth <= 0 {
		n, _ = io.Copy(w, f) // sendfile(2) through the net/http ReaderFrom path
	} else {
		n = s.paced(w, f)
	}
	s.mu.Lock()
	s.bytes += n
	s.mu.Unlock()
}

// paced writes f at s.bandwidth bytes per second in 64 KiB steps.
func (s *upsim) paced(w http.ResponseWriter, f *os.File) int64 {
	buf := make([]byte, 64<<10)
	start := time.Now()
	var n int64
	for {
		k, err := f.Read(buf)
		if k > 0 {
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n
			}
			n += int64(k)
			due := start.Add(time.Duration(float64(n) / float64(s.bandwidth) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		if err != nil {
			return n
		}
	}
}
