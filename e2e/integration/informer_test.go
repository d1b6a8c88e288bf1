package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

// The acceptance tests of the client library: informers over a real
// apiserver see every change once and in order across restarts, relist
// after a compaction, and fail over between apiservers.

const ns = "default"

// newClient connects to servers with no config file in sight.
func newClient(t *testing.T, servers ...string) *client.Clientset {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	cs, err := client.New(client.Options{
		Server: servers,
		Logger: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// heard records what an informer's handler was told, one line per event:
// "add cm-1 v=1", "update cm-1 v=1 -> v=2", "delete cm-1 v=2".
type heard struct {
	mu    sync.Mutex
	lines []string
}

func value(obj informer.Object) string {
	return fmt.Sprintf("%s v=%s", obj.GetMetadata().GetName(), obj.(*corev1.ConfigMap).GetData()["v"])
}

func (h *heard) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lines = append(h.lines, s)
}

func (h *heard) handler() informer.ResourceEventHandler {
	return informer.ResourceEventHandlerFuncs{
		AddFunc: func(o informer.Object) { h.add("add " + value(o)) },
		UpdateFunc: func(o, n informer.Object) {
			h.add("update " + value(o) + " -> v=" + n.(*corev1.ConfigMap).GetData()["v"])
		},
		DeleteFunc: func(o informer.Object) { h.add("delete " + value(o)) },
	}
}

func (h *heard) Lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// waitHeard waits until the last line heard is last, then returns all.
func (h *heard) waitHeard(t *testing.T, last string) []string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		lines := h.Lines()
		if len(lines) > 0 && lines[len(lines)-1] == last {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("never heard %q; heard:\n  %s", last, strings.Join(lines, "\n  "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countingLW counts lists, to tell a relist from a resumed watch.
type countingLW struct {
	informer.ListWatcher
	lists atomic.Int32
}

func (c *countingLW) List(ctx context.Context, opts client.ListOptions) ([]informer.Object, *metav1.ListMeta, error) {
	if opts.Continue == "" {
		c.lists.Add(1)
	}
	return c.ListWatcher.List(ctx, opts)
}

// runInformer runs a ConfigMap informer over cs until the test ends.
func runInformer(t *testing.T, cs *client.Clientset, h *heard) (informer.SharedInformer, *countingLW) {
	t.Helper()
	lw := &countingLW{ListWatcher: informer.NewListWatcher(cs.CoreV1().ConfigMaps(ns), nil)}
	inf := informer.NewSharedInformer(lw, &corev1.ConfigMap{}, 0,
		informer.WithLogger(zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))))
	inf.AddEventHandler(h.handler())
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
	if !informer.WaitForCacheSync(ctxFor(t), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	return inf, lw
}

// writer changes ConfigMaps through a client and says what a handler
// should hear.
type writer struct {
	t  *testing.T
	cs *client.Clientset
}

func (w writer) create(name, v string) string {
	w.t.Helper()
	cm := &corev1.ConfigMap{Metadata: &metav1.ObjectMeta{Namespace: ns, Name: name}, Data: map[string]string{"v": v}}
	if _, err := w.cs.CoreV1().ConfigMaps(ns).Create(ctxFor(w.t), cm); err != nil {
		w.t.Fatalf("create %s: %v", name, err)
	}
	return "add " + name + " v=" + v
}

func (w writer) update(name, v string) string {
	w.t.Helper()
	cms := w.cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Get(ctxFor(w.t), name)
	if err != nil {
		w.t.Fatalf("get %s: %v", name, err)
	}
	old := cm.GetData()["v"]
	cm.Data = map[string]string{"v": v}
	if _, err := cms.Update(ctxFor(w.t), cm); err != nil {
		w.t.Fatalf("update %s: %v", name, err)
	}
	return "update " + name + " v=" + old + " -> v=" + v
}

func (w writer) remove(name string) string {
	w.t.Helper()
	cms := w.cs.CoreV1().ConfigMaps(ns)
	cm, err := cms.Get(ctxFor(w.t), name)
	if err != nil {
		w.t.Fatalf("get %s: %v", name, err)
	}
	if err := cms.Delete(ctxFor(w.t), name, client.DeleteOptions{}); err != nil {
		w.t.Fatalf("delete %s: %v", name, err)
	}
	return "delete " + name + " v=" + cm.GetData()["v"]
}

// storeContent lists an informer's cache as sorted "name v=X".
func storeContent(inf informer.SharedInformer) []string {
	var out []string
	for _, o := range inf.GetStore().List() {
		out = append(out, value(o))
	}
	slices.Sort(out)
	return out
}

// (a) Every change, exactly once and in order, across an apiserver restart.
func TestInformerSeesEveryChangeAcrossRestart(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	cs := newClient(t, srv.URL)
	w := writer{t, cs}
	var want []string
	want = append(want, w.create("before", "1"))

	h := &heard{}
	inf, lw := runInformer(t, cs, h)
	for i := range 3 {
		want = append(want, w.create(fmt.Sprintf("cm-%d", i), "1"))
	}
	want = append(want, w.update("cm-1", "2"), w.remove("cm-2"), w.update("before", "2"))
	h.waitHeard(t, want[len(want)-1])

	srv.Restart(t)

	// Written as soon as the apiserver is back, maybe before the informer
	// has reconnected: it must resume from where it was and miss nothing.
	want = append(want, w.create("cm-3", "1"), w.update("cm-0", "2"), w.remove("cm-1"), w.update("cm-0", "3"))
	want = append(want, w.create("sentinel", "1"))
	got := h.waitHeard(t, want[len(want)-1])
	if !slices.Equal(got, want) {
		t.Fatalf("handler heard:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if n := lw.lists.Load(); n != 1 {
		t.Errorf("informer listed %d times; a restart must be a resumed watch", n)
	}
	if got, want := storeContent(inf), []string{"before v=2", "cm-0 v=3", "cm-3 v=1", "sentinel v=1"}; !slices.Equal(got, want) {
		t.Errorf("cache = %v, want %v", got, want)
	}
}

// (b) A compaction while the informer is cut off: its resume gets 410, it
// relists, and handlers hear exactly what changed meanwhile.
func TestInformerRelistsAfterCompaction(t *testing.T) {
	etcd := apiservertest.StartEtcd(t)
	watched := apiservertest.Start(t, apiservertest.Options{EtcdServers: etcd})
	other := apiservertest.Start(t, apiservertest.Options{EtcdServers: etcd})
	csWatched := newClient(t, watched.URL) // the informer's only apiserver
	w := writer{t, newClient(t, other.URL)}

	w.create("keep", "1")
	w.create("change", "1")
	w.create("gone", "1")
	h := &heard{}
	inf, lw := runInformer(t, csWatched, h)
	before := h.waitHeard(t, "add keep v=1")
	if len(before) != 3 {
		t.Fatalf("initial list heard %v", before)
	}

	watched.Stop()
	w.update("change", "2")
	w.remove("gone")
	w.create("new", "1")
	w.update("change", "3")
	w.create("brief", "1")
	w.remove("brief") // created and deleted while cut off: never seen, never heard
	compact(t, watched.EtcdEndpoints)
	// What a relist can tell: the end state against the cache, with
	// deletes carrying the last state the cache knew.
	meanwhile := []string{"update change v=1 -> v=3", "delete gone v=1", "add new v=1"}

	watched.Restart(t)
	deadline := time.Now().Add(90 * time.Second)
	for len(h.Lines()) < len(before)+len(meanwhile) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := h.Lines()[len(before):]
	if !sameSet(got, meanwhile) {
		t.Fatalf("after the relist heard:\n  %s\nwant, in any order:\n  %s", strings.Join(got, "\n  "), strings.Join(meanwhile, "\n  "))
	}
	if n := lw.lists.Load(); n != 2 {
		t.Errorf("informer listed %d times, want 2 (the relist after 410)", n)
	}
	if got, want := storeContent(inf), []string{"change v=3", "keep v=1", "new v=1"}; !slices.Equal(got, want) {
		t.Errorf("cache = %v, want %v", got, want)
	}

	// And it watches on from the relist.
	last := w.update("keep", "2")
	got = h.waitHeard(t, last)
	if len(got) != len(before)+len(meanwhile)+1 {
		t.Errorf("heard extra events after the relist: %v", got[len(before)+len(meanwhile):])
	}
}

// compact compacts etcd up to its current revision, so no watch can resume
// from before now.
func compact(t *testing.T, endpoints []string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := ctxFor(t)
	resp, err := cli.Get(ctx, "/compact-probe")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("compact to %d: %v", resp.Header.Revision, err)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// (c) Two apiservers on one etcd; the first stops; the client's writes and
// the informer move to the second.
func TestClientFailsOverBetweenAPIServers(t *testing.T) {
	etcd := apiservertest.StartEtcd(t)
	first := apiservertest.Start(t, apiservertest.Options{EtcdServers: etcd})
	second := apiservertest.Start(t, apiservertest.Options{EtcdServers: etcd})
	cs := newClient(t, first.URL, second.URL)
	w := writer{t, cs}

	h := &heard{}
	runInformer(t, cs, h)
	var want []string
	want = append(want, w.create("a", "1"))
	h.waitHeard(t, want[0])

	first.Stop()
	for i := range 5 {
		want = append(want, w.create(fmt.Sprintf("after-%d", i), "1"))
	}
	want = append(want, w.update("a", "2"))
	got := h.waitHeard(t, want[len(want)-1])
	if !slices.Equal(got, want) {
		t.Fatalf("handler heard:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
