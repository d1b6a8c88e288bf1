package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"skiff.dev/kubelet/internal/nsutil"
)

// PodRef names a pod; UID keys everything this package keeps about it.
type PodRef struct {
	UID, Namespace, Name string
}

// Result is a pod's network: its namespace (for the sandbox container to
// join) and its IP.
type Result struct {
	NetNSPath string
	IP        net.IP
}

// PodInterface is the pod-side name of the pod's veth.
const PodInterface = "eth0"

// Manager sets up the node's pod network and each pod's. It is safe for
// concurrent use; operations are serialised.
type Manager struct {
	lg    *zap.Logger
	cfg   Config
	store store

	hostNS netns.NsHandle
	host   *netlink.Handle

	mu      sync.Mutex
	pods    map[string]podRecord // by UID, as in the state dir
	podCIDR *net.IPNet           // set by EnsureNode
	gw      net.IP
	bridge  int // bridge ifindex, set by EnsureNode
}

// New loads the pod records of cfg.StateDir and opens the node's network
// namespace. It changes nothing on the node: call EnsureNode next.
func New(lg *zap.Logger, cfg Config) (*Manager, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{lg: lg, cfg: cfg, store: store{dir: cfg.StateDir}}
	if err := m.store.init(); err != nil {
		return nil, err
	}
	recs, err := m.store.load()
	if err != nil {
		return nil, err
	}
	m.pods = recs
	if err := nsutil.EnsureSharedDir(cfg.NetNSDir); err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	if cfg.HostNetNS != "" {
		m.hostNS, err = netns.GetFromPath(cfg.HostNetNS)
	} else {
		m.hostNS, err = netns.Get()
	}
	if err != nil {
		return nil, fmt.Errorf("network: open the node's network namespace: %w", err)
	}
	if m.host, err = netlink.NewHandleAt(m.hostNS); err != nil {
		m.hostNS.Close()
		return nil, fmt.Errorf("network: netlink in the node's network namespace: %w", err)
	}
	return m, nil
}

// Close releases the netlink sockets; it leaves the network as it is.
func (m *Manager) Close() error {
	m.host.Close()
	return m.hostNS.Close()
}

// EnsureNode sets up the node for pods of podCIDR: the bridge, up, holding
// the gateway (the first address of podCIDR); net.ipv4.ip_forward=1; the
// masquerade and forward rules; and the service CIDR's portless bridge.
// It is idempotent.
func (m *Manager) EnsureNode(ctx context.Context, podCIDR string) error {
	cidr, err := parseIPv4CIDR(podCIDR)
	if err != nil {
		return fmt.Errorf("network: podCIDR: %w", err)
	}
	gw := gateway(cidr)
	ones, _ := cidr.Mask.Size()
	m.mu.Lock()
	defer m.mu.Unlock()
	br, err := m.ensureBridge(m.cfg.BridgeName, &net.IPNet{IP: gw, Mask: cidr.Mask})
	if err != nil {
		return err
	}
	if err := nsutil.Do(m.hostNS, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
	}); err != nil {
		return fmt.Errorf("network: set net.ipv4.ip_forward=1: %w", err)
	}
	cluster := m.cfg.ClusterCIDR
	if cluster == "" {
		cluster = cidr.String()
	}
	if err := m.ensureRules(ctx, cidr.String(), cluster); err != nil {
		return err
	}
	if m.cfg.ServiceCIDR != "" {
		if err := m.ensureServiceRoute(); err != nil {
			return err
		}
	}
	m.podCIDR, m.gw, m.bridge = cidr, gw, br.Attrs().Index
	for _, r := range m.pods {
		if !cidr.Contains(net.ParseIP(r.IP)) {
			m.lg.Warn("pod has an IP outside the node's podCIDR: it has no gateway any more; delete the pod so it is made again",
				zap.String("pod", r.Namespace+"/"+r.Name), zap.String("ip", r.IP), zap.String("podCIDR", cidr.String()))
		}
	}
	m.lg.Info("node network ready", zap.String("podCIDR", cidr.String()), zap.String("gateway", fmt.Sprintf("%s/%d", gw, ones)),
		zap.String("bridge", m.cfg.BridgeName))
	return nil
}

// ensureBridge makes the bridge name exist, up, with addr as its only IPv4
// address (nil: none).
func (m *Manager) ensureBridge(name string, addr *net.IPNet) (netlink.Link, error) {
	br, err := m.host.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		if err := m.host.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: m.cfg.MTU}}); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("network: create bridge %s: %w", name, err)
		}
		br, err = m.host.LinkByName(name)
	}
	if err != nil {
		return nil, fmt.Errorf("network: find bridge %s: %w", name, err)
	}
	if br.Type() != "bridge" {
		return nil, fmt.Errorf("network: %s is a %s, not a bridge: remove it or choose another bridge name", name, br.Type())
	}
	addrs, err := m.host.AddrList(br, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("network: list addresses of %s: %w", name, err)
	}
	have := false
	for _, a := range addrs {
		if addr != nil && a.IPNet.String() == addr.String() {
			have = true
			continue
		}
		if err := m.host.AddrDel(br, &a); err != nil {
			return nil, fmt.Errorf("network: remove old address %s of %s: %w", a.IPNet, name, err)
		}
	}
	if addr != nil && !have {
		if err := m.host.AddrAdd(br, &netlink.Addr{IPNet: addr}); err != nil {
			return nil, fmt.Errorf("network: add %s to %s: %w", addr, name, err)
		}
	}
	if addr != nil {
		// A bridge takes the lowest MAC of its ports unless it has one set:
		// without this the gateway's MAC would change as pods come and go,
		// and the pods' ARP caches would point at a MAC that is gone.
		if mac := ipMAC(addr.IP); br.Attrs().HardwareAddr.String() != mac.String() {
			if err := m.host.LinkSetHardwareAddr(br, mac); err != nil {
				return nil, fmt.Errorf("network: set the MAC of %s: %w", name, err)
			}
		}
	}
	if err := m.host.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("network: set %s up: %w", name, err)
	}
	return br, nil
}

// ipMAC is the MAC of an interface holding ip: 0a:58 and the address, as
// the CNI bridge plugin makes them, so an address keeps its MAC when its
// pod's network is made again and neighbours' ARP caches stay right.
func ipMAC(ip net.IP) net.HardwareAddr {
	v4 := ip.To4()
	return net.HardwareAddr{0x0a, 0x58, v4[0], v4[1], v4[2], v4[3]}
}

// ensureServiceRoute routes the service CIDR to a bridge with no ports:
// kube-proxy's DNAT happens before routing, so a ClusterIP with rules goes
// to its pod, and one without goes nowhere rather than out of the node.
func (m *Manager) ensureServiceRoute() error {
	svc, _ := parseIPv4CIDR(m.cfg.ServiceCIDR) // validated in New
	br, err := m.ensureBridge(m.cfg.ServiceBridgeName, nil)
	if err != nil {
		return err
	}
	r := &netlink.Route{LinkIndex: br.Attrs().Index, Dst: svc, Scope: netlink.SCOPE_LINK, Protocol: RouteProtocol}
	if err := m.host.RouteReplace(r); err != nil {
		return fmt.Errorf("network: route service CIDR %s to %s: %w", svc, m.cfg.ServiceBridgeName, err)
	}
	return nil
}

var uidRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// hostVethName is the node-side veth of pod uid: the prefix and 8 hex
// digits of the UID's SHA-256, stable across restarts.
func (m *Manager) hostVethName(uid string) string {
	sum := sha256.Sum256([]byte(uid))
	return m.cfg.VethPrefix + hex.EncodeToString(sum[:4])
}

func result(r podRecord) Result {
	return Result{NetNSPath: r.NetNS, IP: net.ParseIP(r.IP).To4()}
}

// SetUpPod gives the pod a network namespace, pinned under the netns dir,
// with lo up and eth0 holding an IP of the podCIDR and a default route via
// the gateway; eth0's peer is in the bridge with hairpin on. When the pod
// is already set up it returns its namespace and IP as they are; when it
// is half set up (an earlier failure, a reboot that emptied /run) it
// finishes the job with the pod's recorded IP.
func (m *Manager) SetUpPod(ctx context.Context, pod PodRef) (Result, error) {
	if !uidRE.MatchString(pod.UID) {
		return Result{}, fmt.Errorf("network: pod %s/%s: uid %q is not a valid pod UID", pod.Namespace, pod.Name, pod.UID)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.podCIDR == nil {
		return Result{}, errors.New("network: the node's network is not set up: call EnsureNode first")
	}
	rec, known := m.pods[pod.UID]
	if known && m.complete(rec) {
		return result(rec), nil
	}
	if !known {
		used := make(map[string]bool, len(m.pods))
		for _, r := range m.pods {
			used[r.IP] = true
		}
		ip, err := allocate(m.podCIDR, used, m.store.lastReserved())
		if err != nil {
			return Result{}, fmt.Errorf("network: pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		rec = podRecord{UID: pod.UID, Namespace: pod.Namespace, Name: pod.Name, NetNS: m.pinPath(pod.UID),
			IP: ip.String(), HostVeth: m.hostVethName(pod.UID)}
		if err := m.store.save(rec); err != nil {
			return Result{}, err
		}
		m.pods[pod.UID] = rec
		if err := m.store.setLastReserved(ip); err != nil {
			m.lg.Warn("could not record the last reserved IP", zap.Error(err))
		}
	}
	if err := m.setUp(rec); err != nil {
		if !known { // give back what this call took
			if terr := m.tearDown(rec); terr != nil {
				m.lg.Warn("could not undo a failed pod network setup", zap.String("pod", pod.Namespace+"/"+pod.Name), zap.Error(terr))
			}
		}
		return Result{}, fmt.Errorf("network: set up pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	m.lg.Info("pod network set up", zap.String("pod", pod.Namespace+"/"+pod.Name), zap.String("uid", pod.UID),
		zap.String("ip", rec.IP), zap.String("netns", rec.NetNS))
	return result(rec), nil
}

// complete says whether everything SetUpPod makes for rec exists: the
// pinned namespace, the host veth in the bridge, eth0 with the pod's IP.
func (m *Manager) complete(rec podRecord) bool {
	if !nsutil.IsPinned(rec.NetNS) {
		return false
	}
	l, err := m.host.LinkByName(rec.HostVeth)
	if err != nil || l.Attrs().MasterIndex != m.bridge || l.Attrs().OperState == netlink.OperDown {
		return false
	}
	ok := false
	_ = m.inPod(rec, func(h *netlink.Handle) error {
		eth, err := h.LinkByName(PodInterface)
		if err != nil {
			return err
		}
		addrs, err := h.AddrList(eth, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			ok = ok || a.IP.String() == rec.IP
		}
		return nil
	})
	return ok
}

// inPod runs fn with a netlink handle in the pod's namespace.
func (m *Manager) inPod(rec podRecord, fn func(h *netlink.Handle) error) error {
	ns, err := netns.GetFromPath(rec.NetNS)
	if err != nil {
		return fmt.Errorf("open pod network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in pod network namespace: %w", err)
	}
	defer h.Close()
	return fn(h)
}

func (m *Manager) setUp(rec podRecord) error {
	if !nsutil.IsPinned(rec.NetNS) {
		if err := nsutil.Unpin(rec.NetNS); err != nil {
			return err
		}
		if err := nsutil.Pin(rec.NetNS); err != nil {
			return err
		}
	}
	// A leftover host veth (its pod end may be gone) is recreated.
	if old, err := m.host.LinkByName(rec.HostVeth); err == nil {
		if err := m.host.LinkDel(old); err != nil {
			return fmt.Errorf("remove stale veth %s: %w", rec.HostVeth, err)
		}
	}
	ns, err := netns.GetFromPath(rec.NetNS)
	if err != nil {
		return fmt.Errorf("open pod network namespace: %w", err)
	}
	defer ns.Close()
	ip := net.ParseIP(rec.IP).To4()
	return m.inPod(rec, func(h *netlink.Handle) error {
		if old, err := h.LinkByName(PodInterface); err == nil {
			if err := h.LinkDel(old); err != nil {
				return fmt.Errorf("remove stale %s: %w", PodInterface, err)
			}
		}
		veth := &netlink.Veth{
			LinkAttrs: netlink.LinkAttrs{Name: rec.HostVeth, MTU: m.cfg.MTU},
			PeerName:  PodInterface, PeerNamespace: netlink.NsFd(int(ns)), PeerMTU: uint32(m.cfg.MTU), PeerHardwareAddr: ipMAC(ip),
		}
		if err := m.host.LinkAdd(veth); err != nil {
			return fmt.Errorf("create veth %s: %w", rec.HostVeth, err)
		}
		hv, err := m.host.LinkByName(rec.HostVeth)
		if err != nil {
			return fmt.Errorf("find veth %s: %w", rec.HostVeth, err)
		}
		if err := m.host.LinkSetMasterByIndex(hv, m.bridge); err != nil {
			return fmt.Errorf("add veth %s to bridge %s: %w", rec.HostVeth, m.cfg.BridgeName, err)
		}
		if err := m.host.LinkSetHairpin(hv, !m.cfg.HairpinOff); err != nil {
			return fmt.Errorf("set hairpin on %s: %w", rec.HostVeth, err)
		}
		if err := m.host.LinkSetUp(hv); err != nil {
			return fmt.Errorf("set %s up: %w", rec.HostVeth, err)
		}
		lo, err := h.LinkByName("lo")
		if err == nil {
			err = h.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
		eth, err := h.LinkByName(PodInterface)
		if err != nil {
			return fmt.Errorf("find %s: %w", PodInterface, err)
		}
		if err := h.AddrAdd(eth, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: m.podCIDR.Mask}}); err != nil {
			return fmt.Errorf("add %s to %s: %w", ip, PodInterface, err)
		}
		if err := h.LinkSetUp(eth); err != nil {
			return fmt.Errorf("set %s up: %w", PodInterface, err)
		}
		if err := h.RouteReplace(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: m.gw}); err != nil {
			return fmt.Errorf("default route via %s: %w", m.gw, err)
		}
		return nil
	})
}

// TearDownPod removes the pod's veth and namespace pin and releases its
// IP. Tearing down a pod that is not set up (any more) is not an error.
func (m *Manager) TearDownPod(ctx context.Context, uid string) error {
	if !uidRE.MatchString(uid) {
		return fmt.Errorf("network: uid %q is not a valid pod UID", uid)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.pods[uid]
	if !ok { // nothing recorded: still remove what the names say
		rec = podRecord{UID: uid, NetNS: m.pinPath(uid), HostVeth: m.hostVethName(uid)}
	}
	if err := m.tearDown(rec); err != nil {
		return fmt.Errorf("network: tear down pod %s: %w", uid, err)
	}
	if ok {
		m.lg.Info("pod network torn down", zap.String("pod", rec.Namespace+"/"+rec.Name), zap.String("uid", uid), zap.String("ip", rec.IP))
	}
	return nil
}

func (m *Manager) tearDown(rec podRecord) error {
	if l, err := m.host.LinkByName(rec.HostVeth); err == nil {
		if err := m.host.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("remove veth %s: %w", rec.HostVeth, err)
		}
	}
	if err := nsutil.Unpin(rec.NetNS); err != nil {
		return err
	}
	if err := m.store.remove(rec.UID); err != nil {
		return err
	}
	delete(m.pods, rec.UID)
	return nil
}

// Pods lists the pods that have a network here, by UID, from the state dir
// (so also after a restart), for the kubelet to garbage collect the ones
// it no longer runs.
func (m *Manager) Pods() map[string]Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Result, len(m.pods))
	for uid, r := range m.pods {
		out[uid] = result(r)
	}
	return out
}

// PodCIDR is the podCIDR of the last EnsureNode, or "" before it.
func (m *Manager) PodCIDR() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.podCIDR == nil {
		return ""
	}
	return m.podCIDR.String()
}

// pinPath is where the namespace of pod uid is pinned.
func (m *Manager) pinPath(uid string) string {
	return filepath.Join(m.cfg.NetNSDir, m.cfg.NetNSPrefix+uid)
}
