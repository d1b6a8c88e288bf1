package app

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestRelaxedJSONPathExpression(t *testing.T) {
	for in, want := range map[string]string{
		"metadata.name": "{.metadata.name}", ".metadata.name": "{.metadata.name}",
		"{metadata.name}": "{.metadata.name}", "{.metadata.name}": "{.metadata.name}",
		".spec.containers[*].image": "{.spec.containers[*].image}", "": "",
	} {
		if got, err := relaxedJSONPathExpression(in); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := relaxedJSONPathExpression("{.a}{.b}"); err == nil {
		t.Error("two expressions accepted")
	}
}

func TestParseWaitFor(t *testing.T) {
	tests := []struct {
		in                      string
		kind, name, value, expr string
		any                     bool
	}{
		{in: "delete", kind: "delete"},
		{in: "condition=Available", kind: "condition", name: "Available", value: "true"},
		{in: "condition=Ready=False", kind: "condition", name: "Ready", value: "False"},
		{in: "jsonpath={.status.phase}=Running", kind: "jsonpath", expr: "{.status.phase}", value: "Running"},
		{in: "jsonpath={.metadata.labels.a=b}", kind: "jsonpath", expr: "{.metadata.labels.a=b}", any: true},
		{in: "jsonpath=.spec.replicas=3", kind: "jsonpath", expr: "{.spec.replicas}", value: "3"},
		{in: "jsonpath={.status.readyReplicas}", kind: "jsonpath", expr: "{.status.readyReplicas}", any: true},
	}
	for _, tt := range tests {
		w, err := parseWaitFor(tt.in)
		if err != nil || w.kind != tt.kind || w.name != tt.name || w.value != tt.value || w.expr != tt.expr || w.any != tt.any {
			t.Errorf("%q: got %+v, %v", tt.in, w, err)
		}
	}
	for _, bad := range []string{"", "foo", "condition=", "jsonpath="} {
		if _, err := parseWaitFor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPodLogOrder(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	pod := func(name, node, phase string, ready bool, restarts int32, age time.Duration) *corev1.Pod {
		st := "False"
		if ready {
			st = "True"
		}
		return &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: name, CreationTimestamp: timestamppb.New(t0.Add(-age))},
			Spec: &corev1.PodSpec{NodeName: node},
			Status: &corev1.PodStatus{Phase: phase, Conditions: []*corev1.PodCondition{{Type: "Ready", Status: st}},
				ContainerStatuses: []*corev1.ContainerStatus{{RestartCount: restarts}}}}
	}
	// Each pod comes before the next one.
	order := []*corev1.Pod{
		pod("running-ready-restarts", "n", "Running", true, 3, time.Minute),
		pod("running-ready-old", "n", "Running", true, 0, time.Hour),
		pod("running-ready-new", "n", "Running", true, 0, time.Minute),
		pod("running-unready", "n", "Running", false, 9, time.Hour),
		pod("unknown", "n", "Unknown", true, 0, time.Hour),
		pod("pending", "n", "Pending", false, 0, time.Hour),
		pod("unscheduled", "", "Running", true, 9, 9*time.Hour),
	}
	for i := 0; i+1 < len(order); i++ {
		a, b := order[i], order[i+1]
		if !podLogLess(a, b) || podLogLess(b, a) {
			t.Errorf("%s should come before %s", a.Metadata.Name, b.Metadata.Name)
		}
	}
}
