package informer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

// Clock is the time source of reflectors and informers; tests inject their own.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Reflector defaults, as client-go's.
const (
	listPageSize = 500
	// Backoff between failures grows from initialBackoff to maxBackoff and
	// resets once backoffResetAfter has passed since the last failure.
	initialBackoff    = 800 * time.Millisecond
	maxBackoff        = 30 * time.Second
	backoffResetAfter = 2 * time.Minute
	backoffJitter     = 0.2 // up to 20% added
	// A watch that ends cleanly with no events sooner than this counts as a
	// failure, so a misbehaving server cannot make the reflector spin.
	minWatchDuration = time.Second
)

// sink receives what a reflector learns; the shared informer is one.
type sink interface {
	// replace makes objs the whole content, after a list.
	replace(objs []Object)
	// apply applies one watch event (ADDED, MODIFIED or DELETED).
	apply(ev Event)
}

// reflector keeps a sink in step with the server: list (in pages), then
// watch from the list's resourceVersion; resume a broken watch from the
// last resourceVersion seen (events and bookmarks move it); list again
// only when the server says that version is too old (codes.OutOfRange).
type reflector struct {
	lg      *zap.Logger
	lw      ListWatcher
	sink    sink
	clock   Clock
	backoff backoff

	mu     sync.Mutex
	lastRV string // last resourceVersion seen
}

func newReflector(lg *zap.Logger, lw ListWatcher, s sink, clock Clock) *reflector {
	return &reflector{lg: lg, lw: lw, sink: s, clock: clock, backoff: newBackoff(clock)}
}

// errRelist marks failures after which only a new list helps.
var errRelist = errors.New("resourceVersion too old, relisting")

// run lists and watches until ctx ends.
func (r *reflector) run(ctx context.Context) {
	needList := true
	relists := 0 // relists in a row, with no watch event in between
	for ctx.Err() == nil {
		var err error
		listed := needList
		if needList {
			err = r.list(ctx)
			if err == nil {
				needList = false
			}
		}
		if err == nil {
			var events int
			events, err = r.watch(ctx)
			if events > 0 || !listed {
				relists = 0
			}
		}
		if ctx.Err() != nil {
			return
		}
		switch {
		case errors.Is(err, errRelist):
			// The server said the version is too old: list again, at once
			// unless the list just made did not help either.
			r.lg.Info("watch resourceVersion too old, relisting", zap.String("resourceVersion", r.LastSyncResourceVersion()), zap.Error(err))
			needList = true
			if relists++; relists == 1 {
				continue
			}
		case err == nil:
			continue // the watch ended cleanly: resume at once
		}
		d := r.backoff.next()
		r.lg.Info("list/watch failed, retrying", zap.Bool("list", needList), zap.Duration("backoff", d), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-r.clock.After(d):
		}
	}
}

// list reads every page and replaces the sink's content.
func (r *reflector) list(ctx context.Context) error {
	var all []Object
	opts := client.ListOptions{Limit: listPageSize}
	for {
		items, meta, err := r.lw.List(ctx, opts)
		if err != nil {
			if client.IsGone(err) && opts.Continue != "" {
				// The continue token expired between pages: read it all at once.
				r.lg.Info("list continue token expired, listing without pages", zap.Error(err))
				all, opts = nil, client.ListOptions{}
				continue
			}
			return fmt.Errorf("list: %w", err)
		}
		all = append(all, items...)
		if meta.GetContinue() == "" {
			r.sink.replace(all)
			r.setRV(meta.GetResourceVersion())
			return nil
		}
		opts.Continue = meta.GetContinue()
	}
}

// watch streams events into the sink until the stream ends and returns
// how many it received and nil when the server ended it cleanly, errRelist
// (wrapped) when the version is too old, else the error that broke it.
func (r *reflector) watch(ctx context.Context) (events int, err error) {
	start := r.clock.Now()
	w, err := r.lw.Watch(ctx, client.ListOptions{ResourceVersion: r.LastSyncResourceVersion(), AllowWatchBookmarks: true})
	if err != nil {
		return 0, watchErr(err)
	}
	defer w.Stop()
	for {
		ev, err := w.Recv()
		if errors.Is(err, io.EOF) {
			if events == 0 && r.clock.Now().Sub(start) < minWatchDuration {
				return 0, errors.New("watch ended at once with no events")
			}
			return events, nil
		}
		if err != nil {
			return events, watchErr(err)
		}
		events++
		var rv string
		if ev.Object != nil {
			rv = ev.Object.GetMetadata().GetResourceVersion()
		}
		switch ev.Type {
		case metav1.EventType_ADDED, metav1.EventType_MODIFIED, metav1.EventType_DELETED:
			if ev.Object == nil || ev.Object.GetMetadata() == nil {
				return events, fmt.Errorf("watch: %v event without an object", ev.Type)
			}
			r.sink.apply(ev)
		case metav1.EventType_BOOKMARK:
		default:
			return events, fmt.Errorf("watch: unexpected event type %v", ev.Type)
		}
		if rv != "" {
			r.setRV(rv)
		}
	}
}

func watchErr(err error) error {
	if client.IsGone(err) {
		return fmt.Errorf("%w: %w", errRelist, err)
	}
	return fmt.Errorf("watch: %w", err)
}

func (r *reflector) setRV(rv string) {
	r.mu.Lock()
	r.lastRV = rv
	r.mu.Unlock()
}

// LastSyncResourceVersion is the last resourceVersion seen.
func (r *reflector) LastSyncResourceVersion() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastRV
}

// backoff is an exponential backoff with jitter that resets after a
// healthy period.
type backoff struct {
	clock       Clock
	cur         time.Duration
	lastFailure time.Time
	rand        func() float64
}

func newBackoff(clock Clock) backoff {
	return backoff{clock: clock, rand: rand.Float64}
}

// next returns how long to wait after a failure now.
func (b *backoff) next() time.Duration {
	now := b.clock.Now()
	switch {
	case b.cur == 0 || now.Sub(b.lastFailure) > backoffResetAfter:
		b.cur = initialBackoff
	default:
		b.cur = min(2*b.cur, maxBackoff)
	}
	b.lastFailure = now
	return b.cur + time.Duration(backoffJitter*b.rand()*float64(b.cur))
}
