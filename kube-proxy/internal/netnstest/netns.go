// Package netnstest makes network namespaces for tests and benchmarks
// that need real iptables and real traffic without touching the
// machine's own network: every namespace, link, address and rule lives
// inside namespaces the test made and removes on cleanup.
package netnstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace made here, so parallel test
// runs of other components never collide with these.
const Prefix = "skp"

// NS is a named network namespace (/run/netns/<Name>).
type NS struct {
	Name string
	Path string
	t    testing.TB
}

// UniqueID is a short random id for a test run's namespace names.
func UniqueID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// New makes the namespace Prefix+name (with loopback up) and deletes it
// when the test ends.
func New(t testing.TB, name string) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("netnstest: network namespaces need root")
	}
	ns := &NS{Name: Prefix + name, Path: "/run/netns/" + Prefix + name, t: t}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.MustRun("ip", "link", "set", "lo", "up")
	return ns
}

// Command is args run inside ns (nsenter --net).
func (ns *NS) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + ns.Path, "--"}, args...)...)
}

// Run runs args inside ns and returns their combined output.
func (ns *NS) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s: %w: %s", ns.Name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// MustRun is Run, failing the test on error.
func (ns *NS) MustRun(args ...string) string {
	ns.t.Helper()
	out, err := ns.Run(args...)
	if err != nil {
		ns.t.Fatal(err)
	}
	return out
}

// Do runs fn on an OS thread switched into ns: sockets fn makes belong
// to ns for their whole life, whichever thread uses them later.
func (ns *NS) Do(fn func() error) error {
	target, err := os.Open(ns.Path)
	if err != nil {
		return err
	}
	defer func() { _ = target.Close() }()
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() { _ = orig.Close() }()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns.Name, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked and dies with this goroutine's end
		// rather than run other goroutines in ns.
		return fmt.Errorf("setns back from %s: %w", ns.Name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Listen listens inside ns.
func (ns *NS) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Dial connects from inside ns.
func (ns *NS) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		c, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	return c, err
}

// ListenPacket listens for datagrams inside ns.
func (ns *NS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := ns.Do(func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}
