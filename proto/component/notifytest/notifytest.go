// Package notifytest is a systemd notification socket for tests: what
// systemd gives a Type=notify unit as $NOTIFY_SOCKET, receiving the
// daemon's READY=1 and STOPPING=1.
package notifytest

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Socket is a listening unixgram socket.
type Socket struct {
	// Path is the value for NOTIFY_SOCKET.
	Path string
	msgs chan string
}

// Listen opens a socket in a fresh temporary directory; it closes with the test.
func Listen(t testing.TB) *Socket {
	t.Helper()
	// Unix socket paths are limited to 108 bytes: t.TempDir() can be longer.
	dir, err := os.MkdirTemp("", "notify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	s := &Socket{Path: path, msgs: make(chan string, 64)}
	go func() {
		defer close(s.msgs)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				select {
				case s.msgs <- line:
				default: // a test reads what it needs; never block the reader
				}
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return s
}

// Env is the NOTIFY_SOCKET=... entry for a child process's environment.
func (s *Socket) Env() string { return "NOTIFY_SOCKET=" + s.Path }

// Wait returns nil when want (e.g. "READY=1") arrives within timeout, or
// an error listing what arrived instead. done, when it closes (the daemon
// exited), ends the wait early.
func (s *Socket) Wait(want string, timeout time.Duration, done <-chan struct{}) error {
	var got []string
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return &WaitError{Want: want, Got: got, Why: "socket closed"}
			}
			if m == want {
				return nil
			}
			got = append(got, m)
		case <-done:
			return &WaitError{Want: want, Got: got, Why: "process exited"}
		case <-timer.C:
			return &WaitError{Want: want, Got: got, Why: "timed out after " + timeout.String()}
		}
	}
}

// WaitError says which notification did not arrive.
type WaitError struct {
	Want string
	Got  []string
	Why  string
}

func (e *WaitError) Error() string {
	return "no " + e.Want + " on NOTIFY_SOCKET (" + e.Why + "); received " + strings.Join(e.Got, ", ")
}
