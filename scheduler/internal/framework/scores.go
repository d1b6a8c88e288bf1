package framework

import (
	"context"
	"math"

	corev1 "skiff.dev/proto/core/v1"
)

// LeastAllocated prefers nodes with the most cpu and memory left once the
// pod is placed (kube-scheduler's NodeResourcesFit LeastAllocated
// strategy), which spreads load.
type LeastAllocated struct{}

// Name implements Plugin.
func (LeastAllocated) Name() string { return "NodeResourcesLeastAllocated" }

// Score implements ScorePlugin: the mean over cpu and memory of
// (allocatable - requested) * 100 / allocatable.
func (LeastAllocated) Score(_ context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) int64 {
	_, req, _ := state.podInfo(pod)
	free := func(requested, alloc int64) int64 {
		if alloc <= 0 || requested > alloc {
			return 0
		}
		return (alloc - requested) * MaxNodeScore / alloc
	}
	return (free(n.NonZero.MilliCPU+req.MilliCPU, n.Allocatable.MilliCPU) +
		free(n.NonZero.Memory+req.Memory, n.Allocatable.Memory)) / 2
}

// Normalize implements ScorePlugin: scores are already in range.
func (LeastAllocated) Normalize([]int64) {}

// BalancedAllocation prefers nodes whose cpu and memory would be used in
// equal fractions once the pod is placed.
type BalancedAllocation struct{}

// Name implements Plugin.
func (BalancedAllocation) Name() string { return "NodeResourcesBalancedAllocation" }

// Score implements ScorePlugin: (1 - |cpuFraction - memFraction|) * 100.
func (BalancedAllocation) Score(_ context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) int64 {
	_, req, _ := state.podInfo(pod)
	frac := func(requested, alloc int64) float64 {
		if alloc <= 0 {
			return 1
		}
		return math.Min(1, float64(requested)/float64(alloc))
	}
	cpu := frac(n.NonZero.MilliCPU+req.MilliCPU, n.Allocatable.MilliCPU)
	mem := frac(n.NonZero.Memory+req.Memory, n.Allocatable.Memory)
	return int64((1 - math.Abs(cpu-mem)) * float64(MaxNodeScore))
}

// Normalize implements ScorePlugin: scores are already in range.
func (BalancedAllocation) Normalize([]int64) {}

// SelectorSpread prefers nodes with fewer pods of the same group as the
// pod: pods of its controller (the ownerReference with controller: true)
// and pods selected by the Services that select it.
type SelectorSpread struct{}

// Name implements Plugin.
func (SelectorSpread) Name() string { return "SelectorSpread" }

// Score implements ScorePlugin: the number of pods on the node in the same
// group (fewer is better; Normalize inverts).
func (SelectorSpread) Score(_ context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) int64 {
	owner := ControllerUID(pod)
	if owner == "" && len(state.Services) == 0 {
		return 0
	}
	ns := pod.GetMetadata().GetNamespace()
	var count int64
	for _, p := range n.Pods {
		if p.GetMetadata().GetNamespace() != ns || p.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if owner != "" && ControllerUID(p) == owner {
			count++
			continue
		}
		for _, svc := range state.Services {
			if SelectorMatches(svc.GetSpec().GetSelector(), p.GetMetadata().GetLabels()) {
				count++
				break
			}
		}
	}
	return count
}

// Normalize implements ScorePlugin.
func (SelectorSpread) Normalize(scores []int64) { normalize(scores, true) }

// ControllerUID is the UID of pod's controlling owner, or "".
func ControllerUID(pod *corev1.Pod) string {
	for _, o := range pod.GetMetadata().GetOwnerReferences() {
		if o.GetController() {
			return o.GetUid()
		}
	}
	return ""
}

// SelectorMatches reports whether a Service's equality selector selects
// labels; an empty selector selects nothing (as Services).
func SelectorMatches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
