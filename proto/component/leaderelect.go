package component

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/proto/leaderelection"
)

// LeaderElection is the --leader-elect* configuration of a daemon whose
// replicas elect one active leader through a Lease.
type LeaderElection struct {
	Elect             bool
	LeaseDuration     time.Duration
	RenewDeadline     time.Duration
	RetryPeriod       time.Duration
	ResourceName      string
	ResourceNamespace string
}

// AddLeaderElectionDefaults adds the --leader-elect* defaults to d: election
// on, Kubernetes' timings, the Lease kube-system/<lease>. It returns d.
func AddLeaderElectionDefaults(d map[string]any, lease string) map[string]any {
	d["leader-elect"] = true
	d["leader-elect-lease-duration"] = leaderelection.DefaultLeaseDuration
	d["leader-elect-renew-deadline"] = leaderelection.DefaultRenewDeadline
	d["leader-elect-retry-period"] = leaderelection.DefaultRetryPeriod
	d["leader-elect-resource-name"] = lease
	d["leader-elect-resource-namespace"] = "kube-system"
	return d
}

// AddLeaderElectionFlags defines the --leader-elect* flags on fs with their
// defaults from d (see AddLeaderElectionDefaults); who names one replica in
// the help ("scheduler").
func AddLeaderElectionFlags(fs *pflag.FlagSet, d map[string]any, who string) {
	dur := func(k string) time.Duration { return d[k].(time.Duration) }
	fs.Bool("leader-elect", d["leader-elect"].(bool), "elect one active "+who+" among replicas through a Lease")
	fs.Duration("leader-elect-lease-duration", dur("leader-elect-lease-duration"), "how long standbys wait after the last renewal before taking over")
	fs.Duration("leader-elect-renew-deadline", dur("leader-elect-renew-deadline"), "how long the leader retries renewing before it gives up leadership")
	fs.Duration("leader-elect-retry-period", dur("leader-elect-retry-period"), "wait between attempts to acquire or renew")
	fs.String("leader-elect-resource-name", d["leader-elect-resource-name"].(string), "name of the Lease")
	fs.String("leader-elect-resource-namespace", d["leader-elect-resource-namespace"].(string), "namespace of the Lease")
}

// Validate reports every problem of the timings and the Lease's name; with
// election off there is none.
func (le LeaderElection) Validate() []error {
	if !le.Elect {
		return nil
	}
	var errs []error
	if le.LeaseDuration <= le.RenewDeadline {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration: must be greater than --leader-elect-renew-deadline (%v), got %v",
			le.RenewDeadline, le.LeaseDuration))
	}
	if le.RenewDeadline <= le.RetryPeriod {
		errs = append(errs, fmt.Errorf("--leader-elect-renew-deadline: must be greater than --leader-elect-retry-period (%v), got %v",
			le.RetryPeriod, le.RenewDeadline))
	}
	if le.RetryPeriod <= 0 {
		errs = append(errs, fmt.Errorf("--leader-elect-retry-period: must be greater than zero, got %v", le.RetryPeriod))
	}
	if le.ResourceName == "" || le.ResourceNamespace == "" {
		errs = append(errs, errors.New("--leader-elect-resource-name and --leader-elect-resource-namespace: required with --leader-elect"))
	}
	return errs
}
