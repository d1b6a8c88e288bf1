package framework

// Profile is the plugins one scheduler runs: every filter, then the
// weighted scores.
type Profile struct {
	Filters []FilterPlugin
	Scores  []WeightedScore
}

// DefaultProfile is the scheduler's plugin set, in the order the filters
// run; weights follow kube-scheduler's defaults where it has the plugin.
func DefaultProfile() Profile {
	return Profile{
		Filters: []FilterPlugin{
			NodeReady{},
			NodeUnschedulable{},
			NodeAffinity{},
			TaintToleration{},
			NodePorts{},
			NodeResourcesFit{},
		},
		Scores: []WeightedScore{
			{Plugin: LeastAllocated{}, Weight: 1},
			{Plugin: BalancedAllocation{}, Weight: 1},
			{Plugin: SelectorSpread{}, Weight: 2},
			{Plugin: TaintToleration{}, Weight: 3},
			{Plugin: NodeAffinity{}, Weight: 2},
		},
	}
}
