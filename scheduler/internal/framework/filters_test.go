package framework

import (
	"context"
	"slices"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
)

// reasons runs f and returns its reasons (nil when the node passes).
func reasons(f FilterPlugin, p *corev1.Pod, n *NodeInfo) []string {
	st := f.Filter(context.Background(), &CycleState{}, p, n)
	if st.IsSuccess() {
		return nil
	}
	return st.Reasons
}

func TestFilters(t *testing.T) {
	notReady := func(n *corev1.Node) { n.Status.Conditions[0].Status = "False" }
	noCondition := func(n *corev1.Node) { n.Status.Conditions = nil }
	cordoned := func(n *corev1.Node) { n.Spec.Unschedulable = true }
	bigNode := node("n1", "2", "4Gi", 3)
	tests := []struct {
		name   string
		filter FilterPlugin
		pod    *corev1.Pod
		node   *NodeInfo
		want   []string
	}{
		{"ready node passes", NodeReady{}, pod("p", "", ""), NewNodeInfo(node("n", "1", "1Gi", 10)), nil},
		{"not ready node", NodeReady{}, pod("p", "", ""), NewNodeInfo(node("n", "1", "1Gi", 10, notReady)), []string{ReasonNodeNotReady}},
		{"node without Ready condition", NodeReady{}, pod("p", "", ""), NewNodeInfo(node("n", "1", "1Gi", 10, noCondition)), []string{ReasonNodeNotReady}},
		{"cordoned node", NodeUnschedulable{}, pod("p", "", ""), NewNodeInfo(node("n", "1", "1Gi", 10, cordoned)), []string{ReasonUnschedulable}},
		{"cordoned node tolerated", NodeUnschedulable{}, pod("p", "", "", withToleration(TaintNodeUnschedulable, "Exists", "", "NoSchedule")),
			NewNodeInfo(node("n", "1", "1Gi", 10, cordoned)), nil},
		{"schedulable node", NodeUnschedulable{}, pod("p", "", ""), NewNodeInfo(node("n", "1", "1Gi", 10)), nil},

		{"NoSchedule taint untolerated", TaintToleration{}, pod("p", "", ""),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectNoSchedule))), []string{"node(s) had untolerated taint {gpu: true}"}},
		{"NoExecute taint untolerated", TaintToleration{}, pod("p", "", ""),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("dedicated", "db", EffectNoExecute))), []string{"node(s) had untolerated taint {dedicated: db}"}},
		{"PreferNoSchedule taint does not filter", TaintToleration{}, pod("p", "", ""),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectPreferNoSchedule))), nil},
		{"Equal toleration", TaintToleration{}, pod("p", "", "", withToleration("gpu", "Equal", "true", EffectNoSchedule)),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectNoSchedule))), nil},
		{"Equal toleration with other value", TaintToleration{}, pod("p", "", "", withToleration("gpu", "Equal", "false", EffectNoSchedule)),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectNoSchedule))), []string{"node(s) had untolerated taint {gpu: true}"}},
		{"Exists toleration without effect", TaintToleration{}, pod("p", "", "", withToleration("gpu", "Exists", "", "")),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectNoExecute))), nil},
		{"toleration of other effect", TaintToleration{}, pod("p", "", "", withToleration("gpu", "Exists", "", EffectNoExecute)),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("gpu", "true", EffectNoSchedule))), []string{"node(s) had untolerated taint {gpu: true}"}},
		{"wildcard toleration", TaintToleration{}, pod("p", "", "", withToleration("", "Exists", "", "")),
			NewNodeInfo(node("n", "1", "1Gi", 10, withTaint("a", "b", EffectNoSchedule))), nil},

		{"fits", NodeResourcesFit{}, pod("p", "1", "1Gi"), NewNodeInfo(bigNode, pod("a", "1", "1Gi")), nil},
		{"fits exactly", NodeResourcesFit{}, pod("p", "1", "2Gi"), NewNodeInfo(bigNode, pod("a", "1", "2Gi")), nil},
		{"insufficient cpu", NodeResourcesFit{}, pod("p", "1500m", ""), NewNodeInfo(bigNode, pod("a", "1", "")), []string{ReasonInsufficientCPU}},
		{"insufficient memory", NodeResourcesFit{}, pod("p", "", "3Gi"), NewNodeInfo(bigNode, pod("a", "", "2Gi")), []string{ReasonInsufficientMem}},
		{"insufficient both", NodeResourcesFit{}, pod("p", "2", "4Gi"), NewNodeInfo(bigNode, pod("a", "1", "1Gi")),
			[]string{ReasonInsufficientCPU, ReasonInsufficientMem}},
		{"too many pods", NodeResourcesFit{}, pod("p", "", ""), NewNodeInfo(bigNode, pod("a", "", ""), pod("b", "", ""), pod("c", "", "")),
			[]string{ReasonTooManyPods}},
		{"zero-request pod fits a full node", NodeResourcesFit{}, pod("p", "", ""), NewNodeInfo(bigNode, pod("a", "2", "4Gi")), nil},
		{"init container request counts", NodeResourcesFit{}, pod("p", "100m", "", func(p *corev1.Pod) {
			p.Spec.InitContainers = []*corev1.Container{{Name: "init", Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": "3"}}}}
		}), NewNodeInfo(bigNode), []string{ReasonInsufficientCPU}},

		{"nodeSelector matches", NodeAffinity{}, pod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("disk", "ssd"))), nil},
		{"nodeSelector does not match", NodeAffinity{}, pod("p", "", "", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("disk", "hdd"))), []string{ReasonNodeAffinity}},
		{"In", NodeAffinity{}, pod("p", "", "", withRequired(req("zone", "In", "a", "b"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("zone", "b"))), nil},
		{"In without label", NodeAffinity{}, pod("p", "", "", withRequired(req("zone", "In", "a"))),
			NewNodeInfo(node("n", "1", "1Gi", 10)), []string{ReasonNodeAffinity}},
		{"NotIn", NodeAffinity{}, pod("p", "", "", withRequired(req("zone", "NotIn", "a"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("zone", "a"))), []string{ReasonNodeAffinity}},
		{"NotIn without label", NodeAffinity{}, pod("p", "", "", withRequired(req("zone", "NotIn", "a"))),
			NewNodeInfo(node("n", "1", "1Gi", 10)), nil},
		{"Exists", NodeAffinity{}, pod("p", "", "", withRequired(req("gpu", "Exists"))),
			NewNodeInfo(node("n", "1", "1Gi", 10)), []string{ReasonNodeAffinity}},
		{"DoesNotExist", NodeAffinity{}, pod("p", "", "", withRequired(req("gpu", "DoesNotExist"))),
			NewNodeInfo(node("n", "1", "1Gi", 10)), nil},
		{"Gt", NodeAffinity{}, pod("p", "", "", withRequired(req("cores", "Gt", "4"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("cores", "8"))), nil},
		{"Gt not greater", NodeAffinity{}, pod("p", "", "", withRequired(req("cores", "Gt", "8"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("cores", "8"))), []string{ReasonNodeAffinity}},
		{"Lt", NodeAffinity{}, pod("p", "", "", withRequired(req("cores", "Lt", "16"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("cores", "8"))), nil},
		{"Lt on non-number", NodeAffinity{}, pod("p", "", "", withRequired(req("cores", "Lt", "16"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("cores", "many"))), []string{ReasonNodeAffinity}},
		{"all expressions of a term must match", NodeAffinity{}, pod("p", "", "", withRequired(req("zone", "In", "a"), req("gpu", "Exists"))),
			NewNodeInfo(node("n", "1", "1Gi", 10, withLabel("zone", "a"))), []string{ReasonNodeAffinity}},

		{"free port", NodePorts{}, pod("p", "", "", withPort(8080)), NewNodeInfo(bigNode, pod("a", "", "", withPort(8081))), nil},
		{"port taken", NodePorts{}, pod("p", "", "", withPort(8080)), NewNodeInfo(bigNode, pod("a", "", "", withPort(8080))), []string{ReasonNodePorts}},
		{"no host port", NodePorts{}, pod("p", "", ""), NewNodeInfo(bigNode, pod("a", "", "", withPort(8080))), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reasons(tt.filter, tt.pod, tt.node); !slices.Equal(got, tt.want) {
				t.Errorf("%s: reasons = %q, want %q", tt.filter.Name(), got, tt.want)
			}
		})
	}
}

func TestRemovePodFreesResourcesAndPorts(t *testing.T) {
	a := pod("a", "2", "1Gi", withPort(80))
	n := NewNodeInfo(node("n", "2", "4Gi", 10), a)
	p := pod("p", "1", "", withPort(80))
	if reasons(NodeResourcesFit{}, p, n) == nil || reasons(NodePorts{}, p, n) == nil {
		t.Fatal("pod fits a node whose cpu and port are taken")
	}
	if !n.RemovePod(a) {
		t.Fatal("RemovePod did not find the pod")
	}
	if got := reasons(NodeResourcesFit{}, p, n); got != nil {
		t.Errorf("after removal: NodeResourcesFit = %q, want fit", got)
	}
	if got := reasons(NodePorts{}, p, n); got != nil {
		t.Errorf("after removal: NodePorts = %q, want fit", got)
	}
}

func TestQuantities(t *testing.T) {
	tests := []struct {
		in          string
		milli, unit int64
	}{
		{"250m", 250, 1}, {"2", 2000, 2}, {"1.5", 1500, 2}, {"128Mi", (128 << 20) * 1000, 128 << 20},
		{"1Gi", 1 << 30 * 1000, 1 << 30}, {"1k", 1e6, 1000}, {"1e3", 1e6, 1000}, {"bogus", 0, 0},
	}
	for _, tt := range tests {
		if got := MilliValue(tt.in); got != tt.milli {
			t.Errorf("MilliValue(%q) = %d, want %d", tt.in, got, tt.milli)
		}
		if got := Value(tt.in); got != tt.unit {
			t.Errorf("Value(%q) = %d, want %d", tt.in, got, tt.unit)
		}
	}
}
