package framework

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "skiff.dev/proto/core/v1"
)

// Filter reasons, Kubernetes' own words, which users grep for.
const (
	ReasonNodeNotReady      = "node(s) were not ready"
	ReasonUnschedulable     = "node(s) were unschedulable"
	ReasonInsufficientCPU   = "Insufficient cpu"
	ReasonInsufficientMem   = "Insufficient memory"
	ReasonTooManyPods       = "Too many pods"
	ReasonNodeAffinity      = "node(s) didn't match Pod's node affinity/selector"
	ReasonNodePorts         = "node(s) didn't have free ports for the requested pod ports"
	reasonUntoleratedFormat = "node(s) had untolerated taint {%s: %s}"
)

// Taint effects.
const (
	EffectNoSchedule       = "NoSchedule"
	EffectPreferNoSchedule = "PreferNoSchedule"
	EffectNoExecute        = "NoExecute"
)

// TaintNodeUnschedulable is the taint Kubernetes puts on cordoned nodes;
// pods that tolerate it may still go there.
const TaintNodeUnschedulable = "node.kubernetes.io/unschedulable"

// NodeReady rules out nodes whose Ready condition is not True.
type NodeReady struct{}

// Name implements Plugin.
func (NodeReady) Name() string { return "NodeReady" }

// Filter implements FilterPlugin.
func (NodeReady) Filter(_ context.Context, _ *CycleState, _ *corev1.Pod, n *NodeInfo) *Status {
	for _, c := range n.Node.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			if c.GetStatus() == "True" {
				return nil
			}
			break
		}
	}
	return NewStatus(UnschedulableAndUnresolvable, ReasonNodeNotReady)
}

// NodeUnschedulable rules out cordoned nodes (spec.unschedulable) unless
// the pod tolerates node.kubernetes.io/unschedulable:NoSchedule.
type NodeUnschedulable struct{}

// Name implements Plugin.
func (NodeUnschedulable) Name() string { return "NodeUnschedulable" }

// Filter implements FilterPlugin.
func (NodeUnschedulable) Filter(_ context.Context, _ *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	if !n.Node.GetSpec().GetUnschedulable() {
		return nil
	}
	t := &corev1.Taint{Key: TaintNodeUnschedulable, Effect: EffectNoSchedule}
	for _, tol := range pod.GetSpec().GetTolerations() {
		if Tolerates(tol, t) {
			return nil
		}
	}
	return NewStatus(UnschedulableAndUnresolvable, ReasonUnschedulable)
}

// Tolerates reports whether tol tolerates taint, as Kubernetes'
// Toleration.ToleratesTaint: an empty effect matches every effect, an
// empty key with Exists matches every key.
func Tolerates(tol *corev1.Toleration, taint *corev1.Taint) bool {
	if tol.GetEffect() != "" && tol.GetEffect() != taint.GetEffect() {
		return false
	}
	if tol.GetKey() != taint.GetKey() && tol.GetKey() != "" {
		return false
	}
	switch tol.GetOperator() {
	case "", "Equal":
		return tol.GetKey() != "" && tol.GetValue() == taint.GetValue()
	case "Exists":
		return true
	}
	return false
}

func tolerated(tols []*corev1.Toleration, taint *corev1.Taint) bool {
	for _, tol := range tols {
		if Tolerates(tol, taint) {
			return true
		}
	}
	return false
}

// TaintToleration rules out nodes with a NoSchedule or NoExecute taint the
// pod does not tolerate; as a score plugin it prefers nodes with fewer
// untolerated PreferNoSchedule taints.
type TaintToleration struct{}

// Name implements Plugin.
func (TaintToleration) Name() string { return "TaintToleration" }

// Filter implements FilterPlugin.
func (TaintToleration) Filter(_ context.Context, _ *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	for _, t := range n.Node.GetSpec().GetTaints() {
		if t.GetEffect() != EffectNoSchedule && t.GetEffect() != EffectNoExecute {
			continue
		}
		if !tolerated(pod.GetSpec().GetTolerations(), t) {
			return NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf(reasonUntoleratedFormat, t.GetKey(), t.GetValue()))
		}
	}
	return nil
}

// Score implements ScorePlugin: the number of untolerated PreferNoSchedule
// taints (fewer is better; Normalize inverts).
func (TaintToleration) Score(_ context.Context, _ *CycleState, pod *corev1.Pod, n *NodeInfo) int64 {
	var count int64
	for _, t := range n.Node.GetSpec().GetTaints() {
		if t.GetEffect() == EffectPreferNoSchedule && !tolerated(pod.GetSpec().GetTolerations(), t) {
			count++
		}
	}
	return count
}

// Normalize implements ScorePlugin.
func (TaintToleration) Normalize(scores []int64) { normalize(scores, true) }

// NodeResourcesFit rules out nodes whose allocatable cpu, memory or pod
// count cannot take the pod on top of the pods already counted there.
type NodeResourcesFit struct{}

// Name implements Plugin.
func (NodeResourcesFit) Name() string { return "NodeResourcesFit" }

// Filter implements FilterPlugin; a node short of several resources gives
// one reason for each.
func (NodeResourcesFit) Filter(_ context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	var reasons []string
	if int64(len(n.Pods))+1 > n.Allocatable.Pods {
		reasons = append(reasons, ReasonTooManyPods)
	}
	req, _, _ := state.podInfo(pod)
	if req.MilliCPU > 0 && n.Requested.MilliCPU+req.MilliCPU > n.Allocatable.MilliCPU {
		reasons = append(reasons, ReasonInsufficientCPU)
	}
	if req.Memory > 0 && n.Requested.Memory+req.Memory > n.Allocatable.Memory {
		reasons = append(reasons, ReasonInsufficientMem)
	}
	if len(reasons) > 0 {
		return NewStatus(Unschedulable, reasons...)
	}
	return nil
}

// NodeAffinity rules out nodes that do not match the pod's nodeSelector or
// its required node affinity; as a score plugin it sums the weights of the
// preferred terms a node matches.
type NodeAffinity struct{}

// Name implements Plugin.
func (NodeAffinity) Name() string { return "NodeAffinity" }

// Filter implements FilterPlugin.
func (NodeAffinity) Filter(_ context.Context, _ *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	labels := n.Node.GetMetadata().GetLabels()
	for k, v := range pod.GetSpec().GetNodeSelector() {
		if got, ok := labels[k]; !ok || got != v {
			return NewStatus(UnschedulableAndUnresolvable, ReasonNodeAffinity)
		}
	}
	req := pod.GetSpec().GetAffinity().GetNodeAffinity().GetRequiredDuringSchedulingIgnoredDuringExecution()
	if req == nil {
		return nil
	}
	// The terms are ORed; an empty list matches nothing, as Kubernetes.
	for _, term := range req.GetNodeSelectorTerms() {
		if matchTerm(term, n.Node) {
			return nil
		}
	}
	return NewStatus(UnschedulableAndUnresolvable, ReasonNodeAffinity)
}

// Score implements ScorePlugin.
func (NodeAffinity) Score(_ context.Context, _ *CycleState, pod *corev1.Pod, n *NodeInfo) int64 {
	var sum int64
	for _, p := range pod.GetSpec().GetAffinity().GetNodeAffinity().GetPreferredDuringSchedulingIgnoredDuringExecution() {
		if p.GetWeight() != 0 && matchTerm(p.GetPreference(), n.Node) {
			sum += int64(p.GetWeight())
		}
	}
	return sum
}

// Normalize implements ScorePlugin.
func (NodeAffinity) Normalize(scores []int64) { normalize(scores, false) }

// matchTerm reports whether node matches every requirement of term (an
// empty term matches nothing, as Kubernetes). matchFields supports
// metadata.name.
func matchTerm(term *corev1.NodeSelectorTerm, node *corev1.Node) bool {
	if len(term.GetMatchExpressions()) == 0 && len(term.GetMatchFields()) == 0 {
		return false
	}
	labels := node.GetMetadata().GetLabels()
	for _, r := range term.GetMatchExpressions() {
		v, ok := labels[r.GetKey()]
		if !matchRequirement(r, v, ok) {
			return false
		}
	}
	for _, r := range term.GetMatchFields() {
		if r.GetKey() != "metadata.name" || !matchRequirement(r, node.GetMetadata().GetName(), true) {
			return false
		}
	}
	return true
}

func matchRequirement(r *corev1.NodeSelectorRequirement, v string, has bool) bool {
	in := func() bool {
		for _, x := range r.GetValues() {
			if x == v {
				return true
			}
		}
		return false
	}
	switch r.GetOperator() {
	case "In":
		return has && in()
	case "NotIn":
		return !has || !in()
	case "Exists":
		return has
	case "DoesNotExist":
		return !has
	case "Gt", "Lt":
		if !has || len(r.GetValues()) != 1 {
			return false
		}
		got, err1 := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		want, err2 := strconv.ParseInt(r.GetValues()[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.GetOperator() == "Gt" {
			return got > want
		}
		return got < want
	}
	return false
}

// NodePorts rules out nodes where a host port the pod asks for is taken.
type NodePorts struct{}

// Name implements Plugin.
func (NodePorts) Name() string { return "NodePorts" }

// Filter implements FilterPlugin.
func (NodePorts) Filter(_ context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	_, _, ports := state.podInfo(pod)
	for _, want := range ports {
		for _, used := range n.UsedPorts {
			if want.conflicts(used) {
				return NewStatus(Unschedulable, ReasonNodePorts)
			}
		}
	}
	return nil
}

// normalize maps scores linearly onto [0, MaxNodeScore], the highest raw
// score becoming MaxNodeScore; reverse makes the lowest raw score best.
func normalize(scores []int64, reverse bool) {
	var top int64
	for _, s := range scores {
		top = max(top, s)
	}
	for i, s := range scores {
		switch {
		case top == 0 && reverse:
			scores[i] = MaxNodeScore
		case top == 0:
			scores[i] = 0
		case reverse:
			scores[i] = MaxNodeScore - s*MaxNodeScore/top
		default:
			scores[i] = s * MaxNodeScore / top
		}
	}
}
