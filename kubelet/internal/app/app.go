// Package app is skiff-kubelet's command: flags bound to viper (flag >
// SKIFF_ env > config file > default), and the daemon that wires the node
// status agent, the pod network, the pods on containerd and the kubelet API.
package app

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/proto/component"
)

// Run is main: it returns the process exit code. Started by containerd's
// shim as `skiff-kubelet log-driver FILE`, it is a container's log driver.
func Run(args []string) int {
	if len(args) == 2 && args[0] == podruntime.LogDriverArg {
		if err := podruntime.RunLogDriver(args[1]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	return command.Main(args)
}

// command is skiff-kubelet's command skeleton.
var command = component.Daemon[Config, *Config]{
	Name:  "kubelet",
	Short: "The Skiff node agent: runs the pods bound to its node on containerd",
	Long: `skiff-kubelet registers its Node and renews its Lease, sets up the node's pod
network from the podCIDR the controller-manager assigns, and runs the pods bound
to the node as containers on containerd (its own containerd namespace): a pause
sandbox per pod holding the pod's network, IPC and UTS namespaces, the app
containers joining it, probes, restart policy with back-off, graceful
termination, and container logs served on its API (--port).

Every flag can also be set as SKIFF_<FLAG> (e.g. SKIFF_NODE_NAME=node-1) or in
the --config file; flags win over the environment, which wins over the file.`,
	AddFlags: addFlags,
	Defaults: Defaults,
	Run:      RunDaemon,
}

// NewCommand is the skiff-kubelet command.
func NewCommand() *cobra.Command { return command.Command() }

func addFlags(fs *pflag.FlagSet) {
	d := Defaults()
	str := func(name, usage string) { fs.String(name, d[name].(string), usage) }
	str("kubeconfig", "config file with the apiservers and credentials (default $SKIFF_CONFIG, then ~/.skiff/config)")
	fs.StringSliceP("server", "s", nil, "apiserver URLs, comma-separated (http:// for an --insecure apiserver); overrides the config file")
	str("node-name", "the name of this node (required)")
	str("node-ip", "the node's InternalIP; empty is the address of the default route's interface")
	str("containerd-address", "containerd's gRPC socket")
	str("containerd-namespace", "the containerd namespace of the kubelet's containers and images")
	str("root-dir", "where pods' volumes, files and the network state live")
	str("pod-log-dir", "root of the container logs: <dir>/<namespace>_<pod>_<uid>/<container>/<n>.log")
	str("image-dir", "directory of OCI/Docker image archives (*.tar) imported at start (air-gap)")
	str("pause-image", "the pod sandbox image")
	fs.StringSlice("insecure-registry", nil, "registries (host:port) pulled from over plain HTTP; loopback ones always are")
	str("docker-config", "docker config.json with registry credentials")
	str("cluster-cidr", "the cluster's pod CIDR: traffic leaving it is masqueraded")
	str("service-cidr", "the Service CIDR, routed to a portless bridge so ClusterIPs never leave the node")
	str("pod-cidr", "this node's pod CIDR when no controller-manager assigns one")
	str("cluster-dns", "DNS server for pods (not used yet)")
	str("host-netns", "the node's network namespace path; empty is the kubelet's own")
	str("netns-prefix", "name prefix of the pods' network namespaces under /run/netns")
	str("address", "IP the kubelet API (logs) listens on")
	fs.Int("port", d["port"].(int), "port of the kubelet API")
	str("tls-cert-file", "serving certificate of the kubelet API (PEM)")
	str("tls-private-key-file", "serving key of the kubelet API (PEM)")
	str("client-ca-file", "CA whose client certificates may call the kubelet API")
	fs.Bool("insecure-http", false, "serve the kubelet API over plain HTTP without authentication (development only)")
	str("healthz-bind-address", "IP of /healthz and /metrics")
	fs.Int("healthz-port", d["healthz-port"].(int), "port of /healthz and /metrics (plain HTTP; 0 disables)")
	fs.Float32("kube-api-qps", d["kube-api-qps"].(float32), "requests per second to the apiserver")
	fs.Int("kube-api-burst", d["kube-api-burst"].(int), "burst of requests to the apiserver")
	fs.Duration("shutdown-timeout", d["shutdown-timeout"].(time.Duration), "how long servers get to drain on shutdown")
	str("log-format", "json or console")
	str("log-level", "debug, info, warn or error")
}

// executable is the kubelet binary, containers' log driver.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the kubelet binary (the containers' log driver): %w", err)
	}
	return exe, nil
}
