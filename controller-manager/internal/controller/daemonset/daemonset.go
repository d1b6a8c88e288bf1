// Package daemonset is the DaemonSet controller: one pod per eligible node
// (spec.template's nodeSelector matches the node's labels, and the pod,
// with the tolerations Kubernetes adds to every daemon pod, tolerates the
// node's NoSchedule and NoExecute taints), following nodes as they come,
// go and change; a RollingUpdate replaces pods of an old template at most
// maxUnavailable at a time; the status counts as Kubernetes'.
//
// Daemon pods are bound by this controller, with spec.nodeName, as
// Kubernetes did before 1.12; it does not use the scheduler's node affinity
// (and does not evaluate the template's required node affinity).
package daemonset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"skiff.dev/controller-manager/internal/controller"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/intstr"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/rollout"
)

// Labels Kubernetes puts on daemon pods.
const (
	RevisionHashLabel          = "controller-revision-hash"
	PodTemplateGenerationLabel = "pod-template-generation"
)

// DefaultTolerations are what Kubernetes adds to every daemon pod, so that
// daemons run on nodes that are not ready, unreachable, under pressure or
// cordoned, and are never evicted from them.
func DefaultTolerations() []*corev1.Toleration {
	tol := func(key, effect string) *corev1.Toleration {
		return &corev1.Toleration{Key: key, Operator: "Exists", Effect: effect}
	}
	return []*corev1.Toleration{
		tol(controller.TaintNodeNotReady, "NoExecute"),
		tol(controller.TaintNodeUnreachable, "NoExecute"),
		tol("node.kubernetes.io/disk-pressure", "NoSchedule"),
		tol("node.kubernetes.io/memory-pressure", "NoSchedule"),
		tol("node.kubernetes.io/pid-pressure", "NoSchedule"),
		tol("node.kubernetes.io/unschedulable", "NoSchedule"),
	}
}

// Config configures the controller.
type Config struct {
	controller.Common
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Controller is the DaemonSet controller.
type Controller struct {
	lg    *zap.Logger
	cs    *client.Clientset
	cfg   Config
	dss   informer.Lister[*appsv1.DaemonSet]
	nodes informer.Lister[*corev1.Node]
	pods  informer.Lister[*corev1.Pod]
	exp   *controller.Expectations

	*controller.Controller
}

// New makes the controller; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.Common = cfg.Common.Defaulted()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dsInf, nodeInf, podInf := f.Apps().V1().DaemonSets(), f.Core().V1().Nodes(), f.Core().V1().Pods()
	c := &Controller{lg: lg, cs: cs, cfg: cfg, dss: dsInf.Lister(), nodes: nodeInf.Lister(), pods: podInf.Lister(),
		exp: controller.NewExpectations()}
	c.Controller = controller.New(lg, controller.Options{
		Name: "daemonset", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{dsInf.Informer().HasSynced, nodeInf.Informer().HasSynced, podInf.Informer().HasSynced},
	})
	dsInf.Informer().AddEventHandler(c.Handler())
	nodeInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Node]{
		AddFunc: func(*corev1.Node) { c.enqueueAll() },
		UpdateFunc: func(old, cur *corev1.Node) {
			if !equalLabels(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels()) ||
				!slices.EqualFunc(old.GetSpec().GetTaints(), cur.GetSpec().GetTaints(), func(a, b *corev1.Taint) bool {
					return a.GetKey() == b.GetKey() && a.GetValue() == b.GetValue() && a.GetEffect() == b.GetEffect()
				}) {
				c.enqueueAll()
			}
		},
		DeleteFunc: func(*corev1.Node) { c.enqueueAll() },
	})
	podInf.Informer().AddEventHandler(controller.OwnedPodHandler("DaemonSet", c.exp, c.EnqueueKey))
	return c
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			return false
		}
	}
	return true
}

func (c *Controller) enqueueAll() {
	for _, ds := range c.dss.List(nil) {
		c.Enqueue(ds)
	}
}

// ShouldRun reports whether a daemon pod of template belongs on node, as
// Kubernetes' NodeShouldRunDaemonPod: shouldRun when its nodeSelector
// matches and it (with DefaultTolerations) tolerates the node's NoSchedule
// and NoExecute taints; shouldContinue when a pod already there may stay,
// which needs only the NoExecute taints tolerated.
func ShouldRun(tmpl *corev1.PodTemplateSpec, node *corev1.Node) (shouldRun, shouldContinue bool) {
	if node.GetMetadata().GetDeletionTimestamp() != nil {
		return false, false
	}
	if sel := tmpl.GetSpec().GetNodeSelector(); len(sel) > 0 &&
		!labels.SelectorFromSet(sel).Matches(labels.Set(node.GetMetadata().GetLabels())) {
		return false, false
	}
	tols := append(slices.Clone(tmpl.GetSpec().GetTolerations()), DefaultTolerations()...)
	taints := node.GetSpec().GetTaints()
	return controller.ToleratesAll(tols, taints, "NoSchedule", "NoExecute"), controller.ToleratesAll(tols, taints, "NoExecute")
}

// sync converges one DaemonSet.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	ds, err := c.dss.Get(ns, name)
	if client.IsNotFound(err) {
		c.exp.Delete(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	needsSync := c.exp.Satisfied(key)
	hash := rollout.ComputeHash(ds.GetSpec().GetTemplate(), collisionCount(ds))
	var candidates []*corev1.Pod
	for _, p := range c.pods.ListNamespace(ns, nil) {
		if p.GetMetadata().GetDeletionTimestamp() == nil {
			candidates = append(candidates, p)
		}
	}
	owned, claimErr := controller.ClaimPods(ctx, c.cs, ds, ds.GetSpec().GetSelector(), candidates, func(ctx context.Context) (client.Object, error) {
		return c.cs.AppsV1().DaemonSets(ns).Get(ctx, name)
	})
	byNode := map[string][]*corev1.Pod{}
	for _, p := range owned {
		byNode[p.GetSpec().GetNodeName()] = append(byNode[p.GetSpec().GetNodeName()], p)
	}
	nodes := c.nodes.List(nil)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].GetMetadata().GetName() < nodes[j].GetMetadata().GetName() })
	var manageErr error
	if needsSync && ds.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = c.manage(ctx, ds, nodes, byNode, hash)
	}
	status, requeue := c.status(ds, nodes, byNode, hash)
	if err := c.writeStatus(ctx, ds, status); err != nil {
		return controller.Result{}, err
	}
	return controller.Result{RequeueAfter: requeue}, errors.Join(claimErr, manageErr)
}

// manage creates and deletes daemon pods: one per eligible node, none
// elsewhere, failed ones replaced, old templates rolled.
func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) error {
	var create []string
	var del []*corev1.Pod
	eligible := map[string]bool{}
	for _, n := range nodes {
		name := n.GetMetadata().GetName()
		pods := byNode[name]
		shouldRun, shouldContinue := ShouldRun(ds.GetSpec().GetTemplate(), n)
		if !shouldRun {
			if !shouldContinue {
				del = append(del, pods...)
			}
			continue
		}
		eligible[name] = true
		var running []*corev1.Pod
		for _, p := range pods {
			if p.GetStatus().GetPhase() == "Failed" {
				del = append(del, p) // replaced on the next pass
				continue
			}
			running = append(running, p)
		}
		switch {
		case len(running) == 0 && len(running) == len(pods):
			create = append(create, name)
		case len(running) > 1:
			sort.Slice(running, func(i, j int) bool {
				return running[i].GetMetadata().GetCreationTimestamp().AsTime().Before(running[j].GetMetadata().GetCreationTimestamp().AsTime())
			})
			del = append(del, running[1:]...)
		}
	}
	for node, pods := range byNode {
		if !slices.ContainsFunc(nodes, func(n *corev1.Node) bool { return n.GetMetadata().GetName() == node }) {
			del = append(del, pods...) // node gone, or never a node
		}
	}
	if len(del) == 0 && len(create) == 0 {
		del = c.rollingUpdate(ds, eligible, byNode, hash)
	}
	key := controller.KeyFunc(ds)
	var errs []error
	if len(create) > 0 {
		c.exp.ExpectCreations(key, len(create))
		todo := make(chan string, len(create))
		for _, n := range create {
			todo <- n
		}
		close(todo)
		_, err := controller.SlowStartBatch(len(create), controller.SlowStartInitialBatchSize, func() error {
			err := c.createPod(ctx, ds, <-todo, hash)
			if err != nil {
				c.exp.CreationObserved(key)
			}
			return err
		})
		for range todo {
			c.exp.CreationObserved(key) // skipped after a failed batch
		}
		errs = append(errs, err)
	}
	errs = append(errs, controller.DeletePods(ctx, c.cs, c.cfg.Recorder, c.exp, ds, del))
	return errors.Join(errs...)
}

// rollingUpdate picks the old-template pods to delete: every unavailable
// one, and available ones while fewer than maxUnavailable daemon pods are
// unavailable.
func (c *Controller) rollingUpdate(ds *appsv1.DaemonSet, eligible map[string]bool, byNode map[string][]*corev1.Pod, hash string) []*corev1.Pod {
	st := ds.GetSpec().GetUpdateStrategy()
	if st.GetType() == "OnDelete" {
		return nil
	}
	maxUnavailable, err := intstr.ScaledValueFromIntOrPercent(st.GetRollingUpdate().GetMaxUnavailable(), len(eligible), true)
	if err != nil || maxUnavailable < 1 {
		maxUnavailable = 1
	}
	now := c.cfg.Now()
	unavailable := 0
	var oldAvailable, del []*corev1.Pod
	nodes := make([]string, 0, len(eligible))
	for n := range eligible {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for _, n := range nodes {
		pods := byNode[n]
		if len(pods) == 0 {
			unavailable++
			continue
		}
		p := pods[0]
		available := controller.IsPodAvailable(p, ds.GetSpec().GetMinReadySeconds(), now)
		if !available {
			unavailable++
		}
		if p.GetMetadata().GetLabels()[RevisionHashLabel] == hash {
			continue
		}
		if available {
			oldAvailable = append(oldAvailable, p)
		} else {
			del = append(del, p)
		}
	}
	for _, p := range oldAvailable {
		if unavailable >= maxUnavailable {
			break
		}
		del = append(del, p)
		unavailable++
	}
	return del
}

func (c *Controller) createPod(ctx context.Context, ds *appsv1.DaemonSet, node, hash string) error {
	tmpl := ds.GetSpec().GetTemplate()
	spec := proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec)
	spec.NodeName = node
	for _, t := range DefaultTolerations() {
		if !slices.ContainsFunc(spec.Tolerations, func(have *corev1.Toleration) bool {
			return have.GetKey() == t.GetKey() && have.GetEffect() == t.GetEffect() && have.GetOperator() == t.GetOperator()
		}) {
			spec.Tolerations = append(spec.Tolerations, t)
		}
	}
	lbls := map[string]string{}
	for k, v := range tmpl.GetMetadata().GetLabels() {
		lbls[k] = v
	}
	lbls[RevisionHashLabel] = hash
	lbls[PodTemplateGenerationLabel] = strconv.FormatInt(int64(ds.GetMetadata().GetGeneration()), 10)
	annotations := map[string]string{}
	for k, v := range tmpl.GetMetadata().GetAnnotations() {
		annotations[k] = v
	}
	pod := &corev1.Pod{
		Metadata: &metav1.ObjectMeta{GenerateName: ds.GetMetadata().GetName() + "-", Namespace: ds.GetMetadata().GetNamespace(),
			Labels: lbls, Annotations: annotations, OwnerReferences: []*metav1.OwnerReference{controller.NewControllerRef(ds)}},
		Spec: spec,
	}
	created, err := c.cs.CoreV1().Pods(ds.GetMetadata().GetNamespace()).Create(ctx, pod)
	if err != nil {
		if client.IsForbidden(err) {
			return nil // the namespace is terminating
		}
		c.cfg.Recorder.Event(ds, "Warning", "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("create daemon pod on node %s: %w", node, err)
	}
	c.cfg.Recorder.Event(ds, "Normal", "SuccessfulCreate", "Created pod: %s", created.GetMetadata().GetName())
	return nil
}

// status counts as Kubernetes' DaemonSet status; requeue is when a ready
// pod becomes available.
func (c *Controller) status(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string) (*appsv1.DaemonSetStatus, time.Duration) {
	st := &appsv1.DaemonSetStatus{ObservedGeneration: ds.GetMetadata().GetGeneration(),
		CollisionCount: collisionCount(ds), Conditions: ds.GetStatus().GetConditions()}
	now := c.cfg.Now()
	minReady := ds.GetSpec().GetMinReadySeconds()
	var requeue time.Duration
	for _, n := range nodes {
		pods := byNode[n.GetMetadata().GetName()]
		should, _ := ShouldRun(ds.GetSpec().GetTemplate(), n)
		switch {
		case should:
			st.DesiredNumberScheduled++
		case len(pods) > 0:
			st.NumberMisscheduled++
		}
		if !should || len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		p := pods[0]
		if p.GetMetadata().GetLabels()[RevisionHashLabel] == hash {
			st.UpdatedNumberScheduled++
		}
		if controller.IsPodReady(p) {
			st.NumberReady++
			if controller.IsPodAvailable(p, minReady, now) {
				st.NumberAvailable++
			} else if requeue == 0 {
				requeue = time.Duration(minReady)*time.Second + 100*time.Millisecond
			}
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st, requeue
}

func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, st *appsv1.DaemonSetStatus) error {
	if ds.GetStatus() != nil && statusEqual(ds.GetStatus(), st) {
		return nil
	}
	next := controller.Clone(ds)
	next.Status = st
	_, err := c.cs.AppsV1().DaemonSets(ds.GetMetadata().GetNamespace()).UpdateStatus(ctx, next)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

func collisionCount(ds *appsv1.DaemonSet) *int32 {
	if st := ds.GetStatus(); st != nil {
		return st.CollisionCount
	}
	return nil
}

func statusEqual(a, b *appsv1.DaemonSetStatus) bool {
	return a.GetObservedGeneration() == b.GetObservedGeneration() && a.GetDesiredNumberScheduled() == b.GetDesiredNumberScheduled() &&
		a.GetCurrentNumberScheduled() == b.GetCurrentNumberScheduled() && a.GetNumberMisscheduled() == b.GetNumberMisscheduled() &&
		a.GetNumberReady() == b.GetNumberReady() && a.GetNumberAvailable() == b.GetNumberAvailable() &&
		a.GetNumberUnavailable() == b.GetNumberUnavailable() && a.GetUpdatedNumberScheduled() == b.GetUpdatedNumberScheduled()
}
