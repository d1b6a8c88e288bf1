// Package nodeipam is the node IPAM controller: it gives every node a
// spec.podCIDR (and podCIDRs) from --cluster-cidr, one /--node-cidr-mask-size
// range per node, never the same range to two nodes, and takes the range
// back when the node is deleted. The set of ranges in use is rebuilt from
// the nodes each time the controller starts, so a restart or a new leader
// never hands out a range twice.
package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/workqueue"
)

// Node condition and event reasons, as Kubernetes' range allocator.
const (
	ConditionNetworkUnavailable = "NetworkUnavailable"
	ReasonCIDRNotAvailable      = "CIDRNotAvailable"
	ReasonNoCIDRAvailable       = "NoCIDRAvailable"
	// fullRetry is how often a node waiting for a range looks again.
	fullRetry = 30 * time.Second
)

// Config configures the controller.
type Config struct {
	// ClusterCIDR is split into NodeCIDRMaskSize ranges.
	ClusterCIDR      netip.Prefix
	NodeCIDRMaskSize int
	// Recorder receives the controller's Events.
	Recorder client.Recorder
	// MetricsProvider exports the work queue's metrics (may be nil).
	MetricsProvider workqueue.MetricsProvider
}

// Controller is the node IPAM controller.
type Controller struct {
	lg    *zap.Logger
	cs    *client.Clientset
	nodes informer.Lister[*corev1.Node]
	rec   client.Recorder
	set   *CIDRSet

	rebuild sync.Once
	*controller.Controller
}

// New makes the controller and registers its handlers on the factory's
// Node informer; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) (*Controller, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	common := controller.Common{Workers: 1, Recorder: cfg.Recorder, MetricsProvider: cfg.MetricsProvider}.Defaulted()
	set, err := NewCIDRSet(cfg.ClusterCIDR, cfg.NodeCIDRMaskSize)
	if err != nil {
		return nil, err
	}
	nodeInf := f.Core().V1().Nodes()
	c := &Controller{lg: lg, cs: cs, nodes: nodeInf.Lister(), rec: common.Recorder, set: set}
	// One worker: ranges are handed out one node at a time.
	c.Controller = controller.New(lg, common.Options("nodeipam", c.sync, nodeInf.Informer().HasSynced))
	nodeInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Node]{
		AddFunc: func(n *corev1.Node) { c.Enqueue(n) },
		UpdateFunc: func(old, n *corev1.Node) {
			if old.GetSpec().GetPodCidr() != n.GetSpec().GetPodCidr() || n.GetSpec().GetPodCidr() == "" {
				c.Enqueue(n)
			}
		},
		DeleteFunc: c.nodeDeleted,
	})
	return c, nil
}

// nodeDeleted releases the node's range and wakes nodes waiting for one.
func (c *Controller) nodeDeleted(n *corev1.Node) {
	cidr := n.GetSpec().GetPodCidr()
	if cidr == "" {
		return
	}
	c.rebuild.Do(c.occupyExisting) // never release into a set not yet built
	c.set.Release(cidr)
	c.lg.Info("released pod CIDR", zap.String("node", n.GetMetadata().GetName()), zap.String("podCIDR", cidr))
	for _, other := range c.nodes.List(nil) {
		if other.GetSpec().GetPodCidr() == "" {
			c.Enqueue(other)
		}
	}
}

// occupyExisting marks the ranges of the nodes in the (synced) cache.
func (c *Controller) occupyExisting() {
	for _, n := range c.nodes.List(nil) {
		if cidr := n.GetSpec().GetPodCidr(); cidr != "" {
			if err := c.set.Occupy(cidr); err != nil {
				c.lg.Warn("node has a pod CIDR outside the cluster CIDR", zap.String("node", n.GetMetadata().GetName()), zap.Error(err))
			}
		}
	}
	c.lg.Info("pod CIDRs in use", zap.Int("used", c.set.Used()), zap.Int("size", c.set.Size()))
}

// sync gives one node a range if it has none.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	c.rebuild.Do(c.occupyExisting)
	node, err := c.nodes.Get("", key)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if cidr := node.GetSpec().GetPodCidr(); cidr != "" {
		if err := c.set.Occupy(cidr); err != nil {
			c.lg.Warn("node has a pod CIDR outside the cluster CIDR", zap.String("node", key), zap.Error(err))
		}
		return controller.Result{}, nil
	}
	cidr, err := c.set.Allocate()
	if errors.Is(err, ErrFull) {
		c.rec.Event(node, client.EventTypeNormal, ReasonCIDRNotAvailable, "Node %s status is now: %s", key, ReasonCIDRNotAvailable)
		return controller.Result{RequeueAfter: fullRetry}, c.setNetworkUnavailable(ctx, node)
	}
	if err != nil {
		return controller.Result{}, err
	}
	if err := c.assign(ctx, key, cidr.String()); err != nil {
		c.set.Release(cidr.String())
		return controller.Result{}, err
	}
	c.lg.Info("assigned pod CIDR", zap.String("node", key), zap.String("podCIDR", cidr.String()))
	return controller.Result{}, c.clearNetworkUnavailable(ctx, node)
}

// clearNetworkUnavailable lifts the condition setNetworkUnavailable set.
func (c *Controller) clearNetworkUnavailable(ctx context.Context, node *corev1.Node) error {
	for _, cond := range node.GetStatus().GetConditions() {
		if cond.GetType() == ConditionNetworkUnavailable && cond.GetReason() == ReasonNoCIDRAvailable {
			return c.setCondition(ctx, node, "False", "CIDRAssigned", "the node has a pod CIDR")
		}
	}
	return nil
}

// assign writes cidr into the node's spec; a node that got a range
// meanwhile keeps its own.
func (c *Controller) assign(ctx context.Context, name, cidr string) error {
	nc := c.cs.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		n, err := nc.Get(ctx, name)
		if err != nil {
			return fmt.Errorf("reading node %s: %w", name, err)
		}
		if n.GetSpec().GetPodCidr() != "" {
			return fmt.Errorf("node %s got pod CIDR %s meanwhile", name, n.GetSpec().GetPodCidr())
		}
		if n.Spec == nil {
			n.Spec = &corev1.NodeSpec{}
		}
		n.Spec.PodCidr = cidr
		n.Spec.PodCidrs = []string{cidr}
		_, err = nc.Update(ctx, n)
		if err == nil {
			return nil
		}
		if !client.IsConflict(err) || attempt >= 5 {
			return fmt.Errorf("assigning pod CIDR %s to node %s: %w", cidr, name, err)
		}
	}
}

// setNetworkUnavailable tells the node's users why it has no pod network.
func (c *Controller) setNetworkUnavailable(ctx context.Context, node *corev1.Node) error {
	for _, cond := range node.GetStatus().GetConditions() {
		if cond.GetType() == ConditionNetworkUnavailable && cond.GetStatus() == "True" && cond.GetReason() == ReasonNoCIDRAvailable {
			return nil
		}
	}
	return c.setCondition(ctx, node, "True", ReasonNoCIDRAvailable, fmt.Sprintf("no pod CIDR left in cluster CIDR %s", c.set.cluster))
}

// setCondition writes the node's NetworkUnavailable condition.
func (c *Controller) setCondition(ctx context.Context, node *corev1.Node, status, reason, message string) error {
	n, err := c.cs.CoreV1().Nodes().Get(ctx, node.GetMetadata().GetName())
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Status == nil {
		n.Status = &corev1.NodeStatus{}
	}
	now := timestamppb.Now()
	cond := &corev1.NodeCondition{Type: ConditionNetworkUnavailable, Status: status, Reason: reason,
		Message: message, LastHeartbeatTime: now, LastTransitionTime: now}
	var kept []*corev1.NodeCondition
	for _, x := range n.Status.Conditions {
		if x.GetType() != ConditionNetworkUnavailable {
			kept = append(kept, x)
		}
	}
	n.Status.Conditions = append(kept, cond)
	if _, err := c.cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("setting %s on node %s: %w", ConditionNetworkUnavailable, node.GetMetadata().GetName(), err)
	}
	return nil
}
