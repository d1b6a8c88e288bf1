package framework

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkScheduleCycle is one filter-and-score cycle over 1,000 nodes
// with 3 pods each.
func BenchmarkScheduleCycle(b *testing.B) {
	nodes := make([]*NodeInfo, 1000)
	for i := range nodes {
		nodes[i] = NewNodeInfo(node(fmt.Sprintf("n%d", i), "4", "16Gi", 110),
			pod("a", "100m", "256Mi", withOwner("rs1")), pod("b", "100m", "256Mi", withOwner("rs2")), pod("c", "100m", "256Mi"))
	}
	p := DefaultProfile()
	pd := pod("p", "100m", "256Mi", withOwner("rs1"))
	ctx := context.Background()
	for b.Loop() {
		state := &CycleState{}
		feasible, err := p.Filter(ctx, state, pd, nodes)
		if err != nil {
			b.Fatal(err)
		}
		SelectHost(p.Score(ctx, state, pd, feasible))
	}
}
