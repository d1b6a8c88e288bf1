// Package nodestatus is the kubelet's side of its Node object, as
// Kubernetes' kubelet_node_status.go and nodelease do it: it registers the
// Node (addresses, capacity, allocatable, nodeInfo, labels), registers it
// again if it is deleted, renews the Lease kube-node-lease/<node> every
// 10 s, and keeps the conditions Ready, MemoryPressure, DiskPressure and
// PIDPressure with Kubernetes' reasons and messages.
//
// Heartbeats: the Lease is the liveness signal (what the node lifecycle
// controller watches). The status is computed every StatusUpdateFrequency
// (10 s) and written when something in it changed, and otherwise every
// StatusReportFrequency (5 m) with only lastHeartbeatTime moving, as
// Kubernetes does with node leases on (--node-status-report-frequency).
package nodestatus

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"skiff.dev/proto/resource"
)

// Defaults of Config, Kubernetes' own.
const (
	DefaultMaxPods               = 110
	DefaultKubeletPort           = 10250
	DefaultLeaseDuration         = 40 * time.Second
	DefaultLeaseRenewInterval    = 10 * time.Second
	DefaultStatusUpdateFrequency = 10 * time.Second
	DefaultStatusReportFrequency = 5 * time.Minute
	DefaultMemoryThreshold       = "100Mi"
	DefaultDiskThreshold         = "10%"
	// LeaseNamespace holds the nodes' Leases.
	LeaseNamespace = "kube-node-lease"
)

// Config configures an Agent.
type Config struct {
	// NodeName is the Node's name (--hostname-override); required.
	NodeName string
	// NodeIP is the InternalIP (--node-ip); empty is the first IPv4
	// address of the interface of the default route.
	NodeIP string
	// Hostname is the Hostname address; empty is NodeName.
	Hostname string
	// PodCIDR (--pod-cidr) is the podCIDR for a node without the
	// controller-manager's node IPAM: PodCIDR returns it at once, and a
	// newly registered Node gets it in spec.podCIDR.
	PodCIDR string
	// SystemReserved and KubeReserved (--system-reserved,
	// --kube-reserved: cpu=100m,memory=100Mi) are taken off capacity to
	// make allocatable.
	SystemReserved, KubeReserved map[string]string
	// MaxPods is capacity "pods"; 0 is DefaultMaxPods.
	MaxPods int
	// KubeletPort is status.daemonEndpoints.kubeletEndpoint.Port; 0 is
	// DefaultKubeletPort.
	KubeletPort int
	// ContainerRuntimeVersion ("containerd://1.6.20") and KubeletVersion
	// ("v1.32.3+skiff-v0.1.0": the Kubernetes version Skiff is compatible
	// with and its own release, as the apiserver's /version) go into
	// nodeInfo.
	ContainerRuntimeVersion, KubeletVersion string
	// Labels are added to the well-known kubernetes.io/hostname, /os and
	// /arch labels.
	Labels map[string]string
	// RootDir is the filesystem whose free space decides DiskPressure;
	// empty is "/".
	RootDir string
	// Eviction-like thresholds: a condition turns True when what is
	// available falls below its threshold, a quantity ("100Mi", "1000")
	// or a percentage of the total ("10%"). Empty memory and disk
	// thresholds are DefaultMemoryThreshold and DefaultDiskThreshold;
	// an empty PID threshold never reports PIDPressure.
	MemoryThreshold, DiskThreshold, PIDThreshold string
	// ReadyCheck says why the node is not ready (runtime down, network not
	// set up) or nil; nil ReadyCheck is always ready.
	ReadyCheck func() error

	LeaseDuration         time.Duration // 0: DefaultLeaseDuration
	LeaseRenewInterval    time.Duration // 0: DefaultLeaseRenewInterval
	StatusUpdateFrequency time.Duration // 0: DefaultStatusUpdateFrequency
	StatusReportFrequency time.Duration // 0: DefaultStatusReportFrequency

	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Hostname == "" {
		c.Hostname = c.NodeName
	}
	if c.MaxPods == 0 {
		c.MaxPods = DefaultMaxPods
	}
	if c.KubeletPort == 0 {
		c.KubeletPort = DefaultKubeletPort
	}
	if c.RootDir == "" {
		c.RootDir = "/"
	}
	if c.MemoryThreshold == "" {
		c.MemoryThreshold = DefaultMemoryThreshold
	}
	if c.DiskThreshold == "" {
		c.DiskThreshold = DefaultDiskThreshold
	}
	durations := []struct {
		d   *time.Duration
		def time.Duration
	}{{&c.LeaseDuration, DefaultLeaseDuration}, {&c.LeaseRenewInterval, DefaultLeaseRenewInterval},
		{&c.StatusUpdateFrequency, DefaultStatusUpdateFrequency}, {&c.StatusReportFrequency, DefaultStatusReportFrequency}}
	for _, d := range durations {
		if *d.d == 0 {
			*d.d = d.def
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate says what is wrong with a defaulted Config.
func (c *Config) Validate() error {
	if c.NodeName == "" {
		return fmt.Errorf("nodestatus: node name: required")
	}
	if c.NodeIP != "" && net.ParseIP(c.NodeIP) == nil {
		return fmt.Errorf("nodestatus: node IP %q: not an IP address", c.NodeIP)
	}
	if c.PodCIDR != "" {
		if _, _, err := net.ParseCIDR(c.PodCIDR); err != nil {
			return fmt.Errorf("nodestatus: pod CIDR %q: %w", c.PodCIDR, err)
		}
	}
	for _, r := range []struct {
		flag string
		m    map[string]string
	}{{"system reserved", c.SystemReserved}, {"kube reserved", c.KubeReserved}} {
		if _, err := resource.ParseList(r.m); err != nil {
			return fmt.Errorf("nodestatus: %s: %w", r.flag, err)
		}
	}
	for _, th := range []struct{ flag, v string }{{"memory threshold", c.MemoryThreshold}, {"disk threshold", c.DiskThreshold}, {"PID threshold", c.PIDThreshold}} {
		if _, err := parseThreshold(th.v); err != nil {
			return fmt.Errorf("nodestatus: %s: %w", th.flag, err)
		}
	}
	if c.MaxPods < 0 {
		return fmt.Errorf("nodestatus: max pods %d: must be >= 0", c.MaxPods)
	}
	return nil
}

// threshold is a minimum available amount: absolute, or a fraction of the
// total.
type threshold struct {
	set     bool
	percent float64 // when > 0
	value   int64
}

func parseThreshold(s string) (threshold, error) {
	if s == "" {
		return threshold{}, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || f <= 0 || f > 100 {
			return threshold{}, fmt.Errorf("%q: want a percentage between 0 and 100 (e.g. 10%%)", s)
		}
		return threshold{set: true, percent: f}, nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return threshold{}, fmt.Errorf("%q: want a quantity (100Mi) or a percentage (10%%): %w", s, err)
	}
	return threshold{set: true, value: q.Value()}, nil
}

// below says whether available is under the threshold, given total.
func (t threshold) below(available, total int64) bool {
	if !t.set {
		return false
	}
	if t.percent > 0 {
		return float64(available) < float64(total)*t.percent/100
	}
	return available < t.value
}

// amount is the threshold in units of total.
func (t threshold) amount(total int64) int64 {
	if !t.set {
		return 0
	}
	if t.percent > 0 {
		return int64(float64(total) * t.percent / 100)
	}
	return t.value
}

// ParseResourceList reads a --system-reserved/--kube-reserved value,
// "cpu=100m,memory=100Mi,ephemeral-storage=1Gi", checking each quantity.
func ParseResourceList(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: want name=quantity pairs separated by commas, e.g. cpu=100m,memory=100Mi", s)
		}
		switch k {
		case resource.CPU, resource.Memory, resource.EphemeralStorage, resource.Pods:
		default:
			return nil, fmt.Errorf("%q: unknown resource %q (cpu, memory, ephemeral-storage or pods)", s, k)
		}
		if _, err := resource.ParseQuantity(v); err != nil {
			return nil, fmt.Errorf("%s=%s: %w", k, v, err)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%q: %s given twice", s, k)
		}
		out[k] = v
	}
	return out, nil
}
