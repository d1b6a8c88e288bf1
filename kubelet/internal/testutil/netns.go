package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"skiff.dev/kubelet/internal/nsdial"
	"skiff.dev/kubelet/internal/pods"
)

// Node is a lab network for a test's pods: a network namespace of its own
// (named skk-…) standing for the node, with a bridge whose only ports are
// the pods' veths, and no link out of the machine. Pods get namespaces
// skk-… with an IP of 10.88.0.0/24.
type Node struct {
	Name    string // the node's netns name
	Path    string // /run/netns/<Name>
	Gateway string // the bridge's address

	mu   sync.Mutex
	pods map[string]podNet // by pod uid
	next int
}

type podNet struct {
	ns string
	ip net.IP
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func randName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewNode makes the lab network; the test's cleanup deletes it with every
// pod namespace still in it.
func NewNode(t testing.TB) *Node {
	t.Helper()
	n := &Node{Name: randName("skk-n"), Gateway: "10.88.0.1", pods: map[string]podNet{}, next: 2}
	n.Path = "/run/netns/" + n.Name
	t.Cleanup(n.Delete)
	steps := [][]string{
		{"netns", "add", n.Name},
		{"-n", n.Name, "link", "set", "lo", "up"},
		{"-n", n.Name, "link", "add", "br0", "type", "bridge"},
		{"-n", n.Name, "addr", "add", n.Gateway + "/24", "dev", "br0"},
		{"-n", n.Name, "link", "set", "br0", "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			t.Fatalf("testutil: node network: %v", err)
		}
	}
	return n
}

// Delete removes every pod namespace and the node's.
func (n *Node) Delete() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for uid, p := range n.pods {
		_ = ip("netns", "del", p.ns)
		delete(n.pods, uid)
	}
	_ = ip("netns", "del", n.Name)
}

// SetUpPod gives a pod a namespace, a veth on the bridge (hairpin on) and
// the next IP; again for the same uid, the same.
func (n *Node) SetUpPod(_ context.Context, uid, _, _ string) (pods.PodNetwork, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.pods[uid]; ok {
		return pods.PodNetwork{NetNSPath: "/run/netns/" + p.ns, IP: p.ip}, nil
	}
	if n.next > 254 {
		return pods.PodNetwork{}, fmt.Errorf("lab network: no IP left")
	}
	p := podNet{ns: randName("skk-p"), ip: net.IPv4(10, 88, 0, byte(n.next))}
	host := fmt.Sprintf("vp%d", n.next)
	n.next++
	steps := [][]string{
		{"netns", "add", p.ns},
		{"-n", n.Name, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", p.ns},
		{"-n", n.Name, "link", "set", host, "master", "br0"},
		{"-n", n.Name, "link", "set", host, "type", "bridge_slave", "hairpin", "on"},
		{"-n", n.Name, "link", "set", host, "up"},
		{"-n", p.ns, "link", "set", "lo", "up"},
		{"-n", p.ns, "addr", "add", p.ip.String() + "/24", "dev", "eth0"},
		{"-n", p.ns, "link", "set", "eth0", "up"},
		{"-n", p.ns, "route", "add", "default", "via", n.Gateway},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			_ = ip("netns", "del", p.ns)
			return pods.PodNetwork{}, fmt.Errorf("lab network: %w", err)
		}
	}
	n.pods[uid] = p
	return pods.PodNetwork{NetNSPath: "/run/netns/" + p.ns, IP: p.ip}, nil
}

// TearDownPod deletes the pod's namespace (and its veth).
func (n *Node) TearDownPod(_ context.Context, uid string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.pods[uid]
	if !ok {
		return nil
	}
	delete(n.pods, uid)
	return ip("netns", "del", p.ns)
}

// Pods is how many pods have a network.
func (n *Node) Pods() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.pods)
}

// Dial connects from inside the node's namespace.
func (n *Node) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return nsdial.Dial(ctx, n.Path, network, addr)
}

// NewNetNS makes an empty network namespace (loopback up) named skk-…,
// deleted in the test's cleanup, and returns its path.
func NewNetNS(t testing.TB) string {
	t.Helper()
	name := randName("skk-h")
	t.Cleanup(func() { _ = ip("netns", "del", name) })
	if err := ip("netns", "add", name); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	if err := ip("-n", name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	return "/run/netns/" + name
}

// PodUIDs are the pods with a network.
func (n *Node) PodUIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var uids []string
	for uid := range n.pods {
		uids = append(uids, uid)
	}
	return uids
}

// DeleteNetNSWithPrefix deletes the namespaces /run/netns/<prefix>*: those
// a kubelet under test pinned for its pods with its --netns-prefix, when a
// failed test left them.
func DeleteNetNSWithPrefix(prefix string) {
	paths, _ := filepath.Glob("/run/netns/" + prefix + "*")
	for _, p := range paths {
		_ = ip("netns", "del", filepath.Base(p))
	}
}
