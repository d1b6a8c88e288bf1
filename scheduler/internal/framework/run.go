package framework

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	corev1 "skiff.dev/proto/core/v1"
)

// FitError says why a pod fits no node: the number of nodes and, per node,
// the reasons it was ruled out.
type FitError struct {
	Pod         *corev1.Pod
	NumAllNodes int
	// NodeReasons maps each ruled-out node to its reasons.
	NodeReasons map[string][]string
}

// Error is kube-scheduler's message: "0/3 nodes are available: 2
// Insufficient cpu, 1 node(s) were unschedulable." Reasons are counted once
// per node and listed in the order of the reason text.
func (e *FitError) Error() string {
	if e.NumAllNodes == 0 {
		return "no nodes available to schedule pods"
	}
	counts := map[string]int{}
	for _, reasons := range e.NodeReasons {
		for _, r := range reasons {
			counts[r]++
		}
	}
	reasons := make([]string, 0, len(counts))
	for r := range counts {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", counts[r], r)
	}
	msg := fmt.Sprintf("0/%d nodes are available", e.NumAllNodes)
	if len(parts) > 0 {
		msg += ": " + strings.Join(parts, ", ")
	}
	return msg + "."
}

// Filter runs every filter of p on every node and returns the nodes that
// pass them all; when none does, the error is a *FitError.
func (p Profile) Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) ([]*NodeInfo, error) {
	var feasible []*NodeInfo
	fitErr := &FitError{Pod: pod, NumAllNodes: len(nodes), NodeReasons: map[string][]string{}}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if st := p.filterNode(ctx, state, pod, n); !st.IsSuccess() {
			if st.Code == Error {
				return nil, fmt.Errorf("filter %s on node %s: %s", st.Plugin, n.Name(), strings.Join(st.Reasons, "; "))
			}
			fitErr.NodeReasons[n.Name()] = st.Reasons
			continue
		}
		feasible = append(feasible, n)
	}
	if len(feasible) == 0 {
		return nil, fitErr
	}
	return feasible, nil
}

// filterNode runs the filters in order and stops at the first failure, as
// kube-scheduler does.
func (p Profile) filterNode(ctx context.Context, state *CycleState, pod *corev1.Pod, n *NodeInfo) *Status {
	for _, f := range p.Filters {
		if st := f.Filter(ctx, state, pod, n); !st.IsSuccess() {
			st.Plugin = f.Name()
			return st
		}
	}
	return nil
}

// Score returns the weighted sum of the normalised scores of every node.
func (p Profile) Score(ctx context.Context, state *CycleState, pod *corev1.Pod, nodes []*NodeInfo) []int64 {
	total := make([]int64, len(nodes))
	scores := make([]int64, len(nodes))
	for _, ws := range p.Scores {
		for i, n := range nodes {
			scores[i] = ws.Plugin.Score(ctx, state, pod, n)
		}
		ws.Plugin.Normalize(scores)
		for i := range nodes {
			total[i] += ws.Weight * scores[i]
		}
	}
	return total
}

// SelectHost returns the index of the highest score, choosing uniformly
// among ties (reservoir sampling, as kube-scheduler).
func SelectHost(scores []int64) int {
	best, ties := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i] > scores[best]:
			best, ties = i, 1
		case scores[i] == scores[best]:
			ties++
			if rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}
