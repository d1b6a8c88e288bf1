package app

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"skiff.dev/kubelet/internal/images"
	"skiff.dev/kubelet/internal/logs"
)

// Config is skiff-kubelet's configuration; keys are the flag names.
type Config struct {
	Kubeconfig string   `mapstructure:"kubeconfig"`
	Server     []string `mapstructure:"server"`

	NodeName string `mapstructure:"node-name"`
	NodeIP   string `mapstructure:"node-ip"`

	ContainerdAddress   string   `mapstructure:"containerd-address"`
	ContainerdNamespace string   `mapstructure:"containerd-namespace"`
	RootDir             string   `mapstructure:"root-dir"`
	PodLogDir           string   `mapstructure:"pod-log-dir"`
	ImageDir            string   `mapstructure:"image-dir"`
	PauseImage          string   `mapstructure:"pause-image"`
	InsecureRegistry    []string `mapstructure:"insecure-registry"`
	DockerConfig        string   `mapstructure:"docker-config"`

	ClusterCIDR string `mapstructure:"cluster-cidr"`
	ServiceCIDR string `mapstructure:"service-cidr"`
	PodCIDR     string `mapstructure:"pod-cidr"`
	ClusterDNS  string `mapstructure:"cluster-dns"`
	HostNetNS   string `mapstructure:"host-netns"`
	NetNSPrefix string `mapstructure:"netns-prefix"`

	BindAddress       string `mapstructure:"address"`
	Port              int    `mapstructure:"port"`
	TLSCertFile       string `mapstructure:"tls-cert-file"`
	TLSPrivateKeyFile string `mapstructure:"tls-private-key-file"`
	ClientCAFile      string `mapstructure:"client-ca-file"`
	InsecureHTTP      bool   `mapstructure:"insecure-http"`
	HealthzBindAddr   string `mapstructure:"healthz-bind-address"`
	HealthzPort       int    `mapstructure:"healthz-port"`

	KubeAPIQPS   float32 `mapstructure:"kube-api-qps"`
	KubeAPIBurst int     `mapstructure:"kube-api-burst"`

	ShutdownTimeout time.Duration `mapstructure:"shutdown-timeout"`
	LogFormat       string        `mapstructure:"log-format"`
	LogLevel        string        `mapstructure:"log-level"`
}

// Defaults are every key's default.
func Defaults() map[string]any {
	return map[string]any{
		"kubeconfig": "", "server": []string{}, "node-name": "", "node-ip": "",
		"containerd-address": "/run/containerd/containerd.sock", "containerd-namespace": "skiff",
		"root-dir": "/var/lib/skiff-kubelet", "pod-log-dir": logs.DefaultRoot, "image-dir": "",
		"pause-image": images.Pause, "insecure-registry": []string{}, "docker-config": "",
		"cluster-cidr": "10.244.0.0/16", "service-cidr": "10.96.0.0/12", "pod-cidr": "", "cluster-dns": "", "host-netns": "", "netns-prefix": "skiff-",
		"address": "0.0.0.0", "port": 10250, "tls-cert-file": "", "tls-private-key-file": "", "client-ca-file": "",
		"insecure-http": false, "healthz-bind-address": "127.0.0.1", "healthz-port": 10248,
		"kube-api-qps": float32(50), "kube-api-burst": 100,
		"shutdown-timeout": 10 * time.Second, "log-format": "json", "log-level": "info",
	}
}

// Validate says which setting is wrong and why.
func (c Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("--node-name: required"))
	}
	if c.NodeIP != "" && net.ParseIP(c.NodeIP) == nil {
		errs = append(errs, fmt.Errorf("--node-ip: %q is not an IP address", c.NodeIP))
	}
	for flag, cidr := range map[string]string{"--cluster-cidr": c.ClusterCIDR, "--service-cidr": c.ServiceCIDR, "--pod-cidr": c.PodCIDR} {
		if cidr == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a CIDR", flag, cidr))
		}
	}
	for flag, dir := range map[string]string{"--root-dir": c.RootDir, "--pod-log-dir": c.PodLogDir} {
		if !filepath.IsAbs(dir) {
			errs = append(errs, fmt.Errorf("%s: must be an absolute path, got %q", flag, dir))
		}
	}
	if c.ContainerdNamespace == "" {
		errs = append(errs, errors.New("--containerd-namespace: must not be empty"))
	}
	if !c.InsecureHTTP && (c.TLSCertFile == "" || c.TLSPrivateKeyFile == "") {
		errs = append(errs, errors.New("--tls-cert-file and --tls-private-key-file: required unless --insecure-http"))
	}
	for flag, p := range map[string]int{"--port": c.Port, "--healthz-port": c.HealthzPort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s: must be 0 to 65535, got %d", flag, p))
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format: must be json or console, got %q", c.LogFormat))
	}
	return errors.Join(errs...)
}

// Logging is the --log-format and --log-level.
func (c Config) Logging() (format, level string) { return c.LogFormat, c.LogLevel }
