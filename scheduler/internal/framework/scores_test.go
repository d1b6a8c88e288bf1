package framework

import (
	"context"
	"slices"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
)

// scoreAll runs one score plugin over nodes and normalises, as Profile.Score.
func scoreAll(p ScorePlugin, state *CycleState, pd *corev1.Pod, nodes ...*NodeInfo) []int64 {
	scores := make([]int64, len(nodes))
	for i, n := range nodes {
		scores[i] = p.Score(context.Background(), state, pd, n)
	}
	p.Normalize(scores)
	return scores
}

func TestScores(t *testing.T) {
	preferZoneA := func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []*corev1.PreferredSchedulingTerm{
				{Weight: 10, Preference: &corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req("zone", "In", "a")}}},
				{Weight: 30, Preference: &corev1.NodeSelectorTerm{MatchExpressions: []*corev1.NodeSelectorRequirement{req("ssd", "Exists")}}},
			},
		}}
	}
	web := &corev1.Service{Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	labelled := func(p *corev1.Pod) { p.Metadata.Labels["app"] = "web" }
	tests := []struct {
		name   string
		plugin ScorePlugin
		state  *CycleState
		pod    *corev1.Pod
		nodes  []*NodeInfo
		want   []int64
	}{
		{"least allocated prefers the emptier node", LeastAllocated{}, &CycleState{}, pod("p", "1", "1Gi"),
			[]*NodeInfo{NewNodeInfo(node("a", "4", "4Gi", 10), pod("x", "2", "2Gi")), NewNodeInfo(node("b", "4", "4Gi", 10))},
			[]int64{25, 75}},
		{"least allocated counts defaults for best-effort pods", LeastAllocated{}, &CycleState{}, pod("p", "", ""),
			[]*NodeInfo{NewNodeInfo(node("a", "1", "1000Mi", 10), pod("x", "", "")), NewNodeInfo(node("b", "1", "1000Mi", 10))},
			[]int64{70, 85}},
		{"balanced prefers equal fractions", BalancedAllocation{}, &CycleState{}, pod("p", "1", "1Gi"),
			[]*NodeInfo{NewNodeInfo(node("a", "4", "4Gi", 10), pod("x", "1", "")), NewNodeInfo(node("b", "4", "4Gi", 10))},
			[]int64{79, 100}}, // a: cpu 2/4, memory (1Gi + 200Mi default)/4Gi
		{"spread by controller", SelectorSpread{}, &CycleState{}, pod("p", "", "", withOwner("rs1")),
			[]*NodeInfo{
				NewNodeInfo(node("a", "4", "4Gi", 10), pod("x", "", "", withOwner("rs1")), pod("y", "", "", withOwner("rs1"))),
				NewNodeInfo(node("b", "4", "4Gi", 10), pod("z", "", "", withOwner("rs1")), pod("o", "", "", withOwner("other"))),
				NewNodeInfo(node("c", "4", "4Gi", 10), pod("o2", "", "", withOwner("other"))),
			},
			[]int64{0, 50, 100}},
		{"spread by service", SelectorSpread{}, &CycleState{Services: []*corev1.Service{web}}, pod("p", "", "", labelled),
			[]*NodeInfo{
				NewNodeInfo(node("a", "4", "4Gi", 10), pod("x", "", "", labelled)),
				NewNodeInfo(node("b", "4", "4Gi", 10), pod("y", "", "")),
			},
			[]int64{0, 100}},
		{"no group: every node equal", SelectorSpread{}, &CycleState{}, pod("p", "", ""),
			[]*NodeInfo{NewNodeInfo(node("a", "4", "4Gi", 10), pod("x", "", "")), NewNodeInfo(node("b", "4", "4Gi", 10))},
			[]int64{100, 100}},
		{"PreferNoSchedule taints: fewer is better", TaintToleration{}, &CycleState{}, pod("p", "", "", withToleration("tolerated", "Exists", "", "")),
			[]*NodeInfo{
				NewNodeInfo(node("a", "4", "4Gi", 10, withTaint("x", "", EffectPreferNoSchedule), withTaint("y", "", EffectPreferNoSchedule))),
				NewNodeInfo(node("b", "4", "4Gi", 10, withTaint("x", "", EffectPreferNoSchedule), withTaint("tolerated", "", EffectPreferNoSchedule))),
				NewNodeInfo(node("c", "4", "4Gi", 10, withTaint("x", "", EffectNoSchedule))),
			},
			[]int64{0, 50, 100}},
		{"preferred affinity sums weights", NodeAffinity{}, &CycleState{}, pod("p", "", "", preferZoneA),
			[]*NodeInfo{
				NewNodeInfo(node("a", "4", "4Gi", 10, withLabel("zone", "a"))),
				NewNodeInfo(node("b", "4", "4Gi", 10, withLabel("zone", "a"), withLabel("ssd", "1"))),
				NewNodeInfo(node("c", "4", "4Gi", 10)),
			},
			[]int64{25, 100, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scoreAll(tt.plugin, tt.state, tt.pod, tt.nodes...); !slices.Equal(got, tt.want) {
				t.Errorf("%s: scores = %v, want %v", tt.plugin.Name(), got, tt.want)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  FitError
		want string
	}{
		{"grouped and sorted by reason", FitError{NumAllNodes: 3, NodeReasons: map[string][]string{
			"n1": {ReasonInsufficientCPU}, "n2": {ReasonUnschedulable}, "n3": {ReasonInsufficientCPU},
		}}, "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable."},
		{"one node short of two resources", FitError{NumAllNodes: 2, NodeReasons: map[string][]string{
			"n1": {ReasonInsufficientCPU, ReasonInsufficientMem}, "n2": {ReasonInsufficientMem},
		}}, "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory."},
		{"no nodes", FitError{}, "no nodes available to schedule pods"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProfilePicksFittingNode(t *testing.T) {
	p := DefaultProfile()
	nodes := []*NodeInfo{
		NewNodeInfo(node("small", "1", "1Gi", 10)),
		NewNodeInfo(node("cordoned", "8", "8Gi", 10, func(n *corev1.Node) { n.Spec.Unschedulable = true })),
		NewNodeInfo(node("busy", "4", "8Gi", 10), pod("x", "3", "1Gi")),
		NewNodeInfo(node("free", "4", "8Gi", 10)),
		NewNodeInfo(node("roomy", "4", "8Gi", 10), pod("y", "500m", "1Gi")),
	}
	pd := pod("p", "2", "1Gi")
	feasible, err := p.Filter(context.Background(), &CycleState{}, pd, nodes)
	if err != nil {
		t.Fatalf("Filter: %v", err)
	}
	var names []string
	for _, n := range feasible {
		names = append(names, n.Name())
	}
	if want := []string{"free", "roomy"}; !slices.Equal(names, want) {
		t.Fatalf("feasible nodes = %v, want %v", names, want)
	}
	scores := p.Score(context.Background(), &CycleState{}, pd, feasible)
	if got := feasible[SelectHost(scores)].Name(); got != "free" {
		t.Errorf("selected %s (scores %v), want the emptier node free", got, scores)
	}

	_, err = p.Filter(context.Background(), &CycleState{}, pod("huge", "16", ""), nodes)
	want := "0/5 nodes are available: 4 Insufficient cpu, 1 node(s) were unschedulable."
	if err == nil || err.Error() != want {
		t.Errorf("Filter(huge pod) error = %v, want %q", err, want)
	}
}
