package network_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"skiff.dev/kubelet/internal/nettest"
	"skiff.dev/kubelet/internal/network"
	"skiff.dev/kubelet/internal/nsutil"
)

// rootNS is the test process's own network namespace, opened before any
// test runs: the tests check that nothing of theirs shows up in it.
var rootNS netns.NsHandle

func TestMain(m *testing.M) {
	var err error
	if rootNS, err = netns.Get(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// lab is one test's node: a network namespace standing in for the host.
type lab struct {
	t      *testing.T
	prefix string // of every name this test makes
	host   string // the node's namespace
	state  string
}

func newLab(t *testing.T) *lab {
	p := nettest.Prefix(t)
	l := &lab{t: t, prefix: p, host: nettest.NewNS(t, p+"-host"), state: t.TempDir()}
	t.Cleanup(func() { l.assertRootUntouched() })
	return l
}

// manager starts a Manager on the lab's host and sets up the node for
// podCIDR.
func (l *lab) manager(podCIDR string, mod func(*network.Config)) *network.Manager {
	l.t.Helper()
	cfg := network.Config{
		BridgeName: "skn0", StateDir: l.state, NetNSDir: nettest.NetNSDir,
		NetNSPrefix: filepath.Base(l.host) + "-", VethPrefix: "skn", HostNetNS: l.host,
		ClusterCIDR: "10.99.0.0/17", MasqueradeChain: "SKN-POSTROUTING",
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := network.New(zaptest.NewLogger(l.t), cfg)
	if err != nil {
		l.t.Fatalf("New: %v", err)
	}
	l.t.Cleanup(func() { m.Close() })
	if err := m.EnsureNode(context.Background(), podCIDR); err != nil {
		l.t.Fatalf("EnsureNode: %v", err)
	}
	// twice: it is idempotent
	if err := m.EnsureNode(context.Background(), podCIDR); err != nil {
		l.t.Fatalf("EnsureNode again: %v", err)
	}
	return m
}

func (l *lab) setUp(m *network.Manager, uid string) network.Result {
	l.t.Helper()
	r, err := m.SetUpPod(context.Background(), network.PodRef{UID: uid, Namespace: "default", Name: "pod-" + uid})
	if err != nil {
		l.t.Fatalf("SetUpPod(%s): %v", uid, err)
	}
	return r
}

// assertRootUntouched checks that no link, route or chain of the test
// reached the test process's own namespace.
func (l *lab) assertRootUntouched() {
	h, err := netlink.NewHandleAt(rootNS)
	if err != nil {
		l.t.Fatal(err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		l.t.Fatal(err)
	}
	for _, k := range links {
		if strings.HasPrefix(k.Attrs().Name, "skn") {
			l.t.Errorf("link %s in the root network namespace", k.Attrs().Name)
		}
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: network.RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
	if err != nil {
		l.t.Fatal(err)
	}
	if len(routes) > 0 {
		l.t.Errorf("routes of protocol %d in the root network namespace: %v", network.RouteProtocol, routes)
	}
}

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPodNetwork(t *testing.T) {
	l := newLab(t)
	m := l.manager("10.99.1.0/24", func(c *network.Config) {
		c.ServiceCIDR, c.ServiceBridgeName = "10.99.128.0/20", "sknsvc0"
	})
	a, b := l.setUp(m, "aaaa-1"), l.setUp(m, "bbbb-2")
	gw := net.IPv4(10, 99, 1, 1).To4()
	cidr := mustCIDR(t, "10.99.1.0/24")

	t.Run("addresses", func(t *testing.T) {
		for _, r := range []network.Result{a, b} {
			if !cidr.Contains(r.IP) || r.IP.Equal(gw) || r.IP.Equal(cidr.IP) || r.IP.Equal(net.IPv4(10, 99, 1, 255)) {
				t.Errorf("pod IP %s: want a host address of %s other than the gateway", r.IP, cidr)
			}
			if !nsutil.IsPinned(r.NetNSPath) {
				t.Errorf("netns %s is not pinned", r.NetNSPath)
			}
		}
		if a.IP.Equal(b.IP) {
			t.Fatalf("two pods got the same IP %s", a.IP)
		}
		nettest.WithHandle(t, a.NetNSPath, func(h *netlink.Handle) error {
			eth, err := h.LinkByName("eth0")
			if err != nil {
				return err
			}
			addrs, _ := h.AddrList(eth, netlink.FAMILY_V4)
			if len(addrs) != 1 || !addrs[0].IP.Equal(a.IP) || addrs[0].IPNet.Mask.String() != cidr.Mask.String() {
				t.Errorf("eth0 addresses %v, want %s/24", addrs, a.IP)
			}
			routes, _ := h.RouteList(eth, netlink.FAMILY_V4)
			var def bool
			for _, r := range routes {
				def = def || (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.Equal(gw)
			}
			if !def {
				t.Errorf("no default route via %s in the pod: %v", gw, routes)
			}
			lo, _ := h.LinkByName("lo")
			if lo.Attrs().Flags&net.FlagUp == 0 {
				t.Errorf("lo is down in the pod")
			}
			return nil
		})
	})

	t.Run("node", func(t *testing.T) {
		nettest.WithHandle(t, l.host, func(h *netlink.Handle) error {
			br, err := h.LinkByName("skn0")
			if err != nil {
				return err
			}
			addrs, _ := h.AddrList(br, netlink.FAMILY_V4)
			if len(addrs) != 1 || addrs[0].IPNet.String() != "10.99.1.1/24" {
				t.Errorf("bridge addresses %v, want 10.99.1.1/24", addrs)
			}
			if mac := br.Attrs().HardwareAddr.String(); mac != "0a:58:0a:63:01:01" {
				t.Errorf("bridge MAC %s, want 0a:58:0a:63:01:01 (fixed, from the gateway address)", mac)
			}
			links, _ := h.LinkList()
			var ports int
			for _, k := range links {
				if k.Attrs().MasterIndex != br.Attrs().Index {
					continue
				}
				ports++
				pi, err := h.LinkGetProtinfo(k)
				if err != nil {
					return err
				}
				if !pi.Hairpin {
					t.Errorf("bridge port %s: hairpin off", k.Attrs().Name)
				}
			}
			if ports != 2 {
				t.Errorf("bridge has %d ports, want 2", ports)
			}
			svc, err := h.LinkByName("sknsvc0")
			if err != nil {
				return err
			}
			routes, _ := h.RouteList(svc, netlink.FAMILY_V4)
			if len(routes) != 1 || routes[0].Dst.String() != "10.99.128.0/20" {
				t.Errorf("service bridge routes %v, want 10.99.128.0/20", routes)
			}
			return nil
		})
		if fwd := strings.TrimSpace(nettest.Run(t, l.host, "cat", "/proc/sys/net/ipv4/ip_forward")); fwd != "1" {
			t.Errorf("net.ipv4.ip_forward = %s, want 1", fwd)
		}
		rules := nettest.Run(t, l.host, "iptables", "-w", "-t", "nat", "-S", "SKN-POSTROUTING")
		if want := "-A SKN-POSTROUTING -s 10.99.1.0/24 ! -d 10.99.0.0/17"; strings.Count(rules, want) != 1 || !strings.Contains(rules, "MASQUERADE") {
			t.Errorf("nat SKN-POSTROUTING:\n%s\nwant one rule %q ... MASQUERADE", rules, want)
		}
		if post := nettest.Run(t, l.host, "iptables", "-w", "-t", "nat", "-S", "POSTROUTING"); strings.Count(post, "-j SKN-POSTROUTING") != 1 {
			t.Errorf("POSTROUTING should jump to SKN-POSTROUTING once:\n%s", post)
		}
	})

	t.Run("pod to pod and gateway", func(t *testing.T) {
		for _, c := range []struct {
			from string
			to   net.IP
		}{{a.NetNSPath, b.IP}, {b.NetNSPath, a.IP}, {a.NetNSPath, gw}, {b.NetNSPath, gw}} {
			if err := nettest.Ping(c.from, c.to); err != nil {
				t.Errorf("ping %s from %s: %v", c.to, c.from, err)
			}
		}
		if seen := nettest.SourceSeen(t, a.NetNSPath, b.NetNSPath, b.IP, "8080"); seen != a.IP.String() {
			t.Errorf("pod b saw the connection from %s, want pod a's IP %s (no NAT inside the node)", seen, a.IP)
		}
	})

	t.Run("hairpin through a service IP", func(t *testing.T) {
		// What kube-proxy would write for a Service 10.99.128.10:80 whose
		// only endpoint is pod a, with the hairpin masquerade.
		ep := net.JoinHostPort(a.IP.String(), "8081")
		nettest.Run(t, l.host, "iptables", "-w", "-t", "nat", "-A", "PREROUTING", "-d", "10.99.128.10", "-p", "tcp", "--dport", "80", "-j", "DNAT", "--to-destination", ep)
		nettest.Run(t, l.host, "iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", a.IP.String(), "-d", a.IP.String(), "-j", "MASQUERADE")
		nettest.Listen(t, a.NetNSPath, ":8081")
		if _, err := nettest.Dial(a.NetNSPath, "10.99.128.10:80"); err != nil {
			t.Fatalf("pod a through its own service IP: %v", err)
		}
	})
}

func TestPodNetworkIdempotentAcrossRestart(t *testing.T) {
	l := newLab(t)
	ctx := context.Background()
	m1 := l.manager("10.99.2.0/24", nil)
	a, b := l.setUp(m1, "aaaa-1"), l.setUp(m1, "bbbb-2")
	if again := l.setUp(m1, "aaaa-1"); !again.IP.Equal(a.IP) || again.NetNSPath != a.NetNSPath {
		t.Errorf("SetUpPod again = %v, want %v", again, a)
	}
	m1.Close()

	m2 := l.manager("10.99.2.0/24", nil) // the kubelet restarted
	pods := m2.Pods()
	if len(pods) != 2 || !pods["aaaa-1"].IP.Equal(a.IP) || !pods["bbbb-2"].IP.Equal(b.IP) {
		t.Fatalf("Pods() after restart = %v, want aaaa-1 %s and bbbb-2 %s", pods, a.IP, b.IP)
	}
	if again := l.setUp(m2, "bbbb-2"); !again.IP.Equal(b.IP) || again.NetNSPath != b.NetNSPath {
		t.Errorf("SetUpPod after restart = %v, want %v", again, b)
	}
	c := l.setUp(m2, "cccc-3")
	if c.IP.Equal(a.IP) || c.IP.Equal(b.IP) {
		t.Errorf("new pod got %s, already held by another pod", c.IP)
	}
	if err := nettest.Ping(c.NetNSPath, a.IP); err != nil {
		t.Errorf("new pod cannot reach an old one: %v", err)
	}

	if err := m2.TearDownPod(ctx, "aaaa-1"); err != nil {
		t.Fatalf("TearDownPod: %v", err)
	}
	if err := m2.TearDownPod(ctx, "aaaa-1"); err != nil {
		t.Errorf("TearDownPod again: %v", err)
	}
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("netns pin %s still there after teardown: %v", a.NetNSPath, err)
	}
	if _, ok := m2.Pods()["aaaa-1"]; ok {
		t.Errorf("Pods() still lists a torn down pod")
	}
	nettest.WithHandle(t, l.host, func(h *netlink.Handle) error {
		br, err := h.LinkByName("skn0")
		if err != nil {
			return err
		}
		links, _ := h.LinkList()
		var ports []string
		for _, k := range links {
			if k.Attrs().MasterIndex == br.Attrs().Index {
				ports = append(ports, k.Attrs().Name)
			}
		}
		if len(ports) != 2 {
			t.Errorf("bridge ports after teardown: %v, want the 2 pods left", ports)
		}
		return nil
	})
	if err := nettest.Ping(b.NetNSPath, a.IP); err == nil {
		t.Errorf("a torn down pod's IP %s still answers", a.IP)
	}
	m2.Close()
	if pods := l.manager("10.99.2.0/24", nil).Pods(); len(pods) != 2 {
		t.Errorf("after teardown and restart Pods() = %v, want 2 pods", pods)
	}
}

func TestPodIPExhaustion(t *testing.T) {
	l := newLab(t)
	m := l.manager("10.99.3.0/29", nil) // .2 to .6: 5 pods
	var got []network.Result
	for i := range 5 {
		got = append(got, l.setUp(m, fmt.Sprintf("pod-%d", i)))
	}
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.IP.String()] {
			t.Fatalf("IP %s given twice: %v", r.IP, got)
		}
		seen[r.IP.String()] = true
	}
	_, err := m.SetUpPod(context.Background(), network.PodRef{UID: "pod-5", Namespace: "default", Name: "sixth"})
	if !errors.Is(err, network.ErrNoFreeIP) || !strings.Contains(err.Error(), "10.99.3.0/29") || !strings.Contains(err.Error(), "default/sixth") {
		t.Fatalf("sixth pod in a /29: err = %v, want ErrNoFreeIP naming the pod and the podCIDR", err)
	}
	if _, statErr := os.Stat(filepath.Join(nettest.NetNSDir, filepath.Base(l.host)+"-pod-5")); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a failed SetUpPod left a netns pin: %v", statErr)
	}
	if err := m.TearDownPod(context.Background(), "pod-2"); err != nil {
		t.Fatal(err)
	}
	if r := l.setUp(m, "pod-5"); !r.IP.Equal(got[2].IP) {
		t.Errorf("after freeing %s the new pod got %s", got[2].IP, r.IP)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  network.Config
		want string
	}{
		{"long bridge name", network.Config{BridgeName: "a-very-long-bridge-name"}, "at most 15"},
		{"bad cluster CIDR", network.Config{ClusterCIDR: "10.0.0.0"}, "cluster CIDR"},
		{"ipv6 service CIDR", network.Config{ServiceCIDR: "fd00::/108"}, "only IPv4"},
		{"relative state dir", network.Config{StateDir: "state"}, "absolute"},
		{"tiny MTU", network.Config{MTU: 100}, "MTU 100"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := network.New(zaptest.NewLogger(t), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New(%+v) = %v, want an error with %q", c.cfg, err, c.want)
			}
		})
	}
}

// SetUpPod finishes a half set up pod (its veth gone; its namespace pin
// gone, as after a reboot empties /run) with the pod's recorded IP.
func TestPodNetworkRepairs(t *testing.T) {
	l := newLab(t)
	m := l.manager("10.99.4.0/24", nil)
	a, b := l.setUp(m, "aaaa-1"), l.setUp(m, "bbbb-2")
	for _, c := range []struct {
		name   string
		break_ func()
	}{
		{"veth deleted", func() {
			nettest.WithHandle(t, l.host, func(h *netlink.Handle) error {
				links, err := h.LinkList()
				for _, k := range links {
					if k.Type() == "veth" {
						if err := h.LinkDel(k); err != nil {
							return err
						}
					}
				}
				return err
			})
		}},
		{"namespace pin gone", func() {
			if err := nsutil.Unpin(a.NetNSPath); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.break_()
			again := l.setUp(m, "aaaa-1")
			if !again.IP.Equal(a.IP) || again.NetNSPath != a.NetNSPath || !nsutil.IsPinned(again.NetNSPath) {
				t.Fatalf("repaired pod: %v, want %v pinned", again, a)
			}
			b = l.setUp(m, "bbbb-2")
			if err := nettest.Ping(b.NetNSPath, a.IP); err != nil {
				t.Errorf("repaired pod unreachable (with the ARP caches of before): %v", err)
			}
		})
	}
}

// Pod workers set pods up concurrently: every pod gets its own IP.
func TestPodNetworkConcurrentSetUp(t *testing.T) {
	l := newLab(t)
	m := l.manager("10.99.5.0/28", nil) // 13 pod addresses
	const pods = 12
	ips := make(chan string, pods)
	errs := make(chan error, pods)
	for i := range pods {
		go func() {
			r, err := m.SetUpPod(context.Background(), network.PodRef{UID: fmt.Sprintf("pod-%02d", i), Namespace: "default", Name: fmt.Sprint(i)})
			if err != nil {
				errs <- err
				return
			}
			ips <- r.IP.String()
		}()
	}
	seen := map[string]bool{}
	for range pods {
		select {
		case err := <-errs:
			t.Fatalf("SetUpPod: %v", err)
		case ip := <-ips:
			if seen[ip] {
				t.Fatalf("IP %s given twice", ip)
			}
			seen[ip] = true
		}
	}
	if n := len(m.Pods()); n != pods {
		t.Errorf("Pods() has %d pods, want %d", n, pods)
	}
}

// A ClusterIP that kube-proxy has no rules for must not follow the node's
// default route out (DESIGN.md section 9): with ServiceCIDR set, it goes
// to the portless service bridge. The node's "outside" is a namespace the
// test makes, answering on every service IP; without ServiceCIDR the same
// connection reaches it, which shows the test can fail.
func TestServiceCIDRStaysOnTheNode(t *testing.T) {
	for _, c := range []struct {
		name        string
		serviceCIDR string
		leaks       bool
	}{
		{"without a service CIDR route the ClusterIP leaks", "", true},
		{"with a service CIDR route it goes nowhere", "10.99.128.0/20", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t)
			m := l.manager("10.99.6.0/24", func(cfg *network.Config) {
				cfg.ServiceCIDR, cfg.ServiceBridgeName = c.serviceCIDR, "sknsvc0"
			})
			out := nettest.NewNS(t, l.prefix+"-out")
			nettest.Bridge(t, out, "sknout")
			nettest.WithHandle(t, out, func(h *netlink.Handle) error {
				br, err := h.LinkByName("sknout")
				if err != nil {
					return err
				}
				if err := h.AddrAdd(br, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 97, 0, 2), Mask: net.CIDRMask(24, 32)}}); err != nil {
					return err
				}
				lo, err := h.LinkByName("lo")
				if err != nil {
					return err
				}
				// answer for every address of the service range
				return h.RouteAdd(&netlink.Route{LinkIndex: lo.Attrs().Index, Dst: mustCIDR(t, "10.99.128.0/20"),
					Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST})
			})
			nettest.Wire(t, out, "sknout", "sknw", l.host, "sknup", "10.97.0.1/24")
			nettest.WithHandle(t, l.host, func(h *netlink.Handle) error {
				return h.RouteAdd(&netlink.Route{Gw: net.IPv4(10, 97, 0, 2)}) // the node's default route
			})
			nettest.Listen(t, out, ":80")
			pod := l.setUp(m, "pod-1")
			_, err := nettest.Dial(pod.NetNSPath, "10.99.128.99:80")
			if c.leaks && err != nil {
				t.Fatalf("control: the ClusterIP did not reach the outside even without the service route: %v", err)
			}
			if !c.leaks && err == nil {
				t.Fatalf("a ClusterIP without rules left the node")
			}
		})
	}
}
