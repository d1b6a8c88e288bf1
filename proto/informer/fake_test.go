package informer

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// fakeLW is an in-memory apiserver for one kind (ConfigMaps): a revision
// counter, the current objects, the history of events since the last
// compaction, and open watches that follow it.
type fakeLW struct {
	mu        sync.Mutex
	cond      *sync.Cond
	rev       int
	objs      map[string]*corev1.ConfigMap
	history   []Event // every event, oldest first
	compacted int     // watches from a revision below this get OutOfRange
	down      bool    // watches fail with Unavailable, as in a partition

	lists    []client.ListOptions
	watchRVs []string
	listErrs []error // returned by the next lists, one each
	watches  []*fakeWatch
}

func newFakeLW() *fakeLW {
	lw := &fakeLW{objs: map[string]*corev1.ConfigMap{}}
	lw.cond = sync.NewCond(&lw.mu)
	return lw
}

func cmObj(ns, name, value string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:     map[string]string{"v": value},
	}
}

// write applies a change as the server would and tells the watches.
func (lw *fakeLW) write(typ metav1.EventType, obj *corev1.ConfigMap) *corev1.ConfigMap {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.rev++
	obj = proto.Clone(obj).(*corev1.ConfigMap)
	obj.Metadata.ResourceVersion = strconv.Itoa(lw.rev)
	key := MetaNamespaceKeyFunc(obj)
	if typ == metav1.EventType_DELETED {
		delete(lw.objs, key)
	} else {
		lw.objs[key] = obj
	}
	lw.history = append(lw.history, Event{Type: typ, Object: obj})
	lw.cond.Broadcast()
	return obj
}

func (lw *fakeLW) add(ns, name, value string) *corev1.ConfigMap {
	return lw.write(metav1.EventType_ADDED, cmObj(ns, name, value))
}

func (lw *fakeLW) modify(ns, name, value string) *corev1.ConfigMap {
	return lw.write(metav1.EventType_MODIFIED, cmObj(ns, name, value))
}

func (lw *fakeLW) remove(ns, name string) *corev1.ConfigMap {
	lw.mu.Lock()
	last := lw.objs[ns+"/"+name]
	lw.mu.Unlock()
	return lw.write(metav1.EventType_DELETED, last)
}

// bookmark sends a BOOKMARK at a new revision to open watches.
func (lw *fakeLW) bookmark() string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.rev++
	rv := strconv.Itoa(lw.rev)
	lw.history = append(lw.history, Event{Type: metav1.EventType_BOOKMARK,
		Object: &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{ResourceVersion: rv}}})
	lw.cond.Broadcast()
	return rv
}

// compact forgets the history up to now, as an etcd compaction.
func (lw *fakeLW) compact() {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.compacted = lw.rev
}

// setDown cuts the informer off (watches fail) or lets it back.
func (lw *fakeLW) setDown(down bool) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.down = down
}

// breakWatches ends every open watch with err.
func (lw *fakeLW) breakWatches(err error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for _, w := range lw.watches {
		if w.err == nil {
			w.err = err
		}
	}
	lw.cond.Broadcast()
}

func (lw *fakeLW) List(_ context.Context, opts client.ListOptions) ([]Object, *metav1.ListMeta, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.lists = append(lw.lists, opts)
	if len(lw.listErrs) > 0 {
		err := lw.listErrs[0]
		lw.listErrs = lw.listErrs[1:]
		return nil, nil, err
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range lw.objs {
			if !yield(k) {
				return
			}
		}
	})
	if opts.Continue != "" {
		i, _ := slices.BinarySearch(keys, opts.Continue)
		keys = keys[i:]
		if len(keys) > 0 && keys[0] == opts.Continue {
			keys = keys[1:]
		}
	}
	meta := &metav1.ListMeta{ResourceVersion: strconv.Itoa(lw.rev)}
	if opts.Limit > 0 && int64(len(keys)) > opts.Limit {
		keys = keys[:opts.Limit]
		meta.Continue = keys[len(keys)-1]
	}
	out := make([]Object, len(keys))
	for i, k := range keys {
		out[i] = lw.objs[k]
	}
	return out, meta, nil
}

func (lw *fakeLW) Watch(ctx context.Context, opts client.ListOptions) (WatchStream, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.watchRVs = append(lw.watchRVs, opts.ResourceVersion)
	if lw.down {
		return nil, status.Error(codes.Unavailable, "partitioned")
	}
	from, err := strconv.Atoi(opts.ResourceVersion)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "resourceVersion %q", opts.ResourceVersion)
	}
	if from < lw.compacted {
		return nil, status.Errorf(codes.OutOfRange, "too old resource version: %d (%d)", from, lw.compacted)
	}
	// Position after the last event at or below from.
	pos := 0
	for pos < len(lw.history) && rvOf(lw.history[pos]) <= from {
		pos++
	}
	w := &fakeWatch{lw: lw, pos: pos, ctx: ctx}
	lw.watches = append(lw.watches, w)
	stop := context.AfterFunc(ctx, func() {
		lw.mu.Lock()
		lw.cond.Broadcast()
		lw.mu.Unlock()
	})
	w.stopAfter = stop
	return w, nil
}

func rvOf(ev Event) int {
	n, _ := strconv.Atoi(ev.Object.GetMetadata().GetResourceVersion())
	return n
}

// Counts returns how often List and Watch were called.
func (lw *fakeLW) Counts() (lists, watches int) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return len(lw.lists), len(lw.watchRVs)
}

func (lw *fakeLW) WatchRVs() []string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return slices.Clone(lw.watchRVs)
}

type fakeWatch struct {
	lw        *fakeLW
	ctx       context.Context
	pos       int
	err       error // set by breakWatches
	stopped   bool
	stopAfter func() bool
}

func (w *fakeWatch) Recv() (Event, error) {
	lw := w.lw
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for {
		switch {
		case w.ctx.Err() != nil:
			return Event{}, status.FromContextError(w.ctx.Err()).Err()
		case w.stopped:
			return Event{}, status.Error(codes.Canceled, "stopped")
		case w.err != nil:
			return Event{}, w.err
		case w.pos < len(lw.history):
			ev := lw.history[w.pos]
			w.pos++
			return ev, nil
		}
		lw.cond.Wait()
	}
}

func (w *fakeWatch) Stop() {
	w.lw.mu.Lock()
	defer w.lw.mu.Unlock()
	w.stopped = true
	w.stopAfter()
	w.lw.cond.Broadcast()
}

// fakeClock answers After at once and records the waits.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// recorder is a handler that writes what it hears as lines like
// "add ns/a v=1 rv=3", "update ns/a v=1->v=2", "delete ns/a".
type recorder struct {
	mu    sync.Mutex
	lines []string
	gate  chan struct{} // when set, each call waits for a receive
}

func describe(obj Object) string {
	return fmt.Sprintf("%s v=%s", MetaNamespaceKeyFunc(obj), obj.(*corev1.ConfigMap).GetData()["v"])
}

func (r *recorder) log(s string) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, s)
}

func (r *recorder) OnAdd(obj Object) { r.log("add " + describe(obj)) }
func (r *recorder) OnUpdate(o, n Object) {
	r.log("update " + describe(o) + " -> " + n.(*corev1.ConfigMap).GetData()["v"])
}
func (r *recorder) OnDelete(obj Object) { r.log("delete " + describe(obj)) }

func (r *recorder) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLines waits until r has heard exactly want.
func waitLines(t *testing.T, r *recorder, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := r.Lines()
		if slices.Equal(got, want) {
			return
		}
		if len(got) > len(want) || time.Now().After(deadline) {
			t.Fatalf("handler heard:\n  %q\nwant:\n  %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startInformer runs an informer over lw until the test ends.
func startInformer(t *testing.T, lw ListWatcher, clock Clock, resync time.Duration, handlers ...ResourceEventHandler) SharedInformer {
	t.Helper()
	if clock == nil {
		clock = newFakeClock()
	}
	inf := NewSharedInformer(lw, &corev1.ConfigMap{}, resync, WithClock(clock))
	for _, h := range handlers {
		inf.AddEventHandler(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		inf.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return inf
}
