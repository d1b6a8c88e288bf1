package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	metav1 "skiff.dev/proto/meta/v1"
)

// Object is what every API kind's message satisfies.
type Object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// Event is one change to one object, decoded once and shared read-only by
// every watcher.
type Event[T Object] struct {
	Type metav1.EventType
	Key  string
	Obj  T // the new state; for DELETED the last state
	Prev T // the state before, when there was one
	Rev  int64
	// HasPrev reports whether Prev is set (T's zero value is a nil pointer).
	HasPrev bool
}

// ErrTooSlow ends a watcher that could not keep up; its client resumes.
var ErrTooSlow = errors.New("watcher fell behind and was closed; resume from the last resourceVersion")

// CacherConfig sizes a watch cache.
type CacherConfig struct {
	Capacity         int           // events kept; older versions go to etcd (default 1000)
	WatcherBuffer    int           // events queued per watcher before it is closed (default 1000)
	ProgressInterval time.Duration // how often etcd is asked for progress (default 5s)
}

// Cacher serves watches of one resource from one etcd watch.
type Cacher[T Object] struct {
	lg     *zap.Logger
	cli    *clientv3.Client
	prefix string
	decode func(kv KV) (T, error)
	cfg    CacherConfig

	mu       sync.Mutex
	ring     []*Event[T] // events in revision order, at most cfg.Capacity
	oldest   int64       // history covers revisions > oldest
	rev      int64       // every event up to rev has been seen
	watchers map[*Watcher[T]]struct{}
	ready    chan struct{}
}

// NewCacher makes a cache of the keys under prefix; Run feeds it.
func NewCacher[T Object](lg *zap.Logger, cli *clientv3.Client, prefix string, decode func(KV) (T, error), cfg CacherConfig) *Cacher[T] {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = 1000
	}
	if cfg.WatcherBuffer <= 0 {
		cfg.WatcherBuffer = 1000
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 5 * time.Second
	}
	return &Cacher[T]{lg: lg, cli: cli, prefix: prefix, decode: decode, cfg: cfg,
		watchers: map[*Watcher[T]]struct{}{}, ready: make(chan struct{})}
}

// Run keeps one etcd watch open until ctx ends, restarting it on failure
// from the last revision seen, so no event is lost.
func (c *Cacher[T]) Run(ctx context.Context) {
	for ctx.Err() == nil {
		resp, err := c.cli.Get(ctx, c.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err == nil {
			c.mu.Lock()
			c.oldest, c.rev = resp.Header.Revision, resp.Header.Revision
			c.mu.Unlock()
			close(c.ready)
			break
		}
		c.lg.Warn("watch cache cannot read etcd revision", zap.String("prefix", c.prefix), zap.Error(err))
		sleep(ctx, time.Second)
	}
	for ctx.Err() == nil {
		c.watch(ctx, c.Revision())
		sleep(ctx, 100*time.Millisecond)
	}
	c.mu.Lock()
	for w := range c.watchers {
		w.closeLocked(ctx.Err())
	}
	c.watchers = map[*Watcher[T]]struct{}{}
	c.mu.Unlock()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// resetLocked forgets history after etcd compacted events this cache had
// not received yet: every watcher missed them, so each ends with "too old"
// and its client relists.
func (c *Cacher[T]) resetLocked(rev int64) {
	c.ring = nil
	c.oldest, c.rev = rev, rev
	for w := range c.watchers {
		w.closeLocked(fmt.Errorf("%w: the watch cache fell behind etcd's compaction at revision %d", ErrCompacted, rev))
	}
	c.watchers = map[*Watcher[T]]struct{}{}
}

func (c *Cacher[T]) watch(ctx context.Context, from int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := c.cli.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1),
		clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	tick := time.NewTicker(c.cfg.ProgressInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// Ask etcd how far it is, so bookmarks and waiting watchers advance
			// even when this resource does not change.
			_ = c.cli.RequestProgress(wctx)
		case resp, ok := <-wch:
			if !ok {
				return
			}
			if err := resp.Err(); err != nil {
				if resp.CompactRevision > 0 {
					c.lg.Warn("watch cache fell behind a compaction; resetting", zap.String("prefix", c.prefix),
						zap.Int64("compacted", resp.CompactRevision))
					c.mu.Lock()
					c.resetLocked(resp.CompactRevision)
					c.mu.Unlock()
				} else if ctx.Err() == nil {
					c.lg.Warn("watch cache etcd watch failed; restarting", zap.String("prefix", c.prefix), zap.Error(err))
				}
				return
			}
			if resp.IsProgressNotify() {
				c.mu.Lock()
				if resp.Header.Revision > c.rev {
					c.rev = resp.Header.Revision
				}
				c.mu.Unlock()
				continue
			}
			for _, ev := range resp.Events {
				e, err := c.convert(ev)
				if err != nil {
					c.lg.Error("watch cache cannot decode object", zap.String("key", string(ev.Kv.Key)), zap.Error(err))
					continue
				}
				c.add(e)
			}
		}
	}
}

func (c *Cacher[T]) convert(ev *clientv3.Event) (*Event[T], error) {
	return convertEvent(ev, c.decode)
}

func convertEvent[T Object](ev *clientv3.Event, decode func(KV) (T, error)) (*Event[T], error) {
	e := &Event[T]{Key: string(ev.Kv.Key), Rev: ev.Kv.ModRevision}
	if ev.PrevKv != nil {
		prev, err := decode(KV{Key: string(ev.PrevKv.Key), Value: ev.PrevKv.Value, ModRevision: ev.PrevKv.ModRevision})
		if err != nil {
			return nil, err
		}
		e.Prev, e.HasPrev = prev, true
	}
	switch {
	case ev.Type == clientv3.EventTypeDelete:
		if !e.HasPrev {
			return nil, fmt.Errorf("delete of %s without its previous value", e.Key)
		}
		e.Type = metav1.EventType_DELETED
		// The last state, stamped with the revision of its deletion.
		obj := proto.Clone(e.Prev).(T)
		obj.GetMetadata().ResourceVersion = FormatRev(e.Rev)
		e.Obj = obj
	default:
		obj, err := decode(KV{Key: e.Key, Value: ev.Kv.Value, ModRevision: ev.Kv.ModRevision})
		if err != nil {
			return nil, err
		}
		e.Obj = obj
		e.Type = metav1.EventType_MODIFIED
		if ev.IsCreate() {
			e.Type = metav1.EventType_ADDED
		}
	}
	return e, nil
}

func (c *Cacher[T]) add(e *Event[T]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ring) >= c.cfg.Capacity {
		drop := len(c.ring) - c.cfg.Capacity + 1
		c.oldest = c.ring[drop-1].Rev
		c.ring = append(c.ring[:0], c.ring[drop:]...)
	}
	c.ring = append(c.ring, e)
	if e.Rev > c.rev {
		c.rev = e.Rev
	}
	for w := range c.watchers {
		if e.Rev <= w.from {
			continue
		}
		select {
		case w.ch <- e:
		default:
			w.closeLocked(ErrTooSlow)
			delete(c.watchers, w)
		}
	}
}

// Revision is the latest revision the cache has seen in full.
func (c *Cacher[T]) Revision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// Ready is closed once the cache has its first revision.
func (c *Cacher[T]) Ready() <-chan struct{} { return c.ready }

// Watch streams the events after revision from. Versions the cache still
// holds are served from memory; older ones from etcd's own history, which
// fails with ErrCompacted once etcd has compacted them.
func (c *Cacher[T]) Watch(ctx context.Context, from int64) (*Watcher[T], error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c.mu.Lock()
	if from >= c.oldest {
		w := newWatcher[T](c.cfg.WatcherBuffer, from)
		w.stop = func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if _, ok := c.watchers[w]; ok {
				delete(c.watchers, w)
				w.closeLocked(nil)
			}
		}
		for _, e := range c.ring {
			if e.Rev > from {
				w.pending = append(w.pending, e)
			}
		}
		c.watchers[w] = struct{}{}
		c.mu.Unlock()
		return w, nil
	}
	c.mu.Unlock()
	return c.watchEtcd(ctx, from)
}

// watchEtcd serves one watcher straight from etcd's history.
func (c *Cacher[T]) watchEtcd(ctx context.Context, from int64) (*Watcher[T], error) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := c.cli.Watch(wctx, c.prefix, clientv3.WithPrefix(), clientv3.WithRev(from+1), clientv3.WithPrevKV())
	w := newWatcher[T](c.cfg.WatcherBuffer, from)
	var once sync.Once
	w.stop = func() { once.Do(cancel) }
	// The first response tells whether the history is still there.
	go func() {
		defer cancel()
		for resp := range wch {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision > 0 {
					err = fmt.Errorf("%w: resourceVersion %d is older than the compacted revision %d", ErrCompacted, from, resp.CompactRevision)
				}
				w.close(err)
				return
			}
			for _, ev := range resp.Events {
				e, err := convertEvent(ev, c.decode)
				if err != nil {
					w.close(err)
					return
				}
				select {
				case w.ch <- e:
				case <-wctx.Done():
					w.close(wctx.Err())
					return
				}
			}
		}
		w.close(wctx.Err())
	}()
	return w, nil
}

// Watcher is one client's stream of events.
type Watcher[T Object] struct {
	from    int64
	pending []*Event[T]
	ch      chan *Event[T]
	done    chan struct{}
	mu      sync.Mutex
	err     error
	closed  bool
	stop    func()
}

func newWatcher[T Object](buf int, from int64) *Watcher[T] {
	return &Watcher[T]{from: from, ch: make(chan *Event[T], buf), done: make(chan struct{})}
}

func (w *Watcher[T]) closeLocked(err error) { w.close(err) }

func (w *Watcher[T]) close(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed, w.err = true, err
	close(w.done)
}

// Next returns the next event, or the error that ended the stream.
func (w *Watcher[T]) Next(ctx context.Context) (*Event[T], error) {
	if len(w.pending) > 0 {
		e := w.pending[0]
		w.pending = w.pending[1:]
		return e, nil
	}
	select {
	case e := <-w.ch:
		return e, nil
	default:
	}
	select {
	case e := <-w.ch:
		return e, nil
	case <-w.done:
		// Deliver what was queued before the close.
		select {
		case e := <-w.ch:
			return e, nil
		default:
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err == nil {
			return nil, context.Canceled
		}
		return nil, w.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stop ends the watcher.
func (w *Watcher[T]) Stop() {
	if w.stop != nil {
		w.stop()
	}
}
