package nodestatus

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"skiff.dev/kubelet/internal/nettest"
	corev1 "skiff.dev/proto/core/v1"
)

func TestThreshold(t *testing.T) {
	for _, c := range []struct {
		in               string
		avail, total     int64
		below            bool
		amount           int64
		wantErrSubstring string
	}{
		{in: "100Mi", avail: 99 << 20, total: 1 << 30, below: true, amount: 100 << 20},
		{in: "100Mi", avail: 101 << 20, total: 1 << 30, below: false, amount: 100 << 20},
		{in: "10%", avail: 9, total: 100, below: true, amount: 10},
		{in: "10%", avail: 10, total: 100, below: false, amount: 10},
		{in: "", avail: 0, total: 100, below: false, amount: 0},
		{in: "0%", wantErrSubstring: "percentage"},
		{in: "lots", wantErrSubstring: "quantity"},
	} {
		th, err := parseThreshold(c.in)
		if c.wantErrSubstring != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErrSubstring) {
				t.Errorf("parseThreshold(%q) = %v, want an error with %q", c.in, err, c.wantErrSubstring)
			}
			continue
		}
		if err != nil {
			t.Fatalf("parseThreshold(%q): %v", c.in, err)
		}
		if got := th.below(c.avail, c.total); got != c.below {
			t.Errorf("%q.below(%d, %d) = %v, want %v", c.in, c.avail, c.total, got, c.below)
		}
		if got := th.amount(c.total); got != c.amount {
			t.Errorf("%q.amount(%d) = %d, want %d", c.in, c.total, got, c.amount)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no name", Config{}, "node name: required"},
		{"bad ip", Config{NodeName: "n", NodeIP: "10.0.0"}, `node IP "10.0.0"`},
		{"bad cidr", Config{NodeName: "n", PodCIDR: "10.0.0.0/33"}, "pod CIDR"},
		{"bad reserved", Config{NodeName: "n", SystemReserved: map[string]string{"memory": "1 gig"}}, "system reserved: memory"},
		{"bad threshold", Config{NodeName: "n", DiskThreshold: "200%"}, "disk threshold"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.setDefaults()
			if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Validate() = %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestMergeConditionsKeepsTransitionTimes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first := mergeConditions(nil, []condition{{"Ready", false, "KubeletNotReady", "runtime down"}, {"MemoryPressure", false, "a", "b"}}, t0)
	first = append(first, &corev1.NodeCondition{Type: "NetworkUnavailable", Status: "False"})
	t1 := t0.Add(time.Minute)
	second := mergeConditions(first, []condition{{"Ready", true, "KubeletReady", "kubelet is posting ready status"}, {"MemoryPressure", false, "a", "b"}}, t1)
	by := map[string]*corev1.NodeCondition{}
	for _, c := range second {
		by[c.GetType()] = c
	}
	if len(second) != 3 || by["NetworkUnavailable"] == nil {
		t.Fatalf("conditions %v: want Ready, MemoryPressure and the foreign NetworkUnavailable", second)
	}
	if r := by["Ready"]; !r.GetLastTransitionTime().AsTime().Equal(t1) || r.GetStatus() != "True" {
		t.Errorf("Ready turned True: transition %v, want %v", r.GetLastTransitionTime().AsTime(), t1)
	}
	if m := by["MemoryPressure"]; !m.GetLastTransitionTime().AsTime().Equal(t0) || !m.GetLastHeartbeatTime().AsTime().Equal(t1) {
		t.Errorf("MemoryPressure unchanged: transition %v (want %v), heartbeat %v (want %v)",
			m.GetLastTransitionTime().AsTime(), t0, m.GetLastHeartbeatTime().AsTime(), t1)
	}
}

// The node IP comes from the default route's interface; the test builds
// one in a namespace of its own.
func TestDefaultRouteIP(t *testing.T) {
	ns := nettest.NewNS(t, nettest.Prefix(t)+"-node")
	nettest.WithHandle(t, ns, func(h *netlink.Handle) error {
		if _, err := defaultRouteIP(h); err == nil || !strings.Contains(err.Error(), "--node-ip") {
			t.Errorf("no default route: err = %v, want a hint at --node-ip", err)
		}
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "sknuplink"}}); err != nil {
			return err
		}
		br, _ := h.LinkByName("sknuplink")
		if err := h.AddrAdd(br, &netlink.Addr{IPNet: &net.IPNet{IP: net.IPv4(10, 98, 0, 5), Mask: net.CIDRMask(24, 32)}}); err != nil {
			return err
		}
		if err := h.LinkSetUp(br); err != nil {
			return err
		}
		if err := h.RouteAdd(&netlink.Route{Gw: net.IPv4(10, 98, 0, 1), LinkIndex: br.Attrs().Index}); err != nil {
			return err
		}
		ip, err := defaultRouteIP(h)
		if err != nil || !ip.Equal(net.IPv4(10, 98, 0, 5)) {
			t.Errorf("defaultRouteIP = %v, %v; want 10.98.0.5", ip, err)
		}
		return nil
	})
}

func TestParseResourceList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", map[string]string{}, ""},
		{"cpu=100m, memory=100Mi", map[string]string{"cpu": "100m", "memory": "100Mi"}, ""},
		{"ephemeral-storage=1Gi", map[string]string{"ephemeral-storage": "1Gi"}, ""},
		{"cpu", nil, "name=quantity"},
		{"gpu=1", nil, `unknown resource "gpu"`},
		{"memory=lots", nil, "memory=lots"},
		{"cpu=1,cpu=2", nil, "cpu given twice"},
	} {
		got, err := ParseResourceList(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseResourceList(%q) = %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("ParseResourceList(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
