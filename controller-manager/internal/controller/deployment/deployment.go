// Package deployment is the Deployment controller: a ReplicaSet per pod
// template (named and labelled with the template's pod-template-hash),
// rolled from old to new with RollingUpdate (maxSurge, maxUnavailable,
// minReadySeconds) or Recreate, revision annotations that skiffctl's
// rollout history and undo read, revisionHistoryLimit cleanup, pausing,
// proportional scaling, and the Progressing and Available conditions with
// progressDeadlineSeconds.
package deployment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/rollout"
)

// Config configures the controller.
type Config = controller.Common

// Controller is the Deployment controller.
type Controller struct {
	lg   *zap.Logger
	cs   *client.Clientset
	deps informer.Lister[*appsv1.Deployment]
	rss  informer.Lister[*appsv1.ReplicaSet]
	pods informer.Lister[*corev1.Pod]
	rec  client.Recorder
	now  func() time.Time
	*controller.Controller
}

// New makes the controller and registers its handlers on the factory's
// Deployment, ReplicaSet and Pod informers; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg = cfg.Defaulted()
	dInf, rsInf, podInf := f.Apps().V1().Deployments(), f.Apps().V1().ReplicaSets(), f.Core().V1().Pods()
	c := &Controller{lg: lg, cs: cs, deps: dInf.Lister(), rss: rsInf.Lister(), pods: podInf.Lister(), rec: cfg.Recorder, now: time.Now}
	c.Controller = controller.New(lg, cfg.Options("deployment", c.sync,
		dInf.Informer().HasSynced, rsInf.Informer().HasSynced, podInf.Informer().HasSynced))
	dInf.Informer().AddEventHandler(c.Handler())
	rsInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*appsv1.ReplicaSet]{
		AddFunc: c.replicaSetChanged,
		UpdateFunc: func(old, cur *appsv1.ReplicaSet) {
			if r := controller.ControllerOf(old.GetMetadata()); r != nil && !controller.IsControlledBy(cur.GetMetadata(), r.GetUid()) {
				c.replicaSetChanged(old)
			}
			c.replicaSetChanged(cur)
		},
		DeleteFunc: c.replicaSetChanged,
	})
	podInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{DeleteFunc: c.podDeleted})
	return c
}

// owner returns the Deployment controlling meta, if it is in the cache.
func (c *Controller) owner(meta *metav1.ObjectMeta) *appsv1.Deployment {
	ref := controller.ControllerOf(meta)
	if ref == nil || ref.GetKind() != "Deployment" {
		return nil
	}
	d, err := c.deps.Get(meta.GetNamespace(), ref.GetName())
	if err != nil || d.GetMetadata().GetUid() != ref.GetUid() {
		return nil
	}
	return d
}

// replicaSetChanged queues the ReplicaSet's Deployment, or for an orphan
// every Deployment that may adopt it.
func (c *Controller) replicaSetChanged(rs *appsv1.ReplicaSet) {
	if controller.ControllerOf(rs.GetMetadata()) != nil {
		if d := c.owner(rs.GetMetadata()); d != nil {
			c.Enqueue(d)
		}
		return
	}
	set := labels.Set(rs.GetMetadata().GetLabels())
	for _, d := range c.deps.ListNamespace(rs.GetMetadata().GetNamespace(), nil) {
		if sel, err := labels.FromLabelSelector(d.GetSpec().GetSelector()); err == nil && !sel.Empty() && sel.Matches(set) {
			c.Enqueue(d)
		}
	}
}

// podDeleted wakes a Recreate Deployment waiting for its old pods to go.
func (c *Controller) podDeleted(pod *corev1.Pod) {
	ref := controller.ControllerOf(pod.GetMetadata())
	if ref == nil || ref.GetKind() != "ReplicaSet" {
		return
	}
	rs, err := c.rss.Get(pod.GetMetadata().GetNamespace(), ref.GetName())
	if err != nil {
		return
	}
	if d := c.owner(rs.GetMetadata()); d != nil && d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		c.Enqueue(d)
	}
}

// sync converges one Deployment.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	cached, err := c.deps.Get(ns, name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	d := controller.Clone(cached)
	sel, err := labels.FromLabelSelector(d.GetSpec().GetSelector())
	if err != nil || sel.Empty() {
		if d.GetMetadata().GetGeneration() > d.GetStatus().GetObservedGeneration() {
			c.rec.Event(d, client.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
			st := controller.Clone(d)
			if st.Status == nil {
				st.Status = &appsv1.DeploymentStatus{}
			}
			st.Status.ObservedGeneration = d.GetMetadata().GetGeneration()
			_, err := c.cs.AppsV1().Deployments(ns).UpdateStatus(ctx, st)
			return controller.Result{}, err
		}
		return controller.Result{}, nil
	}
	rss, err := c.claimReplicaSets(ctx, d, sel)
	if err != nil {
		return controller.Result{}, err
	}
	r := &deploymentSync{c: c, d: d, all: rss}
	if d.GetMetadata().GetDeletionTimestamp() != nil {
		return r.syncStatusOnly(ctx)
	}
	if err := r.checkPaused(ctx); err != nil {
		return controller.Result{}, err
	}
	if d.GetSpec().GetPaused() {
		return r.scaleOnly(ctx)
	}
	if r.isScalingEvent() {
		return r.scaleOnly(ctx)
	}
	if d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		return r.recreate(ctx)
	}
	return r.rollingUpdate(ctx)
}

// claimReplicaSets adopts and releases ReplicaSets by the Deployment's
// selector and returns the ones it controls.
func (c *Controller) claimReplicaSets(ctx context.Context, d *appsv1.Deployment, sel labels.Selector) ([]*appsv1.ReplicaSet, error) {
	ns, name := d.GetMetadata().GetNamespace(), d.GetMetadata().GetName()
	rsc := c.cs.AppsV1().ReplicaSets(ns)
	rm := &controller.RefManager[*appsv1.ReplicaSet]{
		Owner: d, Selector: sel,
		CanAdopt: func(ctx context.Context) error {
			fresh, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name)
			switch {
			case err != nil:
				return err
			case fresh.GetMetadata().GetUid() != d.GetMetadata().GetUid():
				return fmt.Errorf("deployment %s/%s was recreated", ns, name)
			case fresh.GetMetadata().GetDeletionTimestamp() != nil:
				return fmt.Errorf("deployment %s/%s is being deleted", ns, name)
			}
			return nil
		},
		Get: func(ctx context.Context, _, name string) (*appsv1.ReplicaSet, error) { return rsc.Get(ctx, name) },
		Update: func(ctx context.Context, rs *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
			return rsc.Update(ctx, rs)
		},
	}
	return rm.Claim(ctx, c.rss.ListNamespace(ns, nil))
}

// deploymentSync is one sync of one Deployment.
type deploymentSync struct {
	c   *Controller
	d   *appsv1.Deployment // a copy, updated as the sync writes it
	all []*appsv1.ReplicaSet
	// newRS and old are set by split; newRS may be nil.
	newRS *appsv1.ReplicaSet
	old   []*appsv1.ReplicaSet
	// created is set when this sync created newRS.
	created bool
}

// split finds the new ReplicaSet (the oldest one running the current
// template) and the old ones.
func (r *deploymentSync) split() {
	byCreation(r.all)
	r.newRS, r.old = nil, nil
	for _, rs := range r.all {
		if r.newRS == nil && rollout.EqualIgnoreHash(rs.GetSpec().GetTemplate(), r.d.GetSpec().GetTemplate()) {
			r.newRS = rs
			continue
		}
		r.old = append(r.old, rs)
	}
}

func (r *deploymentSync) allRSs() []*appsv1.ReplicaSet {
	if r.newRS == nil {
		return r.old
	}
	return append(append([]*appsv1.ReplicaSet(nil), r.old...), r.newRS)
}

// replace puts the written rs in place of its older copy.
func (r *deploymentSync) replace(rs *appsv1.ReplicaSet) {
	for i, x := range r.all {
		if x.GetMetadata().GetUid() == rs.GetMetadata().GetUid() {
			r.all[i] = rs
		}
	}
	if r.newRS != nil && r.newRS.GetMetadata().GetUid() == rs.GetMetadata().GetUid() {
		r.newRS = rs
	}
	for i, x := range r.old {
		if x.GetMetadata().GetUid() == rs.GetMetadata().GetUid() {
			r.old[i] = rs
		}
	}
}

// isScalingEvent reports whether spec.replicas changed since the active
// ReplicaSets were last sized (their desired-replicas annotation).
func (r *deploymentSync) isScalingEvent() bool {
	want := fmt.Sprint(dReplicas(r.d))
	for _, rs := range r.all {
		if rsReplicas(rs) == 0 {
			continue
		}
		if v, ok := rs.GetMetadata().GetAnnotations()[rollout.DesiredReplicasAnnotation]; ok && v != want {
			return true
		}
	}
	return false
}

// checkPaused sets the Progressing condition to Unknown/DeploymentPaused
// when paused, and back when resumed.
func (r *deploymentSync) checkPaused(ctx context.Context) error {
	cond := condition(r.d.GetStatus(), ConditionProgressing)
	paused := r.d.GetSpec().GetPaused()
	pausedCond := cond != nil && cond.GetReason() == ReasonDeploymentPaused
	if paused == pausedCond {
		return nil
	}
	s := statusCopy(r.d)
	if paused {
		setCondition(s, newCondition(ConditionProgressing, "Unknown", ReasonDeploymentPaused, "Deployment is paused", r.c.now()))
	} else {
		setCondition(s, newCondition(ConditionProgressing, "Unknown", ReasonDeploymentResumed, "Deployment is resumed", r.c.now()))
	}
	return r.writeStatus(ctx, s)
}

func statusCopy(d *appsv1.Deployment) *appsv1.DeploymentStatus {
	if d.GetStatus() == nil {
		return &appsv1.DeploymentStatus{}
	}
	return controller.Clone(d).Status
}

// writeStatus writes s unless the Deployment already has it.
func (r *deploymentSync) writeStatus(ctx context.Context, s *appsv1.DeploymentStatus) error {
	if statusEqual(r.d.GetStatus(), s) {
		return nil
	}
	cp := controller.Clone(r.d)
	cp.Status = s
	out, err := r.c.cs.AppsV1().Deployments(r.d.GetMetadata().GetNamespace()).UpdateStatus(ctx, cp)
	if err != nil {
		return fmt.Errorf("updating status of deployment %s: %w", controller.KeyFunc(r.d), err)
	}
	r.d = out
	return nil
}

// errs joins a step's error with the status write's.
func errs(a, b error) error { return errors.Join(a, b) }
