package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// fakeBinder answers binds from a script and records them.
type fakeBinder struct {
	mu    sync.Mutex
	calls []string // "name->node"
	fail  func(name string, attempt int) error
	count map[string]int
}

func (b *fakeBinder) Bind(_ context.Context, _, name, node string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.count == nil {
		b.count = map[string]int{}
	}
	b.count[name]++
	b.calls = append(b.calls, name+"->"+node)
	if b.fail != nil {
		return b.fail(name, b.count[name])
	}
	return nil
}

func (b *fakeBinder) attempts(name string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count[name]
}

func testNode(name, cpu string) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Spec: &corev1.NodeSpec{}, Status: &corev1.NodeStatus{
		Allocatable: map[string]string{"cpu": cpu, "memory": "8Gi", "pods": "110"},
		Conditions:  []*corev1.NodeCondition{{Type: "Ready", Status: "True"}},
	}}
}

func testPod(name, cpu string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: name, Uid: "uid-" + name},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c",
			Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": cpu}}}}},
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func run(t *testing.T, b Binder, rec client.Recorder) *Scheduler {
	t.Helper()
	s, err := New(zaptest.NewLogger(t), Config{Binder: b, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func TestAssumedPodCountsBeforeBindingIsConfirmed(t *testing.T) {
	b := &fakeBinder{}
	s := run(t, b, nil)
	s.OnNodeAdd(testNode("a", "1"))
	s.OnNodeAdd(testNode("b", "1"))
	// Bindings succeed but the informer never confirms them: only the
	// assumed pods can keep the second pod off the first one's node.
	s.OnPodAdd(testPod("p1", "800m"))
	s.OnPodAdd(testPod("p2", "800m"))
	eventually(t, "two bindings", func() bool { return b.attempts("p1") == 1 && b.attempts("p2") == 1 })
	b.mu.Lock()
	defer b.mu.Unlock()
	n1, n2 := b.calls[0][len(b.calls[0])-1], b.calls[1][len(b.calls[1])-1]
	if n1 == n2 {
		t.Errorf("bindings %v put both pods on one 1-cpu node", b.calls)
	}
}

func TestBindFailureUnassumesAndRetries(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantRetry bool
	}{
		{"transient error is retried", status.Error(codes.Unavailable, "apiserver down"), true},
		{"conflict (already bound) is not", status.Error(codes.Aborted, "pod p is already assigned to node \"x\""), false},
		{"not found (deleted) is not", status.Error(codes.NotFound, "pods \"p\" not found"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBinder{fail: func(_ string, attempt int) error {
				if attempt == 1 {
					return tt.err
				}
				return nil
			}}
			rec := client.NewFakeRecorder(10)
			s := run(t, b, rec)
			s.OnNodeAdd(testNode("a", "1"))
			p := testPod("p", "1")
			s.OnPodAdd(p)
			eventually(t, "first bind", func() bool { return b.attempts("p") >= 1 })
			eventually(t, "pod un-assumed", func() bool { return !s.Cache.IsAssumed(p) || b.attempts("p") > 1 })
			if tt.wantRetry {
				// Retried after the 1 s backoff, and the node's cpu was
				// freed in between, else the retry could not fit.
				eventually(t, "retry", func() bool { return b.attempts("p") == 2 })
			} else {
				time.Sleep(1500 * time.Millisecond)
				if n := b.attempts("p"); n != 1 {
					t.Errorf("bound %d times, want no retry after %v", n, tt.err)
				}
				if n := s.Cache.PodCount(); n != 0 {
					t.Errorf("cache still counts %d pods after a rejected binding", n)
				}
			}
		})
	}
}

func TestIgnoresPodsOfOtherSchedulers(t *testing.T) {
	b := &fakeBinder{}
	rec := client.NewFakeRecorder(10)
	s := run(t, b, rec)
	s.OnNodeAdd(testNode("a", "4"))
	other := testPod("other", "1")
	other.Spec.SchedulerName = "my-scheduler"
	s.OnPodAdd(other)
	mine := testPod("mine", "1")
	mine.Spec.SchedulerName = DefaultSchedulerName
	s.OnPodAdd(mine)
	eventually(t, "mine bound", func() bool { return b.attempts("mine") == 1 })
	time.Sleep(200 * time.Millisecond)
	if n := b.attempts("other"); n != 0 {
		t.Errorf("bound a pod of my-scheduler %d times", n)
	}
	if got := <-rec.Events; got != "Normal Scheduled Successfully assigned default/mine to a" {
		t.Errorf("event = %q", got)
	}
}

func TestFinishedPodFreesItsNode(t *testing.T) {
	b := &fakeBinder{}
	rec := client.NewFakeRecorder(10)
	s := run(t, b, rec)
	s.OnNodeAdd(testNode("a", "1"))
	running := testPod("running", "1")
	running.Spec.NodeName = "a"
	running.Status = &corev1.PodStatus{Phase: "Running"}
	s.OnPodAdd(running)
	s.OnPodAdd(testPod("waiting", "1"))
	want := "Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu."
	select {
	case got := <-rec.Events:
		if got != want {
			t.Fatalf("event = %q, want %q", got, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no FailedScheduling event")
	}
	done := testPod("running", "1")
	done.Spec.NodeName = "a"
	done.Status = &corev1.PodStatus{Phase: "Succeeded"}
	s.OnPodUpdate(running, done)
	eventually(t, "waiting pod bound once running finished", func() bool { return b.attempts("waiting") == 1 })
}
