// Package cache is the scheduler's view of the cluster: nodes and the pods
// counted against them, including pods assumed onto a node while their
// binding is in flight, so the next decision already counts them.
package cache

import (
	"fmt"
	"slices"
	"sync"

	"go.uber.org/zap"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/scheduler/internal/framework"
)

// Cache holds NodeInfos keyed by node name. Every change replaces the
// affected NodeInfo with a new one, so a Snapshot stays valid while the
// cache moves on.
type Cache struct {
	lg *zap.Logger

	mu sync.RWMutex
	// nodes holds every node, and NodeInfos with a nil Node for pods bound
	// to nodes the cache has not seen (yet).
	nodes map[string]*framework.NodeInfo
	// pods maps a pod UID to where it is counted.
	pods map[string]*podState
	// names is the sorted names of nodes with a Node, for Snapshot.
	names []string
}

type podState struct {
	pod     *corev1.Pod
	assumed bool
}

// New returns an empty cache.
func New(lg *zap.Logger) *Cache {
	if lg == nil {
		lg = zap.NewNop()
	}
	return &Cache{lg: lg, nodes: map[string]*framework.NodeInfo{}, pods: map[string]*podState{}}
}

// key names a pod in logs.
func key(p *corev1.Pod) string {
	return p.GetMetadata().GetNamespace() + "/" + p.GetMetadata().GetName()
}

// Snapshot returns the NodeInfos of all known nodes, sorted by name. The
// caller must not change them.
func (c *Cache) Snapshot() []*framework.NodeInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*framework.NodeInfo, len(c.names))
	for i, n := range c.names {
		out[i] = c.nodes[n]
	}
	return out
}

// NodeCount is the number of known nodes.
func (c *Cache) NodeCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.names)
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := node.GetMetadata().GetName()
	var ni *framework.NodeInfo
	if old, ok := c.nodes[name]; ok {
		ni = old.Clone()
	} else {
		ni = &framework.NodeInfo{}
	}
	if ni.Node == nil {
		i, _ := slices.BinarySearch(c.names, name)
		c.names = slices.Insert(c.names, i, name)
	}
	ni.SetNode(node)
	c.nodes[name] = ni
}

// UpdateNode is AddNode.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode forgets a node; pods still bound to it stay counted under its
// name until they go, as kube-scheduler.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := node.GetMetadata().GetName()
	old, ok := c.nodes[name]
	if !ok {
		return
	}
	if i, found := slices.BinarySearch(c.names, name); found {
		c.names = slices.Delete(c.names, i, i+1)
	}
	if len(old.Pods) == 0 {
		delete(c.nodes, name)
		return
	}
	ni := old.Clone()
	ni.Node = nil
	c.nodes[name] = ni
}

// addLocked counts pod against pod.spec.nodeName.
func (c *Cache) addLocked(pod *corev1.Pod, assumed bool) {
	name := pod.GetSpec().GetNodeName()
	var ni *framework.NodeInfo
	if old, ok := c.nodes[name]; ok {
		ni = old.Clone()
	} else {
		ni = &framework.NodeInfo{}
	}
	ni.AddPod(pod)
	c.nodes[name] = ni
	c.pods[pod.GetMetadata().GetUid()] = &podState{pod: pod, assumed: assumed}
}

// removeLocked stops counting the pod as recorded in st.
func (c *Cache) removeLocked(st *podState) {
	name := st.pod.GetSpec().GetNodeName()
	delete(c.pods, st.pod.GetMetadata().GetUid())
	old, ok := c.nodes[name]
	if !ok {
		return
	}
	ni := old.Clone()
	ni.RemovePod(st.pod)
	if ni.Node == nil && len(ni.Pods) == 0 {
		delete(c.nodes, name)
		return
	}
	c.nodes[name] = ni
}

// AssumePod counts pod (with spec.nodeName set to the chosen node) before
// its binding is confirmed.
func (c *Cache) AssumePod(pod *corev1.Pod) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.GetMetadata().GetUid()]; ok {
		return fmt.Errorf("pod %s is already in the scheduler cache", key(pod))
	}
	c.addLocked(pod, true)
	return nil
}

// ForgetPod undoes AssumePod after a failed binding.
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.GetMetadata().GetUid()]; ok && st.assumed {
		c.removeLocked(st)
	}
}

// IsAssumed reports whether the pod with pod's UID is assumed and not yet
// confirmed.
func (c *Cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok := c.pods[pod.GetMetadata().GetUid()]
	return ok && st.assumed
}

// AddPod counts a bound pod seen by the informer; it confirms the pod if it
// was assumed (moving it if it landed elsewhere).
func (c *Cache) AddPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.GetMetadata().GetUid()]; ok {
		if st.pod.GetSpec().GetNodeName() != pod.GetSpec().GetNodeName() {
			c.lg.Warn("pod was assumed on another node than it was bound to", zap.String("pod", key(pod)),
				zap.String("assumed", st.pod.GetSpec().GetNodeName()), zap.String("bound", pod.GetSpec().GetNodeName()))
		}
		c.removeLocked(st)
	}
	c.addLocked(pod, false)
}

// UpdatePod replaces a bound pod.
func (c *Cache) UpdatePod(pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod stops counting a pod that was deleted or finished.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.GetMetadata().GetUid()]; ok {
		c.removeLocked(st)
	}
}

// PodCount is the number of pods counted, assumed ones included.
func (c *Cache) PodCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.pods)
}
