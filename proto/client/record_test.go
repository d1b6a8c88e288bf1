package client

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// eventConn collects created Events; while gate is set, calls wait on it.
type eventConn struct {
	fakeConn
	gate   chan struct{}
	mu     sync.Mutex
	events []*corev1.Event
}

func (c *eventConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if method == "/skiff.core.v1.EventService/Create" {
		c.events = append(c.events, args.(*corev1.EventRequest).GetObject())
	}
	return nil
}

func (c *eventConn) Events() []*corev1.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*corev1.Event(nil), c.events...)
}

func TestRecorderEvent(t *testing.T) {
	conn := &eventConn{}
	rec := NewRecorder(NewForConn(conn), "scheduler", "master-1")
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rec.now = func() time.Time { return now }

	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "web", Name: "web-0", Uid: "u1", ResourceVersion: "12"}}
	node := &corev1.Node{ApiVersion: "v1", Kind: "Node", Metadata: &metav1.ObjectMeta{Name: "node-1", Uid: "u2"}}
	dep := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Namespace: "web", Name: "web"}}
	rec.Event(pod, EventTypeNormal, "Scheduled", "Successfully assigned %s to %s", "web/web-0", "node-1")
	rec.Event(node, EventTypeWarning, "NodeNotReady", "node is not ready")
	rec.Event(dep, EventTypeNormal, "ScalingReplicaSet", "scaled up")
	rec.Shutdown(context.Background())

	evs := conn.Events()
	if len(evs) != 3 {
		t.Fatalf("wrote %d events, want 3", len(evs))
	}
	tests := []struct {
		ns, namePrefix, kind, apiVersion, reason, typ, message string
	}{
		{"web", "web-0.", "Pod", "v1", "Scheduled", "Normal", "Successfully assigned web/web-0 to node-1"},
		{"default", "node-1.", "Node", "v1", "NodeNotReady", "Warning", "node is not ready"},
		{"web", "web.", "Deployment", "apps/v1", "ScalingReplicaSet", "Normal", "scaled up"},
	}
	for i, want := range tests {
		ev := evs[i]
		if ev.GetMetadata().GetNamespace() != want.ns || !strings.HasPrefix(ev.GetMetadata().GetName(), want.namePrefix) {
			t.Errorf("event %d named %s/%s, want %s/%s<suffix>", i, ev.GetMetadata().GetNamespace(), ev.GetMetadata().GetName(), want.ns, want.namePrefix)
		}
		io := ev.GetInvolvedObject()
		if io.GetKind() != want.kind || io.GetApiVersion() != want.apiVersion {
			t.Errorf("event %d involves %s %s, want %s %s", i, io.GetApiVersion(), io.GetKind(), want.apiVersion, want.kind)
		}
		if ev.GetReason() != want.reason || ev.GetType() != want.typ || ev.GetMessage() != want.message {
			t.Errorf("event %d = %s %s %q", i, ev.GetType(), ev.GetReason(), ev.GetMessage())
		}
		if ev.GetSource().GetComponent() != "scheduler" || ev.GetSource().GetHost() != "master-1" || ev.GetCount() != 1 {
			t.Errorf("event %d source %v count %d", i, ev.GetSource(), ev.GetCount())
		}
		if !ev.GetFirstTimestamp().AsTime().Equal(now) || !ev.GetLastTimestamp().AsTime().Equal(now) {
			t.Errorf("event %d timestamps %v %v", i, ev.GetFirstTimestamp(), ev.GetLastTimestamp())
		}
	}
	io := evs[0].GetInvolvedObject()
	if io.GetNamespace() != "web" || io.GetName() != "web-0" || io.GetUid() != "u1" || io.GetResourceVersion() != "12" {
		t.Errorf("involvedObject = %v", io)
	}
	if evs[1].GetInvolvedObject().GetNamespace() != "" {
		t.Errorf("cluster-scoped involvedObject has namespace %q", evs[1].GetInvolvedObject().GetNamespace())
	}
}

func TestRecorderUniqueNames(t *testing.T) {
	conn := &eventConn{}
	rec := NewRecorder(NewForConn(conn), "c", "h")
	rec.now = func() time.Time { return time.Unix(100, 0) } // same instant for all
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	for range 5 {
		rec.Event(pod, EventTypeNormal, "R", "m")
	}
	rec.Shutdown(context.Background())
	seen := map[string]bool{}
	for _, ev := range conn.Events() {
		if seen[ev.GetMetadata().GetName()] {
			t.Errorf("name %s used twice", ev.GetMetadata().GetName())
		}
		seen[ev.GetMetadata().GetName()] = true
	}
	if len(seen) != 5 {
		t.Errorf("%d distinct events, want 5", len(seen))
	}
}

func TestRecorderDropsWhenFull(t *testing.T) {
	conn := &eventConn{gate: make(chan struct{})}
	rec := newRecorder(NewForConn(conn), "c", "h", 2)
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p"}}

	done := make(chan struct{})
	go func() {
		// The writer holds one event at the gate and the queue two more;
		// the rest must be dropped, not block.
		for range 10 {
			rec.Event(pod, EventTypeNormal, "R", "m")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Event blocked on a full queue")
	}
	close(conn.gate)
	rec.Shutdown(context.Background())
	if n := len(conn.Events()); n < 2 || n > 3 {
		t.Errorf("wrote %d events, want the 2 or 3 that fit", n)
	}
	rec.Event(pod, EventTypeNormal, "R", "after shutdown") // must not panic
}

func TestRecorderShutdownDeadline(t *testing.T) {
	conn := &eventConn{gate: make(chan struct{})} // the apiserver never answers
	rec := NewRecorder(NewForConn(conn), "c", "h")
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
	for range 3 {
		rec.Event(pod, EventTypeNormal, "R", "m")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec.Shutdown(ctx) // returns although nothing could be written
	if n := len(conn.Events()); n != 0 {
		t.Errorf("wrote %d events", n)
	}
}

func TestTypeOf(t *testing.T) {
	tests := []struct {
		obj              Object
		apiVersion, kind string
	}{
		{&corev1.Pod{}, "v1", "Pod"},
		{&appsv1.ReplicaSet{}, "apps/v1", "ReplicaSet"},
		{&corev1.Namespace{ApiVersion: "v1", Kind: "Namespace"}, "v1", "Namespace"},
	}
	for _, tt := range tests {
		if av, k := TypeOf(tt.obj); av != tt.apiVersion || k != tt.kind {
			t.Errorf("TypeOf(%T) = %s %s, want %s %s", tt.obj, av, k, tt.apiVersion, tt.kind)
		}
	}
}
