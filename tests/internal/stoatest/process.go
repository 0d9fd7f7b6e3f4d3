package stoatest

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Process is a real server a test started (the S3 server, another module proxy, a cache in
// front of stoa...): its output is kept, and it is stopped at the test's cleanup.
type Process struct {
	Name   string
	Addr   string
	cmd    *exec.Cmd
	log    syncBuffer
	exited chan struct{}
}

// StartProcess starts cmd (its Stdout and Stderr are taken over and kept, its parent-death
// signal set) and waits, bounded, until the process itself listens on addr ("host:port"; see
// ListensOn: another process on the port does not count). At cleanup the process gets SIGTERM,
// then SIGKILL after StopTimeout, and its output is logged if the test failed. A process that exits or
// does not listen within 20 s fails the test with its output.
func StartProcess(tb testing.TB, name string, cmd *exec.Cmd, addr string) *Process {
	tb.Helper()
	return StartProcessWithin(tb, name, cmd, addr, 20*time.Second)
}

// StartProcessWithin is StartProcess for a server slower to start (Azurite loads a Node.js
// program: 15 s on a busy machine), waiting up to limit.
func StartProcessWithin(tb testing.TB, name string, cmd *exec.Cmd, addr string, limit time.Duration) *Process {
	tb.Helper()
	p := &Process{Name: name, Addr: addr, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = &p.log
	cmd.Stderr = &p.log
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, p.Log())
		}
	})
	deadline := time.Now().Add(limit)
	for !ListensOn(cmd.Process.Pid, addr) {
		select {
		case <-p.exited:
			tb.Fatalf("%s exited at start:\n%s", name, p.Log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s did not listen on %s within %v:\n%s", name, addr, limit, p.Log())
		}
	}
	return p
}

// Log is the process's output so far. It is safe to call while the process writes.
func (p *Process) Log() string { return p.log.String() }

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the exit, killing the process after StopTimeout. Stopping a process
// that has exited already does nothing.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(StopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
