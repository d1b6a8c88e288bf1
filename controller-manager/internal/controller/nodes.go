package controller

import (
	"slices"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// Node taints the node lifecycle controller manages, as Kubernetes'.
const (
	TaintNodeUnreachable = "node.kubernetes.io/unreachable"
	TaintNodeNotReady    = "node.kubernetes.io/not-ready"
)

// PodNodeIndex files pods under spec.nodeName.
const PodNodeIndex = "spec.nodeName"

// IndexPodsByNode adds PodNodeIndex to a pod informer; adding it twice
// (two controllers sharing the informer) is fine.
func IndexPodsByNode(inf informer.SharedInformer) {
	_ = inf.AddIndexers(informer.Indexers{PodNodeIndex: func(obj informer.Object) []string {
		if p, ok := obj.(*corev1.Pod); ok && p.GetSpec().GetNodeName() != "" {
			return []string{p.GetSpec().GetNodeName()}
		}
		return nil
	}})
}

// PodsOnNode lists the pods bound to node from a lister whose informer has
// PodNodeIndex.
func PodsOnNode(pods informer.Lister[*corev1.Pod], node string) []*corev1.Pod {
	out, _ := pods.ByIndex(PodNodeIndex, node)
	return out
}

// NodeCondition is node's condition of type t, or nil.
func NodeCondition(node *corev1.Node, t string) *corev1.NodeCondition {
	for _, c := range node.GetStatus().GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// ToleratesTaint returns the toleration of tols that tolerates taint, as
// Kubernetes' Toleration.ToleratesTaint: same effect (or any), same key (or
// any with Exists and no key), and Exists or an equal value.
func ToleratesTaint(tols []*corev1.Toleration, taint *corev1.Taint) *corev1.Toleration {
	for _, t := range tols {
		if t.GetEffect() != "" && t.GetEffect() != taint.GetEffect() {
			continue
		}
		if t.GetKey() != "" && t.GetKey() != taint.GetKey() {
			continue
		}
		switch t.GetOperator() {
		case "Exists":
			return t
		case "", "Equal":
			if t.GetKey() != "" && t.GetValue() == taint.GetValue() {
				return t
			}
		}
	}
	return nil
}

// ToleratesAll reports whether tols tolerate every taint of the given
// effects (all effects when none are given).
func ToleratesAll(tols []*corev1.Toleration, taints []*corev1.Taint, effects ...string) bool {
	for _, taint := range taints {
		if len(effects) > 0 && !slices.Contains(effects, taint.GetEffect()) {
			continue
		}
		if ToleratesTaint(tols, taint) == nil {
			return false
		}
	}
	return true
}
