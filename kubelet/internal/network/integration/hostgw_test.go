// Package integration tests the kubelet's pod network across nodes: two
// "hosts" (network namespaces joined by a bridge in a third, lab,
// namespace) each with a network.Manager whose host-gw routes follow the
// Nodes of a real apiserver.
package integration

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/nettest"
	"skiff.dev/kubelet/internal/network"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

type host struct {
	name    string // the Node's
	ns      string
	ip      string
	podCIDR string
	m       *network.Manager
}

// startHost makes a host namespace wired to the lab bridge, sets up its
// pod network, and runs its host-gw routes against the apiserver.
func startHost(t *testing.T, ctx context.Context, cs *client.Clientset, prefix, lab string, h *host, i int) {
	h.ns = nettest.NewNS(t, fmt.Sprintf("%s-%s", prefix, h.name))
	nettest.Wire(t, lab, "sknlab", fmt.Sprintf("sknl%d", i), h.ns, "sknup", h.ip+"/24")
	m, err := network.New(zaptest.NewLogger(t).Named(h.name), network.Config{
		BridgeName: "skn0", StateDir: t.TempDir(), NetNSDir: nettest.NetNSDir,
		NetNSPrefix: filepath.Base(h.ns) + "-", VethPrefix: "skn", HostNetNS: h.ns,
		ClusterCIDR: "10.251.0.0/16", MasqueradeChain: "SKN-POSTROUTING", NodeName: h.name,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.EnsureNode(ctx, h.podCIDR); err != nil {
		t.Fatal(err)
	}
	h.m = m
	f := informer.NewSharedInformerFactory(cs, 0)
	nodes := f.Core().V1().Nodes()
	done := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() { done <- m.RunNodeRoutes(rctx, nodes) }()
	f.Start(rctx)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunNodeRoutes of %s: %v", h.name, err)
		}
		f.Shutdown()
	})
}

func createNode(t *testing.T, ctx context.Context, cs *client.Clientset, name, podCIDR, ip string) {
	t.Helper()
	spec := &corev1.NodeSpec{}
	if podCIDR != "" {
		spec.PodCidr, spec.PodCidrs = podCIDR, []string{podCIDR}
	}
	n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	n.Status = &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: ip}, {Type: "Hostname", Address: name}}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// routes lists the host-gw routes of the namespace at ns as "dst via gw".
func routes(t *testing.T, ns string) map[string]bool {
	out := map[string]bool{}
	nettest.WithHandle(t, ns, func(h *netlink.Handle) error {
		rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: network.RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
		for _, r := range rs {
			if r.Gw != nil {
				out[fmt.Sprintf("%s via %s", r.Dst, r.Gw)] = true
			}
		}
		return err
	})
	return out
}

func TestHostGatewayRoutesFollowNodes(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := apiservertest.Start(t, apiservertest.Options{})
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	prefix := nettest.Prefix(t)
	lab := nettest.NewNS(t, prefix+"-lab")
	nettest.Bridge(t, lab, "sknlab")
	a := &host{name: "node-a", ip: "10.250.0.1", podCIDR: "10.251.1.0/24"}
	b := &host{name: "node-b", ip: "10.250.0.2", podCIDR: "10.251.2.0/24"}
	for i, h := range []*host{a, b} {
		startHost(t, ctx, cs, prefix, lab, h, i)
	}
	// A route someone else owns: it must survive every sync.
	foreign := &netlink.Route{Dst: &net.IPNet{IP: net.IPv4(10, 252, 0, 0), Mask: net.CIDRMask(24, 32)}, Gw: net.IPv4(10, 250, 0, 9)}
	nettest.WithHandle(t, a.ns, func(h *netlink.Handle) error { return h.RouteAdd(foreign) })

	pa, err := a.m.SetUpPod(ctx, network.PodRef{UID: "pod-a", Namespace: "default", Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.m.SetUpPod(ctx, network.PodRef{UID: "pod-b", Namespace: "default", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}

	createNode(t, ctx, cs, a.name, a.podCIDR, a.ip)
	createNode(t, ctx, cs, b.name, b.podCIDR, b.ip)
	createNode(t, ctx, cs, "node-c", "10.251.3.0/24", "10.250.0.3")
	createNode(t, ctx, cs, "node-no-cidr", "", "10.250.0.4")

	wantA := map[string]bool{"10.251.2.0/24 via 10.250.0.2": true, "10.251.3.0/24 via 10.250.0.3": true}
	wantB := map[string]bool{"10.251.1.0/24 via 10.250.0.1": true, "10.251.3.0/24 via 10.250.0.3": true}
	nettest.Eventually(t, time.Minute, "host-gw routes of node-a and node-b do not match the Nodes", func() bool {
		return fmt.Sprint(routes(t, a.ns)) == fmt.Sprint(wantA) && fmt.Sprint(routes(t, b.ns)) == fmt.Sprint(wantB)
	})

	t.Run("pods reach each other across hosts", func(t *testing.T) {
		if err := nettest.Ping(pa.NetNSPath, pb.IP); err != nil {
			t.Errorf("ping pod b %s from pod a: %v", pb.IP, err)
		}
		if seen := nettest.SourceSeen(t, pa.NetNSPath, pb.NetNSPath, pb.IP, "8080"); seen != pa.IP.String() {
			t.Errorf("pod b saw pod a as %s, want %s (no masquerade inside the cluster CIDR)", seen, pa.IP)
		}
	})

	t.Run("traffic leaving the cluster CIDR is masqueraded", func(t *testing.T) {
		// A machine on the hosts' network that is no node: it has no route
		// to any podCIDR, so only masqueraded traffic can get an answer.
		outside := nettest.NewNS(t, prefix+"-out")
		nettest.Wire(t, lab, "sknlab", "sknlout", outside, "sknup", "10.250.0.9/24")
		if seen := nettest.SourceSeen(t, pa.NetNSPath, outside, net.IPv4(10, 250, 0, 9), "8080"); seen != a.ip {
			t.Errorf("the outside machine saw pod a as %s, want node-a's address %s", seen, a.ip)
		}
	})

	t.Run("routes go with their nodes", func(t *testing.T) {
		for _, n := range []string{"node-c", b.name} {
			if err := cs.CoreV1().Nodes().Delete(ctx, n, client.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		nettest.Eventually(t, time.Minute, "node-a kept routes of deleted nodes", func() bool { return len(routes(t, a.ns)) == 0 })
		nettest.Eventually(t, time.Minute, "node-b kept the route to deleted node-c", func() bool {
			return fmt.Sprint(routes(t, b.ns)) == fmt.Sprint(map[string]bool{"10.251.1.0/24 via 10.250.0.1": true})
		})
		if err := nettest.Ping(pa.NetNSPath, pb.IP); err == nil {
			t.Errorf("pod b still reachable from node-a after node-b's Node was deleted")
		}
		nettest.WithHandle(t, a.ns, func(h *netlink.Handle) error {
			rs, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: foreign.Dst}, netlink.RT_FILTER_DST)
			if len(rs) != 1 {
				t.Errorf("the foreign route %s was touched: %v", foreign.Dst, rs)
			}
			return err
		})
	})

	t.Run("a node coming back gets its route back", func(t *testing.T) {
		createNode(t, ctx, cs, b.name, b.podCIDR, b.ip)
		nettest.Eventually(t, time.Minute, "no route to node-b after it came back", func() bool {
			return routes(t, a.ns)["10.251.2.0/24 via 10.250.0.2"]
		})
		if err := nettest.Ping(pa.NetNSPath, pb.IP); err != nil {
			t.Errorf("ping pod b after node-b came back: %v", err)
		}
	})
}
