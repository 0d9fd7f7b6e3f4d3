package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"stoa.test/internal/stoatest"
)

// cpuTicks is the user+system CPU time of process pid so far, in clock ticks (1/100 s).
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// Out of file descriptors, accept(2) fails at once again and again: stoa must pause instead of
// spinning a core and flooding its log (1.1 million lines in 3 s before), and serve again once
// descriptors are free.
func TestAcceptBacksOffWhenOutOfDescriptors(t *testing.T) {
	t.Parallel()
	s := startStoa(t, newUpstream(t), stoatest.Config{Args: []string{"--header-timeout", "60s"}})
	pid := s.Pid()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	limit := len(fds) + 4
	// Only the soft limit moves (the hard one stays), so that raising it back needs no privilege.
	orig, hard := 0, 0
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); strings.HasPrefix(l, "Max open files") && len(f) >= 5 {
				orig, _ = strconv.Atoi(f[3])
				hard, _ = strconv.Atoi(f[4])
			}
		}
	}
	if orig == 0 || hard == 0 {
		t.Fatal("cannot read stoa's open-file limit")
	}
	setLimit := func(n int) {
		t.Helper()
		if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid),
			fmt.Sprintf("--nofile=%d:%d", n, hard)).CombinedOutput(); err != nil {
			t.Fatalf("prlimit: %v\n%s", err, out)
		}
	}
	setLimit(limit)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 32 {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	// Wait (bounded) until stoa has hit the limit: it logs the first accept failure.
	s.WaitLog("accept: ", 1, 10*time.Second)

	// A measuring window, not synchronization: what stoa spends while it cannot accept.
	before := cpuTicks(t, pid)
	time.Sleep(2 * time.Second)
	used := cpuTicks(t, pid) - before
	if used > 40 { // 0.4 s of CPU in 2 s; a spinning loop takes about 2 s
		t.Errorf("stoa used %d ticks of CPU in 2 s while out of descriptors: the accept loop spins", used)
	}
	if n := strings.Count(s.Log(), "accept: "); n > 2 {
		t.Errorf("%d accept failure lines in about 2 s, want at most 2 (rate-limited)", n)
	}

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	setLimit(orig)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("stoa does not serve again after descriptors were freed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
