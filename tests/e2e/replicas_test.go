package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stoa.test/internal/azuretest"
	"stoa.test/internal/gcstest"
	"stoa.test/internal/lockserver"
	"stoa.test/internal/modgen"
	"stoa.test/internal/s3test"
	"stoa.test/internal/stoatest"
	"stoa.test/internal/upstream"
)

// sharedStore is one store several replicas use at once. The replica tests run on each; an
// object store joins the list when stoa has one.
type sharedStore struct {
	name string
	// setup prepares a fresh shared store and returns what each replica's Config needs for it,
	// and how to read an object back behind stoa's back (its bytes, false when it is absent).
	setup func(t *testing.T) (func(c *stoatest.Config), func(key string) ([]byte, bool))
	// localIndex: a SQLite index would be each replica's own, which stoa refuses when a lock says
	// replicas share the store: without the PostgreSQL index these replicas run with none.
	localIndex bool
	// onceZip is the size of the zip 300 clients fetch at once. Every client's copy is read back
	// from the store: from an S3 server that is 300 GETs of the whole object, 19 GiB for 64 MiB,
	// which took minutes of the suite under a CPU hog. The fetch-once property does not depend
	// on the size (the upstream pauses until every request is in flight); the disk store keeps
	// the 64 MiB case.
	onceZip int
}

var sharedStores = []sharedStore{
	{name: "disk", onceZip: 64 << 20, setup: func(t *testing.T) (func(c *stoatest.Config), func(string) ([]byte, bool)) {
		dir := filepath.Join(t.TempDir(), "shared-data")
		return func(c *stoatest.Config) { c.DataDir = dir }, func(key string) ([]byte, bool) { return dataFile(dir, key) }
	}},
	// One bucket on a real S3-compatible server; each replica keeps only temp files locally.
	{name: "s3", localIndex: true, onceZip: 8 << 20, setup: func(t *testing.T) (func(c *stoatest.Config), func(string) ([]byte, bool)) {
		gw := s3test.Start(t)
		bucketDir := gw.Bucket(t, "replicas") // versitygw's posix backend: one file per object
		return func(c *stoatest.Config) {
			c.Store = "s3"
			c.Env = gw.Env()
			c.Args = append(slices.Clone(c.Args), "--s3-endpoint", gw.Endpoint, "--s3-bucket", "replicas")
			if !slices.Contains(c.Args, "--index") {
				c.Args = append(c.Args, "--index", "none")
			}
		}, func(key string) ([]byte, bool) { return dataFile(bucketDir, key) }
	}},
	// One container on Azurite, the Azure Blob Storage emulator; a smaller zip for the 300
	// clients again (each copy is read back from the emulator).
	{name: "azure", localIndex: true, onceZip: 4 << 20, setup: func(t *testing.T) (func(c *stoatest.Config), func(string) ([]byte, bool)) {
		az := azuretest.Start(t)
		az.Container(t, "replicas")
		return func(c *stoatest.Config) {
				c.Store = "azure"
				c.Env = []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.ConnectionString()}
				c.Args = append(slices.Clone(c.Args), "--azure-container", "replicas")
				if !slices.Contains(c.Args, "--index") {
					c.Args = append(c.Args, "--index", "none")
				}
			}, func(key string) ([]byte, bool) {
				return az.Get(t, "replicas/"+key)
			}
	}},
	// One Google Cloud Storage bucket (fake-gcs-server: its filesystem backend keeps each object
	// as a file at its name, so the bucket's directory is the GOPROXY tree).
	{name: "gcs", localIndex: true, onceZip: 8 << 20, setup: func(t *testing.T) (func(c *stoatest.Config), func(string) ([]byte, bool)) {
		gs := gcstest.Start(t)
		gs.Bucket(t, "replicas")
		return func(c *stoatest.Config) {
			c.Store = "gcs"
			c.Args = append(slices.Clone(c.Args), "--gcs-endpoint", gs.Endpoint, "--gcs-bucket", "replicas")
			if !slices.Contains(c.Args, "--index") {
				c.Args = append(c.Args, "--index", "none")
			}
		}, func(key string) ([]byte, bool) { return dataFile(filepath.Join(gs.Root, "replicas"), key) }
	}},
}

// lockService starts a real lock server and returns the stoa flags that use it.
type lockService struct {
	name  string
	start func(t *testing.T) []string
}

var lockServices = []lockService{
	{"redis", func(t *testing.T) []string {
		s := lockserver.Redis(t)
		// A short lease: a killed holder blocks the file for at most 2s.
		return []string{"--lock", "redis", "--redis-url", s.URL, "--lock-lease", "2s"}
	}},
	{"postgres", func(t *testing.T) []string {
		s := lockserver.Postgres(t)
		return []string{"--lock", "postgres", "--postgres-url", s.URL, "--index", "postgres"}
	}},
}

var replicaClient = &http.Client{
	Timeout: 2 * time.Minute,
	Transport: &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: 400,
		MaxConnsPerHost:     400,
	},
}

// replicaAnswer is what one client got: the status and whether every byte was the expected one.
type replicaAnswer struct {
	replica int
	status  int
	same    bool
	n       int64
	err     error
}

// fetchAll sends n concurrent GETs of key, spread over replicas, and compares every answer byte
// by byte with want as it streams in. written is called once per request when it has been sent.
func fetchAll(replicas []*stoatest.Stoa, key string, n int, want []byte, written func()) []replicaAnswer {
	out := make([]replicaAnswer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := i % len(replicas)
			out[i] = replicaAnswer{replica: r}
			var once sync.Once
			sent := func() { once.Do(written) }
			defer sent() // a request that failed before being written still counts
			req, _ := http.NewRequest("GET", replicas[r].URL+"/"+key, nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				WroteRequest: func(httptrace.WroteRequestInfo) { sent() },
			}))
			resp, err := replicaClient.Do(req)
			if err != nil {
				out[i].err = err
				return
			}
			defer resp.Body.Close()
			out[i].status = resp.StatusCode
			out[i].same, out[i].n, out[i].err = sameBytes(resp.Body, want)
		}()
	}
	wg.Wait()
	return out
}

// sameBytes reads r to its end and reports whether it was exactly want.
func sameBytes(r io.Reader, want []byte) (bool, int64, error) {
	buf := make([]byte, 256<<10)
	var off int64
	same := true
	for {
		k, err := r.Read(buf)
		if k > 0 {
			end := off + int64(k)
			if end > int64(len(want)) || !bytes.Equal(buf[:k], want[off:end]) {
				same = false
			}
			off = end
		}
		if err == io.EOF {
			return same && off == int64(len(want)), off, nil
		}
		if err != nil {
			return false, off, err
		}
	}
}

func startReplicas(t *testing.T, up *upstream.Server, n int, onStore func(*stoatest.Config), lockArgs []string) []*stoatest.Stoa {
	var rs []*stoatest.Stoa
	for range n {
		c := stoatest.Config{FetchTimeout: "60s", Args: lockArgs}
		onStore(&c)
		rs = append(rs, startStoa(t, up, c))
	}
	return rs
}

// metricValue is the value of an unlabelled metric line "name value" in s's /metrics.
func metricValue(t *testing.T, s *stoatest.Stoa, name string) string {
	resp, err := replicaClient.Get(s.URL + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// metricInt is an integer metric of s without labels; the test fails if s does not report it.
func metricInt(t *testing.T, s *stoatest.Stoa, name string) int {
	t.Helper()
	v, err := strconv.Atoi(metricValue(t, s, name))
	if err != nil {
		t.Fatalf("metric %s: %v", name, err)
	}
	return v
}

// Three replicas on one store with a cross-replica lock: one upstream fetch for 300 concurrent
// requests of a missing 64 MiB zip (8 MiB on S3: see onceZip); then the replica holding the lock is SIGKILLed mid-fetch and
// the others finish with at most one more fetch, never showing a partial object.
func TestReplicasFetchOnce(t *testing.T) {
	t.Parallel()
	once := map[int]*modgen.Built{}
	for _, store := range sharedStores {
		if once[store.onceZip] == nil {
			once[store.onceZip] = modgen.MustBuild(t, modgen.Module{Path: "example.com/replicas",
				Version: "v1.0.0", Files: randomFiles(61, store.onceZip)})
		}
	}
	killed := modgen.MustBuild(t, modgen.Module{Path: "example.com/replicas", Version: "v1.0.1",
		Files: randomFiles(62, 64<<20)})
	for _, store := range sharedStores {
		for _, lock := range lockServices {
			t.Run(store.name+"/"+lock.name, func(t *testing.T) {
				lockArgs := lock.start(t)
				t.Run("once", func(t *testing.T) { replicasOnce(t, once[store.onceZip], store, lockArgs) })
				t.Run("holder killed", func(t *testing.T) { replicasHolderKilled(t, killed, store, lockArgs) })
			})
		}
	}
}

func replicasOnce(t *testing.T, b *modgen.Built, store sharedStore, lockArgs []string) {
	const clients = 300
	up := newUpstream(t, b)
	// The transfer pauses after 1 MiB until every request has been sent, so that all of them
	// are in flight together.
	release := make(chan struct{})
	up.SetFault(b.Key("zip"), upstream.Fault{Pause: release, PauseAfter: 1 << 20})
	configure, _ := store.setup(t)
	replicas := startReplicas(t, up, 3, configure, lockArgs)
	var sent sync.WaitGroup
	sent.Add(clients)
	go func() { sent.Wait(); close(release) }()
	start := time.Now()
	answers := fetchAll(replicas, b.Key("zip"), clients, b.Zip, sent.Done)
	t.Logf("%d clients on 3 replicas got %d MiB each in %v", clients, len(b.Zip)>>20, time.Since(start).Round(time.Millisecond))
	for i, a := range answers {
		if a.err != nil || a.status != 200 || !a.same {
			t.Errorf("client %d (replica %d): status %d, %d bytes, identical %v, err %v", i, a.replica, a.status, a.n, a.same, a.err)
		}
	}
	if n := up.Hits(b.Key("zip")); n != 1 {
		t.Errorf("upstream fetches of the zip: %d, want exactly 1", n)
	}
	for i, r := range replicas {
		if v := metricValue(t, r, "stoa_lock_degraded_total"); v != "0" {
			t.Errorf("replica %d: stoa_lock_degraded_total %q, want 0", i, v)
		}
		if v := metricValue(t, r, "stoa_index_errors_total"); v != "0" {
			t.Errorf("replica %d: stoa_index_errors_total %q, want 0", i, v)
		}
		// The shared index (SQLite in the shared data directory, or PostgreSQL) lists the
		// version once, whichever replica asks.
		if store.localIndex && !slices.Contains(lockArgs, "postgres") {
			continue
		}
		if r := do(t, "GET", r.URL+"/index"); r.Status != 200 || strings.Count(string(r.Body), `"Version":"`+b.Version+`"`) != 1 {
			t.Errorf("replica %d: /index: %d %s", i, r.Status, r.Body)
		}
	}
}

func replicasHolderKilled(t *testing.T, b *modgen.Built, store sharedStore, lockArgs []string) {
	const clients = 60
	up := newUpstream(t, b)
	arrived := make(chan string, 4)
	release := make(chan struct{})
	up.SetFault(b.Key("zip"), upstream.Fault{Arrived: arrived, Pause: release, PauseAfter: len(b.Zip) / 2})
	configure, read := store.setup(t)
	replicas := startReplicas(t, up, 3, configure, lockArgs)

	done := make(chan []replicaAnswer, 1)
	go func() { done <- fetchAll(replicas, b.Key("zip"), clients, b.Zip, func() {}) }()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the fetch never reached upstream")
	}
	// The holder: the replica whose stoa_locks_held is 1 (set before it asks upstream).
	holder := -1
	for deadline := time.Now().Add(10 * time.Second); holder < 0 && time.Now().Before(deadline); {
		for i, r := range replicas {
			if metricValue(t, r, "stoa_locks_held") == "1" {
				holder = i
			}
		}
		if holder < 0 {
			sleepPoll()
		}
	}
	if holder < 0 {
		close(release)
		t.Fatal("no replica says it holds the lock")
	}
	replicas[holder].Kill() // mid-fetch: half the zip has arrived
	close(release)
	answers := <-done
	ok := 0
	for i, a := range answers {
		if a.replica == holder {
			if a.err == nil && a.status == 200 && !a.same {
				t.Errorf("client %d of the killed replica got a partial or wrong object (%d bytes)", i, a.n)
			}
			continue
		}
		if a.err != nil || a.status != 200 || !a.same {
			t.Errorf("client %d (replica %d): status %d, %d bytes, identical %v, err %v", i, a.replica, a.status, a.n, a.same, a.err)
			continue
		}
		ok++
	}
	if n := up.Hits(b.Key("zip")); n < 1 || n > 2 {
		t.Errorf("upstream fetches of the zip: %d, want 1 or 2 (at most one more after the kill)", n)
	}
	t.Logf("holder: replica %d; %d clients of the others all got the whole zip; upstream fetches %d", holder, ok, up.Hits(b.Key("zip")))
	// Every surviving replica serves the committed object whole, and it is the one on disk.
	for i, r := range replicas {
		if i == holder {
			continue
		}
		resp := do(t, "GET", r.URL+"/"+b.Key("zip"))
		if resp.Status != 200 || !bytes.Equal(resp.Body, b.Zip) {
			t.Errorf("replica %d after the kill: status %d, %d bytes", i, resp.Status, len(resp.Body))
		}
	}
	if stored, found := read(b.Key("zip")); !found || !bytes.Equal(stored, b.Zip) {
		t.Errorf("stored zip: found %v, %d bytes; want the whole zip", found, len(stored))
	}
}

// A lock service that cannot be reached never fails a request: each replica fetches on its own
// (per-replica single-flight), says so in a WARN line and counts it.
func TestReplicasLockServiceDown(t *testing.T) {
	t.Parallel()
	b := modgen.MustBuild(t, modgen.Module{Path: "example.com/nolock", Version: "v1.0.0"})
	dead := stoatest.FreeAddr(t) // nothing listens there
	for _, c := range []struct{ name, flags string }{
		{"redis", "--lock redis --redis-url redis://" + dead},
		{"postgres", "--lock postgres --postgres-url postgresql://postgres@" + dead + "/postgres"},
	} {
		t.Run(c.name, func(t *testing.T) {
			up := newUpstream(t, b)
			s := startStoa(t, up, stoatest.Config{Args: strings.Fields(c.flags)})
			var sent sync.WaitGroup
			sent.Add(20)
			answers := fetchAll([]*stoatest.Stoa{s}, b.Key("zip"), 20, b.Zip, sent.Done)
			for i, a := range answers {
				if a.err != nil || a.status != 200 || !a.same {
					t.Errorf("client %d: status %d, identical %v, err %v", i, a.status, a.same, a.err)
				}
			}
			if v := metricValue(t, s, "stoa_lock_degraded_total"); v == "" || v == "0" {
				t.Errorf("stoa_lock_degraded_total = %q, want > 0", v)
			}
			if !strings.Contains(s.WaitLog("lock service ("+c.name+") unavailable", 1, 10*time.Second), "lock service ("+c.name+") unavailable") {
				t.Errorf("no WARN line about the lock service in the log")
			}
			if n := up.Hits(b.Key("zip")); n != 1 {
				t.Errorf("upstream fetches: %d, want 1 (single-flight still holds in one replica)", n)
			}
		})
	}
}
