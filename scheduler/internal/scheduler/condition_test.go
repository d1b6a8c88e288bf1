package scheduler

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
)

func TestSetCondition(t *testing.T) {
	t0 := timestamppb.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := timestamppb.New(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	unsched := func(msg string, at *timestamppb.Timestamp) *corev1.PodCondition {
		return &corev1.PodCondition{Type: "PodScheduled", Status: "False", Reason: "Unschedulable", Message: msg, LastTransitionTime: at}
	}
	tests := []struct {
		name        string
		have        []*corev1.PodCondition
		set         *corev1.PodCondition
		wantChanged bool
		wantMsg     string
		wantTime    *timestamppb.Timestamp
	}{
		{"new", nil, unsched("0/1 nodes", t1), true, "0/1 nodes", t1},
		{"same", []*corev1.PodCondition{unsched("0/1 nodes", t0)}, unsched("0/1 nodes", t1), false, "0/1 nodes", t0},
		{"new message keeps the transition time", []*corev1.PodCondition{unsched("0/1 nodes", t0)}, unsched("0/2 nodes", t1), true, "0/2 nodes", t0},
		{"status flips", []*corev1.PodCondition{{Type: "PodScheduled", Status: "True", LastTransitionTime: t0}}, unsched("0/1 nodes", t1), true, "0/1 nodes", t1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Status: &corev1.PodStatus{Conditions: tt.have}}
			if got := setCondition(pod, tt.set); got != tt.wantChanged {
				t.Errorf("changed = %v, want %v", got, tt.wantChanged)
			}
			if n := len(pod.Status.Conditions); n != 1 {
				t.Fatalf("%d conditions, want 1", n)
			}
			c := pod.Status.Conditions[0]
			if c.GetMessage() != tt.wantMsg || !c.GetLastTransitionTime().AsTime().Equal(tt.wantTime.AsTime()) {
				t.Errorf("condition = %v, want message %q at %v", c, tt.wantMsg, tt.wantTime.AsTime())
			}
		})
	}
}
