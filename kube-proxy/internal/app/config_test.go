package app

import (
	"strings"
	"testing"

	"github.com/spf13/viper"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults as kube-proxy", check: func(t *testing.T, c Config) {
			if c.SyncPeriod.String() != "30s" || c.MinSyncPeriod.String() != "1s" || c.HealthzBindAddress != "0.0.0.0:10256" ||
				c.MetricsBindAddress != "127.0.0.1:10249" || c.MasqueradeAll || c.Cleanup {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "flags", args: []string{"--cluster-cidr=10.244.0.0/16", "--nodeport-addresses=192.168.1.0/24,10.0.0.0/8", "--masquerade-all", "--sync-period=5s", "--min-sync-period=0s", "--cleanup"},
			check: func(t *testing.T, c Config) {
				if c.ClusterCIDR != "10.244.0.0/16" || len(c.NodePortAddresses) != 2 || !c.MasqueradeAll || c.SyncPeriod.String() != "5s" || c.MinSyncPeriod != 0 || !c.Cleanup {
					t.Errorf("flags not applied: %+v", c)
				}
			}},
		{name: "env below flags", args: []string{"--sync-period=7s"}, env: map[string]string{"SKIFF_SYNC_PERIOD": "9s", "SKIFF_MASQUERADE_ALL": "true"},
			check: func(t *testing.T, c Config) {
				if c.SyncPeriod.String() != "7s" || !c.MasqueradeAll {
					t.Errorf("precedence: %+v", c)
				}
			}},
		{name: "bad cluster cidr", args: []string{"--cluster-cidr=10.244.0.0"}, wantErr: "--cluster-cidr: want an IPv4 CIDR"},
		{name: "bad nodeport addresses", args: []string{"--nodeport-addresses=10.0.0.0/8,eth0"}, wantErr: `--nodeport-addresses[1]: want an IPv4 CIDR such as 192.168.1.0/24, got "eth0"`},
		{name: "min above sync period", args: []string{"--sync-period=1s", "--min-sync-period=2s"}, wantErr: "--min-sync-period: must be 0 to --sync-period (1s), got 2s"},
		{name: "bad healthz address", args: []string{"--healthz-bind-address=10256"}, wantErr: "--healthz-bind-address: want host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cmd := NewCommand()
			if err := cmd.Flags().Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			v := viper.New()
			_ = v.BindPFlags(cmd.Flags())
			c, err := load(v, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}
