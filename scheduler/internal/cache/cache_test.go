package cache

import (
	"testing"

	"go.uber.org/zap/zaptest"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func node(name string) *corev1.Node {
	return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}, Status: &corev1.NodeStatus{
		Allocatable: map[string]string{"cpu": "4", "memory": "4Gi", "pods": "10"},
	}}
}

func pod(uid, nodeName, cpu string) *corev1.Pod {
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Namespace: "default", Name: "p-" + uid, Uid: uid},
		Spec: &corev1.PodSpec{NodeName: nodeName, Containers: []*corev1.Container{{
			Name: "c", Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": cpu}},
		}}},
	}
}

// requested returns the milli-cpu counted per node name.
func requested(c *Cache) map[string]int64 {
	out := map[string]int64{}
	for _, n := range c.Snapshot() {
		out[n.Name()] = n.Requested.MilliCPU
	}
	return out
}

func TestCacheCountsAssumedAndBoundPods(t *testing.T) {
	type step struct {
		do   func(c *Cache)
		want map[string]int64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"assume, then confirm by informer", []step{
			{func(c *Cache) { _ = c.AssumePod(pod("1", "a", "1")) }, map[string]int64{"a": 1000, "b": 0}},
			{func(c *Cache) { c.AddPod(pod("1", "a", "1")) }, map[string]int64{"a": 1000, "b": 0}},
			{func(c *Cache) { c.ForgetPod(pod("1", "a", "1")) }, map[string]int64{"a": 1000, "b": 0}}, // confirmed: not forgotten
			{func(c *Cache) { c.RemovePod(pod("1", "a", "1")) }, map[string]int64{"a": 0, "b": 0}},
		}},
		{"assume, then forget after a failed bind", []step{
			{func(c *Cache) { _ = c.AssumePod(pod("1", "b", "500m")) }, map[string]int64{"a": 0, "b": 500}},
			{func(c *Cache) { c.ForgetPod(pod("1", "b", "500m")) }, map[string]int64{"a": 0, "b": 0}},
		}},
		{"bound elsewhere than assumed", []step{
			{func(c *Cache) { _ = c.AssumePod(pod("1", "a", "1")) }, map[string]int64{"a": 1000, "b": 0}},
			{func(c *Cache) { c.AddPod(pod("1", "b", "1")) }, map[string]int64{"a": 0, "b": 1000}},
		}},
		{"pod before its node", []step{
			{func(c *Cache) { c.AddPod(pod("1", "c", "2")) }, map[string]int64{"a": 0, "b": 0}},
			{func(c *Cache) { c.AddNode(node("c")) }, map[string]int64{"a": 0, "b": 0, "c": 2000}},
			{func(c *Cache) { c.RemoveNode(node("c")) }, map[string]int64{"a": 0, "b": 0}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(zaptest.NewLogger(t))
			c.AddNode(node("a"))
			c.AddNode(node("b"))
			for i, s := range tt.steps {
				s.do(c)
				got := requested(c)
				if len(got) != len(s.want) {
					t.Fatalf("step %d: nodes %v, want %v", i, got, s.want)
				}
				for n, v := range s.want {
					if got[n] != v {
						t.Fatalf("step %d: requested cpu %v, want %v", i, got, s.want)
					}
				}
			}
		})
	}
}

func TestSnapshotIsNotChangedByLaterWrites(t *testing.T) {
	c := New(nil)
	c.AddNode(node("a"))
	snap := c.Snapshot()
	if err := c.AssumePod(pod("1", "a", "1")); err != nil {
		t.Fatal(err)
	}
	if got := snap[0].Requested.MilliCPU; got != 0 {
		t.Errorf("old snapshot sees %dm requested, want 0", got)
	}
	if err := c.AssumePod(pod("1", "a", "1")); err == nil {
		t.Error("assuming the same pod twice succeeded")
	}
}
