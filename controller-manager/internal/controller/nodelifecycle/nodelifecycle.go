// Package nodelifecycle is the node lifecycle controller: it watches nodes'
// heartbeats (the Ready condition's lastHeartbeatTime and the node's Lease in
// kube-node-lease), marks a node silent for the grace period Ready=Unknown,
// taints nodes that are not ready (node.kubernetes.io/unreachable or
// not-ready, NoSchedule and NoExecute), marks their pods not ready, evicts
// the pods that do not tolerate the NoExecute taint once the eviction
// timeout has passed, and removes the taints when the node is ready again.
//
// Heartbeats are timed by this controller's own clock, when it sees them
// change, as Kubernetes does, so nodes' clock skew does not matter.
package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = "kube-node-lease"

// Config configures the controller; zero durations are Kubernetes' defaults.
type Config struct {
	controller.Common
	// MonitorPeriod is how often every node is checked (5s).
	MonitorPeriod time.Duration
	// GracePeriod is how long a node may be silent before it is Ready=Unknown (40s).
	GracePeriod time.Duration
	// StartupGracePeriod is the same for a node that never posted Ready (60s).
	StartupGracePeriod time.Duration
	// PodEvictionTimeout is how long pods that do not tolerate the NoExecute
	// taint stay on a not-ready node (5m).
	PodEvictionTimeout time.Duration
	// KeepPods turns eviction off (--enable-taint-manager=false): pods are
	// only marked not ready.
	KeepPods bool
	// Now is the clock (time.Now).
	Now func() time.Time
}

// nodeHealth is what the controller saw of a node's heartbeats.
type nodeHealth struct {
	node      *corev1.Node // last seen, for the RemovingNode event
	heartbeat time.Time    // Ready's lastHeartbeatTime
	renew     time.Time    // the Lease's renewTime
	probe     time.Time    // when either last changed, by our clock
}

// Controller is the node lifecycle controller.
type Controller struct {
	lg     *zap.Logger
	cs     *client.Clientset
	cfg    Config
	nodes  informer.Lister[*corev1.Node]
	leases informer.Lister[*coordinationv1.Lease]
	pods   informer.Lister[*corev1.Pod]

	mu     sync.Mutex
	health map[string]*nodeHealth

	*controller.Controller
}

// New makes the controller and registers its handlers; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.MonitorPeriod, 5*time.Second)
	def(&cfg.GracePeriod, 40*time.Second)
	def(&cfg.StartupGracePeriod, 60*time.Second)
	def(&cfg.PodEvictionTimeout, 5*time.Minute)
	cfg.Common = cfg.Common.Defaulted()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	nodeInf, leaseInf, podInf := f.Core().V1().Nodes(), f.Coordination().V1().Leases(), f.Core().V1().Pods()
	controller.IndexPodsByNode(podInf.Informer())
	c := &Controller{lg: lg, cs: cs, cfg: cfg, nodes: nodeInf.Lister(), leases: leaseInf.Lister(), pods: podInf.Lister(),
		health: map[string]*nodeHealth{}}
	c.Controller = controller.New(lg, controller.Options{
		Name: "nodelifecycle", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{nodeInf.Informer().HasSynced, leaseInf.Informer().HasSynced, podInf.Informer().HasSynced},
	})
	nodeInf.Informer().AddEventHandler(c.Handler())
	leaseInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*coordinationv1.Lease]{
		AddFunc:    c.lease,
		UpdateFunc: func(_, l *coordinationv1.Lease) { c.lease(l) },
	})
	podInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc: c.pod,
		UpdateFunc: func(old, cur *corev1.Pod) {
			if old.GetSpec().GetNodeName() != cur.GetSpec().GetNodeName() || controller.IsPodReady(old) != controller.IsPodReady(cur) {
				c.pod(cur)
			}
		},
	})
	return c
}

func (c *Controller) lease(l *coordinationv1.Lease) {
	if l.GetMetadata().GetNamespace() == LeaseNamespace {
		c.EnqueueKey(l.GetMetadata().GetName())
	}
}

func (c *Controller) pod(p *corev1.Pod) {
	if n := p.GetSpec().GetNodeName(); n != "" {
		c.EnqueueKey(n)
	}
}

// Run checks every node each MonitorPeriod, and on every change, until ctx
// ends; false if it ended before the caches synced.
func (c *Controller) Run(ctx context.Context) bool {
	go func() {
		t := time.NewTicker(c.cfg.MonitorPeriod)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for _, n := range c.nodes.List(nil) {
					c.Enqueue(n)
				}
				c.mu.Lock()
				for name := range c.health {
					c.EnqueueKey(name) // deleted nodes too
				}
				c.mu.Unlock()
			}
		}
	}()
	return c.Controller.Run(ctx)
}

// sync converges one node.
func (c *Controller) sync(ctx context.Context, name string) (controller.Result, error) {
	node, err := c.nodes.Get("", name)
	if client.IsNotFound(err) {
		c.forget(name)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	now := c.cfg.Now()
	probe, known := c.observe(node, now)
	if !known {
		c.cfg.Recorder.Event(node, "Normal", "RegisteredNode", "Node %s event: Registered Node %s in Controller", name, name)
	}
	var res controller.Result
	grace := c.cfg.GracePeriod
	if controller.NodeCondition(node, "Ready") == nil {
		grace = c.cfg.StartupGracePeriod
	}
	if silent := now.Sub(probe); silent >= grace {
		if node, err = c.markUnknown(ctx, node, now); err != nil {
			return res, err
		}
	} else {
		res.RequeueAfter = grace - silent + 100*time.Millisecond
	}
	if node, err = c.syncTaints(ctx, node, now); err != nil {
		return res, err
	}
	after, err := c.syncPods(ctx, node, now)
	if after > 0 && (res.RequeueAfter == 0 || after < res.RequeueAfter) {
		res.RequeueAfter = after
	}
	return res, err
}

// observe records node's heartbeats and returns when one last changed; known
// is false for a node seen for the first time.
func (c *Controller) observe(node *corev1.Node, now time.Time) (probe time.Time, known bool) {
	name := node.GetMetadata().GetName()
	var hb, renew time.Time
	if r := controller.NodeCondition(node, "Ready"); r != nil && r.GetLastHeartbeatTime() != nil {
		hb = r.GetLastHeartbeatTime().AsTime()
	}
	if l, err := c.leases.Get(LeaseNamespace, name); err == nil && l.GetSpec().GetRenewTime() != nil {
		renew = l.GetSpec().GetRenewTime().AsTime()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, known := c.health[name]
	if !known {
		h = &nodeHealth{probe: now}
		c.health[name] = h
	} else if !hb.Equal(h.heartbeat) || !renew.Equal(h.renew) {
		h.probe = now
	}
	h.node, h.heartbeat, h.renew = node, hb, renew
	return h.probe, known
}

// forget drops a deleted node, with Kubernetes' RemovingNode event.
func (c *Controller) forget(name string) {
	c.mu.Lock()
	h, ok := c.health[name]
	delete(c.health, name)
	c.mu.Unlock()
	if ok {
		c.cfg.Recorder.Event(h.node, "Normal", "RemovingNode", "Node %s event: Removing Node %s from Controller", name, name)
	}
}

// conditionsUnknown are the conditions a kubelet posts, set Unknown when it goes silent.
var conditionsUnknown = []string{"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}

// markUnknown sets a silent node's conditions Unknown, as Kubernetes'
// tryUpdateNodeHealth does, with a NodeNotReady event when it was ready.
func (c *Controller) markUnknown(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	ready := controller.NodeCondition(node, "Ready")
	if ready != nil && ready.GetStatus() == "Unknown" {
		return node, nil
	}
	next := controller.Clone(node)
	if next.Status == nil {
		next.Status = &corev1.NodeStatus{}
	}
	ts := timestamppb.New(now)
	for _, t := range conditionsUnknown {
		cond := controller.NodeCondition(next, t)
		switch {
		case cond == nil && t == "Ready":
			next.Status.Conditions = append(next.Status.Conditions, &corev1.NodeCondition{Type: t, Status: "Unknown",
				Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.", LastHeartbeatTime: node.GetMetadata().GetCreationTimestamp(), LastTransitionTime: ts})
		case cond == nil || cond.GetStatus() == "Unknown":
		default:
			cond.Status, cond.Reason, cond.Message, cond.LastTransitionTime = "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", ts
		}
	}
	updated, err := c.cs.CoreV1().Nodes().UpdateStatus(ctx, next)
	if err != nil {
		return node, fmt.Errorf("mark node %s Ready=Unknown: %w", node.GetMetadata().GetName(), err)
	}
	c.lg.Info("node stopped posting status", zap.String("node", node.GetMetadata().GetName()))
	if ready == nil || ready.GetStatus() == "True" {
		c.cfg.Recorder.Event(updated, "Normal", "NodeNotReady", "Node %s status is now: NodeNotReady", node.GetMetadata().GetName())
	}
	return updated, nil
}

// wantedTaints are the lifecycle taints a node should carry for its Ready status.
func wantedTaints(node *corev1.Node) []string {
	switch ready := controller.NodeCondition(node, "Ready"); {
	case ready == nil:
		return nil
	case ready.GetStatus() == "Unknown":
		return []string{controller.TaintNodeUnreachable}
	case ready.GetStatus() == "False":
		return []string{controller.TaintNodeNotReady}
	}
	return nil
}

// syncTaints puts the lifecycle taints a node needs (NoSchedule and
// NoExecute) and removes the others.
func (c *Controller) syncTaints(ctx context.Context, node *corev1.Node, now time.Time) (*corev1.Node, error) {
	want := map[string]bool{}
	for _, k := range wantedTaints(node) {
		want[k+"/NoSchedule"], want[k+"/NoExecute"] = true, true
	}
	var taints []*corev1.Taint
	have := map[string]bool{}
	changed := false
	for _, t := range node.GetSpec().GetTaints() {
		id := t.GetKey() + "/" + t.GetEffect()
		lifecycle := t.GetKey() == controller.TaintNodeUnreachable || t.GetKey() == controller.TaintNodeNotReady
		if lifecycle && !want[id] || have[id] {
			changed = true
			continue
		}
		have[id] = true
		taints = append(taints, t)
	}
	for _, k := range wantedTaints(node) {
		for _, effect := range []string{"NoSchedule", "NoExecute"} {
			if !have[k+"/"+effect] {
				changed = true
				taints = append(taints, &corev1.Taint{Key: k, Effect: effect, TimeAdded: timestamppb.New(now)})
			}
		}
	}
	if !changed {
		return node, nil
	}
	next := controller.Clone(node)
	if next.Spec == nil {
		next.Spec = &corev1.NodeSpec{}
	}
	next.Spec.Taints = taints
	updated, err := c.cs.CoreV1().Nodes().Update(ctx, next)
	if err != nil {
		return node, fmt.Errorf("taint node %s: %w", node.GetMetadata().GetName(), err)
	}
	c.lg.Info("node taints updated", zap.String("node", node.GetMetadata().GetName()), zap.Strings("lifecycle", wantedTaints(node)))
	return updated, nil
}

// syncPods marks the pods of a node that is not ready not ready, and evicts
// those whose time on a NoExecute-tainted node is up; it returns when the
// next eviction is due.
func (c *Controller) syncPods(ctx context.Context, node *corev1.Node, now time.Time) (time.Duration, error) {
	ready := controller.NodeCondition(node, "Ready")
	if ready == nil || ready.GetStatus() == "True" {
		return 0, nil
	}
	var noExecute []*corev1.Taint
	for _, t := range node.GetSpec().GetTaints() {
		if t.GetEffect() == "NoExecute" && (t.GetKey() == controller.TaintNodeUnreachable || t.GetKey() == controller.TaintNodeNotReady) {
			noExecute = append(noExecute, t)
		}
	}
	var next time.Duration
	var errs []error
	for _, pod := range controller.PodsOnNode(c.pods, node.GetMetadata().GetName()) {
		if pod.GetMetadata().GetDeletionTimestamp() != nil {
			continue
		}
		if controller.IsPodReady(pod) {
			errs = append(errs, c.markPodNotReady(ctx, pod, now))
		}
		due, ok := c.evictionTime(pod, noExecute)
		if !ok || c.cfg.KeepPods {
			continue
		}
		if wait := due.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait + 100*time.Millisecond
			}
			continue
		}
		errs = append(errs, c.evict(ctx, pod))
	}
	return next, errors.Join(errs...)
}

// evictionTime is when pod leaves a node with the NoExecute taints: the
// taint's time plus the toleration's seconds, or plus PodEvictionTimeout
// when the pod does not tolerate it; ok is false when it tolerates it
// for ever.
func (c *Controller) evictionTime(pod *corev1.Pod, taints []*corev1.Taint) (time.Time, bool) {
	var due time.Time
	found := false
	for _, t := range taints {
		added := t.GetTimeAdded().AsTime()
		d := added.Add(c.cfg.PodEvictionTimeout)
		if tol := controller.ToleratesTaint(pod.GetSpec().GetTolerations(), t); tol != nil {
			if tol.TolerationSeconds == nil {
				continue
			}
			d = added.Add(time.Duration(max(tol.GetTolerationSeconds(), 0)) * time.Second)
		}
		if !found || d.Before(due) {
			due, found = d, true
		}
	}
	return due, found
}

// markPodNotReady sets a pod's Ready condition False, as Kubernetes'
// MarkPodsNotReady, with its NodeNotReady event.
func (c *Controller) markPodNotReady(ctx context.Context, pod *corev1.Pod, now time.Time) error {
	next := controller.Clone(pod)
	for _, cond := range next.GetStatus().GetConditions() {
		if cond.GetType() == controller.PodReadyCondition && cond.GetStatus() != "False" {
			cond.Status = "False"
			cond.LastTransitionTime = timestamppb.New(now)
		}
	}
	if proto.Equal(next, pod) {
		return nil
	}
	if _, err := c.cs.CoreV1().Pods(pod.GetMetadata().GetNamespace()).UpdateStatus(ctx, next); err != nil && !client.IsNotFound(err) {
		return fmt.Errorf("mark pod %s not ready: %w", controller.KeyFunc(pod), err)
	}
	c.cfg.Recorder.Event(pod, "Warning", "NodeNotReady", "Node is not ready")
	return nil
}

// evict deletes a pod from a tainted node, as Kubernetes' taint eviction.
func (c *Controller) evict(ctx context.Context, pod *corev1.Pod) error {
	m := pod.GetMetadata()
	err := c.cs.CoreV1().Pods(m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid()})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("evict pod %s: %w", controller.KeyFunc(pod), err)
	}
	c.lg.Info("evicted pod from a node that is not ready", zap.String("pod", controller.KeyFunc(pod)), zap.String("node", pod.GetSpec().GetNodeName()))
	c.cfg.Recorder.Event(pod, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s", controller.KeyFunc(pod))
	return nil
}
