package app

import (
	"errors"
	"fmt"
	"time"

	"skiff.dev/proto/component"
)

// Config is skiff-scheduler's configuration; mapstructure keys are the
// flag names.
type Config struct {
	Kubeconfig string   `mapstructure:"kubeconfig"`
	Server     []string `mapstructure:"server"`

	SchedulerName string `mapstructure:"scheduler-name"`

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

// Defaults are every key's default, as kube-scheduler's where it has one.
func Defaults() map[string]any {
	return component.AddLeaderElectionDefaults(map[string]any{
		"kubeconfig":       "",
		"server":           []string{},
		"scheduler-name":   "default-scheduler",
		"bind-address":     "0.0.0.0",
		"secure-port":      10259,
		"kube-api-qps":     float32(50),
		"kube-api-burst":   100,
		"shutdown-timeout": 10 * time.Second,
		"log-format":       "json",
		"log-level":        "info",
	}, "skiff-scheduler")
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.SchedulerName == "" {
		bad("--scheduler-name: required")
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
