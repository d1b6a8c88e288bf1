// Package leaderelection lets several replicas of a component run while
// exactly one of them acts, by holding a coordination/v1 Lease on the
// apiserver. It is modelled on client-go's tools/leaderelection.
//
// The holder renews the Lease every RetryPeriod. A standby takes the Lease
// over only after it has seen the Lease unchanged for LeaseDuration on its
// own clock; it never compares the timestamps written by another machine
// with its own time, so clock skew between machines does not matter. Every
// write is a compare-and-swap on the Lease's resourceVersion: when two
// candidates race, the apiserver lets exactly one write win.
//
// The leader stops acting (its OnStartedLeading context is cancelled) when
// renewal has failed for RenewDeadline, which is shorter than LeaseDuration,
// so it stops before any standby can take over. Election is not fencing:
// writes the leader makes must still use resourceVersion preconditions.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/proto/coordination/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// EventReason is the reason of the events given to Config.EventRecorder.
const EventReason = "LeaderElection"

// LeaderElector runs one candidate of an election.
type LeaderElector struct {
	cfg Config
	lg  *zap.Logger

	// lease is the last Lease read or written; its resourceVersion is the
	// precondition of the next write. Only Run's goroutine touches it.
	lease *coordinationv1.Lease
	// reportedLeader is the last holder reported to OnNewLeader; Run's
	// goroutine only.
	reportedLeader string

	mu             sync.Mutex
	observedRecord *coordinationv1.LeaseSpec // last spec seen; nil before the first read
	observedTime   time.Time                 // when observedRecord last changed, on our clock

	leading atomic.Bool
}

// New checks cfg and returns an elector; call Run to take part.
func New(cfg Config) (*LeaderElector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	lg = lg.Named("leaderelection").With(
		zap.String("lease", cfg.Lock.String()),
		zap.String("identity", cfg.Lock.Identity),
	)
	if cfg.Name != "" {
		lg = lg.With(zap.String("election", cfg.Name))
	}
	return &LeaderElector{cfg: cfg, lg: lg}, nil
}

// RunOrDie runs an elector for cfg, and panics if cfg is invalid.
func RunOrDie(ctx context.Context, cfg Config) {
	le, err := New(cfg)
	if err != nil {
		panic(err)
	}
	le.Run(ctx)
}

// IsLeader reports whether this candidate leads now: true from acquisition
// until its OnStartedLeading context is cancelled.
func (le *LeaderElector) IsLeader() bool { return le.leading.Load() }

// GetLeader returns the holder of the Lease as last observed; empty if none.
func (le *LeaderElector) GetLeader() string {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.observedRecord.GetHolderIdentity()
}

// Run takes part in the election until ctx is cancelled or leadership is
// lost. It blocks while trying to acquire the Lease; once acquired it calls
// OnStartedLeading in a goroutine and renews the Lease until renewal fails
// for RenewDeadline, another holder is seen, or ctx is cancelled. It then
// cancels OnStartedLeading's context, releases the Lease if
// ReleaseOnCancel and ctx was cancelled, calls OnStoppedLeading, and
// returns once OnStartedLeading has returned. A LeaderElector runs once;
// after leadership is lost, make a new one to stand again.
func (le *LeaderElector) Run(ctx context.Context) {
	if !le.acquire(ctx) {
		le.cfg.Callbacks.OnStoppedLeading()
		return
	}

	leadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	le.leading.Store(true)
	callbackDone := make(chan struct{})
	go func() {
		defer close(callbackDone)
		le.cfg.Callbacks.OnStartedLeading(leadCtx)
	}()

	lost := le.renew(leadCtx)
	le.leading.Store(false)
	cancel()
	le.recordEvent("stopped leading")

	if lost {
		// Tell the component at once: it may exit rather than wait.
		le.cfg.Callbacks.OnStoppedLeading()
		<-callbackDone
		return
	}
	le.lg.Info("stopped leading")
	<-callbackDone
	if le.cfg.ReleaseOnCancel {
		le.release()
	}
	le.cfg.Callbacks.OnStoppedLeading()
}

// acquire tries to take the Lease every RetryPeriod (with jitter) until it
// does, and reports whether it did before ctx was cancelled.
func (le *LeaderElector) acquire(ctx context.Context) bool {
	le.lg.Info("attempting to acquire lease")
	for ctx.Err() == nil {
		attemptCtx, cancel := context.WithTimeout(ctx, le.cfg.RenewDeadline)
		ok := le.tryAcquireOrRenew(attemptCtx)
		cancel()
		le.maybeReportTransition()
		if ok {
			le.lg.Info("became leader")
			le.recordEvent("became leader")
			return true
		}
		wait := le.cfg.RetryPeriod + time.Duration(rand.Float64()*JitterFactor*float64(le.cfg.RetryPeriod))
		if !sleep(ctx, wait) {
			break
		}
	}
	return false
}

// renew keeps the Lease, renewing it every RetryPeriod, until ctx is
// cancelled (lost=false) or leadership is lost (lost=true).
func (le *LeaderElector) renew(ctx context.Context) (lost bool) {
	for {
		if !sleep(ctx, le.cfg.RetryPeriod) {
			return false
		}
		ok := le.renewWithinDeadline(ctx)
		le.maybeReportTransition()
		if ctx.Err() != nil {
			return false
		}
		if !ok {
			le.lg.Warn("lost leadership",
				zap.String("leader", le.GetLeader()),
				zap.Duration("renewDeadline", le.cfg.RenewDeadline))
			return true
		}
	}
}

// renewWithinDeadline retries renewal every RetryPeriod for at most
// RenewDeadline. It gives up at once when another holder is observed.
func (le *LeaderElector) renewWithinDeadline(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, le.cfg.RenewDeadline)
	defer cancel()
	for {
		if le.tryAcquireOrRenew(ctx) {
			return true
		}
		if !le.observedSelf() {
			return false
		}
		if !sleep(ctx, le.cfg.RetryPeriod) {
			return false
		}
	}
}

// tryAcquireOrRenew makes one attempt to take or keep the Lease, and
// reports whether this candidate holds it afterwards.
func (le *LeaderElector) tryAcquireOrRenew(ctx context.Context) bool {
	now := time.Now()
	desired := &coordinationv1.LeaseSpec{
		HolderIdentity:       proto.String(le.cfg.Lock.Identity),
		LeaseDurationSeconds: proto.Int32(int32(le.cfg.LeaseDuration / time.Second)),
		AcquireTime:          timestamppb.New(now),
		RenewTime:            timestamppb.New(now),
	}

	// 1. Fast path: the leader renews assuming the Lease is as it left it.
	if le.observedSelf() && le.isLeaseValid(now) {
		old := le.getObservedRecord()
		desired.AcquireTime = old.GetAcquireTime()
		desired.LeaseTransitions = proto.Int32(old.GetLeaseTransitions())
		err := le.update(ctx, desired)
		if err == nil {
			return true
		}
		le.logWriteError("renewing lease failed, rereading it", err)
	}

	// 2. Read the Lease, or create it.
	lease, err := le.cfg.Lock.Client.Get(ctx, &metav1.GetOptions{
		Namespace: le.cfg.Lock.Namespace,
		Name:      le.cfg.Lock.Name,
	})
	if status.Code(err) == codes.NotFound {
		desired.LeaseTransitions = proto.Int32(0)
		if err := le.create(ctx, desired); err != nil {
			le.logWriteError("creating lease failed", err)
			return false
		}
		return true
	}
	if err != nil {
		le.lg.Warn("reading lease failed", zap.Error(err))
		return false
	}
	le.lease = lease

	// 3. The clock of a holder starts when we see its record change.
	le.observe(lease.GetSpec())
	if lease.GetSpec().GetHolderIdentity() != "" && le.isLeaseValid(now) && !le.observedSelf() {
		return false // held by another, and not expired on our clock
	}

	// 4. Take over an expired or free Lease, or renew our own.
	old := lease.GetSpec()
	if le.observedSelf() {
		desired.AcquireTime = old.GetAcquireTime()
		desired.LeaseTransitions = proto.Int32(old.GetLeaseTransitions())
	} else {
		desired.LeaseTransitions = proto.Int32(old.GetLeaseTransitions() + 1)
	}
	if err := le.update(ctx, desired); err != nil {
		le.logWriteError("updating lease failed", err)
		return false
	}
	return true
}

// release clears the holder so a standby takes over at once.
func (le *LeaderElector) release() {
	if !le.observedSelf() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), le.cfg.RenewDeadline)
	defer cancel()
	now := timestamppb.Now()
	released := &coordinationv1.LeaseSpec{
		HolderIdentity:       proto.String(""),
		LeaseDurationSeconds: proto.Int32(1),
		AcquireTime:          now,
		RenewTime:            now,
		LeaseTransitions:     proto.Int32(le.getObservedRecord().GetLeaseTransitions()),
	}
	if err := le.update(ctx, released); err != nil {
		le.logWriteError("releasing lease failed", err)
		return
	}
	le.lg.Info("released lease")
}

// create writes a new Lease with spec.
func (le *LeaderElector) create(ctx context.Context, spec *coordinationv1.LeaseSpec) error {
	lock := le.cfg.Lock
	created, err := lock.Client.Create(ctx, &coordinationv1.LeaseRequest{
		Namespace: lock.Namespace,
		Name:      lock.Name,
		Object: &coordinationv1.Lease{
			ApiVersion: "coordination.k8s.io/v1",
			Kind:       "Lease",
			Metadata:   &metav1.ObjectMeta{Namespace: lock.Namespace, Name: lock.Name},
			Spec:       spec,
		},
	})
	if err != nil {
		return fmt.Errorf("create lease %s: %w", lock, err)
	}
	le.wrote(created, spec)
	return nil
}

// update replaces the spec of the last Lease seen, on the condition that it
// still has that resourceVersion.
func (le *LeaderElector) update(ctx context.Context, spec *coordinationv1.LeaseSpec) error {
	lock := le.cfg.Lock
	if le.lease == nil {
		return fmt.Errorf("update lease %s: %w", lock, errNotRead)
	}
	obj := proto.CloneOf(le.lease)
	obj.Spec = spec
	updated, err := lock.Client.Update(ctx, &coordinationv1.LeaseRequest{
		Namespace: lock.Namespace,
		Name:      lock.Name,
		Object:    obj,
	})
	if err != nil {
		return fmt.Errorf("update lease %s at resourceVersion %q: %w", lock, obj.GetMetadata().GetResourceVersion(), err)
	}
	le.wrote(updated, spec)
	return nil
}

var errNotRead = errors.New("lease not read yet")

// wrote records a successful write: the server's answer is the new base for
// compare-and-swap and the new observed record.
func (le *LeaderElector) wrote(answer *coordinationv1.Lease, sent *coordinationv1.LeaseSpec) {
	if answer == nil || answer.GetSpec() == nil {
		answer = &coordinationv1.Lease{Metadata: le.lease.GetMetadata(), Spec: sent}
	}
	le.lease = answer
	le.setObservedRecord(answer.GetSpec())
}

// observe notes spec as read from the server; the observed time moves only
// when the record changed since the last observation.
func (le *LeaderElector) observe(spec *coordinationv1.LeaseSpec) {
	if spec == nil {
		spec = &coordinationv1.LeaseSpec{}
	}
	le.mu.Lock()
	changed := le.observedRecord == nil || !proto.Equal(le.observedRecord, spec)
	le.mu.Unlock()
	if changed {
		le.setObservedRecord(spec)
	}
}

func (le *LeaderElector) setObservedRecord(spec *coordinationv1.LeaseSpec) {
	if spec == nil {
		spec = &coordinationv1.LeaseSpec{}
	}
	le.mu.Lock()
	defer le.mu.Unlock()
	le.observedRecord = proto.CloneOf(spec)
	le.observedTime = time.Now()
}

func (le *LeaderElector) getObservedRecord() *coordinationv1.LeaseSpec {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.observedRecord
}

// observedSelf reports whether the last observed holder is this candidate.
func (le *LeaderElector) observedSelf() bool {
	return le.GetLeader() == le.cfg.Lock.Identity
}

// isLeaseValid reports whether the observed record has not expired at now,
// counting from when we observed it, for the duration its holder declared.
func (le *LeaderElector) isLeaseValid(now time.Time) bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	d := le.cfg.LeaseDuration
	if s := le.observedRecord.GetLeaseDurationSeconds(); s > 0 {
		d = time.Duration(s) * time.Second
	}
	return le.observedTime.Add(d).After(now)
}

// maybeReportTransition logs and reports a holder not reported before.
func (le *LeaderElector) maybeReportTransition() {
	holder := le.GetLeader()
	if holder == le.reportedLeader {
		return
	}
	le.reportedLeader = holder
	if holder == "" {
		return // released: no leader is not a new leader
	}
	le.lg.Info("new leader elected", zap.String("leader", holder))
	if f := le.cfg.Callbacks.OnNewLeader; f != nil {
		go f(holder)
	}
}

func (le *LeaderElector) recordEvent(what string) {
	if le.cfg.EventRecorder != nil {
		le.cfg.EventRecorder(EventReason, le.cfg.Lock.Identity+" "+what)
	}
}

// logWriteError logs a failed write; losing a race is expected and quiet.
func (le *LeaderElector) logWriteError(msg string, err error) {
	switch status.Code(err) {
	case codes.Aborted, codes.AlreadyExists, codes.FailedPrecondition:
		le.lg.Debug(msg+": lease changed concurrently", zap.Error(err))
	default:
		le.lg.Warn(msg, zap.Error(err))
	}
}

// sleep waits d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
