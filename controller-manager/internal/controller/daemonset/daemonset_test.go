package daemonset

import (
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestShouldRun(t *testing.T) {
	tmpl := func(selector map[string]string, tols ...*corev1.Toleration) *corev1.PodTemplateSpec {
		return &corev1.PodTemplateSpec{Spec: &corev1.PodSpec{NodeSelector: selector, Tolerations: tols}}
	}
	node := func(labels map[string]string, taints ...*corev1.Taint) *corev1.Node {
		return &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n", Labels: labels}, Spec: &corev1.NodeSpec{Taints: taints}}
	}
	worker := map[string]string{"role": "worker"}
	tests := []struct {
		name               string
		tmpl               *corev1.PodTemplateSpec
		node               *corev1.Node
		run, continueToRun bool
	}{
		{"no selector, no taints", tmpl(nil), node(nil), true, true},
		{"selector matches", tmpl(worker), node(worker), true, true},
		{"selector does not match", tmpl(worker), node(nil), false, false},
		{"NoSchedule taint not tolerated: keep, do not place", tmpl(nil), node(nil, &corev1.Taint{Key: "dedicated", Effect: "NoSchedule"}), false, true},
		{"NoExecute taint not tolerated", tmpl(nil), node(nil, &corev1.Taint{Key: "dedicated", Effect: "NoExecute"}), false, false},
		{"tolerated by the template", tmpl(nil, &corev1.Toleration{Key: "dedicated", Operator: "Exists"}),
			node(nil, &corev1.Taint{Key: "dedicated", Effect: "NoExecute"}), true, true},
		{"not ready: the daemon tolerations", tmpl(nil), node(nil, &corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: "NoExecute"}), true, true},
		{"cordoned: the daemon tolerations", tmpl(nil), node(nil, &corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: "NoSchedule"}), true, true},
		{"PreferNoSchedule is ignored", tmpl(nil), node(nil, &corev1.Taint{Key: "x", Effect: "PreferNoSchedule"}), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, cont := ShouldRun(tt.tmpl, tt.node)
			if run != tt.run || cont != tt.continueToRun {
				t.Errorf("ShouldRun = %v, %v; want %v, %v", run, cont, tt.run, tt.continueToRun)
			}
		})
	}
	deleting := node(nil)
	deleting.Metadata.DeletionTimestamp = timestamppb.Now()
	if run, cont := ShouldRun(tmpl(nil), deleting); run || cont {
		t.Errorf("a node being deleted gets daemons: %v, %v", run, cont)
	}
}
