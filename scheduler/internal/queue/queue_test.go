package queue

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time        { return c.t }
func (c *clock) step(d time.Duration)  { c.t = c.t.Add(d) }
func newQueue() (*Queue, *clock)       { c := &clock{t: time.Unix(1000, 0)}; return New(WithClock(c.now)), c }
func ctx(t *testing.T) context.Context { return t.Context() }
func pod(name string, prio int32) *corev1.Pod {
	return &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "ns", Name: name, Uid: name}, Spec: &corev1.PodSpec{Priority: &prio}}
}

// popAll pops what is active without blocking.
func popAll(t *testing.T, q *Queue) []string {
	t.Helper()
	var out []string
	for q.Pending()["active"] > 0 {
		pi, err := q.Pop(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pi.Pod.Metadata.Name)
		q.Done(pi.Key())
	}
	return out
}

func TestPopOrder(t *testing.T) {
	tests := []struct {
		name string
		pods []*corev1.Pod
		want []string
	}{
		{"FIFO within a priority", []*corev1.Pod{pod("a", 0), pod("b", 0), pod("c", 0)}, []string{"a", "b", "c"}},
		{"higher priority first", []*corev1.Pod{pod("low", 0), pod("high", 100), pod("mid", 10), pod("high2", 100)},
			[]string{"high", "high2", "mid", "low"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newQueue()
			for _, p := range tt.pods {
				q.Add(p)
			}
			if got := popAll(t, q); !slices.Equal(got, tt.want) {
				t.Errorf("pop order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffDoublesUpToTen(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("a", 0))
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		pi, err := q.Pop(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		q.AddBackoff(pi)
		q.Done(pi.Key())
		clk.step(w*time.Second - time.Millisecond)
		q.Flush()
		if n := q.Pending()["active"]; n != 0 {
			t.Fatalf("attempt %d: active after %v, want backoff of %vs", i+1, w*time.Second-time.Millisecond, int(w))
		}
		clk.step(time.Millisecond)
		q.Flush()
		if n := q.Pending()["active"]; n != 1 {
			t.Fatalf("attempt %d: not active after %vs of backoff", i+1, int(w))
		}
	}
}

func TestUnschedulableWaitsForAnEvent(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("a", 0))
	pi, _ := q.Pop(ctx(t))
	q.AddUnschedulable(pi, q.SchedulingCycle())
	q.Done(pi.Key())
	clk.step(time.Minute)
	q.Flush()
	if got := q.Pending(); got["unschedulable"] != 1 || got["active"] != 0 {
		t.Fatalf("pending = %v, want the pod unschedulable until an event", got)
	}
	q.MoveAllToActiveOrBackoff()
	if got := popAll(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after a node event popped %v, want [a]", got)
	}

	// Without any event, the pod is still retried after the timeout.
	q.Add(pod("b", 0))
	pi, _ = q.Pop(ctx(t))
	q.AddUnschedulable(pi, q.SchedulingCycle())
	q.Done(pi.Key())
	clk.step(DefaultUnschedulableTimeout + time.Second)
	q.Flush()
	q.Flush()
	if got := popAll(t, q); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after the unschedulable timeout popped %v, want [b]", got)
	}
}

func TestEventDuringCycleSendsPodToBackoff(t *testing.T) {
	q, clk := newQueue()
	q.Add(pod("a", 0))
	pi, _ := q.Pop(ctx(t))
	cycle := q.SchedulingCycle()
	q.MoveAllToActiveOrBackoff() // a node was added while "a" was being scheduled
	q.AddUnschedulable(pi, cycle)
	q.Done(pi.Key())
	if got := q.Pending(); got["backoff"] != 1 {
		t.Fatalf("pending = %v, want the pod in backoff, not waiting for another event", got)
	}
	clk.step(time.Second)
	q.Flush()
	if got := popAll(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("popped %v, want [a]", got)
	}
}

func TestDeletedWhileInFlightIsNotRequeued(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("a", 0))
	pi, _ := q.Pop(ctx(t))
	q.Delete(pi.Pod)
	q.AddBackoff(pi)
	q.Done(pi.Key())
	if got := q.Pending(); got["active"]+got["backoff"]+got["unschedulable"] != 0 {
		t.Fatalf("pending = %v, want nothing", got)
	}
}

func TestUpdateOfUnschedulablePodRetriesIt(t *testing.T) {
	q, _ := newQueue()
	q.Add(pod("a", 0))
	pi, _ := q.Pop(ctx(t))
	q.AddUnschedulable(pi, q.SchedulingCycle())
	q.Done(pi.Key())
	same := pod("a", 0)
	same.Metadata.ResourceVersion = "7" // a status-only change
	q.Update(same)
	if got := q.Pending()["unschedulable"]; got != 1 {
		t.Fatalf("a change outside spec and labels retried the pod")
	}
	changed := pod("a", 0)
	changed.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	q.Update(changed)
	if got := popAll(t, q); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after a spec change popped %v, want [a]", got)
	}
}

func TestPopStopsWithContext(t *testing.T) {
	q, _ := newQueue()
	c, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := q.Pop(c); errc <- err }()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("Pop returned no error after its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pop did not return after its context ended")
	}
}
