package app

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"skiff.dev/proto/component"
)

// Config is skiff-controller-manager's configuration; mapstructure keys are
// the flag names, which are kube-controller-manager's.
type Config struct {
	Kubeconfig string   `mapstructure:"kubeconfig"`
	Server     []string `mapstructure:"server"`

	// Controllers selects controllers as kube-controller-manager does:
	// "*" is every controller enabled by default, "name" enables one,
	// "-name" disables one.
	Controllers []string `mapstructure:"controllers"`

	ConcurrentReplicaSetSyncs          int `mapstructure:"concurrent-replicaset-syncs"`
	ConcurrentDeploymentSyncs          int `mapstructure:"concurrent-deployment-syncs"`
	ConcurrentEndpointSyncs            int `mapstructure:"concurrent-endpoint-syncs"`
	ConcurrentNamespaceSyncs           int `mapstructure:"concurrent-namespace-syncs"`
	ConcurrentGCSyncs                  int `mapstructure:"concurrent-gc-syncs"`
	ConcurrentServiceAccountTokenSyncs int `mapstructure:"concurrent-serviceaccount-token-syncs"`
	ConcurrentDaemonSetSyncs           int `mapstructure:"concurrent-daemonset-syncs"`
	ConcurrentJobSyncs                 int `mapstructure:"concurrent-job-syncs"`

	// Node IPAM.
	AllocateNodeCIDRs bool   `mapstructure:"allocate-node-cidrs"`
	ClusterCIDR       string `mapstructure:"cluster-cidr"`
	NodeCIDRMaskSize  int    `mapstructure:"node-cidr-mask-size"`

	// Node lifecycle.
	NodeMonitorPeriod        time.Duration `mapstructure:"node-monitor-period"`
	NodeMonitorGracePeriod   time.Duration `mapstructure:"node-monitor-grace-period"`
	NodeStartupGracePeriod   time.Duration `mapstructure:"node-startup-grace-period"`
	PodEvictionTimeout       time.Duration `mapstructure:"pod-eviction-timeout"`
	NodeEvictionRate         float32       `mapstructure:"node-eviction-rate"`
	EnableTaintManager       bool          `mapstructure:"enable-taint-manager"`
	ServiceAccountKeyFile    string        `mapstructure:"service-account-private-key-file"`
	RootCAFile               string        `mapstructure:"root-ca-file"`
	TerminatedPodGCThreshold int           `mapstructure:"terminated-pod-gc-threshold"`

	LeaderElect                  bool          `mapstructure:"leader-elect"`
	LeaderElectLeaseDuration     time.Duration `mapstructure:"leader-elect-lease-duration"`
	LeaderElectRenewDeadline     time.Duration `mapstructure:"leader-elect-renew-deadline"`
	LeaderElectRetryPeriod       time.Duration `mapstructure:"leader-elect-retry-period"`
	LeaderElectResourceName      string        `mapstructure:"leader-elect-resource-name"`
	LeaderElectResourceNamespace string        `mapstructure:"leader-elect-resource-namespace"`

	BindAddress string `mapstructure:"bind-address"`
	SecurePort  int    `mapstructure:"secure-port"`

	KubeAPIQPS   float32 `mapstructure:"kube-api-qps"`
	KubeAPIBurst int     `mapstructure:"kube-api-burst"`

	ShutdownTimeout time.Duration `mapstructure:"shutdown-timeout"`
	LogFormat       string        `mapstructure:"log-format"`
	LogLevel        string        `mapstructure:"log-level"`
}

// Defaults are every key's default, as kube-controller-manager's where it
// has one. The client limits are higher than kube-controller-manager's 20
// QPS: slow-start batches of pod creations need them (see docs/benchmarks.md).
func Defaults() map[string]any {
	return component.AddLeaderElectionDefaults(map[string]any{
		"kubeconfig":                            "",
		"server":                                []string{},
		"controllers":                           []string{"*"},
		"concurrent-replicaset-syncs":           5,
		"concurrent-deployment-syncs":           5,
		"concurrent-endpoint-syncs":             5,
		"concurrent-namespace-syncs":            10,
		"concurrent-gc-syncs":                   20,
		"concurrent-serviceaccount-token-syncs": 5,
		"concurrent-daemonset-syncs":            2,
		"concurrent-job-syncs":                  5,
		"allocate-node-cidrs":                   true,
		"cluster-cidr":                          "10.244.0.0/16",
		"node-cidr-mask-size":                   24,
		"node-monitor-period":                   5 * time.Second,
		"node-monitor-grace-period":             40 * time.Second,
		"node-startup-grace-period":             60 * time.Second,
		"pod-eviction-timeout":                  5 * time.Minute,
		"node-eviction-rate":                    float32(0.1),
		"enable-taint-manager":                  true,
		"service-account-private-key-file":      "",
		"root-ca-file":                          "",
		"terminated-pod-gc-threshold":           12500,
		"bind-address":                          "0.0.0.0",
		"secure-port":                           10257,
		"kube-api-qps":                          float32(500),
		"kube-api-burst":                        1000,
		"shutdown-timeout":                      10 * time.Second,
		"log-format":                            "json",
		"log-level":                             "info",
	}, "skiff-controller-manager")
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, err := EnabledControllers(c.Controllers, Controllers()); err != nil {
		bad("--controllers: %w", err)
	}
	for flag, n := range map[string]int{
		"concurrent-replicaset-syncs": c.ConcurrentReplicaSetSyncs, "concurrent-deployment-syncs": c.ConcurrentDeploymentSyncs,
		"concurrent-endpoint-syncs": c.ConcurrentEndpointSyncs, "concurrent-namespace-syncs": c.ConcurrentNamespaceSyncs,
		"concurrent-gc-syncs": c.ConcurrentGCSyncs, "concurrent-serviceaccount-token-syncs": c.ConcurrentServiceAccountTokenSyncs,
		"concurrent-daemonset-syncs": c.ConcurrentDaemonSetSyncs, "concurrent-job-syncs": c.ConcurrentJobSyncs,
	} {
		if n < 1 {
			bad("--%s: must be at least 1, got %d", flag, n)
		}
	}
	if c.AllocateNodeCIDRs {
		p, err := netip.ParsePrefix(c.ClusterCIDR)
		switch {
		case err != nil:
			bad("--cluster-cidr: %q is not a CIDR such as 10.244.0.0/16", c.ClusterCIDR)
		case p.Masked() != p:
			bad("--cluster-cidr: %q has host bits set; did you mean %s?", c.ClusterCIDR, p.Masked())
		case c.NodeCIDRMaskSize < p.Bits() || c.NodeCIDRMaskSize > p.Addr().BitLen():
			bad("--node-cidr-mask-size: must be between the --cluster-cidr prefix length %d and %d, got %d",
				p.Bits(), p.Addr().BitLen(), c.NodeCIDRMaskSize)
		case c.NodeCIDRMaskSize-p.Bits() > 24:
			bad("--node-cidr-mask-size: %d splits --cluster-cidr %s into more than 2^24 node ranges", c.NodeCIDRMaskSize, p)
		}
	}
	for flag, d := range map[string]time.Duration{
		"node-monitor-period": c.NodeMonitorPeriod, "node-monitor-grace-period": c.NodeMonitorGracePeriod,
		"node-startup-grace-period": c.NodeStartupGracePeriod,
	} {
		if d <= 0 {
			bad("--%s: must be greater than zero, got %v", flag, d)
		}
	}
	if c.PodEvictionTimeout < 0 {
		bad("--pod-eviction-timeout: must not be negative, got %v", c.PodEvictionTimeout)
	}
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		bad("--secure-port: must be 0 to 65535, got %d", c.SecurePort)
	}
	errs = append(errs, c.leaderElection().Validate()...)
	if c.LogFormat != "json" && c.LogFormat != "console" {
		bad("--log-format: must be json or console, got %q", c.LogFormat)
	}
	return errors.Join(errs...)
}

// Logging is the --log-format and --log-level.
func (c Config) Logging() (format, level string) { return c.LogFormat, c.LogLevel }

// leaderElection is the --leader-elect* part of c.
func (c Config) leaderElection() component.LeaderElection {
	return component.LeaderElection{
		Elect: c.LeaderElect, LeaseDuration: c.LeaderElectLeaseDuration, RenewDeadline: c.LeaderElectRenewDeadline,
		RetryPeriod: c.LeaderElectRetryPeriod, ResourceName: c.LeaderElectResourceName, ResourceNamespace: c.LeaderElectResourceNamespace,
	}
}
