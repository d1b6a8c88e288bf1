package lab

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Ports of the daemons' health endpoints (Kubernetes' own numbers).
const (
	SchedulerPort         = 10259
	ControllerManagerPort = 10257
	KubeletHealthPort     = 10248
	KubeProxyHealthPort   = 10256
	EtcdClientPort        = 2379
	EtcdPeerPort          = 2380
	EtcdMetricsPort       = 2381
	// ClusterCIDR is the pod network of the lab, split per node by the
	// controller-manager; it exists only inside the node namespaces.
	ClusterCIDR = "10.244.0.0/16"
	// ServiceCIDR is the lab's ClusterIP range (the apiserver's default),
	// routed nowhere but kube-proxy's rules inside the node namespaces.
	ServiceCIDR = "10.96.0.0/12"
)

// daemon is one row of the table of what runs where. A row whose binary is
// not in the lab's BinDir (or PATH, for system binaries) is left out, so the
// controller-manager, kubelet and kube-proxy switch on as their binaries
// land. Rows start phase by phase; each phase is healthy before the next.
type daemon struct {
	name   string
	role   Role
	binary string
	// system binaries (etcd, haproxy, containerd) come from Debian
	// packages, found in PATH; the others from Config.BinDir.
	system bool
	phase  int
	// enabled narrows the row beyond "its binary exists"; nil is always.
	enabled func(l *Lab) bool
	args    func(l *Lab, h Host) []string
	// files writes what the daemon reads (configs) before it starts.
	files  func(l *Lab, h Host) error
	health func(l *Lab, h Host) probe
}

// daemonTable is every daemon of the lab, in start order.
//
// The rows of skiff-controller-manager, skiff-kubelet and skiff-kube-proxy
// use the flags of their branches as of this writing.
func daemonTable() []daemon {
	return []daemon{
		{
			name: "registry", role: RoleRegistry, binary: "skiff-registry", phase: 0,
			args: func(l *Lab, h Host) []string {
				a := []string{"--addr", fmt.Sprintf("0.0.0.0:%d", RegistryPort), "--blob-dir", l.hostPath(h, "blobs")}
				if l.cfg.ImageDir != "" {
					a = append(a, "--seed", l.cfg.ImageDir)
				}
				return a
			},
			health: func(l *Lab, h Host) probe { return httpProbe(h, RegistryPort, "/readyz", false) },
		},
		{
			name: "etcd", role: RoleMaster, binary: "etcd", system: true, phase: 0,
			enabled: func(l *Lab) bool { return l.externalEtcd() },
			args:    etcdArgs,
			health:  func(l *Lab, h Host) probe { return httpProbe(h, EtcdMetricsPort, "/health", false) },
		},
		{
			name: "apiserver", role: RoleMaster, binary: "skiff-apiserver", phase: 1,
			args:   apiserverArgs,
			health: func(l *Lab, h Host) probe { return httpProbe(h, APIServerPort, "/readyz", !l.cfg.Insecure) },
		},
		{
			name: "haproxy", role: RoleLB, binary: "haproxy", system: true, phase: 2,
			enabled: func(l *Lab) bool { return l.cfg.Masters > 1 },
			files:   writeHAProxyConfig,
			args: func(l *Lab, h Host) []string {
				return []string{"-db", "-f", l.path("haproxy.cfg")}
			},
			health: func(l *Lab, h Host) probe { return httpProbe(h, APIServerPort, "/readyz", !l.cfg.Insecure) },
		},
		{
			name: "scheduler", role: RoleMaster, binary: "skiff-scheduler", phase: 3,
			args: func(l *Lab, h Host) []string {
				return append(l.componentArgs(h, "scheduler", SchedulerPort), l.leaderArgs()...)
			},
			health: func(l *Lab, h Host) probe { return httpProbe(h, SchedulerPort, "/healthz", false) },
		},
		{
			name: "controller-manager", role: RoleMaster, binary: "skiff-controller-manager", phase: 3,
			args: func(l *Lab, h Host) []string {
				a := append(l.componentArgs(h, "controller-manager", ControllerManagerPort), l.leaderArgs()...)
				return append(a, "--allocate-node-cidrs", "--cluster-cidr", ClusterCIDR)
			},
			health: func(l *Lab, h Host) probe { return httpProbe(h, ControllerManagerPort, "/healthz", false) },
		},
		{
			name: "containerd", role: RoleNode, binary: "containerd", system: true, phase: 3,
			// containerd is the kubelet's; without a kubelet it has no use.
			enabled: func(l *Lab) bool { return l.hasBinary("skiff-kubelet", false) },
			files:   writeContainerdConfig,
			args: func(l *Lab, h Host) []string {
				return []string{"--config", l.hostPath(h, "containerd.toml")}
			},
			health: func(l *Lab, h Host) probe { return probe{socket: l.containerdSocket(h)} },
		},
		{
			name: "kubelet", role: RoleNode, binary: "skiff-kubelet", phase: 4,
			args:   kubeletArgs,
			health: func(l *Lab, h Host) probe { return httpProbe(h, KubeletHealthPort, "/healthz", false) },
		},
		{
			name: "kube-proxy", role: RoleNode, binary: "skiff-kube-proxy", phase: 4,
			// kube-proxy serves /healthz on --healthz-bind-address, as
			// Kubernetes' does, not on --bind-address/--secure-port.
			args: func(l *Lab, h Host) []string {
				return []string{
					"--kubeconfig", l.kubeconfigPath("kube-proxy"), "--log-format", "console",
					"--healthz-bind-address", fmt.Sprintf("%s:%d", h.IP, KubeProxyHealthPort),
					"--hostname-override", h.Name, "--cluster-cidr", ClusterCIDR,
				}
			},
			health: func(l *Lab, h Host) probe { return httpProbe(h, KubeProxyHealthPort, "/healthz", false) },
		},
	}
}

// kubeletArgs run a node's kubelet on its own containerd, with its state,
// pod logs and pod network namespace pins (<prefix>-<host>-<uid>, removed
// by Down with the lab's other namespaces) apart from other nodes', the
// lab registry pulled from over plain HTTP, and its API served with a
// certificate of the lab CA (plain HTTP with --insecure).
func kubeletArgs(l *Lab, h Host) []string {
	a := []string{
		"--kubeconfig", l.kubeconfigPath("kubelet-" + h.Name), "--log-format", "console",
		"--node-name", h.Name, "--node-ip", h.IP,
		"--containerd-address", l.containerdSocket(h), "--containerd-namespace", l.containerdNamespace(h),
		"--root-dir", l.hostPath(h, "kubelet"), "--pod-log-dir", l.hostPath(h, "pod-logs"),
		"--netns-prefix", l.cfg.Prefix + "-" + h.Name + "-",
		"--cluster-cidr", ClusterCIDR, "--service-cidr", ServiceCIDR,
		"--insecure-registry", fmt.Sprintf("%s:%d", l.hostsWith(RoleRegistry)[0].IP, RegistryPort),
		"--address", h.IP,
		"--healthz-bind-address", h.IP, "--healthz-port", strconv.Itoa(KubeletHealthPort),
	}
	if l.cfg.ImageDir != "" {
		a = append(a, "--image-dir", l.cfg.ImageDir)
	}
	if !l.hasBinary("skiff-controller-manager", false) {
		// Without a controller-manager to allocate node CIDRs, the lab
		// gives node i 10.244.i.0/24 itself.
		a = append(a, "--pod-cidr", l.podCIDR(h))
	}
	if l.cfg.Insecure {
		return append(a, "--insecure-http")
	}
	crt, key := l.kubeletServingCert(h)
	return append(a, "--tls-cert-file", crt, "--tls-private-key-file", key, "--client-ca-file", l.pkiPath("ca.crt"))
}

// componentArgs are the flags every Skiff daemon shares: its kubeconfig
// (which names the load balancer, or the only master), its health
// endpoint on the host's address, console logs.
func (l *Lab) componentArgs(h Host, user string, port int) []string {
	return []string{
		"--kubeconfig", l.kubeconfigPath(user),
		"--bind-address", h.IP, "--secure-port", strconv.Itoa(port),
		"--log-format", "console",
	}
}

// leaderArgs are the leader-election timings of Config, when set.
func (l *Lab) leaderArgs() []string {
	var a []string
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--leader-elect-lease-duration", l.cfg.LeaseDuration},
		{"--leader-elect-renew-deadline", l.cfg.RenewDeadline},
		{"--leader-elect-retry-period", l.cfg.RetryPeriod},
	} {
		if d.v > 0 {
			a = append(a, d.flag, d.v.String())
		}
	}
	return a
}

func apiserverArgs(l *Lab, h Host) []string {
	a := []string{
		"--bind-address", "0.0.0.0", "--secure-port", strconv.Itoa(APIServerPort),
		"--log-format", "console", "--service-cluster-ip-range", ServiceCIDR,
	}
	if l.externalEtcd() {
		a = append(a, "--etcd-servers", strings.Join(l.etcdClientURLs(), ","))
		if !l.cfg.Insecure {
			// The apiserver's client certificate for the kubelets is its
			// client certificate for etcd too.
			a = append(a, "--etcd-cafile", l.pkiPath("ca.crt"),
				"--etcd-certfile", l.pkiPath("apiserver-kubelet-client.crt"),
				"--etcd-keyfile", l.pkiPath("apiserver-kubelet-client.key"))
		}
	} else {
		a = append(a, "--data-dir", l.hostPath(h, "etcd"))
	}
	if l.cfg.Insecure {
		return append(a, "--insecure", "--kubelet-insecure-http")
	}
	pki := l.pkiPath
	return append(a,
		"--tls-cert-file", pki("apiserver.crt"), "--tls-private-key-file", pki("apiserver.key"),
		"--client-ca-file", pki("ca.crt"),
		"--kubelet-certificate-authority", pki("ca.crt"),
		"--kubelet-client-certificate", pki("apiserver-kubelet-client.crt"),
		"--kubelet-client-key", pki("apiserver-kubelet-client.key"))
}

// externalEtcd: one master embeds its etcd; several share an etcd
// cluster, one member per master (the embedded etcd cannot cluster).
func (l *Lab) externalEtcd() bool { return l.cfg.Masters > 1 }

func (l *Lab) etcdClientURLs() []string {
	var urls []string
	for _, m := range l.hostsWith(RoleMaster) {
		urls = append(urls, l.etcdClientURL(m))
	}
	return urls
}

func (l *Lab) etcdClientURL(h Host) string {
	scheme := "https"
	if l.cfg.Insecure {
		scheme = "http"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, h.IP, EtcdClientPort)
}

// etcdArgs make one member of the masters' etcd cluster. Clients (the
// apiservers) speak TLS with client certificates: the member serves the
// apiserver's certificate (whose SANs are the masters' addresses) and
// trusts the lab CA. Members talk to each other in plain HTTP on the lab
// subnet, which only the lab's namespaces reach (the certificates `skiff-
// apiserver certs` makes are either server or client, and a peer needs
// both). /health is served in plain HTTP on the metrics port.
func etcdArgs(l *Lab, h Host) []string {
	var initial []string
	for _, m := range l.hostsWith(RoleMaster) {
		initial = append(initial, fmt.Sprintf("%s=http://%s:%d", m.Name, m.IP, EtcdPeerPort))
	}
	client := l.etcdClientURL(h)
	peer := fmt.Sprintf("http://%s:%d", h.IP, EtcdPeerPort)
	a := []string{
		"--name", h.Name, "--data-dir", l.hostPath(h, "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--listen-metrics-urls", fmt.Sprintf("http://%s:%d", h.IP, EtcdMetricsPort),
		"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
		"--initial-cluster-token", l.cfg.Prefix + "-etcd",
		// A loaded 2-core machine misses 100 ms heartbeats; these keep
		// elections for real failures.
		"--heartbeat-interval", "250", "--election-timeout", "2500",
		"--logger", "zap",
	}
	if l.cfg.Insecure {
		return a
	}
	return append(a,
		"--cert-file", l.pkiPath("apiserver.crt"), "--key-file", l.pkiPath("apiserver.key"),
		"--client-cert-auth", "--trusted-ca-file", l.pkiPath("ca.crt"))
}

// writeHAProxyConfig writes haproxy.cfg: TCP passthrough to every
// apiserver (TLS ends at the apiservers), health-checked on /readyz.
func writeHAProxyConfig(l *Lab, h Host) error {
	check := "check"
	if !l.cfg.Insecure {
		check = "check check-ssl verify required ca-file " + l.pkiPath("ca.crt")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# written by skiff-lab: the apiservers of lab %q behind one address
global
    log stdout format raw local0 info
defaults
    mode tcp
    log global
    option tcplog
    timeout connect 3s
    timeout client 1h
    timeout server 1h
frontend apiserver
    bind %s:%d
    default_backend apiservers
backend apiservers
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
`, l.cfg.Prefix, h.IP, APIServerPort)
	for _, m := range l.hostsWith(RoleMaster) {
		fmt.Fprintf(&b, "    server %s %s:%d %s\n", m.Name, m.IP, APIServerPort, check)
	}
	return os.WriteFile(l.path("haproxy.cfg"), []byte(b.String()), 0o644)
}

// containerdSocket is the node's own containerd socket (kept short: a unix
// socket path has at most 108 bytes).
func (l *Lab) containerdSocket(h Host) string {
	return filepath.Join(l.cfg.StateDir, "run", h.Name, "containerd.sock")
}

// writeContainerdConfig gives each node a containerd of its own: root,
// state and sockets in the lab's state directory, CRI off (the kubelet
// drives containerd's own API).
func writeContainerdConfig(l *Lab, h Host) error {
	sock := l.containerdSocket(h)
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, l.hostPath(h, "containerd", "root"), filepath.Join(filepath.Dir(sock), "state"), sock, sock+".ttrpc")
	return os.WriteFile(l.hostPath(h, "containerd.toml"), []byte(cfg), 0o644)
}

// podCIDR is the pod range the lab gives host h when no controller-manager
// allocates one: 10.244.<n>.0/24, n the host's last address byte.
func (l *Lab) podCIDR(h Host) string {
	ip := net.ParseIP(h.IP).To4()
	return fmt.Sprintf("10.244.%d.0/24", ip[3])
}

// containerdNamespace is the containerd namespace of host's kubelet. It
// also names what runc keeps outside the lab's state directory (its state
// in /run/containerd/runc/<namespace>, the cgroups /<namespace>/<id>), so
// Down finds and removes exactly the lab's.
func (l *Lab) containerdNamespace(h Host) string { return l.cfg.Prefix + "-" + h.Name }
