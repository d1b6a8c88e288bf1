package informer

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

// idleConn answers every List with an empty list at resourceVersion 1 and
// every Watch with a stream that stays quiet; it counts calls per method.
type idleConn struct {
	mu    sync.Mutex
	calls map[string]int
	opts  map[string]*metav1.ListOptions
}

func (c *idleConn) count(method string, args any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.calls == nil {
		c.calls, c.opts = map[string]int{}, map[string]*metav1.ListOptions{}
	}
	c.calls[method]++
	if o, ok := args.(*metav1.ListOptions); ok {
		c.opts[method] = o
	}
}

func (c *idleConn) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

func (c *idleConn) Opts(method string) *metav1.ListOptions {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts[method]
}

func (c *idleConn) Invoke(_ context.Context, method string, args, reply any, _ ...grpc.CallOption) error {
	c.count(method, args)
	m := reply.(proto.Message).ProtoReflect()
	meta := &metav1.ListMeta{ResourceVersion: "1"}
	m.Set(m.Descriptor().Fields().ByName("metadata"), protoreflect.ValueOfMessage(meta.ProtoReflect()))
	return nil
}

func (c *idleConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return &idleStream{ctx: ctx, conn: c, method: method}, nil
}

type idleStream struct {
	ctx    context.Context
	conn   *idleConn
	method string
}

func (s *idleStream) Header() (metadata.MD, error) { return nil, nil }
func (s *idleStream) Trailer() metadata.MD         { return nil }
func (s *idleStream) CloseSend() error             { return nil }
func (s *idleStream) Context() context.Context     { return s.ctx }
func (s *idleStream) SendMsg(m any) error          { s.conn.count(s.method, m); return nil }
func (s *idleStream) RecvMsg(any) error {
	<-s.ctx.Done()
	return s.ctx.Err()
}

func TestFactorySharesOneInformerPerKind(t *testing.T) {
	conn := &idleConn{}
	f := NewSharedInformerFactory(client.NewForConn(conn), 0,
		WithNamespace("team-a"),
		WithTweakListOptions(func(o *client.ListOptions) { o.FieldSelector = "spec.nodeName=n1" }))

	pods1 := f.Core().V1().Pods()
	pods2 := f.Core().V1().Pods()
	if pods1.Informer() != pods2.Informer() {
		t.Error("two Pods() calls made two informers")
	}
	nodes := f.Core().V1().Nodes()
	deps := f.Apps().V1().Deployments()
	if nodes.Informer() == pods1.Informer() {
		t.Error("nodes share the pods informer")
	}

	ctx, cancel := context.WithCancel(context.Background())
	f.Start(ctx)
	f.Start(ctx) // idempotent
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if !f.WaitForCacheSync(wctx) {
		t.Fatal("caches did not sync")
	}
	waitFor(t, "watches", func() bool {
		return conn.Calls("/skiff.core.v1.PodService/Watch") == 1 &&
			conn.Calls("/skiff.core.v1.NodeService/Watch") == 1 &&
			conn.Calls("/skiff.apps.v1.DeploymentService/Watch") == 1
	})
	if n := conn.Calls("/skiff.core.v1.PodService/List"); n != 1 {
		t.Errorf("pods listed %d times, want 1", n)
	}

	// Namespaced kinds are limited to the namespace, cluster-scoped ones
	// are not; the tweak applies to all, and watches start at the list's
	// resourceVersion with bookmarks.
	po := conn.Opts("/skiff.core.v1.PodService/Watch")
	if po.GetNamespace() != "team-a" || po.GetFieldSelector() != "spec.nodeName=n1" ||
		po.GetResourceVersion() != "1" || !po.GetAllowWatchBookmarks() {
		t.Errorf("pods watch options = %v", po)
	}
	if no := conn.Opts("/skiff.core.v1.NodeService/List"); no.GetNamespace() != "" || no.GetLimit() != 500 {
		t.Errorf("nodes list options = %v", no)
	}

	// A kind asked for after Start runs on the next Start.
	leases := f.Coordination().V1().Leases()
	if leases.Informer().HasSynced() {
		t.Error("an unstarted informer says it synced")
	}
	f.Start(ctx)
	if !f.WaitForCacheSync(wctx) {
		t.Fatal("leases did not sync")
	}

	if _, err := pods1.Lister().Get("team-a", "x"); !client.IsNotFound(err) {
		t.Errorf("lister Get on an empty cache = %v", err)
	}
	_ = deps.Lister().List(nil)

	cancel()
	f.Shutdown() // returns once every informer has stopped
}

func TestFactoryAccessorsCoverEveryKind(t *testing.T) {
	f := NewSharedInformerFactory(client.NewForConn(&idleConn{}), 0)
	infs := []SharedInformer{
		f.Core().V1().Namespaces().Informer(), f.Core().V1().Pods().Informer(), f.Core().V1().Nodes().Informer(),
		f.Core().V1().Services().Informer(), f.Core().V1().Endpoints().Informer(), f.Core().V1().Events().Informer(),
		f.Core().V1().ConfigMaps().Informer(), f.Core().V1().Secrets().Informer(), f.Core().V1().ServiceAccounts().Informer(),
		f.Apps().V1().ReplicaSets().Informer(), f.Apps().V1().Deployments().Informer(), f.Apps().V1().DaemonSets().Informer(),
		f.Batch().V1().Jobs().Informer(), f.Coordination().V1().Leases().Informer(),
	}
	seen := map[SharedInformer]bool{}
	for _, inf := range infs {
		if seen[inf] {
			t.Error("two kinds share an informer")
		}
		seen[inf] = true
	}
}
