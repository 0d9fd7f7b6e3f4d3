// Package sshtest starts a real OpenSSH server (Debian's openssh-server) on loopback for the
// git-over-ssh end-to-end tests: not as a daemon, with its own generated host key, its own port
// and its own sshd_config in a temporary directory, letting in the user running the test with
// one generated client key and nothing else (no passwords, no PAM, no agent or port forwarding).
package sshtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"stoa.test/internal/stoatest"
)

// Sshd is the path of the server; sshd re-executes itself, so it must be absolute.
const Sshd = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Dir       string // its configuration, keys and log
	Addr      string // "127.0.0.1:PORT"
	Port      string
	User      string // the only user it lets in: the one running the test
	ClientKey string // the private key it accepts (ed25519, no passphrase)
	HostKey   string // its host public key, "ssh-ed25519 AAAA..."
	proc      *stoatest.Process
}

// KnownHostsLine is the known_hosts line for this server's host key.
func (s *Server) KnownHostsLine() string {
	return fmt.Sprintf("[127.0.0.1]:%s %s\n", s.Port, s.HostKey)
}

// Log is what sshd wrote so far (it logs to stderr with -e).
func (s *Server) Log() string { return s.proc.Log() }

// Keygen makes an ed25519 key pair without a passphrase at path (and path.pub); returns the
// public key line without its comment.
func Keygen(path string) (string, error) {
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		return "", err
	}
	fields := strings.Fields(string(pub))
	if len(fields) < 2 {
		return "", fmt.Errorf("ssh-keygen wrote %q", pub)
	}
	return fields[0] + " " + fields[1], nil
}

// Start starts sshd in dir (which must exist and be empty) and waits until it listens; it is
// stopped at the test's cleanup (stoatest.StartProcess).
func Start(tb testing.TB, dir string) *Server {
	tb.Helper()
	u, err := user.Current()
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Dir: dir, User: u.Username}
	if s.HostKey, err = Keygen(filepath.Join(dir, "host_ed25519")); err != nil {
		tb.Fatal(err)
	}
	s.ClientKey = filepath.Join(dir, "client_ed25519")
	clientPub, err := Keygen(s.ClientKey)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(clientPub+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root needs its privilege separation directory, which Debian's
		// service unit creates; the package alone does not.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	s.Addr = stoatest.FreeAddr(tb)
	_, s.Port, _ = net.SplitHostPort(s.Addr)
	config := strings.Join([]string{
		"Port " + s.Port,
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"PidFile none",
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"AuthorizedKeysCommand none",
		"StrictModes no", // the temporary directory's parents are not the user's home
		"AllowUsers " + s.User,
		"PermitRootLogin prohibit-password",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"HostbasedAuthentication no",
		"UsePAM no",
		"AllowAgentForwarding no",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"PermitTunnel no",
		"PrintMotd no",
		"LogLevel VERBOSE",
		"",
	}, "\n")
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(Sshd, "-D", "-e", "-f", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	s.proc = stoatest.StartProcess(tb, "sshd", cmd, s.Addr)
	return s
}
