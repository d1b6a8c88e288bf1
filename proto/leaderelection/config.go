package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	coordinationv1 "skiff.dev/proto/coordination/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// Defaults, as Kubernetes' components use them.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// JitterFactor spreads acquisition attempts: a standby waits between
// RetryPeriod and RetryPeriod*(1+JitterFactor) between tries. RenewDeadline
// must be greater than RetryPeriod*JitterFactor.
const JitterFactor = 1.2

// LeaseClient is the part of coordinationv1.LeaseServiceClient the elector
// uses; the generated client of a grpc.ClientConn satisfies it.
type LeaseClient interface {
	Get(ctx context.Context, in *metav1.GetOptions, opts ...grpc.CallOption) (*coordinationv1.Lease, error)
	Create(ctx context.Context, in *coordinationv1.LeaseRequest, opts ...grpc.CallOption) (*coordinationv1.Lease, error)
	Update(ctx context.Context, in *coordinationv1.LeaseRequest, opts ...grpc.CallOption) (*coordinationv1.Lease, error)
}

var _ LeaseClient = coordinationv1.LeaseServiceClient(nil)

// LeaseLock names the Lease that candidates compete for, and who this
// candidate is.
type LeaseLock struct {
	Namespace string
	Name      string
	// Identity is unique per candidate, typically hostname plus a random
	// suffix, so a restarted process does not think it still leads.
	Identity string
	Client   LeaseClient
}

func (l LeaseLock) String() string { return l.Namespace + "/" + l.Name }

// Callbacks are what the elector calls as leadership changes.
type Callbacks struct {
	// OnStartedLeading runs in its own goroutine once this candidate leads.
	// Its context is cancelled as soon as leadership ends; it must stop
	// acting as leader then. Required.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading is called when Run returns, whether or not this
	// candidate ever led (as client-go). Components typically exit from it
	// unless their context was cancelled. Required.
	OnStoppedLeading func()
	// OnNewLeader is called, in its own goroutine, with the identity of each
	// new holder observed, this candidate included. Optional.
	OnNewLeader func(identity string)
}

// Config configures a LeaderElector.
type Config struct {
	Lock LeaseLock

	// LeaseDuration is how long a standby waits, on its own clock, after it
	// last saw the lease change before it takes the lease over.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps retrying a failing renewal
	// before it gives up leadership.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between attempts to acquire or renew.
	RetryPeriod time.Duration

	Callbacks Callbacks

	// ReleaseOnCancel clears the lease's holder when Run's context is
	// cancelled while leading, after OnStartedLeading has returned, so a
	// standby takes over at once instead of after LeaseDuration.
	ReleaseOnCancel bool

	// Name names this election in logs.
	Name string
	// Logger receives "became leader", "lost leadership" and "new leader
	// elected"; nil logs nothing.
	Logger *zap.Logger
	// EventRecorder, if set, is called with reason "LeaderElection" and a
	// message such as "<identity> became leader", for the component to
	// record as an Event on the Lease. It must not block.
	EventRecorder func(reason, message string)
}

// Validate reports every problem of c, as client-go's checks.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.LeaseDuration <= 0 {
		bad("leaseDuration: must be greater than zero, got %v", c.LeaseDuration)
	}
	if c.RenewDeadline <= 0 {
		bad("renewDeadline: must be greater than zero, got %v", c.RenewDeadline)
	}
	if c.RetryPeriod <= 0 {
		bad("retryPeriod: must be greater than zero, got %v", c.RetryPeriod)
	}
	if c.LeaseDuration <= c.RenewDeadline {
		bad("leaseDuration: must be greater than renewDeadline (%v), got %v", c.RenewDeadline, c.LeaseDuration)
	}
	if minDeadline := time.Duration(JitterFactor * float64(c.RetryPeriod)); c.RenewDeadline <= minDeadline {
		bad("renewDeadline: must be greater than retryPeriod*%v (%v), got %v", JitterFactor, minDeadline, c.RenewDeadline)
	}
	if c.Callbacks.OnStartedLeading == nil {
		bad("callbacks.onStartedLeading: required")
	}
	if c.Callbacks.OnStoppedLeading == nil {
		bad("callbacks.onStoppedLeading: required")
	}
	if c.Lock.Name == "" {
		bad("lock.name: required")
	}
	if c.Lock.Identity == "" {
		bad("lock.identity: required")
	}
	if c.Lock.Client == nil {
		bad("lock.client: required")
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("leader election config: %w", err)
	}
	return nil
}
