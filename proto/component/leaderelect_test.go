package component

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLeaderElectionFlags(t *testing.T) {
	d := AddLeaderElectionDefaults(map[string]any{"other": 1}, "skiff-test")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddLeaderElectionFlags(fs, d, "tester")
	if err := fs.Parse([]string{"--leader-elect-retry-period=3s"}); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{
		"leader-elect": "true", "leader-elect-lease-duration": "15s", "leader-elect-renew-deadline": "10s",
		"leader-elect-retry-period": "3s", "leader-elect-resource-name": "skiff-test", "leader-elect-resource-namespace": "kube-system",
	} {
		if got := fs.Lookup(flag).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
	if d["other"] != 1 {
		t.Errorf("AddLeaderElectionDefaults dropped other keys: %v", d)
	}
	if u := fs.Lookup("leader-elect").Usage; u != "elect one active tester among replicas through a Lease" {
		t.Errorf("--leader-elect help = %q", u)
	}
}

func TestLeaderElectionValidate(t *testing.T) {
	ok := LeaderElection{Elect: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second,
		RetryPeriod: 2 * time.Second, ResourceName: "l", ResourceNamespace: "kube-system"}
	for _, tc := range []struct {
		name   string
		change func(*LeaderElection)
		want   string
	}{
		{"valid", func(*LeaderElection) {}, ""},
		{"lease not above renew", func(le *LeaderElection) { le.LeaseDuration = 10 * time.Second },
			"--leader-elect-lease-duration: must be greater than --leader-elect-renew-deadline (10s), got 10s"},
		{"renew not above retry", func(le *LeaderElection) { le.RenewDeadline = time.Second; le.LeaseDuration = 5 * time.Second },
			"--leader-elect-renew-deadline: must be greater than --leader-elect-retry-period (2s), got 1s"},
		{"retry zero", func(le *LeaderElection) { le.RetryPeriod = 0 }, "--leader-elect-retry-period: must be greater than zero, got 0s"},
		{"no lease name", func(le *LeaderElection) { le.ResourceName = "" }, "--leader-elect-resource-name and --leader-elect-resource-namespace: required"},
		{"off: nothing checked", func(le *LeaderElection) { *le = LeaderElection{} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			le := ok
			tc.change(&le)
			err := errors.Join(le.Validate()...)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
