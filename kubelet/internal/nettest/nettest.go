// Package nettest gives tests network namespaces of their own (pinned under
// /run/netns with names starting with "skn", removed at cleanup) and ways
// to act inside them: run a command, listen, dial, ping. Nothing it does
// touches the test process's own network namespace.
package nettest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"skiff.dev/kubelet/internal/nsutil"
)

// NetNSDir is where the namespaces are pinned.
const NetNSDir = "/run/netns"

// Prefix is a fresh name prefix for one test's namespaces: "skn" and 8
// hex digits. (Links live inside the test's namespaces, where fixed
// skn… names cannot collide.)
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "skn" + hex.EncodeToString(b)
}

// NewNS creates a network namespace pinned at /run/netns/name with lo up,
// and removes the pin at cleanup (the namespace goes with its last user).
// It also removes, at cleanup, every pin whose name starts with name+"-",
// where a Manager under test may have pinned pods' namespaces.
func NewNS(t testing.TB, name string) string {
	t.Helper()
	if !strings.HasPrefix(name, "skn") {
		t.Fatalf("nettest: namespace %q must start with skn", name)
	}
	if err := nsutil.EnsureSharedDir(NetNSDir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(NetNSDir, name)
	if err := nsutil.Pin(path); err != nil {
		t.Fatalf("nettest: %v", err)
	}
	t.Cleanup(func() {
		left, _ := filepath.Glob(path + "-*")
		for _, p := range append(left, path) {
			if err := nsutil.Unpin(p); err != nil {
				t.Errorf("nettest: %v", err)
			}
		}
	})
	WithHandle(t, path, func(h *netlink.Handle) error {
		lo, err := h.LinkByName("lo")
		if err != nil {
			return err
		}
		return h.LinkSetUp(lo)
	})
	return path
}

// WithHandle runs fn with a netlink handle in the namespace at path,
// failing the test on error.
func WithHandle(t testing.TB, path string, fn func(h *netlink.Handle) error) {
	t.Helper()
	if err := Handle(path, fn); err != nil {
		t.Fatalf("nettest: in %s: %v", path, err)
	}
}

// Handle runs fn with a netlink handle in the namespace at path.
func Handle(path string, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	return fn(h)
}

// Run runs a command inside the namespace at path and returns its output.
func Run(t testing.TB, path string, name string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := nsutil.DoPath(path, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	})
	if err != nil {
		t.Fatalf("nettest: %s %s in %s: %v: %s", name, strings.Join(args, " "), path, err, out.String())
	}
	return out.String()
}

// Listen listens on TCP addr inside the namespace at path and closes the
// listener at cleanup. Each accepted connection gets its remote address
// written back and is closed.
func Listen(t testing.TB, path, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	if err := nsutil.DoPath(path, func() (err error) {
		l, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("nettest: listen on %s in %s: %v", addr, path, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s\n", c.RemoteAddr())
			c.Close()
		}
	}()
	return l
}

// Dial connects to a Listen listener at addr from inside the namespace at
// path and returns the remote address the listener saw.
func Dial(path, addr string) (string, error) {
	var c net.Conn
	if err := nsutil.DoPath(path, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 5*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b [128]byte
	n, err := c.Read(b[:])
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return strings.TrimSpace(string(b[:n])), nil
}

// Ping sends ICMP echo requests to ip from inside the namespace at path,
// up to 3 tries of 2 s each, and returns nil on the first reply.
func Ping(path string, ip net.IP) error {
	var pc *icmp.PacketConn
	if err := nsutil.DoPath(path, func() (err error) {
		pc, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return fmt.Errorf("open icmp socket: %w", err)
	}
	defer pc.Close()
	id := os.Getpid() & 0xffff
	var last error
	for seq := 1; seq <= 3; seq++ {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("skiff")}}
		b, _ := msg.Marshal(nil)
		if _, err := pc.WriteTo(b, &net.IPAddr{IP: ip}); err != nil {
			last = err
			time.Sleep(500 * time.Millisecond)
			continue
		}
		pc.SetReadDeadline(time.Now().Add(2 * time.Second))
		for {
			buf := make([]byte, 1500)
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				last = err
				break
			}
			rm, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || rm.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			if e, ok := rm.Body.(*icmp.Echo); ok && e.Seq == seq && from.(*net.IPAddr).IP.Equal(ip) {
				return nil
			}
		}
	}
	return fmt.Errorf("no echo reply from %s: %v", ip, last)
}

// Bridge creates the bridge name, up, in the namespace at path.
func Bridge(t testing.TB, path, name string) {
	t.Helper()
	WithHandle(t, path, func(h *netlink.Handle) error {
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			return err
		}
		br, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		return h.LinkSetUp(br)
	})
}

// Wire joins the namespace at host to the bridge br of the namespace at
// lab with a veth pair (labSide in lab, hostSide in host, both up), and
// gives hostSide the address addr ("10.250.0.1/24"), as the e2e lab joins
// its hosts.
func Wire(t testing.TB, lab, br, labSide, host, hostSide, addr string) {
	t.Helper()
	ip, ipnet, err := net.ParseCIDR(addr)
	if err != nil {
		t.Fatal(err)
	}
	hostNS, err := netns.GetFromPath(host)
	if err != nil {
		t.Fatal(err)
	}
	defer hostNS.Close()
	WithHandle(t, lab, func(h *netlink.Handle) error {
		b, err := h.LinkByName(br)
		if err != nil {
			return err
		}
		if err := h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: labSide, MasterIndex: b.Attrs().Index},
			PeerName: hostSide, PeerNamespace: netlink.NsFd(int(hostNS))}); err != nil {
			return err
		}
		l, err := h.LinkByName(labSide)
		if err != nil {
			return err
		}
		return h.LinkSetUp(l)
	})
	WithHandle(t, host, func(h *netlink.Handle) error {
		l, err := h.LinkByName(hostSide)
		if err != nil {
			return err
		}
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: ipnet.Mask}}); err != nil {
			return err
		}
		return h.LinkSetUp(l)
	})
}

// Eventually polls cond every 100 ms until it holds or timeout passes, and
// fails the test with what otherwise.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SourceSeen listens on port in the namespace listenNS, connects to ip:port
// from the namespace fromNS, and returns the source address the listener
// saw (what NAT made of the connection), failing the test when it cannot
// connect.
func SourceSeen(t testing.TB, fromNS, listenNS string, ip net.IP, port string) string {
	t.Helper()
	Listen(t, listenNS, ":"+port)
	seen, err := Dial(fromNS, net.JoinHostPort(ip.String(), port))
	if err != nil {
		t.Fatalf("nettest: TCP to %s:%s from %s: %v", ip, port, fromNS, err)
	}
	host, _, _ := net.SplitHostPort(seen)
	return host
}
