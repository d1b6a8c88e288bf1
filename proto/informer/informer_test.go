package informer

import (
	"context"
	"io"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
)

func TestInformerEventsInOrder(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1")
	lw.add("ns", "b", "1")
	rec := &recorder{}
	inf := startInformer(t, lw, nil, 0, rec)
	waitFor(t, "sync", inf.HasSynced)
	waitLines(t, rec, "add ns/a v=1", "add ns/b v=1")

	lw.add("ns", "c", "1")
	lw.modify("ns", "c", "2")
	lw.remove("ns", "a")
	lw.modify("ns", "b", "2")
	waitLines(t, rec,
		"add ns/a v=1", "add ns/b v=1",
		"add ns/c v=1", "update ns/c v=1 -> 2", "delete ns/a v=1", "update ns/b v=1 -> 2")

	if keys := slices.Sorted(slices.Values(inf.GetStore().ListKeys())); !slices.Equal(keys, []string{"ns/b", "ns/c"}) {
		t.Errorf("store keys = %v", keys)
	}
	if got := inf.LastSyncResourceVersion(); got != "6" {
		t.Errorf("LastSyncResourceVersion = %q, want 6", got)
	}
	if lists, _ := lw.Counts(); lists != 1 {
		t.Errorf("listed %d times, want 1", lists)
	}
}

func TestInformerResumesFromLastResourceVersion(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1") // rv 1
	rec := &recorder{}
	inf := startInformer(t, lw, nil, 0, rec)
	waitFor(t, "sync", inf.HasSynced)
	lw.modify("ns", "a", "2") // rv 2
	waitLines(t, rec, "add ns/a v=1", "update ns/a v=1 -> 2")

	// The stream breaks; changes made meanwhile arrive once the watch
	// resumes from rv 2, without a new list.
	lw.breakWatches(status.Error(codes.Unavailable, "apiserver went away"))
	lw.modify("ns", "a", "3") // rv 3
	lw.add("ns", "b", "1")    // rv 4
	waitLines(t, rec, "add ns/a v=1", "update ns/a v=1 -> 2", "update ns/a v=2 -> 3", "add ns/b v=1")

	if rvs := lw.WatchRVs(); len(rvs) < 2 || rvs[0] != "1" || rvs[1] != "2" {
		t.Errorf("watched from %v, want 1 then 2", rvs)
	}
	if lists, _ := lw.Counts(); lists != 1 {
		t.Errorf("listed %d times, want 1", lists)
	}
}

func TestInformerBookmarkMovesResumePoint(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1") // rv 1
	clock := newFakeClock()
	inf := startInformer(t, lw, clock, 0)
	waitFor(t, "sync", inf.HasSynced)
	rv := lw.bookmark() // rv 2
	waitFor(t, "bookmark", func() bool { return inf.LastSyncResourceVersion() == rv })
	lw.breakWatches(status.Error(codes.Unavailable, "x"))
	waitFor(t, "second watch", func() bool { _, w := lw.Counts(); return w >= 2 })
	if got := lw.WatchRVs()[1]; got != rv {
		t.Errorf("resumed from %q, want the bookmark's %q", got, rv)
	}
	if len(inf.GetStore().List()) != 1 {
		t.Errorf("a bookmark changed the store: %v", inf.GetStore().ListKeys())
	}
}

func TestInformerRelistsOnTooOldResourceVersion(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "keep", "1")
	lw.add("ns", "change", "1")
	lw.add("ns", "gone", "1")
	rec := &recorder{}
	inf := startInformer(t, lw, nil, 0, rec)
	waitFor(t, "sync", inf.HasSynced)
	waitLines(t, rec, "add ns/change v=1", "add ns/gone v=1", "add ns/keep v=1")

	// While the informer is cut off, the history it would resume from is
	// compacted away: it must get OutOfRange, list again, and work out
	// the differences itself.
	lw.setDown(true)
	lw.breakWatches(status.Error(codes.Unavailable, "partition"))
	lw.modify("ns", "change", "2")
	lw.remove("ns", "gone")
	lw.add("ns", "new", "1")
	lw.compact()
	lw.setDown(false)

	want := []string{"add ns/change v=1", "add ns/gone v=1", "add ns/keep v=1",
		"update ns/change v=1 -> 2", "add ns/new v=1", "delete ns/gone v=1"}
	// The relist may notice the changes in any order; compare as sets after
	// checking the count.
	waitFor(t, "relist events", func() bool { return len(rec.Lines()) >= len(want) })
	got := rec.Lines()
	if !slices.Equal(got[:3], want[:3]) || !sameSet(got[3:], want[3:]) {
		t.Fatalf("handler heard:\n  %q\nwant (last three in any order):\n  %q", got, want)
	}
	if lists, _ := lw.Counts(); lists != 2 {
		t.Errorf("listed %d times, want 2", lists)
	}
	keys := slices.Sorted(slices.Values(inf.GetStore().ListKeys()))
	if !slices.Equal(keys, []string{"ns/change", "ns/keep", "ns/new"}) {
		t.Errorf("store keys after relist = %v", keys)
	}

	// And it watches on from the new list.
	lw.modify("ns", "keep", "2")
	waitFor(t, "event after relist", func() bool { return len(rec.Lines()) == len(want)+1 })
	if last := rec.Lines()[len(want)]; last != "update ns/keep v=1 -> 2" {
		t.Errorf("after relist heard %q", last)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestInformerPagedList(t *testing.T) {
	lw := newFakeLW()
	for i := range 1201 {
		lw.add("ns", "cm-"+strconv.Itoa(10000+i), "1")
	}
	inf := startInformer(t, lw, nil, 0)
	waitFor(t, "sync", inf.HasSynced)
	if n := len(inf.GetStore().List()); n != 1201 {
		t.Errorf("store holds %d objects, want 1201", n)
	}
	lw.mu.Lock()
	lists := slices.Clone(lw.lists)
	lw.mu.Unlock()
	if len(lists) != 3 {
		t.Fatalf("listed in %d pages, want 3", len(lists))
	}
	for i, l := range lists {
		if l.Limit != 500 || (i == 0) != (l.Continue == "") {
			t.Errorf("page %d asked %+v", i, l)
		}
	}
}

func TestInformerHasSyncedAfterListSucceeds(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1")
	unavailable := status.Error(codes.Unavailable, "no apiserver")
	lw.listErrs = []error{unavailable, unavailable, unavailable}
	clock := newFakeClock()
	inf := NewSharedInformer(lw, &corev1.ConfigMap{}, 0, WithClock(clock))
	if inf.HasSynced() {
		t.Fatal("synced before running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { inf.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	if !WaitForCacheSync(ctxWithTimeout(t), inf.HasSynced) {
		t.Fatal("never synced")
	}
	if lists, _ := lw.Counts(); lists != 4 {
		t.Errorf("listed %d times, want 3 failures and a success", lists)
	}
	if got := clock.Waits(); len(got) != 3 {
		t.Errorf("backed off %v, want three waits", got)
	}
	if _, ok := inf.GetStore().GetByKey("ns/a"); !ok {
		t.Error("store lacks ns/a")
	}
}

func TestWaitForCacheSyncGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if WaitForCacheSync(ctx, func() bool { return true }, func() bool { return false }) {
		t.Error("reported synced with an unsynced informer")
	}
}

func ctxWithTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestReflectorBackoff(t *testing.T) {
	lw := newFakeLW()
	unavailable := status.Error(codes.Unavailable, "down")
	for range 8 {
		lw.listErrs = append(lw.listErrs, unavailable)
	}
	clock := newFakeClock()
	inf := startInformer(t, lw, clock, 0)
	waitFor(t, "sync", inf.HasSynced)

	waits := clock.Waits()
	base := []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
		6400 * time.Millisecond, 12800 * time.Millisecond, 25600 * time.Millisecond, 30 * time.Second, 30 * time.Second}
	if len(waits) != len(base) {
		t.Fatalf("waits = %v, want %d", waits, len(base))
	}
	for i, w := range waits {
		if w < base[i] || w > base[i]+base[i]/5 {
			t.Errorf("wait %d = %v, want %v plus up to 20%% jitter", i, w, base[i])
		}
	}
}

func TestBackoffResetsAfterHealthyPeriod(t *testing.T) {
	clock := newFakeClock()
	b := newBackoff(clock)
	b.rand = func() float64 { return 0 }
	for _, want := range []time.Duration{800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond} {
		if got := b.next(); got != want {
			t.Errorf("next = %v, want %v", got, want)
		}
		clock.Step(10 * time.Second) // failing again soon after
	}
	clock.Step(3 * time.Minute) // healthy for a while
	if got := b.next(); got != 800*time.Millisecond {
		t.Errorf("after a healthy period next = %v, want 800ms", got)
	}
	b.rand = func() float64 { return 1 }
	if got := b.next(); got != 1920*time.Millisecond {
		t.Errorf("with full jitter next = %v, want 1.6s + 20%%", got)
	}
}

func TestShortCleanWatchBacksOff(t *testing.T) {
	lw := newFakeLW()
	clock := newFakeClock()
	inf := startInformer(t, lw, clock, 0)
	waitFor(t, "sync", inf.HasSynced)
	lw.breakWatches(io.EOF) // the server ends the watch at once, cleanly
	waitFor(t, "rewatch", func() bool { _, w := lw.Counts(); return w >= 2 })
	if len(clock.Waits()) == 0 {
		t.Error("an instantly ended watch was reopened without backoff")
	}
}

func TestSlowHandlerBlocksNobody(t *testing.T) {
	lw := newFakeLW()
	slow := &recorder{gate: make(chan struct{})}
	fast := &recorder{}
	inf := startInformer(t, lw, nil, 0, slow, fast)
	waitFor(t, "sync", inf.HasSynced)
	var want []string
	for i := range 20 {
		lw.add("ns", "cm-"+strconv.Itoa(10+i), "1")
		want = append(want, "add ns/cm-"+strconv.Itoa(10+i)+" v=1")
	}
	// The fast handler and the cache get everything while the slow
	// handler is stuck on its first event.
	waitLines(t, fast, want...)
	waitFor(t, "cache", func() bool { return len(inf.GetStore().List()) == 20 })
	if n := len(slow.Lines()); n != 0 {
		t.Fatalf("slow handler finished %d events while blocked", n)
	}
	close(slow.gate)
	waitLines(t, slow, want...)
}

func TestHandlerAddedLaterGetsCurrentObjects(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1")
	inf := startInformer(t, lw, nil, 0)
	waitFor(t, "sync", inf.HasSynced)
	rec := &recorder{}
	inf.AddEventHandler(rec)
	lw.add("ns", "b", "1")
	waitLines(t, rec, "add ns/a v=1", "add ns/b v=1")
}

func TestHandlerPanicIsContained(t *testing.T) {
	lw := newFakeLW()
	calls := 0
	bad := ResourceEventHandlerFuncs{AddFunc: func(Object) { calls++; panic("boom") }}
	rec := &recorder{}
	inf := startInformer(t, lw, nil, 0, bad, rec)
	waitFor(t, "sync", inf.HasSynced)
	lw.add("ns", "a", "1")
	lw.add("ns", "b", "1")
	waitLines(t, rec, "add ns/a v=1", "add ns/b v=1")
}

func TestResync(t *testing.T) {
	lw := newFakeLW()
	lw.add("ns", "a", "1")
	updates := make(chan [2]Object, 10)
	h := ResourceEventHandlerFuncs{UpdateFunc: func(o, n Object) {
		select {
		case updates <- [2]Object{o, n}:
		default:
		}
	}}
	startInformer(t, lw, realClock{}, 20*time.Millisecond, h)
	select {
	case u := <-updates:
		if u[0] != u[1] || MetaNamespaceKeyFunc(u[0]) != "ns/a" {
			t.Errorf("resync sent update %v -> %v, want the same object twice", u[0], u[1])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no resync")
	}
}

func TestTypedHandlerFuncs(t *testing.T) {
	lw := newFakeLW()
	got := make(chan string, 10)
	h := TypedHandlerFuncs[*corev1.ConfigMap]{
		AddFunc:    func(c *corev1.ConfigMap) { got <- "add " + c.GetMetadata().GetName() },
		UpdateFunc: func(o, n *corev1.ConfigMap) { got <- "update " + o.GetData()["v"] + n.GetData()["v"] },
		DeleteFunc: func(c *corev1.ConfigMap) { got <- "delete " + c.GetMetadata().GetName() },
	}
	inf := startInformer(t, lw, nil, 0, h)
	waitFor(t, "sync", inf.HasSynced)
	lw.add("ns", "a", "1")
	lw.modify("ns", "a", "2")
	lw.remove("ns", "a")
	for _, want := range []string{"add a", "update 12", "delete a"} {
		select {
		case g := <-got:
			if g != want {
				t.Errorf("heard %q, want %q", g, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("did not hear %q", want)
		}
	}
}

func TestListWatcherFromTypedClient(t *testing.T) {
	// Compile-time: the typed clients of package client fit NewListWatcher.
	cs := client.NewForConn(nil)
	_ = NewListWatcher(cs.CoreV1().Pods(""), nil)
	_ = NewListWatcher(cs.CoreV1().Nodes(), nil)
	_ = NewListWatcher(cs.AppsV1().Deployments("ns"), func(o *client.ListOptions) { o.LabelSelector = "app=web" })
	_ = NewListWatcher(cs.CoordinationV1().Leases("kube-system"), nil)
}
