package replicaset

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestPodsToDelete(t *testing.T) {
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	pod := func(name, node, phase string, ready bool, readyFor, age time.Duration, restarts int32) *corev1.Pod {
		p := &corev1.Pod{
			Metadata: &metav1.ObjectMeta{Name: name, CreationTimestamp: timestamppb.New(base.Add(-age))},
			Spec:     &corev1.PodSpec{NodeName: node},
			Status:   &corev1.PodStatus{Phase: phase, ContainerStatuses: []*corev1.ContainerStatus{{RestartCount: restarts}}},
		}
		if ready {
			p.Status.Conditions = []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: timestamppb.New(base.Add(-readyFor))}}
		}
		return p
	}
	pods := []*corev1.Pod{
		pod("old-ready", "n1", "Running", true, time.Hour, 2*time.Hour, 0),
		pod("unscheduled", "", "Pending", false, 0, time.Hour, 0),
		pod("pending", "n1", "Pending", false, 0, time.Hour, 0),
		pod("running-not-ready", "n1", "Running", false, 0, time.Hour, 0),
		pod("new-ready", "n1", "Running", true, time.Minute, 10*time.Minute, 0),
		pod("restarting-ready", "n1", "Running", true, time.Hour, 2*time.Hour, 5),
		pod("unknown", "n1", "Unknown", false, 0, time.Hour, 0),
		pod("newer-not-ready", "n1", "Running", false, 0, time.Minute, 0),
	}
	want := []string{"unscheduled", "pending", "unknown", "newer-not-ready", "running-not-ready", "new-ready", "restarting-ready", "old-ready"}
	got := podsToDelete(pods, len(pods))
	var names []string
	for _, p := range got {
		names = append(names, p.GetMetadata().GetName())
	}
	if !slices.Equal(names, want) {
		t.Errorf("deletion order\n%v\nwant\n%v", names, want)
	}
	if n := len(podsToDelete(pods, 3)); n != 3 {
		t.Errorf("podsToDelete(3) returned %d pods", n)
	}
}
