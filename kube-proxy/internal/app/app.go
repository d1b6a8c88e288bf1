// Package app is skiff-kube-proxy's command: flags bound to viper (flag >
// SKIFF_ env > config file > default), the Services and Endpoints
// informers, the proxier's sync loop, /healthz and /metrics, and
// --cleanup.
package app

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"

	"skiff.dev/proto/component"
)

// command is skiff-kube-proxy's command skeleton.
var command = component.Daemon[Config, *Config]{
	Name:  "kube-proxy",
	Short: "The Skiff network proxy: Services as iptables DNAT rules on every node",
	Long: `skiff-kube-proxy watches Services and Endpoints and keeps the node's iptables
rules in step, the way kube-proxy's iptables mode does: nat PREROUTING and
OUTPUT jump to KUBE-SERVICES, one rule per ClusterIP:port to KUBE-SVC-<hash>,
which picks a KUBE-SEP-<hash> endpoint chain at random (or by ClientIP
affinity) that DNATs to the pod; KUBE-NODEPORTS for NodePorts; KUBE-MARK-MASQ
and KUBE-POSTROUTING masquerade; a Service without endpoints REJECTs. Each
sync is one iptables-restore --noflush that rewrites only the chains that
changed; every --sync-period it rewrites all of them. It never touches rules
that are not its own; --cleanup removes all of its rules and exits.

Every flag can also be set as SKIFF_<FLAG> (e.g. SKIFF_SYNC_PERIOD=1m) or in
the --config file; flags win over the environment, which wins over the file.`,
	AddFlags: addFlags,
	Defaults: Defaults,
	Run:      run,
}

// Run is main: it returns the process exit code.
func Run(args []string) int { return command.Main(args) }

// NewCommand is the skiff-kube-proxy command.
func NewCommand() *cobra.Command { return command.Command() }

func addFlags(fs *pflag.FlagSet) {
	d := Defaults()
	fs.String("kubeconfig", "", "config file with the apiservers and credentials (default $SKIFF_CONFIG, then ~/.skiff/config)")
	fs.StringSliceP("server", "s", nil, "apiserver URLs, comma-separated (http:// for an --insecure apiserver); overrides the config file")
	fs.String("hostname-override", "", "the name of this node, if not the hostname")
	fs.String("cluster-cidr", "", "the pods' IPv4 range (e.g. 10.244.0.0/16): traffic to a ClusterIP from outside it is masqueraded")
	fs.StringSlice("nodeport-addresses", nil, "IPv4 CIDRs of the node addresses NodePorts answer on, comma-separated (default every local address)")
	fs.Bool("masquerade-all", false, "masquerade all traffic sent to ClusterIPs")
	fs.Duration("sync-period", d["sync-period"].(time.Duration), "how often all rules are rewritten, repairing any that someone changed")
	fs.Duration("min-sync-period", d["min-sync-period"].(time.Duration), "the least time between two syncs; changes arriving meanwhile are applied together")
	fs.Bool("cleanup", false, "remove all of skiff-kube-proxy's iptables rules and chains, then exit")
	fs.String("healthz-bind-address", d["healthz-bind-address"].(string), "host:port serving /healthz (503 \"stale\" when syncs fail or are older than 2 x --sync-period); empty disables")
	fs.String("metrics-bind-address", d["metrics-bind-address"].(string), "host:port serving /metrics; empty disables")
	fs.Float32("kube-api-qps", d["kube-api-qps"].(float32), "requests per second to the apiserver")
	fs.Int("kube-api-burst", d["kube-api-burst"].(int), "burst of requests to the apiserver")
	fs.Duration("shutdown-timeout", d["shutdown-timeout"].(time.Duration), "how long the health and metrics servers get to finish on shutdown")
	fs.String("log-format", d["log-format"].(string), "json or console")
	fs.String("log-level", d["log-level"].(string), "debug, info, warn or error")
}

// load merges defaults, the config file, SKIFF_ environment and flags, then validates.
func load(v *viper.Viper, configFile string) (Config, error) { return command.Load(v, configFile) }

// run is the daemon, or with --cleanup the removal of its rules.
func run(ctx context.Context, lg *zap.Logger, cfg Config) error {
	if cfg.Cleanup {
		return RunCleanup(ctx, lg)
	}
	return RunDaemon(ctx, lg, cfg)
}
