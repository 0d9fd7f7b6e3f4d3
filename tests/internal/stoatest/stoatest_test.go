package stoatest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// When STOATEST_FAKE is set, the test binary plays a fake stoa: `serve --listen ADDR` answers
// /healthz until SIGTERM; `config` prints one line.
func TestMain(m *testing.M) {
	if mode := os.Getenv("STOATEST_FAKE"); mode != "" {
		os.Exit(fakeStoa(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeStoa(mode string, args []string) int {
	if len(args) > 0 && args[0] == "config" {
		fmt.Println(`listen = "127.0.0.1:8080"`)
		return 0
	}
	listen := os.Getenv("STOA_LISTEN")
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) {
			listen = args[i+1]
		}
		if a == "--config" && i+1 < len(args) {
			data, err := os.ReadFile(args[i+1])
			if err != nil {
				return 4
			}
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "listen = "); ok {
					listen, _ = strconv.Unquote(v)
				}
			}
		}
	}
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fake: bad configuration")
		return 3
	case "asan":
		fmt.Fprintln(os.Stderr, "==1==ERROR: AddressSanitizer: heap-use-after-free")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(os.Stderr, "GET %s 200\n", r.URL.Path)
	})
	l, err := net.Listen("tcp", listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fake: cannot listen on %s: %v\n", listen, err)
		return 1
	}
	go func() { _ = http.Serve(l, mux) }()
	<-sig
	if mode == "ignore-term" {
		select {}
	}
	return 0
}

// recorder is a testing.TB that records failures instead of failing the real test.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any)   { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Failed() bool        { r.mu.Lock(); defer r.mu.Unlock(); return len(r.errors) > 0 }
func (r *recorder) Cleanup(f func())    { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Logf(string, ...any) {}

func (r *recorder) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

// inGoroutine runs f with a recorder so that Fatalf (Goexit) ends only f.
func inGoroutine(t *testing.T, f func(tb testing.TB)) *recorder {
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	rec.runCleanups()
	return rec
}

func fakeBin(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STOA_BIN", exe)
}

func TestStartAndStop(t *testing.T) {
	fakeBin(t)
	rec := inGoroutine(t, func(tb testing.TB) {
		s := Start(tb, Config{Upstream: "http://127.0.0.1:9", Env: []string{"STOATEST_FAKE=ok"}})
		if exited, _ := s.WaitExit(10 * time.Millisecond); exited {
			tb.Errorf("WaitExit: exited while running")
		}
		resp, err := http.Get(s.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			tb.Errorf("healthz: %v", err)
		} else {
			resp.Body.Close()
		}
		if !strings.Contains(s.Log(), "GET /healthz 200") {
			tb.Errorf("log not captured: %q", s.Log())
		}
		s.Signal(syscall.SIGTERM)
		if exited, code := s.WaitExit(10 * time.Second); !exited || code != 0 {
			tb.Errorf("after SIGTERM: exited %v, code %d", exited, code)
		}
		s.Stop()
	})
	if len(rec.errors) != 0 {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestStartVia(t *testing.T) {
	fakeBin(t)
	for _, via := range []string{"flags", "env", "toml"} {
		rec := inGoroutine(t, func(tb testing.TB) {
			s := Start(tb, Config{Via: via, Upstream: "http://127.0.0.1:9", Env: []string{"STOATEST_FAKE=ok"}})
			s.Stop()
		})
		if len(rec.errors) != 0 {
			t.Errorf("via %s: %v", via, rec.errors)
		}
	}
}

func TestStartFailsWhenStoaExits(t *testing.T) {
	fakeBin(t)
	rec := inGoroutine(t, func(tb testing.TB) {
		Start(tb, Config{Env: []string{"STOATEST_FAKE=exit"}})
		tb.Errorf("Start returned")
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "fake: bad configuration") {
		t.Errorf("errors: %v", rec.errors)
	}
}

// Another server took the port between FreeAddr and stoa's bind (parallel tests do): its
// /healthz must not pass for stoa's, or the test talks to someone else's server.
func TestStartIsNotFooledByAnotherServerOnItsPort(t *testing.T) {
	fakeBin(t)
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	rec := inGoroutine(t, func(tb testing.TB) {
		Start(tb, Config{Listen: other.Listener.Addr().String(), Env: []string{"STOATEST_FAKE=serve"}})
		tb.Errorf("Start returned although another server holds the port")
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "address already in use") {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestSanitizerReportFailsTest(t *testing.T) {
	fakeBin(t)
	rec := inGoroutine(t, func(tb testing.TB) {
		Start(tb, Config{Env: []string{"STOATEST_FAKE=asan"}})
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "AddressSanitizer") {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestStopKillsAfterTimeout(t *testing.T) {
	fakeBin(t)
	old := StopTimeout
	StopTimeout = 200 * time.Millisecond
	defer func() { StopTimeout = old }()
	rec := inGoroutine(t, func(tb testing.TB) {
		s := Start(tb, Config{Env: []string{"STOATEST_FAKE=ignore-term"}})
		start := time.Now()
		s.Stop()
		if exited, _ := s.Exited(); !exited || time.Since(start) > 10*time.Second {
			tb.Errorf("not killed")
		}
	})
	if len(rec.errors) != 0 {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestKill(t *testing.T) {
	fakeBin(t)
	rec := inGoroutine(t, func(tb testing.TB) {
		s := Start(tb, Config{Env: []string{"STOATEST_FAKE=ignore-term"}})
		s.Kill()
		if exited, err := s.Exited(); !exited || err == nil {
			tb.Errorf("after Kill: exited %v, %v", exited, err)
		}
		if exited, code := s.WaitExit(time.Second); !exited || code != -1 {
			tb.Errorf("WaitExit after Kill: %v %d", exited, code)
		}
		s.Stop()
	})
	if len(rec.errors) != 0 {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestBinRequired(t *testing.T) {
	t.Setenv("STOA_BIN", "")
	rec := inGoroutine(t, func(tb testing.TB) { Bin(tb) })
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "STOA_BIN") {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestRun(t *testing.T) {
	fakeBin(t)
	r := Run(t, 30*time.Second, []string{"STOATEST_FAKE=ok"}, "config")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "listen = ") {
		t.Errorf("Run config: %+v", r)
	}
	r = Run(t, 30*time.Second, []string{"STOATEST_FAKE=exit"}, "serve", "--listen", FreeAddr(t))
	if r.ExitCode != 3 || !strings.Contains(r.Stderr, "bad configuration") {
		t.Errorf("Run exit: %+v", r)
	}
}

func TestEnvDropsStoaVariables(t *testing.T) {
	t.Setenv("STOA_DATA_DIR", "/nowhere")
	for _, kv := range Env("X=1") {
		if strings.HasPrefix(kv, "STOA_") {
			t.Errorf("inherited %s", kv)
		}
	}
}

func fakeProcess(t *testing.T, mode, addr string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", "--listen", addr)
	cmd.Env = append(os.Environ(), "STOATEST_FAKE="+mode)
	return cmd
}

func TestStartProcessWaitsForItsListenerAndStopsIt(t *testing.T) {
	var pid int
	rec := inGoroutine(t, func(tb testing.TB) {
		addr := FreeAddr(tb)
		p := StartProcess(tb, "fake", fakeProcess(t, "serve", addr), addr)
		pid = p.Pid()
		if !ListensOn(p.Pid(), addr) {
			tb.Errorf("StartProcess returned before the process listened on %s", addr)
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			tb.Fatalf("GET: %v", err)
		}
		resp.Body.Close()
		// The output arrives through a pipe and a copying goroutine, after the answer maybe.
		deadline := time.After(10 * time.Second)
		for {
			out, changed := p.log.next()
			if strings.Contains(out, "GET /healthz 200") {
				break
			}
			select {
			case <-changed:
			case <-deadline:
				tb.Fatalf("output not kept: %q", out)
			}
		}
	})
	if len(rec.errors) != 0 {
		t.Errorf("errors: %v", rec.errors)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still runs after the cleanup", pid)
	}
}

func TestStartProcessFailsWhenItExits(t *testing.T) {
	rec := inGoroutine(t, func(tb testing.TB) {
		addr := FreeAddr(tb)
		StartProcess(tb, "fake", fakeProcess(t, "exit", addr), addr)
		tb.Errorf("StartProcess returned for a process that exited")
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "fake exited at start") ||
		!strings.Contains(rec.errors[0], "bad configuration") {
		t.Errorf("errors: %v", rec.errors)
	}
}

func TestStartProcessIsNotFooledByAnotherServerOnItsPort(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer other.Close()
	rec := inGoroutine(t, func(tb testing.TB) {
		addr := other.Listener.Addr().String()
		StartProcess(tb, "fake", fakeProcess(t, "serve", addr), addr)
		tb.Errorf("StartProcess returned although another server holds the port")
	})
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "address already in use") {
		t.Errorf("errors: %v", rec.errors)
	}
}
