package app

import (
	"reflect"
	"strings"
	"testing"
)

func TestEnabledControllers(t *testing.T) {
	table := []ControllerDescriptor{
		{Name: "replicaset", EnabledByDefault: true},
		{Name: "deployment", EnabledByDefault: true},
		{Name: "job", EnabledByDefault: true},
		{Name: "bootstrapsigner"},
	}
	tests := []struct {
		selection []string
		want      []string
		err       string
	}{
		{[]string{"*"}, []string{"replicaset", "deployment", "job"}, ""},
		{[]string{"*", "-job"}, []string{"replicaset", "deployment"}, ""},
		{[]string{"-job", "*"}, []string{"replicaset", "deployment"}, ""},
		{[]string{"*", "bootstrapsigner"}, []string{"replicaset", "deployment", "job", "bootstrapsigner"}, ""},
		{[]string{"replicaset"}, []string{"replicaset"}, ""},
		{[]string{"replicaset", "-replicaset"}, nil, ""},
		{nil, nil, ""},
		{[]string{"*", "-jobs"}, nil, `unknown controller "jobs"; known controllers: bootstrapsigner, deployment, job, replicaset`},
		{[]string{"daemonsets"}, nil, `unknown controller "daemonsets"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.selection, ","), func(t *testing.T) {
			got, err := EnabledControllers(tt.selection, table)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("EnabledControllers(%q) error = %v, want %q", tt.selection, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range got {
				names = append(names, d.Name)
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("EnabledControllers(%q) = %q, want %q", tt.selection, names, tt.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c, err := LoadConfig(nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"unknown controller", func(c *Config) { c.Controllers = []string{"*", "-replicasets"} }, `--controllers: unknown controller "replicasets"`},
		{"bad cluster cidr", func(c *Config) { c.ClusterCIDR = "10.244.0.0" }, `--cluster-cidr: "10.244.0.0" is not a CIDR`},
		{"host bits", func(c *Config) { c.ClusterCIDR = "10.244.1.0/16" }, "did you mean 10.244.0.0/16?"},
		{"mask shorter than cluster", func(c *Config) { c.NodeCIDRMaskSize = 8 }, "--node-cidr-mask-size: must be between the --cluster-cidr prefix length 16 and 32, got 8"},
		{"no workers", func(c *Config) { c.ConcurrentReplicaSetSyncs = 0 }, "--concurrent-replicaset-syncs: must be at least 1, got 0"},
		{"lease shorter than renew deadline", func(c *Config) { c.LeaderElectLeaseDuration = 5 * 1e9 },
			"--leader-elect-lease-duration: must be greater than --leader-elect-renew-deadline (10s), got 5s"},
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

func TestLoadPrecedence(t *testing.T) {
	t.Setenv("SKIFF_CONCURRENT_REPLICASET_SYNCS", "7")
	t.Setenv("SKIFF_CLUSTER_CIDR", "10.0.0.0/8")
	got, err := LoadConfig([]string{"--cluster-cidr", "10.100.0.0/16", "--controllers", "*,-job", "--leader-elect=false"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ClusterCIDR != "10.100.0.0/16" || got.ConcurrentReplicaSetSyncs != 7 || got.LeaderElect ||
		!reflect.DeepEqual(got.Controllers, []string{"*", "-job"}) || got.NodeCIDRMaskSize != 24 || got.SecurePort != 10257 {
		t.Errorf("config = %+v, want flag > env > default", got)
	}
}
