package app

import (
	"strings"
	"testing"

	"github.com/spf13/viper"

	"skiff.dev/proto/component"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		var c Config
		if err := component.LoadConfig(viper.New(), "", Defaults(), &c); err != nil {
			t.Fatal(err)
		}
		c.NodeName, c.InsecureHTTP = "node-1", true
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no node name", func(c *Config) { c.NodeName = "" }, "--node-name: required"},
		{"bad node ip", func(c *Config) { c.NodeIP = "ten" }, `--node-ip: "ten" is not an IP address`},
		{"bad pod cidr", func(c *Config) { c.PodCIDR = "10.0.0.0/33" }, `--pod-cidr: "10.0.0.0/33" is not a CIDR`},
		{"relative root", func(c *Config) { c.RootDir = "var/lib" }, `--root-dir: must be an absolute path, got "var/lib"`},
		{"tls needed", func(c *Config) { c.InsecureHTTP = false }, "--tls-cert-file and --tls-private-key-file: required unless --insecure-http"},
		{"bad port", func(c *Config) { c.Port = 70000 }, "--port: must be 0 to 65535, got 70000"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, `--log-format: must be json or console, got "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}
