// Package app is skiff-controller-manager's command: flags bound to viper
// (flag > SKIFF_ env > config file > default), the controller table and
// --controllers selection, leader election on a Lease, the controllers while
// leading, and /healthz, /readyz and /metrics.
package app

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/proto/component"
)

// command is skiff-controller-manager's command skeleton.
var command = component.Daemon[Config, *Config]{
	Name:  "controller-manager",
	Short: "The Skiff controller manager: the reconcile loops that keep the cluster as declared",
	Long: `skiff-controller-manager runs Skiff's controllers, each a level-triggered loop
over shared informers and work queues: ReplicaSets get their pods, Deployments
their ReplicaSets and rolling updates, Services their Endpoints, nodes their pod
CIDRs, and so on. Several replicas may run: they elect one leader through the
Lease kube-system/skiff-controller-manager, and only the leader runs controllers.

Controllers: ` + controllerNames() + `.
--controllers picks them as kube-controller-manager's flag does: '*' is every
controller enabled by default, 'name' adds one, '-name' removes one
(e.g. --controllers='*,-job').

Every flag can also be set as SKIFF_<FLAG> (e.g. SKIFF_LEADER_ELECT=false) or in
the --config file; flags win over the environment, which wins over the file.`,
	AddFlags: addFlags,
	Defaults: Defaults,
	Run:      RunDaemon,
}

// Run is main: it returns the process exit code.
func Run(args []string) int { return command.Main(args) }

// NewCommand is the skiff-controller-manager command.
func NewCommand() *cobra.Command { return command.Command() }

func controllerNames() string {
	var names []string
	for _, d := range Controllers() {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

func addFlags(fs *pflag.FlagSet) {
	d := Defaults()
	dur := func(k string) time.Duration { return d[k].(time.Duration) }
	fs.String("kubeconfig", "", "config file with the apiservers and credentials (default $SKIFF_CONFIG, then ~/.skiff/config)")
	fs.StringSliceP("server", "s", nil, "apiserver URLs, comma-separated (http:// for an --insecure apiserver); overrides the config file")
	fs.StringSlice("controllers", d["controllers"].([]string), "controllers to run: '*' for those enabled by default, 'name' to add one, '-name' to remove one; known: "+controllerNames())
	for _, c := range []struct{ flag, what string }{
		{"concurrent-replicaset-syncs", "ReplicaSets"},
		{"concurrent-deployment-syncs", "Deployments"},
		{"concurrent-endpoint-syncs", "Services (endpoints)"},
		{"concurrent-namespace-syncs", "Namespaces"},
		{"concurrent-gc-syncs", "garbage collector objects"},
		{"concurrent-serviceaccount-token-syncs", "service account tokens"},
		{"concurrent-daemonset-syncs", "DaemonSets"},
		{"concurrent-job-syncs", "Jobs"},
	} {
		fs.Int(c.flag, d[c.flag].(int), "number of "+c.what+" reconciled at once")
	}
	fs.Bool("allocate-node-cidrs", d["allocate-node-cidrs"].(bool), "give every node a spec.podCIDR from --cluster-cidr (the nodeipam controller)")
	fs.String("cluster-cidr", d["cluster-cidr"].(string), "CIDR of the pod network, split into one range per node")
	fs.Int("node-cidr-mask-size", d["node-cidr-mask-size"].(int), "prefix length of each node's pod range")
	fs.Duration("node-monitor-period", dur("node-monitor-period"), "how often node health is checked")
	fs.Duration("node-monitor-grace-period", dur("node-monitor-grace-period"), "how long a node may be silent before it is marked Ready=Unknown")
	fs.Duration("node-startup-grace-period", dur("node-startup-grace-period"), "how long a new node may be silent before it is marked unhealthy")
	fs.Duration("pod-eviction-timeout", dur("pod-eviction-timeout"), "how long pods stay on an unreachable node before they are evicted")
	fs.Float32("node-eviction-rate", d["node-eviction-rate"].(float32), "nodes per second whose pods are evicted")
	fs.Bool("enable-taint-manager", d["enable-taint-manager"].(bool), "evict pods that do not tolerate NoExecute taints")
	fs.String("service-account-private-key-file", "", "PEM private key signing service account tokens")
	fs.String("root-ca-file", "", "CA bundle put into service account token Secrets")
	fs.Int("terminated-pod-gc-threshold", d["terminated-pod-gc-threshold"].(int), "terminated pods kept before the oldest are deleted")
	component.AddLeaderElectionFlags(fs, d, "controller manager")
	fs.String("bind-address", d["bind-address"].(string), "IP to serve /healthz, /readyz and /metrics on")
	fs.Int("secure-port", d["secure-port"].(int), "port serving /healthz, /readyz and /metrics (plain HTTP; 0 picks a free port)")
	fs.Float32("kube-api-qps", d["kube-api-qps"].(float32), "requests per second to the apiserver (negative: no limit)")
	fs.Int("kube-api-burst", d["kube-api-burst"].(int), "burst of requests to the apiserver")
	fs.Duration("shutdown-timeout", dur("shutdown-timeout"), "how long controllers and queued events get on shutdown")
	fs.String("log-format", d["log-format"].(string), "json or console")
	fs.String("log-level", d["log-level"].(string), "debug, info, warn or error")
}

// LoadConfig is the configuration the command would run with for args
// (flags), the SKIFF_ environment and defaults, validated.
func LoadConfig(args []string) (Config, error) { return command.LoadArgs(args) }
