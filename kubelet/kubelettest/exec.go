package kubelettest

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"

	"skiff.dev/proto/remotecommand"
)

// FakeExec stands in for a container runtime's exec in tests of what
// carries exec (the kubelet API, the apiserver's proxy, skiffctl), not of
// the runtime. Commands:
//
//	cat        copies stdin to stdout
//	exit N     writes "out\n" to stdout and "err\n" to stderr, exits N
//
// A container named "gone" cannot run anything. Every call is recorded.
type FakeExec struct {
	mu    sync.Mutex
	calls []string
}

// Exec is the executor, for Options.Exec.
func (f *FakeExec) Exec(_ context.Context, ns, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool,
	_ <-chan remotecommand.TerminalSize) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s/%s/%s %v stdin=%v tty=%v", ns, pod, container, cmd, stdin != nil, tty))
	f.mu.Unlock()
	if container == "gone" {
		return 0, fmt.Errorf("container %q of pod %s/%s is not running", container, ns, pod)
	}
	switch {
	case cmd[0] == "cat":
		_, err := io.Copy(stdout, stdin)
		return 0, err
	case cmd[0] == "exit" && len(cmd) == 2:
		fmt.Fprint(stdout, "out\n")
		if stderr != nil {
			fmt.Fprint(stderr, "err\n")
		}
		return strconv.Atoi(cmd[1])
	}
	return 0, fmt.Errorf("fake runtime: unknown command %v", cmd)
}

// Last is the last call: "ns/pod/container [cmd args] stdin=BOOL tty=BOOL",
// or "" before any.
func (f *FakeExec) Last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}
