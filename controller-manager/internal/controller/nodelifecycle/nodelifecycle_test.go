package nodelifecycle

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
)

func TestEvictionTime(t *testing.T) {
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	unreachable := &corev1.Taint{Key: "node.kubernetes.io/unreachable", Effect: "NoExecute", TimeAdded: timestamppb.New(added)}
	c := &Controller{cfg: Config{PodEvictionTimeout: 5 * time.Minute}}
	pod := func(tols ...*corev1.Toleration) *corev1.Pod {
		return &corev1.Pod{Spec: &corev1.PodSpec{Tolerations: tols}}
	}
	tests := []struct {
		name   string
		pod    *corev1.Pod
		taints []*corev1.Taint
		due    time.Duration
		ok     bool
	}{
		{"no NoExecute taint", pod(), nil, 0, false},
		{"not tolerated: the eviction timeout", pod(), []*corev1.Taint{unreachable}, 5 * time.Minute, true},
		{"tolerated for ever", pod(&corev1.Toleration{Key: unreachable.Key, Operator: "Exists", Effect: "NoExecute"}), []*corev1.Taint{unreachable}, 0, false},
		{"tolerated for 30s", pod(&corev1.Toleration{Key: unreachable.Key, Operator: "Exists", Effect: "NoExecute", TolerationSeconds: new(int32(30))}),
			[]*corev1.Taint{unreachable}, 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, ok := c.evictionTime(tt.pod, tt.taints)
			if ok != tt.ok || ok && !due.Equal(added.Add(tt.due)) {
				t.Errorf("evictionTime = %v, %v; want +%v, %v", due, ok, tt.due, tt.ok)
			}
		})
	}
}

func TestWantedTaints(t *testing.T) {
	node := func(status string) *corev1.Node {
		n := &corev1.Node{Status: &corev1.NodeStatus{}}
		if status != "" {
			n.Status.Conditions = []*corev1.NodeCondition{{Type: "Ready", Status: status}}
		}
		return n
	}
	for status, want := range map[string]string{"": "", "True": "", "False": "node.kubernetes.io/not-ready", "Unknown": "node.kubernetes.io/unreachable"} {
		got := wantedTaints(node(status))
		if (want == "" && len(got) != 0) || (want != "" && (len(got) != 1 || got[0] != want)) {
			t.Errorf("Ready=%q: taints %v, want %q", status, got, want)
		}
	}
}
