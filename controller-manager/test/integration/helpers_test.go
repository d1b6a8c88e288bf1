// Package integration tests skiff-controller-manager's controllers against
// a real apiserver on embedded etcd. Nodes and kubelets are simulated: the
// tests write pod statuses (readiness, IPs) the way a kubelet would.
package integration

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/controller-manager/internal/controller"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

// env is a real apiserver, a client for the test, and controllers.
type env struct {
	t      *testing.T
	ctx    context.Context
	srv    *apiservertest.Server
	cs     *client.Clientset // the test's own client
	ns     string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	e := &env{t: t, ctx: ctx, srv: srv, cancel: cancel, ns: "default"}
	e.cs = e.newClient()
	t.Cleanup(func() {
		e.cancel()
		e.wg.Wait()
	})
	return e
}

// newClient is a fresh, unthrottled client of the apiserver.
func (e *env) newClient() *client.Clientset {
	e.t.Helper()
	cs, err := client.New(client.Options{Server: []string{e.srv.URL}, QPS: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// runnable is a controller.
type runnable interface {
	Run(ctx context.Context) bool
}

// start runs the controllers made by mk with their own client and shared
// informers (of informerCS if not nil) and a real event recorder, until
// the test ends or stop is called.
func (e *env) start(name string, mk func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable) (stop func()) {
	return e.startWith(name, nil, mk)
}

func (e *env) startWith(name string, informerCS *client.Clientset, mk func(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, rec client.Recorder) runnable) (stop func()) {
	e.t.Helper()
	cs := e.newClient()
	if informerCS == nil {
		informerCS = cs
	}
	f := informer.NewSharedInformerFactory(informerCS, 0)
	rec := client.NewRecorder(cs, name+"-controller", "test")
	lg := zaptest.NewLogger(e.t, zaptest.Level(zap.WarnLevel)).Named(name)
	c := mk(lg, cs, f, rec)
	ctx, cancel := context.WithCancel(e.ctx)
	f.Start(ctx)
	done := make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		c.Run(ctx)
		f.Shutdown()
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		rec.Shutdown(sctx)
	}()
	e.t.Cleanup(cancel)
	return func() { cancel(); <-done }
}

// eventually polls cond until it holds; cond returns a description of the
// current state for the failure message.
func (e *env) eventually(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("timed out waiting for %s; last state: %s", what, last)
}

// pods lists the namespace's pods whose labels include sel, by name.
func (e *env) pods(sel string) []*corev1.Pod {
	e.t.Helper()
	l, err := e.cs.CoreV1().Pods(e.ns).List(e.ctx, client.ListOptions{LabelSelector: sel})
	if err != nil {
		e.t.Fatal(err)
	}
	out := l.GetItems()
	sort.Slice(out, func(i, j int) bool { return out[i].GetMetadata().GetName() < out[j].GetMetadata().GetName() })
	return out
}

// activePods are pods not being deleted.
func (e *env) activePods(sel string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range e.pods(sel) {
		if controller.IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

func names(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.GetMetadata().GetName()
	}
	return out
}

// setReady writes the pod status a kubelet reports for a running pod,
// ready or not, with an IP from the test's pod network.
func (e *env) setReady(name string, ready bool) {
	e.t.Helper()
	pc := e.cs.CoreV1().Pods(e.ns)
	for attempt := 0; ; attempt++ {
		p, err := pc.Get(e.ctx, name)
		if err != nil {
			e.t.Fatalf("get pod %s: %v", name, err)
		}
		status := "False"
		if ready {
			status = "True"
		}
		now := timestamppb.Now()
		ip := podIP(name)
		p.Status = &corev1.PodStatus{Phase: "Running", PodIp: ip, PodIps: []*corev1.PodIP{{Ip: ip}}, StartTime: now,
			Conditions: []*corev1.PodCondition{{Type: "Ready", Status: status, LastTransitionTime: now}}}
		_, err = pc.UpdateStatus(e.ctx, p)
		if err == nil {
			return
		}
		if !client.IsConflict(err) || attempt > 10 {
			e.t.Fatalf("update status of pod %s: %v", name, err)
		}
	}
}

// podIP is a stable, made-up pod IP for a pod name (never a target).
func podIP(name string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return fmt.Sprintf("10.244.%d.%d", (h>>8)%250+1, h%250+1)
}

// events are the messages "Reason message" of the Events about an object.
func (e *env) events(kind, name string) []string {
	e.t.Helper()
	return e.eventsIn(e.ns, kind, name)
}

// eventsIn is events of a namespace (cluster-scoped objects' events are in
// "default").
func (e *env) eventsIn(ns, kind, name string) []string {
	e.t.Helper()
	l, err := e.cs.CoreV1().Events(ns).List(e.ctx, client.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range l.GetItems() {
		if ev.GetInvolvedObject().GetKind() == kind && ev.GetInvolvedObject().GetName() == name {
			out = append(out, ev.GetReason()+" "+ev.GetMessage())
		}
	}
	return out
}

func countPrefix(msgs []string, prefix string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func template(app, image string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{
		Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: app, Image: image,
			Ports: []*corev1.ContainerPort{{Name: "http", ContainerPort: 80, Protocol: "TCP"}}}}},
	}
}

func newReplicaSet(name, app string, replicas int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: template(app, "nginx:1.27"),
		},
	}
}

// slowWatchConn delays every message of every stream (the watches) by
// delay, as a loaded apiserver or network would.
type slowWatchConn struct {
	grpc.ClientConnInterface
	delay time.Duration
}

func (c slowWatchConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	if err != nil {
		return nil, err
	}
	return slowStream{s, c.delay}, nil
}

type slowStream struct {
	grpc.ClientStream
	delay time.Duration
}

func (s slowStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	time.Sleep(s.delay)
	return err
}
