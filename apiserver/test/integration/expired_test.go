package integration

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// compactEtcd compacts etcd to its current revision, as the apiserver's
// compactor (or an operator) would.
func compactEtcd(t *testing.T, endpoints []string) int64 {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, "/skiff/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("etcd get: %v", err)
	}
	rev := resp.Header.Revision
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatalf("etcd compact to %d: %v", rev, err)
	}
	return rev
}

// TestExpiredResourceVersion: with a small watch cache, a watch from a
// resourceVersion etcd has compacted away, and a continue token from before
// the compaction, get 410 Gone / OutOfRange, so clients know to relist.
func TestExpiredResourceVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{WatchCacheSize: 10})
	c := newCM(t, e, "expired")
	first := c.put("counter", "0", nil)
	for i := 1; i < 50; i++ {
		c.put("counter", strconv.Itoa(i), nil)
	}
	for i := 0; i < 15; i++ {
		c.put(fmt.Sprintf("page-%02d", i), "x", nil)
	}
	page, err := c.c.List(ctxT(t), &metav1.ListOptions{Namespace: c.ns, Limit: 10})
	if err != nil || page.Metadata.GetContinue() == "" {
		t.Fatalf("first page: continue %q, err %v", page.GetMetadata().GetContinue(), err)
	}
	oldRV := first.Metadata.ResourceVersion
	// etcd keeps the compaction revision itself readable: write once more so
	// the first page's snapshot falls before it.
	c.put("counter", "50", nil)
	compactEtcd(t, e.srv.EtcdEndpoints)

	t.Run("grpc watch", func(t *testing.T) {
		ch := watchGRPC(t, e, &metav1.ListOptions{Namespace: c.ns, ResourceVersion: oldRV})
		select {
		case got := <-ch:
			expectCode(t, got.err, codes.OutOfRange, oldRV)
		case <-time.After(30 * time.Second):
			t.Fatal("no error within 30s")
		}
	})
	t.Run("rest watch", func(t *testing.T) {
		ch := watchREST(t, e, "/api/v1/namespaces/"+c.ns+"/configmaps?watch=true&resourceVersion="+oldRV)
		select {
		case got := <-ch:
			if got.err == nil || (got.typ != "410" && got.typ != "ERROR") || got.val != "Expired" {
				t.Fatalf("got %+v, want a 410 Status or an ERROR event with reason Expired", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no error within 30s")
		}
	})
	t.Run("stale continue", func(t *testing.T) {
		_, err := c.c.List(ctxT(t), &metav1.ListOptions{Namespace: c.ns, Limit: 10, Continue: page.Metadata.Continue})
		expectCode(t, err, codes.OutOfRange)
		r := e.do(t, "GET", "/api/v1/namespaces/"+c.ns+"/configmaps?limit=10&continue="+page.Metadata.Continue, nil, "")
		expectStatus(t, r, 410, "Expired")
	})
	t.Run("a fresh watch still works", func(t *testing.T) {
		ch := watchGRPC(t, e, &metav1.ListOptions{Namespace: c.ns, ResourceVersion: c.put("counter", "fresh", nil).Metadata.ResourceVersion})
		c.put("counter", "after", nil)
		expectEvents(t, ch, "MODIFIED counter=after")
	})
}

// TestRestart: objects and their uid and resourceVersion survive an
// apiserver restart, and a watch from before the restart resumes.
func TestRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ctx := ctxT(t)
	ns := e.newNamespace(t, "restart")
	pods := corev1.NewPodServiceClient(e.conn)
	svcs := corev1.NewServiceServiceClient(e.conn)
	nodes := corev1.NewNodeServiceClient(e.conn)
	c := cmClient{t: t, c: corev1.NewConfigMapServiceClient(e.conn), ns: ns}

	type saved struct{ uid, rv string }
	want := map[string]saved{}
	keep := func(kind string, m *metav1.ObjectMeta, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", kind, err)
		}
		want[kind] = saved{m.GetUid(), m.GetResourceVersion()}
	}
	p, err := pods.Create(ctx, &corev1.PodRequest{Namespace: ns, Object: &corev1.Pod{Metadata: om("web"), Spec: podSpec("nginx")}})
	keep("pod", p.GetMetadata(), err)
	s, err := svcs.Create(ctx, &corev1.ServiceRequest{Namespace: ns, Object: nodePortService("web")})
	keep("service", s.GetMetadata(), err)
	n, err := nodes.Create(ctx, &corev1.NodeRequest{Object: &corev1.Node{Metadata: om("restart-node")}})
	keep("node", n.GetMetadata(), err)
	cm := c.put("cfg", "1", nil)
	keep("configmap", cm.GetMetadata(), nil)

	e.srv.Restart(t)

	gp, err := pods.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "web"})
	check := func(kind string, m *metav1.ObjectMeta, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("get %s after restart: %v", kind, err)
		}
		if got := (saved{m.GetUid(), m.GetResourceVersion()}); got != want[kind] {
			t.Errorf("%s after restart: uid/rv %v, want %v", kind, got, want[kind])
		}
	}
	check("pod", gp.GetMetadata(), err)
	gs, err := svcs.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "web"})
	check("service", gs.GetMetadata(), err)
	if err == nil && (gs.Spec.ClusterIp != s.Spec.ClusterIp || gs.Spec.Ports[0].NodePort != s.Spec.Ports[0].NodePort) {
		t.Errorf("service allocation changed across restart: %s/%d, was %s/%d", gs.Spec.ClusterIp, gs.Spec.Ports[0].NodePort, s.Spec.ClusterIp, s.Spec.Ports[0].NodePort)
	}
	gn, err := nodes.Get(ctx, &metav1.GetOptions{Name: "restart-node"})
	check("node", gn.GetMetadata(), err)
	gc, err := c.c.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "cfg"})
	check("configmap", gc.GetMetadata(), err)

	// A second service still gets its own IP: the allocations were kept.
	s2, err := svcs.Create(ctx, &corev1.ServiceRequest{Namespace: ns, Object: nodePortService("web2")})
	if err != nil {
		t.Fatal(err)
	}
	checkDistinct(t, []*corev1.Service{gs, s2})

	// A watch from before the restart sees the changes since.
	c.put("cfg", "2", nil)
	ch := watchGRPC(t, e, &metav1.ListOptions{Namespace: ns, ResourceVersion: cm.Metadata.ResourceVersion})
	ch2 := watchREST(t, e, "/api/v1/namespaces/"+ns+"/configmaps?watch=1&resourceVersion="+cm.Metadata.ResourceVersion)
	c.put("cfg", "3", nil)
	expectEvents(t, ch, "MODIFIED cfg=2", "MODIFIED cfg=3")
	expectEvents(t, ch2, "MODIFIED cfg=2", "MODIFIED cfg=3")
}
