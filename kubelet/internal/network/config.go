// Package network wires pods into the node's network, the way Kubernetes'
// kubenet (the CNI bridge and host-local IPAM plugins) does: a Linux bridge
// holding the first address of the node's podCIDR as the pods' gateway, one
// network namespace per pod pinned by a bind mount under /run/netns, a veth
// pair per pod (one end in the bridge with hairpin on, the other as eth0 in
// the pod), an IP per pod from the podCIDR persisted on disk, IP forwarding,
// masquerade for traffic leaving the cluster CIDR, host-gw routes to the
// other nodes' podCIDRs, and a route sending the service CIDR to a portless
// bridge so a ClusterIP without kube-proxy rules never leaves the node.
//
// Every operation goes through netlink sockets opened in the node's network
// namespace (Config.HostNetNS) or in the pod's, never through the calling
// thread's namespace, so a Manager can run against a namespace other than
// the process's own (the tests run it inside namespaces they create).
package network

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// Defaults of Config.
const (
	DefaultBridgeName        = "skiff0"
	DefaultServiceBridgeName = "skiff-svc0"
	DefaultNetNSDir          = "/run/netns"
	DefaultNetNSPrefix       = "skiff-"
	DefaultVethPrefix        = "veth"
	DefaultStateDir          = "/var/lib/skiff-kubelet/network"
	DefaultMTU               = 1500
	// DefaultChain is the nat chain of the masquerade rule, jumped to from
	// POSTROUTING.
	DefaultChain = "SKIFF-POSTROUTING"
	// RouteProtocol marks the host-gw routes this package owns (the
	// rtm_protocol of the route, shown by `ip route` as "proto 87"), so
	// that it replaces and removes only its own routes.
	RouteProtocol = 87
)

// Config configures a Manager.
type Config struct {
	// BridgeName is the pods' bridge; empty is DefaultBridgeName.
	BridgeName string
	// StateDir persists IP allocations and pod records; empty is
	// DefaultStateDir.
	StateDir string
	// NetNSDir is where pod network namespaces are pinned; empty is
	// DefaultNetNSDir.
	NetNSDir string
	// NetNSPrefix and VethPrefix start the names of the pods' namespace
	// pins (prefix + pod UID) and host-side veths (prefix + 8 hex digits
	// of the UID's hash); empty are DefaultNetNSPrefix and DefaultVethPrefix.
	NetNSPrefix string
	VethPrefix  string
	// ClusterCIDR is the whole cluster's pod network: pod traffic to
	// anything outside it is masqueraded. Empty masquerades traffic leaving
	// the node's podCIDR.
	ClusterCIDR string
	// ServiceCIDR (--service-cluster-ip-range), when set, is routed to
	// ServiceBridgeName, a bridge with no ports, so a ClusterIP that
	// kube-proxy has no rules for goes nowhere instead of out of the node.
	ServiceCIDR       string
	ServiceBridgeName string
	// MTU of the bridge and the veths; 0 is DefaultMTU.
	MTU int
	// HairpinOff turns hairpin mode off on the pods' bridge ports (it is on
	// by default so a pod reaches itself through its Service).
	HairpinOff bool
	// MasqueradeChain is the nat chain of the masquerade rule; empty is
	// DefaultChain.
	MasqueradeChain string
	// HostNetNS is the path of the node's network namespace
	// (/proc/1/ns/net, /run/netns/NAME); empty is the namespace of the
	// thread calling New.
	HostNetNS string
	// NodeName is this node's name: host-gw routes skip it.
	NodeName string
}

func (c *Config) setDefaults() {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&c.BridgeName, DefaultBridgeName)
	def(&c.ServiceBridgeName, DefaultServiceBridgeName)
	def(&c.StateDir, DefaultStateDir)
	def(&c.NetNSDir, DefaultNetNSDir)
	def(&c.NetNSPrefix, DefaultNetNSPrefix)
	def(&c.VethPrefix, DefaultVethPrefix)
	def(&c.MasqueradeChain, DefaultChain)
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
}

// Validate says what is wrong with a defaulted Config.
func (c *Config) Validate() error {
	for _, n := range []struct{ flag, name string }{{"bridge name", c.BridgeName}, {"service bridge name", c.ServiceBridgeName}} {
		if len(n.name) > 15 || strings.ContainsAny(n.name, "/ ") {
			return fmt.Errorf("network: %s %q: must be a valid interface name of at most 15 characters", n.flag, n.name)
		}
	}
	if len(c.VethPrefix) > 7 {
		return fmt.Errorf("network: veth prefix %q: at most 7 characters (interface names have 15)", c.VethPrefix)
	}
	if c.MTU < 576 || c.MTU > 65535 {
		return fmt.Errorf("network: MTU %d: must be between 576 and 65535", c.MTU)
	}
	for _, cidr := range []struct{ flag, v string }{{"cluster CIDR", c.ClusterCIDR}, {"service CIDR", c.ServiceCIDR}} {
		if cidr.v == "" {
			continue
		}
		if _, err := parseIPv4CIDR(cidr.v); err != nil {
			return fmt.Errorf("network: %s: %w", cidr.flag, err)
		}
	}
	if !filepath.IsAbs(c.NetNSDir) || !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("network: netns dir %q and state dir %q must be absolute paths", c.NetNSDir, c.StateDir)
	}
	if c.HostNetNS != "" {
		if _, err := os.Stat(c.HostNetNS); err != nil {
			return fmt.Errorf("network: host network namespace: %w", err)
		}
	}
	return nil
}

// parseIPv4CIDR parses an IPv4 CIDR (only IPv4 pod networks are supported)
// and returns its network.
func parseIPv4CIDR(s string) (*net.IPNet, error) {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a CIDR (want e.g. 10.244.1.0/24): %w", s, err)
	}
	if n.IP.To4() == nil {
		return nil, fmt.Errorf("%q: only IPv4 CIDRs are supported", s)
	}
	n.IP = n.IP.To4()
	return n, nil
}
