package app

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is skiff-kube-proxy's configuration; mapstructure keys are the
// flag names, as kube-proxy's flags.
type Config struct {
	Kubeconfig string   `mapstructure:"kubeconfig"`
	Server     []string `mapstructure:"server"`

	HostnameOverride  string        `mapstructure:"hostname-override"`
	ClusterCIDR       string        `mapstructure:"cluster-cidr"`
	NodePortAddresses []string      `mapstructure:"nodeport-addresses"`
	MasqueradeAll     bool          `mapstructure:"masquerade-all"`
	SyncPeriod        time.Duration `mapstructure:"sync-period"`
	MinSyncPeriod     time.Duration `mapstructure:"min-sync-period"`
	Cleanup           bool          `mapstructure:"cleanup"`

	HealthzBindAddress string `mapstructure:"healthz-bind-address"`
	MetricsBindAddress string `mapstructure:"metrics-bind-address"`

	KubeAPIQPS   float32 `mapstructure:"kube-api-qps"`
	KubeAPIBurst int     `mapstructure:"kube-api-burst"`

	ShutdownTimeout time.Duration `mapstructure:"shutdown-timeout"`
	LogFormat       string        `mapstructure:"log-format"`
	LogLevel        string        `mapstructure:"log-level"`
}

// Defaults are every key's default, as kube-proxy's where it has one.
func Defaults() map[string]any {
	return map[string]any{
		"kubeconfig":           "",
		"server":               []string{},
		"hostname-override":    "",
		"cluster-cidr":         "",
		"nodeport-addresses":   []string{},
		"masquerade-all":       false,
		"sync-period":          30 * time.Second,
		"min-sync-period":      time.Second,
		"cleanup":              false,
		"healthz-bind-address": "0.0.0.0:10256",
		"metrics-bind-address": "127.0.0.1:10249",
		"kube-api-qps":         float32(5),
		"kube-api-burst":       10,
		"shutdown-timeout":     5 * time.Second,
		"log-format":           "json",
		"log-level":            "info",
	}
}

// Validate reports every problem of c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ClusterCIDR != "" {
		if ip, _, err := net.ParseCIDR(c.ClusterCIDR); err != nil || ip.To4() == nil {
			bad("--cluster-cidr: want an IPv4 CIDR such as 10.244.0.0/16, got %q", c.ClusterCIDR)
		}
	}
	if _, err := c.nodePortCIDRs(); err != nil {
		errs = append(errs, err)
	}
	if c.SyncPeriod <= 0 {
		bad("--sync-period: must be greater than zero, got %v", c.SyncPeriod)
	}
	if c.MinSyncPeriod < 0 || c.MinSyncPeriod > c.SyncPeriod {
		bad("--min-sync-period: must be 0 to --sync-period (%v), got %v", c.SyncPeriod, c.MinSyncPeriod)
	}
	for flag, addr := range map[string]string{"--healthz-bind-address": c.HealthzBindAddress, "--metrics-bind-address": c.MetricsBindAddress} {
		if addr == "" {
			continue // disabled
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad("%s: want host:port such as 0.0.0.0:10256, got %q", flag, addr)
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		bad("--log-format: must be json or console, got %q", c.LogFormat)
	}
	return errors.Join(errs...)
}

// nodePortCIDRs parses --nodeport-addresses.
func (c Config) nodePortCIDRs() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for i, s := range c.NodePortAddresses {
		ip, n, err := net.ParseCIDR(s)
		if err != nil || ip.To4() == nil {
			return nil, fmt.Errorf("--nodeport-addresses[%d]: want an IPv4 CIDR such as 192.168.1.0/24, got %q", i, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// Logging is the --log-format and --log-level.
func (c Config) Logging() (format, level string) { return c.LogFormat, c.LogLevel }
