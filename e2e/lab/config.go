// Package lab builds a small data centre on one machine out of network
// namespaces: a lab namespace holding a bridge, and one namespace per host
// (masters m1..mM, nodes n1..nN, the load balancer lb and the image
// registry reg), each with a veth into the bridge and an address of the lab
// subnet. The subnet exists only inside those namespaces and none of them
// has a route out, so no lab traffic can leave the machine. The daemons of
// each host run inside its namespace (entered with nsenter --net, never
// `ip netns exec`), with logs and PIDs in the state directory, so that
// Down removes exactly what Up made.
package lab

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// Defaults of Config.
const (
	DefaultPrefix = "skl"
	// DefaultSubnet is the lab's network. It exists only on the veths of
	// the lab's namespaces, which have no route anywhere else.
	DefaultSubnet = "10.77.0.0/24"
	// APIServerPort is where every apiserver and the load balancer listen.
	APIServerPort = 6443
	// RegistryPort is where the registry host serves the OCI distribution API.
	RegistryPort = 5000
)

// Role is what a host is for.
type Role string

// The roles of the lab's hosts.
const (
	RoleMaster   Role = "master"
	RoleNode     Role = "node"
	RoleLB       Role = "lb"
	RoleRegistry Role = "registry"
)

// Config describes a lab.
type Config struct {
	// Prefix starts every name the lab makes in the machine: network
	// namespaces (<prefix>-lab, <prefix>-m1, ...) and links. Two labs with
	// different prefixes never collide.
	Prefix string
	// Masters and Nodes count the hosts of each kind. With more than one
	// master, the apiservers share an external etcd cluster (one member
	// per master) and sit behind haproxy on the lb host.
	Masters, Nodes int
	// MastersSchedulable makes masters run the node daemons too (a
	// single-host cluster when Nodes is 0).
	MastersSchedulable bool
	// BinDir holds the Skiff binaries; a daemon whose binary is missing
	// from it is not part of the lab (see daemonTable).
	BinDir string
	// StateDir holds certificates, configs, logs, data and the state file;
	// Up refuses to reuse one that has a state file.
	StateDir string
	// PKIDir holds the lab's CA and certificates; empty is <StateDir>/pki.
	// One outside StateDir outlives the lab, so a CA and the skiffctl
	// configs that trust it stay valid across runs (make up uses dev-certs).
	PKIDir string
	// ImageDir holds OCI image-layout archives (*.tar) that the registry
	// serves from the start and the kubelets may import; may be empty.
	ImageDir string
	// Insecure runs the apiservers with --insecure (plaintext, no
	// authentication) instead of TLS with the lab's own CA.
	Insecure bool
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader-election
	// timings of schedulers and controller-managers; zero keeps the
	// daemons' defaults.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ExtraArgs are flags appended to a daemon's own, by the daemon's name
	// in the lab's table ("controller-manager", "kubelet", ...), e.g. a
	// shortened --node-monitor-grace-period for a test of node loss.
	ExtraArgs map[string][]string
	// EtcdBinary and HAProxyBinary are looked up in PATH when not absolute.
	EtcdBinary, HAProxyBinary string
	// ReadyTimeout bounds each wait for daemons to become healthy.
	ReadyTimeout time.Duration
	// LogStream, when set, receives every daemon's log lines prefixed with
	// "host/daemon | ", as they are written.
	LogStream io.Writer
	// Logger reports what the lab does; nil is a no-op logger.
	Logger *zap.Logger
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,5}$`)

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join("/var/lib/skiff-lab", c.Prefix)
	}
	if c.PKIDir == "" {
		c.PKIDir = filepath.Join(c.StateDir, "pki")
	}
	if c.EtcdBinary == "" {
		c.EtcdBinary = "etcd"
	}
	if c.HAProxyBinary == "" {
		c.HAProxyBinary = "haproxy"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = 90 * time.Second
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Validate says what is wrong with a defaulted Config.
func (c *Config) Validate() error {
	if !prefixRE.MatchString(c.Prefix) {
		return fmt.Errorf("lab: prefix %q: want 1 to 6 lower-case letters or digits starting with a letter (link names have 15 characters)", c.Prefix)
	}
	if c.Masters < 1 || c.Masters > 9 {
		return fmt.Errorf("lab: --masters %d: want 1 to 9", c.Masters)
	}
	if c.Nodes < 0 || c.Nodes > 50 {
		return fmt.Errorf("lab: --nodes %d: want 0 to 50", c.Nodes)
	}
	if c.BinDir == "" || !filepath.IsAbs(c.BinDir) {
		return fmt.Errorf("lab: --bin %q: want the absolute path of the folder holding skiff-apiserver", c.BinDir)
	}
	if !filepath.IsAbs(c.StateDir) {
		return fmt.Errorf("lab: --state %q: want an absolute path", c.StateDir)
	}
	if !filepath.IsAbs(c.PKIDir) {
		return fmt.Errorf("lab: --pki %q: want an absolute path", c.PKIDir)
	}
	if c.ImageDir != "" && !filepath.IsAbs(c.ImageDir) {
		return fmt.Errorf("lab: --images %q: want an absolute path", c.ImageDir)
	}
	return nil
}

func (c *Config) labNetNS() string  { return c.Prefix + "-lab" }
func (c *Config) prefixLen() string { return strconv.Itoa(netip.MustParsePrefix(DefaultSubnet).Bits()) }

// Host is one machine of the lab.
type Host struct {
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	// IP is the host's address on the lab subnet.
	IP string `json:"ip"`
	// NetNS is the name of its network namespace (under /run/netns).
	NetNS string `json:"netns"`
	// UTS is the pin of its UTS namespace, whose hostname is Name.
	UTS string `json:"uts"`
}

// Has says whether the host plays role r.
func (h Host) Has(r Role) bool {
	for _, x := range h.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// NetNSPath is the pin of the host's network namespace.
func (h Host) NetNSPath() string { return netnsPath(h.NetNS) }

// hosts lays the lab out: lb .2, reg .3, masters .11.., nodes .101...
func (c *Config) hosts() []Host {
	base := netip.MustParsePrefix(DefaultSubnet).Addr().As4()
	addr := func(last int) string {
		a := base
		a[3] = byte(last)
		return netip.AddrFrom4(a).String()
	}
	mk := func(name string, last int, roles ...Role) Host {
		return Host{
			Name: name, Roles: roles, IP: addr(last), NetNS: c.Prefix + "-" + name,
			UTS: filepath.Join(c.StateDir, "uts", name),
		}
	}
	hosts := []Host{mk("lb", 2, RoleLB), mk("reg", 3, RoleRegistry)}
	for i := 1; i <= c.Masters; i++ {
		roles := []Role{RoleMaster}
		if c.MastersSchedulable {
			roles = append(roles, RoleNode)
		}
		hosts = append(hosts, mk(fmt.Sprintf("m%d", i), 10+i, roles...))
	}
	for i := 1; i <= c.Nodes; i++ {
		hosts = append(hosts, mk(fmt.Sprintf("n%d", i), 100+i, RoleNode))
	}
	return hosts
}
