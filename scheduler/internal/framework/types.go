// Package framework is the scheduler's plugin framework, kube-scheduler's in
// small: NodeInfo (a node with the pods counted against it), Filter plugins
// that rule nodes out with a reason, and weighted Score plugins whose
// normalised scores pick the best node.
package framework

import (
	"context"
	"slices"
	"sync"

	corev1 "skiff.dev/proto/core/v1"
)

// Resource names.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourcePods   = "pods"
)

// Scores range over [0, MaxNodeScore] after normalisation.
const MaxNodeScore int64 = 100

// Defaults Kubernetes assumes, for scoring only, of a container without
// requests, so that best-effort pods still spread.
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is an amount of cpu (millicores), memory (bytes) and pods.
type Resource struct {
	MilliCPU int64
	Memory   int64
	Pods     int64
}

// Add adds r2 to r.
func (r *Resource) Add(r2 Resource) {
	r.MilliCPU += r2.MilliCPU
	r.Memory += r2.Memory
	r.Pods += r2.Pods
}

// Sub subtracts r2 from r.
func (r *Resource) Sub(r2 Resource) {
	r.MilliCPU -= r2.MilliCPU
	r.Memory -= r2.Memory
	r.Pods -= r2.Pods
}

// ResourceFromList reads cpu, memory and pods of a resource map such as
// status.allocatable.
func ResourceFromList(l map[string]string) Resource {
	var r Resource
	if v, ok := l[ResourceCPU]; ok {
		r.MilliCPU = MilliValue(v)
	}
	if v, ok := l[ResourceMemory]; ok {
		r.Memory = Value(v)
	}
	if v, ok := l[ResourcePods]; ok {
		r.Pods = Value(v)
	}
	return r
}

// PodRequests is what pod asks for, as Kubernetes computes it: the larger of
// the sum of its containers' requests and any one init container's, with
// Pods 1.
func PodRequests(pod *corev1.Pod) Resource {
	var sum Resource
	for _, c := range pod.GetSpec().GetContainers() {
		sum.Add(ResourceFromList(c.GetResources().GetRequests()))
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		r := ResourceFromList(c.GetResources().GetRequests())
		sum.MilliCPU = max(sum.MilliCPU, r.MilliCPU)
		sum.Memory = max(sum.Memory, r.Memory)
	}
	sum.Pods = 1
	return sum
}

// nonZeroRequests is PodRequests with Kubernetes' scoring defaults for
// containers that request no cpu or memory.
func nonZeroRequests(pod *corev1.Pod) Resource {
	var sum Resource
	for _, c := range pod.GetSpec().GetContainers() {
		r := ResourceFromList(c.GetResources().GetRequests())
		if _, ok := c.GetResources().GetRequests()[ResourceCPU]; !ok {
			r.MilliCPU = DefaultMilliCPURequest
		}
		if _, ok := c.GetResources().GetRequests()[ResourceMemory]; !ok {
			r.Memory = DefaultMemoryRequest
		}
		sum.Add(r)
	}
	sum.Pods = 1
	return sum
}

// HostPort is one port a pod holds on its node.
type HostPort struct {
	IP       string // "" or 0.0.0.0 is every address
	Protocol string // TCP when empty
	Port     int32
}

// PodHostPorts lists the host ports pod's containers ask for.
func PodHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	for _, c := range pod.GetSpec().GetContainers() {
		for _, p := range c.GetPorts() {
			if p.GetHostPort() <= 0 {
				continue
			}
			hp := HostPort{IP: p.GetHostIp(), Protocol: p.GetProtocol(), Port: p.GetHostPort()}
			if hp.Protocol == "" {
				hp.Protocol = "TCP"
			}
			if hp.IP == "0.0.0.0" {
				hp.IP = ""
			}
			out = append(out, hp)
		}
	}
	return out
}

// conflicts reports whether two host ports cannot both be bound.
func (a HostPort) conflicts(b HostPort) bool {
	return a.Port == b.Port && a.Protocol == b.Protocol && (a.IP == "" || b.IP == "" || a.IP == b.IP)
}

// NodeInfo is a node and the pods counted against it: bound pods and pods
// assumed onto it whose binding is still in flight. A NodeInfo is never
// changed once published: the cache replaces it (copy on write), so a
// scheduling cycle may read a snapshot without locks.
type NodeInfo struct {
	Node        *corev1.Node
	Pods        []*corev1.Pod
	Requested   Resource // sum of PodRequests of Pods
	NonZero     Resource // sum of requests with scoring defaults
	Allocatable Resource
	UsedPorts   []HostPort
}

// NewNodeInfo returns the NodeInfo of node with pods.
func NewNodeInfo(node *corev1.Node, pods ...*corev1.Pod) *NodeInfo {
	n := &NodeInfo{}
	n.SetNode(node)
	for _, p := range pods {
		n.AddPod(p)
	}
	return n
}

// Name is the node's name.
func (n *NodeInfo) Name() string { return n.Node.GetMetadata().GetName() }

// Clone returns a copy that may be changed without touching n; the API
// objects are shared, since they are read-only.
func (n *NodeInfo) Clone() *NodeInfo {
	c := *n
	c.Pods = slices.Clone(n.Pods)
	c.UsedPorts = slices.Clone(n.UsedPorts)
	return &c
}

// SetNode sets the node object and its allocatable.
func (n *NodeInfo) SetNode(node *corev1.Node) {
	n.Node = node
	n.Allocatable = ResourceFromList(node.GetStatus().GetAllocatable())
}

// AddPod counts pod against the node.
func (n *NodeInfo) AddPod(pod *corev1.Pod) {
	n.Pods = append(n.Pods, pod)
	n.Requested.Add(PodRequests(pod))
	n.NonZero.Add(nonZeroRequests(pod))
	n.UsedPorts = append(n.UsedPorts, PodHostPorts(pod)...)
}

// RemovePod stops counting the pod with pod's UID; it reports whether the
// pod was there.
func (n *NodeInfo) RemovePod(pod *corev1.Pod) bool {
	uid := pod.GetMetadata().GetUid()
	i := slices.IndexFunc(n.Pods, func(p *corev1.Pod) bool { return p.GetMetadata().GetUid() == uid })
	if i < 0 {
		return false
	}
	old := n.Pods[i]
	n.Pods = slices.Delete(n.Pods, i, i+1)
	n.Requested.Sub(PodRequests(old))
	n.NonZero.Sub(nonZeroRequests(old))
	n.UsedPorts = n.UsedPorts[:0:0]
	for _, p := range n.Pods {
		n.UsedPorts = append(n.UsedPorts, PodHostPorts(p)...)
	}
	return true
}

// Code is the outcome of a plugin.
type Code int

// Codes.
const (
	Success Code = iota
	// Unschedulable: the pod does not fit this node now; it may later.
	Unschedulable
	// UnschedulableAndUnresolvable: retrying on this node will not help
	// until the node itself changes.
	UnschedulableAndUnresolvable
	// Error: the plugin failed.
	Error
)

// Status is a plugin's verdict; nil is Success.
type Status struct {
	Code    Code
	Reasons []string
	Plugin  string
}

// NewStatus returns a status with reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{Code: code, Reasons: reasons}
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s == nil || s.Code == Success }

// CycleState carries data between the plugins of one scheduling cycle.
type CycleState struct {
	// Services are the services of the pod's namespace whose selector
	// matches the pod.
	Services []*corev1.Service

	// What the pod asks for, computed once per cycle rather than per node.
	once     sync.Once
	requests Resource
	nonZero  Resource
	ports    []HostPort
}

// podInfo returns the pod's requests, scoring requests and host ports.
func (s *CycleState) podInfo(pod *corev1.Pod) (requests, nonZero Resource, ports []HostPort) {
	s.once.Do(func() {
		s.requests, s.nonZero, s.ports = PodRequests(pod), nonZeroRequests(pod), PodHostPorts(pod)
	})
	return s.requests, s.nonZero, s.ports
}

// Plugin is a scheduling plugin.
type Plugin interface {
	Name() string
}

// FilterPlugin rules out nodes the pod cannot run on.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) *Status
}

// ScorePlugin ranks the nodes that passed the filters. Scores of one
// plugin are normalised to [0, MaxNodeScore] over all candidate nodes,
// then summed with the plugin's weight.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *corev1.Pod, node *NodeInfo) int64
	// Normalize maps the raw scores of all nodes into [0, MaxNodeScore].
	Normalize(scores []int64)
}

// WeightedScore is a score plugin and its weight.
type WeightedScore struct {
	Plugin ScorePlugin
	Weight int64
}
