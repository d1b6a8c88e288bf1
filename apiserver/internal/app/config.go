package app

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"skiff.dev/apiserver/internal/kubelet"
)

// Config is everything skiff-apiserver is configured with. Flag names are
// kube-apiserver's wherever it has one.
type Config struct {
	BindAddress string `mapstructure:"bind-address"`
	SecurePort  int    `mapstructure:"secure-port"`
	Insecure    bool   `mapstructure:"insecure"`

	TLSCertFile       string `mapstructure:"tls-cert-file"`
	TLSPrivateKeyFile string `mapstructure:"tls-private-key-file"`
	ClientCAFile      string `mapstructure:"client-ca-file"`
	TokenAuthFile     string `mapstructure:"token-auth-file"`
	// ServiceAccountKeyFiles verify service account tokens.
	ServiceAccountKeyFiles []string `mapstructure:"service-account-key-file"`

	AuthorizationMode       []string `mapstructure:"authorization-mode"`
	AuthorizationPolicyFile string   `mapstructure:"authorization-policy-file"`

	EtcdServers  []string `mapstructure:"etcd-servers"`
	EtcdCAFile   string   `mapstructure:"etcd-cafile"`
	EtcdCertFile string   `mapstructure:"etcd-certfile"`
	EtcdKeyFile  string   `mapstructure:"etcd-keyfile"`

	DataDir               string `mapstructure:"data-dir"`
	EmbeddedEtcdClientURL string `mapstructure:"embedded-etcd-client-url"`
	EmbeddedEtcdPeerURL   string `mapstructure:"embedded-etcd-peer-url"`
	// EmbeddedEtcdUnsafeNoFsync is for tests and benchmarks only.
	EmbeddedEtcdUnsafeNoFsync bool `mapstructure:"embedded-etcd-unsafe-no-fsync"`

	ServiceClusterIPRange  string        `mapstructure:"service-cluster-ip-range"`
	ServiceNodePortRange   string        `mapstructure:"service-node-port-range"`
	EtcdCompactionInterval time.Duration `mapstructure:"etcd-compaction-interval"`
	WatchCacheSize         int           `mapstructure:"default-watch-cache-size"`

	KubeletPreferredAddressTypes []string      `mapstructure:"kubelet-preferred-address-types"`
	KubeletClientCertificate     string        `mapstructure:"kubelet-client-certificate"`
	KubeletClientKey             string        `mapstructure:"kubelet-client-key"`
	KubeletCertificateAuthority  string        `mapstructure:"kubelet-certificate-authority"`
	KubeletInsecureHTTP          bool          `mapstructure:"kubelet-insecure-http"`
	KubeletTimeout               time.Duration `mapstructure:"kubelet-timeout"`

	ShutdownTimeout time.Duration `mapstructure:"shutdown-timeout"`
	LogFormat       string        `mapstructure:"log-format"`
	LogLevel        string        `mapstructure:"log-level"`
}

// Defaults are the values of every key not set elsewhere.
func Defaults() map[string]any {
	return map[string]any{
		"bind-address":                    "",
		"secure-port":                     6443,
		"insecure":                        false,
		"tls-cert-file":                   "",
		"tls-private-key-file":            "",
		"client-ca-file":                  "",
		"token-auth-file":                 "",
		"service-account-key-file":        []string{},
		"authorization-mode":              []string{"ABAC"},
		"authorization-policy-file":       "",
		"etcd-servers":                    []string{},
		"etcd-cafile":                     "",
		"etcd-certfile":                   "",
		"etcd-keyfile":                    "",
		"data-dir":                        "/var/lib/skiff/etcd",
		"embedded-etcd-client-url":        "http://127.0.0.1:2379",
		"embedded-etcd-peer-url":          "http://127.0.0.1:2380",
		"embedded-etcd-unsafe-no-fsync":   false,
		"service-cluster-ip-range":        "10.96.0.0/12",
		"service-node-port-range":         "30000-32767",
		"etcd-compaction-interval":        5 * time.Minute,
		"default-watch-cache-size":        1000,
		"kubelet-preferred-address-types": slices.Clone(kubelet.DefaultPreferredAddressTypes),
		"kubelet-client-certificate":      "",
		"kubelet-client-key":              "",
		"kubelet-certificate-authority":   "",
		"kubelet-insecure-http":           false,
		"kubelet-timeout":                 5 * time.Second,
		"shutdown-timeout":                10 * time.Second,
		"log-format":                      "json",
		"log-level":                       "info",
	}
}

// Validate checks the configuration as a whole and says what to fix.
func (c *Config) Validate() error {
	var errs []error
	if c.SecurePort < 0 || c.SecurePort > 65535 {
		errs = append(errs, fmt.Errorf("--secure-port: must be 0-65535, got %d", c.SecurePort))
	}
	if c.BindAddress != "" && net.ParseIP(c.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address: %q is not an IP address", c.BindAddress))
	}
	if !c.Insecure {
		if c.TLSCertFile == "" || c.TLSPrivateKeyFile == "" {
			errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file are required (make certs creates dev certificates), or run with --insecure for local development"))
		}
		if c.ClientCAFile == "" && c.TokenAuthFile == "" && len(c.ServiceAccountKeyFiles) == 0 {
			errs = append(errs, errors.New("no authentication configured: set --client-ca-file, --token-auth-file and/or --service-account-key-file, or run with --insecure for local development"))
		}
	}
	for _, s := range c.EtcdServers {
		if u, err := url.Parse(s); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			errs = append(errs, fmt.Errorf("--etcd-servers: %q is not an http(s)://host:port URL", s))
		}
	}
	if len(c.EtcdServers) == 0 && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required for the embedded etcd (or set --etcd-servers)"))
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		errs = append(errs, fmt.Errorf("--log-format: want json or console, got %q", c.LogFormat))
	}
	if c.WatchCacheSize < 0 {
		errs = append(errs, fmt.Errorf("--default-watch-cache-size: must be >= 0, got %d", c.WatchCacheSize))
	}
	errs = append(errs, c.validateKubelet()...)
	return errors.Join(errs...)
}

// validateKubelet checks how the apiserver calls kubelets.
func (c *Config) validateKubelet() []error {
	var errs []error
	for _, t := range splitList(c.KubeletPreferredAddressTypes) {
		if !slices.Contains(kubelet.AddressTypes, t) {
			errs = append(errs, fmt.Errorf("--kubelet-preferred-address-types: %q is not one of %s", t, strings.Join(kubelet.AddressTypes, ",")))
		}
	}
	if (c.KubeletClientCertificate == "") != (c.KubeletClientKey == "") {
		errs = append(errs, errors.New("--kubelet-client-certificate and --kubelet-client-key go together: set both or neither"))
	}
	if c.KubeletInsecureHTTP {
		if !c.Insecure {
			errs = append(errs, errors.New("--kubelet-insecure-http: plain HTTP to kubelets is only for a development cluster run with --insecure"))
		}
		if c.KubeletClientCertificate != "" || c.KubeletCertificateAuthority != "" {
			errs = append(errs, errors.New("--kubelet-insecure-http calls kubelets without TLS: drop --kubelet-client-certificate, --kubelet-client-key and --kubelet-certificate-authority"))
		}
	}
	if c.KubeletTimeout < 0 {
		errs = append(errs, fmt.Errorf("--kubelet-timeout: must be >= 0, got %s", c.KubeletTimeout))
	}
	return errs
}

// splitList accepts both repeated flags and comma-separated values.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// options is Config as the command loads it. Start validates the
// configuration after splitting its lists, for the command and for
// apiservertest alike, so the command's own check passes everything on.
type options Config

func (*options) Validate() error { return nil }

// Logging is the --log-format and --log-level.
func (o *options) Logging() (format, level string) { return o.LogFormat, o.LogLevel }
