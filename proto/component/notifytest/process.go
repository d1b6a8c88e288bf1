package notifytest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mainEnv marks a test binary re-executed as the daemon itself.
const mainEnv = "SKIFF_NOTIFYTEST_MAIN"

// Main is a daemon package's TestMain: when StartMain re-executes the test
// binary, it runs the daemon's run (its app.Run) with the given arguments
// and exits with its code; otherwise it runs the tests.
func Main(m *testing.M, run func(args []string) int) {
	if os.Getenv(mainEnv) == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// Process is a daemon started by a test, its output kept for failures.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// StartMain re-executes the test binary as the daemon (see Main) with args
// and NOTIFY_SOCKET set to s.
func (s *Socket) StartMain(t testing.TB, args ...string) *Process {
	t.Helper()
	return s.Start(t, exec.Command(os.Args[0], args...), mainEnv+"=1")
}

// Start runs cmd with NOTIFY_SOCKET set to s and the extra environment;
// the process is killed, if still running, when the test ends, and its
// output is logged when the test failed.
func (s *Socket) Start(t testing.TB, cmd *exec.Cmd, env ...string) *Process {
	t.Helper()
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, s.Env()), env...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", cmd.Path, p.out.String())
		}
	})
	return p
}

// Done closes when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Output is what the process wrote so far.
func (p *Process) Output() string { return p.out.String() }

// Stop sends SIGTERM and waits up to timeout for the process to exit; it
// returns the exit error, or an error if the process outlived timeout
// (it is then killed).
func (p *Process) Stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s still running %s after SIGTERM", p.cmd.Path, timeout)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
