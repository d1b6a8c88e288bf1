package leaderelection

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	coordinationv1 "skiff.dev/proto/coordination/v1"
)

// The tests run in synctest bubbles: time is fake and advances only while
// every goroutine is blocked, so the default 15s/10s/2s timings run
// instantly and every duration asserted below is exact, not a speed claim.

const (
	testNS   = "kube-system"
	testName = "skiff-scheduler"

	// cleanupTime is how long a leader's OnStartedLeading takes to stop
	// after its context is cancelled.
	cleanupTime = time.Second
)

// maxRetryWait is the longest wait between two acquisition attempts.
var maxRetryWait = time.Duration((1 + JitterFactor) * float64(DefaultRetryPeriod))

// maxTakeover is the longest a standby can take to take over after the last
// change of the lease: it sees the change at its next try, then takes over
// at its first try a lease duration later.
var maxTakeover = DefaultLeaseDuration + 2*maxRetryWait

// election is the shared state of the candidates of one test.
type election struct {
	t      *testing.T
	store  *fakeLeases
	active atomic.Int32 // candidates inside OnStartedLeading now
}

func newElection(t *testing.T) *election {
	return &election{t: t, store: newFakeLeases(t)}
}

// candidate is one running LeaderElector and what its callbacks saw.
type candidate struct {
	id     string
	client *flakyClient
	le     *LeaderElector
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returns

	mu           sync.Mutex
	startedAt    []time.Time // each OnStartedLeading
	stoppedAt    []time.Time // each return of OnStartedLeading
	holderAtStop []string    // the lease holder as each OnStartedLeading returned
	stoppedCalls int
	newLeaders   []string
	events       []string
}

func (c *candidate) snapshot() (started, stopped []time.Time, stoppedCalls int, newLeaders []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.startedAt...), append([]time.Time(nil), c.stoppedAt...),
		c.stoppedCalls, append([]string(nil), c.newLeaders...)
}

func (c *candidate) runReturned() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// start runs a candidate named id until the test stops it.
func (e *election) start(id string, mod func(*Config)) *candidate {
	e.t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	c := &candidate{id: id, client: &flakyClient{store: e.store}, logs: logs, done: make(chan struct{})}
	cfg := Config{
		Lock:          LeaseLock{Namespace: testNS, Name: testName, Identity: id, Client: c.client},
		LeaseDuration: DefaultLeaseDuration,
		RenewDeadline: DefaultRenewDeadline,
		RetryPeriod:   DefaultRetryPeriod,
		Callbacks: Callbacks{
			OnStartedLeading: func(ctx context.Context) {
				if n := e.active.Add(1); n != 1 {
					e.t.Errorf("%s started leading while %d other candidate(s) lead", id, n-1)
				}
				c.mu.Lock()
				c.startedAt = append(c.startedAt, time.Now())
				c.mu.Unlock()
				<-ctx.Done()
				time.Sleep(cleanupTime)
				e.active.Add(-1)
				holder := e.store.current(testNS, testName).GetHolderIdentity()
				c.mu.Lock()
				c.stoppedAt = append(c.stoppedAt, time.Now())
				c.holderAtStop = append(c.holderAtStop, holder)
				c.mu.Unlock()
			},
			OnStoppedLeading: func() {
				c.mu.Lock()
				c.stoppedCalls++
				c.mu.Unlock()
			},
			OnNewLeader: func(identity string) {
				c.mu.Lock()
				c.newLeaders = append(c.newLeaders, identity)
				c.mu.Unlock()
			},
		},
		Logger: zap.New(core),
		EventRecorder: func(reason, message string) {
			c.mu.Lock()
			c.events = append(c.events, reason+": "+message)
			c.mu.Unlock()
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	le, err := New(cfg)
	if err != nil {
		e.t.Fatalf("New(%s): %v", id, err)
	}
	c.le = le
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		le.Run(ctx)
	}()
	e.t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// stop cancels the candidate's context and waits for Run to return.
func (c *candidate) stop() {
	c.cancel()
	<-c.done
}

// leaders returns the candidates that lead now.
func leaders(cs ...*candidate) []string {
	var ids []string
	for _, c := range cs {
		if c.le.IsLeader() {
			ids = append(ids, c.id)
		}
	}
	return ids
}

func TestExactlyOneLeaderAmongThree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		cs := []*candidate{e.start("a", nil), e.start("b", nil), e.start("c", nil)}

		// Check along two minutes, far past several lease durations.
		var winner string
		for range 24 {
			time.Sleep(5 * time.Second)
			ls := leaders(cs...)
			if len(ls) != 1 {
				t.Fatalf("at %v: leaders %v, want exactly one", time.Now().Format(time.TimeOnly), ls)
			}
			if winner == "" {
				winner = ls[0]
			} else if ls[0] != winner {
				t.Fatalf("leadership moved from %s to %s though nobody failed", winner, ls[0])
			}
		}

		spec := e.store.current(testNS, testName)
		if got := spec.GetHolderIdentity(); got != winner {
			t.Errorf("lease holder = %q, want the leader %q", got, winner)
		}
		if got := spec.GetLeaseTransitions(); got != 0 {
			t.Errorf("leaseTransitions = %d, want 0: the lease never changed hands", got)
		}
		if got := spec.GetLeaseDurationSeconds(); got != 15 {
			t.Errorf("leaseDurationSeconds = %d, want 15", got)
		}
		if !spec.GetRenewTime().AsTime().After(spec.GetAcquireTime().AsTime()) {
			t.Errorf("renewTime %v not after acquireTime %v: the leader is not renewing",
				spec.GetRenewTime().AsTime(), spec.GetAcquireTime().AsTime())
		}
		for _, c := range cs {
			started, _, _, newLeaders := c.snapshot()
			if want := map[bool]int{true: 1, false: 0}[c.id == winner]; len(started) != want {
				t.Errorf("%s: OnStartedLeading called %d times, want %d", c.id, len(started), want)
			}
			if got := c.le.GetLeader(); got != winner {
				t.Errorf("%s: GetLeader() = %q, want %q", c.id, got, winner)
			}
			if len(newLeaders) != 1 || newLeaders[0] != winner {
				t.Errorf("%s: OnNewLeader calls %v, want [%s]", c.id, newLeaders, winner)
			}
			if n := c.logs.FilterMessage("new leader elected").FilterField(zap.String("leader", winner)).Len(); n != 1 {
				t.Errorf("%s: %d \"new leader elected\" logs for %s, want 1", c.id, n, winner)
			}
		}
		winnerC := cs[strings.Index("abc", winner)]
		if n := winnerC.logs.FilterMessage("became leader").FilterField(zap.String("identity", winner)).Len(); n != 1 {
			t.Errorf("%d \"became leader\" logs with identity %s, want 1", n, winner)
		}
		winnerC.mu.Lock()
		events := append([]string(nil), winnerC.events...)
		winnerC.mu.Unlock()
		if len(events) != 1 || events[0] != "LeaderElection: "+winner+" became leader" {
			t.Errorf("events = %q, want [LeaderElection: %s became leader]", events, winner)
		}

		for _, c := range cs {
			c.stop()
			_, stopped, stoppedCalls, _ := c.snapshot()
			if stoppedCalls != 1 {
				t.Errorf("%s: OnStoppedLeading called %d times after Run returned, want 1", c.id, stoppedCalls)
			}
			if c.id == winner && len(stopped) != 1 {
				t.Errorf("%s: Run returned before OnStartedLeading did", c.id)
			}
		}
	})
}

func TestStandbyTakesOverOnlyAfterLeaseDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.start("a", nil)
		synctest.Wait()
		if !a.le.IsLeader() {
			t.Fatal("a did not lead an empty election")
		}
		b := e.start("b", nil)
		time.Sleep(time.Minute)
		if got := leaders(a, b); len(got) != 1 || got[0] != "a" {
			t.Fatalf("after a minute of renewals leaders = %v, want [a]", got)
		}
		acquiredA := e.store.current(testNS, testName).GetAcquireTime().AsTime()

		// a is cut off from the apiserver: it can neither renew nor release.
		a.client.down.Store(true)
		time.Sleep(time.Minute)

		lastRenewA := e.store.lastWriteBy("a")
		_, aStopped, aStoppedCalls, _ := a.snapshot()
		bStarted, _, _, bNewLeaders := b.snapshot()
		if len(aStopped) != 1 || len(bStarted) != 1 {
			t.Fatalf("a stopped leading %d times, b started %d times; want 1 and 1", len(aStopped), len(bStarted))
		}
		if !a.runReturned() || aStoppedCalls != 1 {
			t.Errorf("a: Run returned %v, OnStoppedLeading calls %d; want true and 1 after losing the lease", a.runReturned(), aStoppedCalls)
		}
		if a.le.IsLeader() || !b.le.IsLeader() {
			t.Errorf("IsLeader: a %v, b %v; want false, true", a.le.IsLeader(), b.le.IsLeader())
		}

		// Safety: a stops acting before b starts.
		if !aStopped[0].Before(bStarted[0]) {
			t.Errorf("a stopped leading at %v, not before b started at %v", aStopped[0], bStarted[0])
		}
		// a gives up within a retry period plus the renew deadline of its last renewal.
		if d, want := aStopped[0].Sub(lastRenewA), DefaultRetryPeriod+DefaultRenewDeadline+cleanupTime; d > want {
			t.Errorf("a kept leading %v after its last renewal, want <= %v", d, want)
		}
		// b waits a full lease duration after the last change it saw, and
		// then takes over at its next try.
		waited := bStarted[0].Sub(lastRenewA)
		if waited < DefaultLeaseDuration {
			t.Errorf("b took over %v after a's last renewal, before the lease duration %v", waited, DefaultLeaseDuration)
		}
		if waited > maxTakeover {
			t.Errorf("b took over %v after a's last renewal, want <= %v", waited, maxTakeover)
		}

		spec := e.store.current(testNS, testName)
		if spec.GetHolderIdentity() != "b" || spec.GetLeaseTransitions() != 1 {
			t.Errorf("lease holder %q transitions %d, want b 1", spec.GetHolderIdentity(), spec.GetLeaseTransitions())
		}
		if got := spec.GetAcquireTime().AsTime(); got.Equal(acquiredA) || got.After(bStarted[0]) || bStarted[0].Sub(got) > time.Second {
			t.Errorf("acquireTime = %v, want b's acquisition at %v (a's was %v)", got, bStarted[0], acquiredA)
		}
		if len(bNewLeaders) != 2 || bNewLeaders[0] != "a" || bNewLeaders[1] != "b" {
			t.Errorf("b: OnNewLeader calls %v, want [a b]", bNewLeaders)
		}
		if a.logs.FilterMessage("lost leadership").FilterField(zap.String("identity", "a")).Len() != 1 {
			t.Errorf("a did not log \"lost leadership\"; logs: %v", messages(a.logs))
		}
	})
}

func TestReleaseOnCancel(t *testing.T) {
	tests := []struct {
		release bool
		// b's takeover, counted from a's last write
		minWait, maxWait time.Duration
		holderAfterStop  string
	}{
		{release: true, minWait: 0, maxWait: maxRetryWait, holderAfterStop: ""},
		{release: false, minWait: DefaultLeaseDuration, maxWait: maxTakeover, holderAfterStop: "a"},
	}
	for _, tt := range tests {
		name := map[bool]string{true: "release", false: "no release"}[tt.release]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newElection(t)
				a := e.start("a", func(c *Config) { c.ReleaseOnCancel = tt.release })
				synctest.Wait()
				b := e.start("b", nil)
				time.Sleep(30 * time.Second)

				a.stop()
				_, aStopped, aStoppedCalls, _ := a.snapshot()
				if len(aStopped) != 1 || aStoppedCalls != 1 {
					t.Fatalf("a: OnStartedLeading returned %d times, OnStoppedLeading called %d times; want 1 and 1", len(aStopped), aStoppedCalls)
				}
				lastWriteA := e.store.lastWriteBy("a")
				if tt.release {
					lastWriteA = e.store.history()[len(e.store.history())-1].at
				}
				if got := e.store.current(testNS, testName).GetHolderIdentity(); got != tt.holderAfterStop {
					t.Errorf("holder right after a stopped = %q, want %q", got, tt.holderAfterStop)
				}
				a.mu.Lock()
				holderAtStop := a.holderAtStop
				a.mu.Unlock()
				if len(holderAtStop) != 1 || holderAtStop[0] != "a" {
					t.Errorf("lease holder when a's OnStartedLeading returned = %q, want [a]: release must wait for it", holderAtStop)
				}

				time.Sleep(time.Minute)
				bStarted, _, _, _ := b.snapshot()
				if len(bStarted) != 1 {
					t.Fatalf("b started leading %d times, want 1", len(bStarted))
				}
				if waited := bStarted[0].Sub(lastWriteA); waited < tt.minWait || waited > tt.maxWait {
					t.Errorf("b took over %v after a's last write, want within [%v, %v]", waited, tt.minWait, tt.maxWait)
				}
				spec := e.store.current(testNS, testName)
				if spec.GetHolderIdentity() != "b" || spec.GetLeaseTransitions() != 1 {
					t.Errorf("lease holder %q transitions %d, want b 1", spec.GetHolderIdentity(), spec.GetLeaseTransitions())
				}
			})
		})
	}
}

// TestLeaderStepsDownWhenAnotherWroteTheLease: a conflict on renewal means
// someone else won; the leader stops at once rather than after RenewDeadline.
func TestLeaderStepsDownWhenAnotherWroteTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		a := e.start("a", nil)
		time.Sleep(10 * time.Second)
		if !a.le.IsLeader() {
			t.Fatal("a does not lead")
		}
		e.store.put(testNS, testName, heldSpec("intruder", time.Now()))
		overwritten := time.Now()
		time.Sleep(10 * time.Second)

		_, aStopped, _, newLeaders := a.snapshot()
		if len(aStopped) != 1 {
			t.Fatalf("a still leads after its lease was taken")
		}
		if d, want := aStopped[0].Sub(overwritten), DefaultRetryPeriod+cleanupTime; d > want {
			t.Errorf("a stepped down %v after the lease was taken, want within one retry period (and its cleanup) %v", d, want)
		}
		if got := e.store.current(testNS, testName).GetHolderIdentity(); got != "intruder" {
			t.Errorf("holder = %q: a overwrote the winner's lease", got)
		}
		if a.le.GetLeader() != "intruder" || len(newLeaders) != 2 || newLeaders[1] != "intruder" {
			t.Errorf("GetLeader() = %q, OnNewLeader calls %v; want intruder, [a intruder]", a.le.GetLeader(), newLeaders)
		}
	})
}

// TestConflictingTakeover: a standby that finds the lease expired loses the
// compare-and-swap when the holder renews first, and leaves the lease alone.
func TestConflictingTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		e.store.put(testNS, testName, heldSpec("b", time.Now()))
		le, err := New(Config{
			Lock:          LeaseLock{Namespace: testNS, Name: testName, Identity: "a", Client: e.store},
			LeaseDuration: DefaultLeaseDuration, RenewDeadline: DefaultRenewDeadline, RetryPeriod: DefaultRetryPeriod,
			Callbacks: Callbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		if le.tryAcquireOrRenew(ctx) {
			t.Fatal("a took a lease it saw for the first time")
		}
		time.Sleep(DefaultLeaseDuration)
		// b renews between a's read and a's write.
		e.store.beforeUpdate = func() { e.store.put(testNS, testName, heldSpec("b", time.Now())) }
		if le.tryAcquireOrRenew(ctx) {
			t.Fatal("a won although b renewed first")
		}
		e.store.beforeUpdate = nil
		if got := e.store.current(testNS, testName); got.GetHolderIdentity() != "b" || got.GetLeaseTransitions() != 0 {
			t.Fatalf("lease holder %q transitions %d after the conflict, want b 0", got.GetHolderIdentity(), got.GetLeaseTransitions())
		}

		// a now sees b's renewal as a change and waits a full duration again.
		if le.tryAcquireOrRenew(ctx) {
			t.Fatal("a took the lease right after seeing b renew it")
		}
		time.Sleep(DefaultLeaseDuration - time.Second)
		if le.tryAcquireOrRenew(ctx) {
			t.Fatal("a took the lease before a lease duration without change")
		}
		time.Sleep(time.Second)
		if !le.tryAcquireOrRenew(ctx) {
			t.Fatal("a did not take a lease left unchanged for a lease duration")
		}
		if got := e.store.current(testNS, testName); got.GetHolderIdentity() != "a" || got.GetLeaseTransitions() != 1 {
			t.Errorf("lease holder %q transitions %d, want a 1", got.GetHolderIdentity(), got.GetLeaseTransitions())
		}
	})
}

// TestRemoteTimestampsAreIgnored: what counts is whether the record changes,
// seen on the standby's clock, never the holder's renewTime itself.
func TestRemoteTimestampsAreIgnored(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // the holder's clock minus ours
	}{
		{"holder clock in the past", -30 * 24 * time.Hour},
		{"holder clock in the future", 30 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newElection(t)
				holderCtx, stopHolder := context.WithCancel(context.Background())
				holderDone := make(chan struct{})
				e.store.put(testNS, testName, heldSpec("skewed", time.Now().Add(tt.offset)))
				go func() { // a holder with a skewed clock renewing every 2s
					defer close(holderDone)
					for sleep(holderCtx, DefaultRetryPeriod) {
						e.store.put(testNS, testName, heldSpec("skewed", time.Now().Add(tt.offset)))
					}
				}()
				a := e.start("a", nil)

				time.Sleep(2 * time.Minute)
				if a.le.IsLeader() {
					t.Fatal("a took a lease that was being renewed")
				}
				stopHolder()
				<-holderDone
				stoppedAt := time.Now()
				time.Sleep(time.Minute)

				started, _, _, _ := a.snapshot()
				if len(started) != 1 {
					t.Fatal("a never took over a lease its holder stopped renewing")
				}
				// The holder's last write was at most a retry period before it stopped.
				if waited := started[0].Sub(stoppedAt); waited < DefaultLeaseDuration-DefaultRetryPeriod || waited > maxTakeover {
					t.Errorf("a took over %v after the holder stopped, want within [%v, %v]", waited, DefaultLeaseDuration-DefaultRetryPeriod, maxTakeover)
				}
			})
		})
	}
}

func TestRunReturnsWhenCancelledBeforeLeading(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newElection(t)
		e.store.put(testNS, testName, heldSpec("other", time.Now()))
		go func() { // keep the lease held
			for range 30 {
				time.Sleep(DefaultRetryPeriod)
				e.store.put(testNS, testName, heldSpec("other", time.Now()))
			}
		}()
		a := e.start("a", nil)
		time.Sleep(20 * time.Second)
		a.stop()
		started, _, stoppedCalls, newLeaders := a.snapshot()
		if len(started) != 0 || stoppedCalls != 1 {
			t.Errorf("OnStartedLeading %d times, OnStoppedLeading %d times; want 0 and 1 (as client-go)", len(started), stoppedCalls)
		}
		if len(newLeaders) != 1 || newLeaders[0] != "other" || a.le.GetLeader() != "other" {
			t.Errorf("OnNewLeader %v, GetLeader %q; want [other], other", newLeaders, a.le.GetLeader())
		}
		if got := e.store.current(testNS, testName).GetHolderIdentity(); got != "other" {
			t.Errorf("holder = %q, want other", got)
		}
		time.Sleep(time.Minute) // let the holder goroutine end
	})
}

func messages(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		out = append(out, e.Message)
	}
	return out
}

func validConfig() Config {
	return Config{
		Lock:          LeaseLock{Namespace: testNS, Name: testName, Identity: "a", Client: newFakeLeases(nil)},
		LeaseDuration: DefaultLeaseDuration,
		RenewDeadline: DefaultRenewDeadline,
		RetryPeriod:   DefaultRetryPeriod,
		Callbacks:     Callbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr []string // substrings; nil means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"tight but valid", func(c *Config) {
			c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 3*time.Second, 2*time.Second, time.Second
		}, nil},
		{"lease not above renew", func(c *Config) { c.LeaseDuration = c.RenewDeadline },
			[]string{"leaseDuration: must be greater than renewDeadline (10s), got 10s"}},
		{"renew not above retry*jitter", func(c *Config) { c.RetryPeriod = 9 * time.Second },
			[]string{"renewDeadline: must be greater than retryPeriod*1.2 (10.8s), got 10s"}},
		{"renew exactly retry*jitter", func(c *Config) { c.RenewDeadline, c.RetryPeriod = 12*time.Second, 10*time.Second },
			[]string{"renewDeadline: must be greater than retryPeriod*1.2 (12s), got 12s"}},
		{"zero durations", func(c *Config) { c.LeaseDuration, c.RenewDeadline, c.RetryPeriod = 0, 0, 0 },
			[]string{"leaseDuration: must be greater than zero, got 0s", "renewDeadline: must be greater than zero, got 0s", "retryPeriod: must be greater than zero, got 0s"}},
		{"negative retry", func(c *Config) { c.RetryPeriod = -time.Second },
			[]string{"retryPeriod: must be greater than zero, got -1s"}},
		{"no callbacks", func(c *Config) { c.Callbacks = Callbacks{} },
			[]string{"callbacks.onStartedLeading: required", "callbacks.onStoppedLeading: required"}},
		{"no lock", func(c *Config) { c.Lock = LeaseLock{} },
			[]string{"lock.name: required", "lock.identity: required", "lock.client: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.mod(&cfg)
			err := cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := New(cfg); err != nil {
					t.Fatalf("New() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if _, nerr := New(cfg); nerr == nil {
				t.Error("New() accepted an invalid config")
			}
		})
	}
}

func TestRunOrDiePanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("RunOrDie did not panic on an invalid config")
		}
	}()
	RunOrDie(context.Background(), Config{})
}

// The generated gRPC client plugs in as the lock's client.
var _ = LeaseLock{Client: coordinationv1.NewLeaseServiceClient(nil)}
