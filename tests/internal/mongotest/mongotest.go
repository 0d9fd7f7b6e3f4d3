// Package mongotest starts a real MongoDB-wire-compatible server for end-to-end tests: FerretDB
// 1.x (installed by scripts/install-deps.sh) over SQLite in the test's temp directory, on a free
// loopback port, stopped at cleanup. Without ferretdb the test fails: it does not skip.
package mongotest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"stoa.test/internal/stoatest"
)

// Server is a running FerretDB.
type Server struct {
	URI  string // "mongodb://127.0.0.1:PORT/"
	Addr string
	proc *stoatest.Process
}

// Bin is ferretdb from $STOA_FERRETDB, $PATH or /usr/local/bin.
func Bin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("STOA_FERRETDB"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ferretdb"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/ferretdb"); err == nil {
		return "/usr/local/bin/ferretdb"
	}
	tb.Fatal("ferretdb not found: run scripts/install-deps.sh test (or set STOA_FERRETDB)")
	return ""
}

// Start starts FerretDB and waits (bounded) until it listens on its port.
func Start(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir()
	data := filepath.Join(dir, "sqlite")
	state := filepath.Join(dir, "state")
	for _, d := range []string{data, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	s := &Server{Addr: stoatest.FreeAddr(tb)}
	s.URI = "mongodb://" + s.Addr + "/"
	cmd := exec.Command(Bin(tb), "--listen-addr="+s.Addr, "--handler=sqlite",
		"--sqlite-url=file:"+data+"/", "--state-dir="+state, "--telemetry=disable",
		"--debug-addr=-", "--log-level=error")
	s.proc = stoatest.StartProcess(tb, "ferretdb", cmd, s.Addr)
	return s
}

// D is a BSON document with its fields in order. Values: string, int32, int64, bool, []byte
// (binary), D, []any (array).
type D []E

// E is one field of a D.
type E struct {
	K string
	V any
}

// Command runs one database command on the server over the wire protocol (OP_MSG) and returns
// the top-level fields of the answer that are numbers (as float64) or strings; it fails the test
// when the server cannot be reached or the answer's ok is not 1. "$db" is added.
func (s *Server) Command(tb testing.TB, db string, cmd D) map[string]any {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
	if err != nil {
		tb.Fatalf("connect to ferretdb: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := encode(append(append(D{}, cmd...), E{"$db", db}))
	msg := make([]byte, 16, 21+len(body))
	msg = binary.LittleEndian.AppendUint32(msg, 0) // flag bits
	msg = append(msg, 0)                           // section kind 0: the body
	msg = append(msg, body...)
	binary.LittleEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.LittleEndian.PutUint32(msg[4:], 1)     // request id
	binary.LittleEndian.PutUint32(msg[12:], 2013) // OP_MSG
	if _, err := conn.Write(msg); err != nil {
		tb.Fatalf("send command: %v", err)
	}
	head := make([]byte, 16)
	if _, err := io.ReadFull(conn, head); err != nil {
		tb.Fatalf("read answer: %v", err)
	}
	rest := make([]byte, binary.LittleEndian.Uint32(head)-16)
	if _, err := io.ReadFull(conn, rest); err != nil || len(rest) < 5 || rest[4] != 0 {
		tb.Fatalf("read answer: %v", err)
	}
	out := decodeTop(tb, rest[5:])
	if ok, _ := out["ok"].(float64); ok != 1 {
		tb.Fatalf("command %v failed: %v", cmd[0].K, out)
	}
	return out
}

func encode(d D) []byte {
	b := []byte{0, 0, 0, 0}
	for _, e := range d {
		key := append([]byte(e.K), 0)
		switch v := e.V.(type) {
		case string:
			b = append(append(b, 0x02), key...)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)+1))
			b = append(append(b, v...), 0)
		case int32:
			b = append(append(b, 0x10), key...)
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		case int64:
			b = append(append(b, 0x12), key...)
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		case bool:
			b = append(append(b, 0x08), key...)
			if v {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case []byte:
			b = append(append(b, 0x05), key...)
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(append(b, 0), v...)
		case D:
			b = append(append(append(b, 0x03), key...), encode(v)...)
		case []any:
			arr := make(D, len(v))
			for i, x := range v {
				arr[i] = E{strconv.Itoa(i), x}
			}
			b = append(append(append(b, 0x04), key...), encode(arr)...)
		default:
			panic(fmt.Sprintf("mongotest: no BSON encoding for %T", v))
		}
	}
	b = append(b, 0)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// decodeTop reads the top-level numbers and strings of a BSON document; other fields are skipped.
func decodeTop(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	out := map[string]any{}
	if len(b) < 5 {
		tb.Fatalf("short BSON document")
	}
	b = b[4:binary.LittleEndian.Uint32(b)]
	for len(b) > 1 {
		t := b[0]
		end := bytes.IndexByte(b[1:], 0)
		key := string(b[1 : 1+end])
		b = b[2+end:]
		switch t {
		case 0x01:
			out[key] = math.Float64frombits(binary.LittleEndian.Uint64(b))
			b = b[8:]
		case 0x10:
			out[key] = float64(int32(binary.LittleEndian.Uint32(b)))
			b = b[4:]
		case 0x12, 0x09, 0x11:
			out[key] = float64(int64(binary.LittleEndian.Uint64(b)))
			b = b[8:]
		case 0x02:
			n := binary.LittleEndian.Uint32(b)
			out[key] = string(b[4 : 4+n-1])
			b = b[4+n:]
		case 0x03, 0x04:
			b = b[binary.LittleEndian.Uint32(b):]
		case 0x05:
			b = b[5+binary.LittleEndian.Uint32(b):]
		case 0x07:
			b = b[12:]
		case 0x08:
			out[key] = b[0] == 1
			b = b[1:]
		case 0x0A:
		default:
			tb.Fatalf("mongotest: BSON type %#x in an answer", t)
		}
	}
	return out
}
