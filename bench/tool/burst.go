package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

type burstResult struct {
	status  int
	bytes   int64
	ok      bool
	err     string
	firstMs float64
	totalMs float64
}

// runBurst opens N connections, then sends one request on each at the same instant. Clients
// 0..full-1 fetch the whole body (the first `hash` of them hash it; the others count bytes);
// the rest ask for the first `range` bytes, which are always hashed.
func runBurst(args []string) error {
	fl := flag.NewFlagSet("burst", flag.ExitOnError)
	rawURL := fl.String("url", "", "URL to request")
	n := fl.Int("n", 1, "simultaneous requests, one connection each")
	full := fl.Int("full", -1, "clients that read the whole body (-1: all)")
	hashN := fl.Int("hash", -1, "full-body clients that hash what they read (-1: all)")
	rangeBytes := fl.Int64("range", 1<<20, "bytes asked by the other clients (Range: bytes=0-N-1)")
	wantSize := fl.Int64("size", -1, "expected body size")
	wantSHA := fl.String("sha256", "", "expected SHA-256 of the body")
	wantPrefixSHA := fl.String("prefix-sha256", "", "expected SHA-256 of the first -range bytes")
	timeout := fl.Duration("timeout", 5*time.Minute, "deadline for the whole burst")
	fl.Parse(args)
	u, err := url.Parse(*rawURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -url %q", *rawURL)
	}
	if *full < 0 || *full > *n {
		*full = *n
	}
	if *hashN < 0 || *hashN > *full {
		*hashN = *full
	}
	conns := make([]net.Conn, *n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
		if err != nil {
			return fmt.Errorf("dial %d of %d: %w", i+1, *n, err)
		}
		c.SetDeadline(time.Now().Add(*timeout))
		conns[i] = c
	}
	results := make([]burstResult, *n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var t0 time.Time
	for i := range conns {
		ready.Add(1)
		done.Add(1)
		go func(i int) {
			defer done.Done()
			defer conns[i].Close()
			isFull := i < *full
			req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: stoabench\r\n"
			if !isFull {
				req += fmt.Sprintf("Range: bytes=0-%d\r\n", *rangeBytes-1)
			}
			req += "Connection: close\r\n\r\n"
			ready.Done()
			<-start
			r := &results[i]
			if _, err := io.WriteString(conns[i], req); err != nil {
				r.err = err.Error()
				return
			}
			br := bufio.NewReaderSize(conns[i], 256<<10)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				r.err = err.Error()
				return
			}
			r.firstMs = msSince(t0)
			r.status = resp.StatusCode
			var h hash.Hash
			var sink io.Writer = io.Discard
			if !isFull || i < *hashN {
				h = sha256.New()
				sink = h
			}
			r.bytes, err = io.Copy(sink, resp.Body)
			resp.Body.Close()
			r.totalMs = msSince(t0)
			if err != nil {
				r.err = err.Error()
				return
			}
			switch {
			case isFull && resp.StatusCode != 200:
				r.err = fmt.Sprintf("status %d", resp.StatusCode)
			case !isFull && resp.StatusCode != 206:
				r.err = fmt.Sprintf("status %d for a range request", resp.StatusCode)
			case isFull && *wantSize >= 0 && r.bytes != *wantSize:
				r.err = fmt.Sprintf("%d bytes, want %d", r.bytes, *wantSize)
			case isFull && h != nil && *wantSHA != "" && hex.EncodeToString(h.Sum(nil)) != *wantSHA:
				r.err = "body SHA-256 mismatch"
			case !isFull && r.bytes != rangeWant(*rangeBytes, *wantSize):
				r.err = fmt.Sprintf("range answer of %d bytes, want %d", r.bytes, rangeWant(*rangeBytes, *wantSize))
			case !isFull && *wantPrefixSHA != "" && hex.EncodeToString(h.Sum(nil)) != *wantPrefixSHA:
				r.err = "range body SHA-256 mismatch"
			default:
				r.ok = true
			}
		}(i)
	}
	ready.Wait()
	t0 = time.Now()
	close(start)
	done.Wait()
	elapsed := msSince(t0)

	statuses := map[string]int{}
	var okN int
	var errs []string
	var first []float64
	var totalBytes int64
	for _, r := range results {
		statuses[fmt.Sprint(r.status)]++
		totalBytes += r.bytes
		if r.ok {
			okN++
			first = append(first, r.firstMs)
		} else if len(errs) < 5 {
			errs = append(errs, r.err)
		}
	}
	slices.Sort(first)
	stat := map[string]float64{}
	if len(first) > 0 {
		stat["min"], stat["median"], stat["max"] = first[0], first[len(first)/2], first[len(first)-1]
	}
	emit(map[string]any{"n": *n, "full": *full, "hashed": *hashN, "ok": okN, "statuses": statuses,
		"errors": errs, "first_byte_ms": stat, "elapsed_ms": elapsed, "bytes": totalBytes})
	if okN != *n {
		return fmt.Errorf("%d of %d answers wrong: %v", *n-okN, *n, errs)
	}
	return nil
}

// rangeWant is the length of the answer to "bytes=0-(n-1)" for a body of size bytes (-1: unknown).
func rangeWant(n, size int64) int64 {
	if size >= 0 && size < n {
		return size
	}
	return n
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
