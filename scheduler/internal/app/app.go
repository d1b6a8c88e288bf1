// Package app is skiff-scheduler's command: flags bound to viper (flag >
// SKIFF_ env > config file > default), the informers, leader election on a
// Lease, the scheduling loop while leading, and /healthz, /readyz and
// /metrics.
package app

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"skiff.dev/proto/component"
)

// command is skiff-scheduler's command skeleton.
var command = component.Daemon[Config, *Config]{
	Name:  "scheduler",
	Short: "The Skiff scheduler: binds each pending pod to the node that fits it best",
	Long: `skiff-scheduler watches pods without a node and the cluster's nodes. For each
pod it rules out the nodes that cannot run it (not ready, cordoned, untolerated
taints, too little cpu, memory or pod room, node selector and affinity, host
ports), scores the rest (free resources, balance, spreading of replicas,
preferences) and binds the pod to the best. Several replicas may run: they
elect one leader through the Lease kube-system/skiff-scheduler.

Every flag can also be set as SKIFF_<FLAG> (e.g. SKIFF_LEADER_ELECT=false) or in
the --config file; flags win over the environment, which wins over the file.`,
	AddFlags: addFlags,
	Defaults: Defaults,
	Run:      RunDaemon,
}

// Run is main: it returns the process exit code.
func Run(args []string) int { return command.Main(args) }

// NewCommand is the skiff-scheduler command.
func NewCommand() *cobra.Command { return command.Command() }

func addFlags(fs *pflag.FlagSet) {
	d := Defaults()
	fs.String("kubeconfig", "", "config file with the apiservers and credentials (default $SKIFF_CONFIG, then ~/.skiff/config)")
	fs.StringSliceP("server", "s", nil, "apiserver URLs, comma-separated (http:// for an --insecure apiserver); overrides the config file")
	fs.String("scheduler-name", d["scheduler-name"].(string), "schedule only pods whose spec.schedulerName is this")
	component.AddLeaderElectionFlags(fs, d, "scheduler")
	fs.String("bind-address", d["bind-address"].(string), "IP to serve /healthz, /readyz and /metrics on")
	fs.Int("secure-port", d["secure-port"].(int), "port serving /healthz, /readyz and /metrics (plain HTTP; 0 picks a free port)")
	fs.Float32("kube-api-qps", d["kube-api-qps"].(float32), "requests per second to the apiserver")
	fs.Int("kube-api-burst", d["kube-api-burst"].(int), "burst of requests to the apiserver")
	fs.Duration("shutdown-timeout", leaseDefault(d, "shutdown-timeout"), "how long bindings in flight and queued events get on shutdown")
	fs.String("log-format", d["log-format"].(string), "json or console")
	fs.String("log-level", d["log-level"].(string), "debug, info, warn or error")
}

func leaseDefault(d map[string]any, k string) (v time.Duration) { return d[k].(time.Duration) }

// load merges defaults, the config file, SKIFF_ environment and flags, then validates.
func load(v *viper.Viper, configFile string) (Config, error) { return command.Load(v, configFile) }
