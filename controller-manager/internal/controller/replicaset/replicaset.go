// Package replicaset is the ReplicaSet controller: it keeps the number of
// active pods a ReplicaSet controls equal to spec.replicas, adopting
// orphans its selector matches and releasing pods it no longer selects,
// and reports replicas, fullyLabeledReplicas, readyReplicas,
// availableReplicas and observedGeneration in the status.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// DefaultBurstReplicas is how many pods one sync creates or deletes at
// most, as Kubernetes' burstReplicas.
const DefaultBurstReplicas = 500

// Config configures the controller.
type Config struct {
	controller.Common
	// BurstReplicas caps the pods created or deleted in one sync; 0 is
	// DefaultBurstReplicas.
	BurstReplicas int
}

// Controller is the ReplicaSet controller.
type Controller struct {
	lg       *zap.Logger
	cs       *client.Clientset
	rsLister informer.Lister[*appsv1.ReplicaSet]
	pods     informer.Lister[*corev1.Pod]
	rec      client.Recorder
	burst    int
	exp      *controller.Expectations
	now      func() time.Time

	*controller.Controller
}

// New makes the controller and registers its handlers on the factory's
// ReplicaSet and Pod informers; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = DefaultBurstReplicas
	}
	cfg.Common = cfg.Common.Defaulted()
	rsInf, podInf := f.Apps().V1().ReplicaSets(), f.Core().V1().Pods()
	c := &Controller{
		lg: lg, cs: cs, rsLister: rsInf.Lister(), pods: podInf.Lister(), rec: cfg.Recorder,
		burst: cfg.BurstReplicas, exp: controller.NewExpectations(), now: time.Now,
	}
	c.Controller = controller.New(lg, cfg.Options("replicaset", c.sync, rsInf.Informer().HasSynced, podInf.Informer().HasSynced))
	rsInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*appsv1.ReplicaSet]{
		AddFunc:    func(rs *appsv1.ReplicaSet) { c.Enqueue(rs) },
		UpdateFunc: func(_, rs *appsv1.ReplicaSet) { c.Enqueue(rs) },
		DeleteFunc: func(rs *appsv1.ReplicaSet) {
			c.exp.Delete(controller.KeyFunc(rs))
			c.Enqueue(rs)
		},
	})
	podInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	return c
}

// resolve returns the ReplicaSet ref names if it is the one with ref's uid.
func (c *Controller) resolve(ns string, ref *metav1.OwnerReference) *appsv1.ReplicaSet {
	if ref == nil || ref.GetKind() != "ReplicaSet" {
		return nil
	}
	rs, err := c.rsLister.Get(ns, ref.GetName())
	if err != nil || rs.GetMetadata().GetUid() != ref.GetUid() {
		return nil
	}
	return rs
}

// selecting lists the ReplicaSets whose selector matches an orphan pod.
func (c *Controller) selecting(pod *corev1.Pod) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	set := labels.Set(pod.GetMetadata().GetLabels())
	for _, rs := range c.rsLister.ListNamespace(pod.GetMetadata().GetNamespace(), nil) {
		sel, err := labels.FromLabelSelector(rs.GetSpec().GetSelector())
		if err != nil || sel.Empty() {
			continue
		}
		if sel.Matches(set) {
			out = append(out, rs)
		}
	}
	return out
}

func (c *Controller) addPod(pod *corev1.Pod) {
	if pod.GetMetadata().GetDeletionTimestamp() != nil {
		// Seen first as terminating (e.g. after a relist): a deletion.
		c.deletePod(pod)
		return
	}
	if ref := controller.ControllerOf(pod.GetMetadata()); ref != nil {
		if rs := c.resolve(pod.GetMetadata().GetNamespace(), ref); rs != nil {
			c.exp.CreationObserved(controller.KeyFunc(rs))
			c.Enqueue(rs)
		}
		return
	}
	for _, rs := range c.selecting(pod) {
		c.Enqueue(rs)
	}
}

func (c *Controller) updatePod(old, cur *corev1.Pod) {
	if old.GetMetadata().GetResourceVersion() == cur.GetMetadata().GetResourceVersion() {
		return // a resync
	}
	ns := cur.GetMetadata().GetNamespace()
	if cur.GetMetadata().GetDeletionTimestamp() != nil && old.GetMetadata().GetDeletionTimestamp() == nil {
		// Graceful deletion started: the pod no longer counts; treat it
		// as deleted now rather than when the kubelet confirms.
		c.deletePod(cur)
		return
	}
	oldRef, curRef := controller.ControllerOf(old.GetMetadata()), controller.ControllerOf(cur.GetMetadata())
	if oldRef != nil && (curRef == nil || oldRef.GetUid() != curRef.GetUid()) {
		if rs := c.resolve(ns, oldRef); rs != nil {
			c.Enqueue(rs)
		}
	}
	if curRef != nil {
		if rs := c.resolve(ns, curRef); rs != nil {
			c.Enqueue(rs)
			// A pod that just became ready becomes available after
			// minReadySeconds: look again then.
			if m := rs.GetSpec().GetMinReadySeconds(); m > 0 && !controller.IsPodReady(old) && controller.IsPodReady(cur) {
				c.EnqueueAfter(rs, time.Duration(m)*time.Second+time.Second)
			}
		}
		return
	}
	if !maps(old.GetMetadata().GetLabels(), cur.GetMetadata().GetLabels()) || oldRef != nil {
		for _, rs := range c.selecting(cur) {
			c.Enqueue(rs)
		}
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (c *Controller) deletePod(pod *corev1.Pod) {
	ref := controller.ControllerOf(pod.GetMetadata())
	rs := c.resolve(pod.GetMetadata().GetNamespace(), ref)
	if rs == nil {
		return
	}
	key := controller.KeyFunc(rs)
	c.exp.DeletionObserved(key, controller.KeyFunc(pod))
	c.Enqueue(rs)
}

// sync converges one ReplicaSet.
func (c *Controller) sync(ctx context.Context, key string) (controller.Result, error) {
	ns, name := controller.SplitKey(key)
	rs, err := c.rsLister.Get(ns, name)
	if client.IsNotFound(err) {
		c.exp.Delete(key)
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	sel, err := labels.FromLabelSelector(rs.GetSpec().GetSelector())
	if err != nil {
		return controller.Result{}, fmt.Errorf("replicaset %s: invalid selector: %w", key, err)
	}
	// Read expectations before the cache: a pod created after this point
	// is either in the list below or still expected.
	needsSync := c.exp.Satisfied(key)

	var active []*corev1.Pod
	for _, p := range c.pods.ListNamespace(ns, nil) {
		if controller.IsPodActive(p) {
			active = append(active, p)
		}
	}
	rm := &controller.RefManager[*corev1.Pod]{
		Owner: rs, Selector: sel,
		CanAdopt: func(ctx context.Context) error {
			fresh, err := c.cs.AppsV1().ReplicaSets(ns).Get(ctx, name)
			switch {
			case err != nil:
				return err
			case fresh.GetMetadata().GetUid() != rs.GetMetadata().GetUid():
				return fmt.Errorf("replicaset %s was recreated (uid %s, want %s)", key, fresh.GetMetadata().GetUid(), rs.GetMetadata().GetUid())
			case fresh.GetMetadata().GetDeletionTimestamp() != nil:
				return fmt.Errorf("replicaset %s is being deleted", key)
			}
			return nil
		},
		Get: func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
			return c.cs.CoreV1().Pods(ns).Get(ctx, name)
		},
		Update: func(ctx context.Context, p *corev1.Pod) (*corev1.Pod, error) {
			return c.cs.CoreV1().Pods(ns).Update(ctx, p)
		},
	}
	pods, claimErr := rm.Claim(ctx, active)

	var manageErr error
	if needsSync && rs.GetMetadata().GetDeletionTimestamp() == nil {
		manageErr = c.manage(ctx, rs, pods)
	}
	status := c.status(rs, pods, manageErr)
	if err := c.writeStatus(ctx, rs, status); err != nil {
		return controller.Result{}, err
	}
	if err := errors.Join(claimErr, manageErr); err != nil {
		return controller.Result{}, err
	}
	// Pods ready but not yet available become available after
	// minReadySeconds: look again then.
	if m := rs.GetSpec().GetMinReadySeconds(); m > 0 && status.ReadyReplicas > status.AvailableReplicas {
		return controller.Result{RequeueAfter: time.Duration(m) * time.Second}, nil
	}
	return controller.Result{}, nil
}

// manage creates or deletes pods so that len(pods) becomes spec.replicas.
func (c *Controller) manage(ctx context.Context, rs *appsv1.ReplicaSet, pods []*corev1.Pod) error {
	key := controller.KeyFunc(rs)
	want := int(replicas(rs))
	diff := len(pods) - want
	switch {
	case diff < 0:
		n := min(-diff, c.burst)
		c.exp.ExpectCreations(key, n)
		ok, err := controller.SlowStartBatch(n, controller.SlowStartInitialBatchSize, func() error {
			return c.createPod(ctx, rs)
		})
		// Creations never attempted or failed will never be observed.
		for range n - ok {
			c.exp.CreationObserved(key)
		}
		return err
	case diff > 0:
		n := min(diff, c.burst)
		victims := podsToDelete(pods, n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = controller.KeyFunc(p)
		}
		c.exp.ExpectDeletions(key, keys)
		errs := make([]error, len(victims))
		var wg sync.WaitGroup
		for i, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = c.deleteOne(ctx, rs, p)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	return nil
}

// createPod creates one pod from rs's template.
func (c *Controller) createPod(ctx context.Context, rs *appsv1.ReplicaSet) error {
	pod := PodFromTemplate(rs.GetSpec().GetTemplate(), rs)
	created, err := c.cs.CoreV1().Pods(rs.GetMetadata().GetNamespace()).Create(ctx, pod)
	if err != nil {
		c.rec.Event(rs, client.EventTypeWarning, "FailedCreate", "Error creating: %v", err)
		return fmt.Errorf("creating pod for replicaset %s: %w", controller.KeyFunc(rs), err)
	}
	c.rec.Event(rs, client.EventTypeNormal, "SuccessfulCreate", "Created pod: %s", created.GetMetadata().GetName())
	return nil
}

// deleteOne deletes pod, owned by rs.
func (c *Controller) deleteOne(ctx context.Context, rs *appsv1.ReplicaSet, pod *corev1.Pod) error {
	err := c.cs.CoreV1().Pods(pod.GetMetadata().GetNamespace()).Delete(ctx, pod.GetMetadata().GetName(),
		client.DeleteOptions{PreconditionUID: pod.GetMetadata().GetUid()})
	if err != nil && !client.IsNotFound(err) {
		// It will never be observed: stop expecting it.
		c.exp.DeletionObserved(controller.KeyFunc(rs), controller.KeyFunc(pod))
		c.rec.Event(rs, client.EventTypeWarning, "FailedDelete", "Error deleting: %v", err)
		return fmt.Errorf("deleting pod %s of replicaset %s: %w", controller.KeyFunc(pod), controller.KeyFunc(rs), err)
	}
	if err == nil {
		c.rec.Event(rs, client.EventTypeNormal, "SuccessfulDelete", "Deleted pod: %s", pod.GetMetadata().GetName())
	}
	return nil
}

// PodFromTemplate is the pod a controller creates from tmpl: named after
// owner with a random suffix, the template's labels and annotations, and a
// controller ownerReference to owner.
func PodFromTemplate(tmpl *corev1.PodTemplateSpec, owner client.Object) *corev1.Pod {
	tm := tmpl.GetMetadata()
	pod := &corev1.Pod{
		ApiVersion: "v1",
		Kind:       "Pod",
		Metadata: &metav1.ObjectMeta{
			GenerateName:    owner.GetMetadata().GetName() + "-",
			Namespace:       owner.GetMetadata().GetNamespace(),
			Labels:          cloneMap(tm.GetLabels()),
			Annotations:     cloneMap(tm.GetAnnotations()),
			Finalizers:      slices.Clone(tm.GetFinalizers()),
			OwnerReferences: []*metav1.OwnerReference{controller.NewControllerRef(owner)},
		},
		Spec: proto.Clone(tmpl.GetSpec()).(*corev1.PodSpec),
	}
	if pod.Spec == nil {
		pod.Spec = &corev1.PodSpec{}
	}
	return pod
}

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func replicas(rs *appsv1.ReplicaSet) int32 {
	if r := rs.GetSpec().Replicas; r != nil {
		return *r
	}
	return 1
}

// podsToDelete picks n pods to delete, the cheapest to lose first, as
// Kubernetes' ActivePods ordering: unscheduled before scheduled, pending
// before unknown before running, not ready before ready, ready for less
// time before longer, more restarts before fewer, newer before older.
func podsToDelete(pods []*corev1.Pod, n int) []*corev1.Pod {
	sorted := slices.Clone(pods)
	sort.SliceStable(sorted, func(i, j int) bool { return lessToDelete(sorted[i], sorted[j]) })
	return sorted[:n]
}

var phaseRank = map[string]int{"Pending": 0, "Unknown": 1, "Running": 2}

func lessToDelete(a, b *corev1.Pod) bool {
	if (a.GetSpec().GetNodeName() == "") != (b.GetSpec().GetNodeName() == "") {
		return a.GetSpec().GetNodeName() == ""
	}
	if ra, rb := phaseRank[a.GetStatus().GetPhase()], phaseRank[b.GetStatus().GetPhase()]; ra != rb {
		return ra < rb
	}
	if controller.IsPodReady(a) != controller.IsPodReady(b) {
		return !controller.IsPodReady(a)
	}
	if controller.IsPodReady(a) {
		ta, tb := readySince(a), readySince(b)
		if !ta.Equal(tb) {
			return ta.After(tb)
		}
	}
	if ra, rb := restarts(a), restarts(b); ra != rb {
		return ra > rb
	}
	ca, cb := a.GetMetadata().GetCreationTimestamp().AsTime(), b.GetMetadata().GetCreationTimestamp().AsTime()
	if !ca.Equal(cb) {
		return ca.After(cb)
	}
	return a.GetMetadata().GetName() > b.GetMetadata().GetName()
}

func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == controller.PodReadyCondition {
			return c.GetLastTransitionTime().AsTime()
		}
	}
	return time.Time{}
}

func restarts(p *corev1.Pod) int32 {
	var n int32
	for _, s := range p.GetStatus().GetContainerStatuses() {
		n += s.GetRestartCount()
	}
	return n
}

// status computes rs's status from the pods it controls.
func (c *Controller) status(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error) *appsv1.ReplicaSetStatus {
	s := &appsv1.ReplicaSetStatus{
		Replicas:           int32(len(pods)),
		ObservedGeneration: rs.GetMetadata().GetGeneration(),
	}
	tmplLabels := labels.SelectorFromSet(rs.GetSpec().GetTemplate().GetMetadata().GetLabels())
	now := c.now()
	for _, p := range pods {
		if tmplLabels.Matches(labels.Set(p.GetMetadata().GetLabels())) {
			s.FullyLabeledReplicas++
		}
		if controller.IsPodReady(p) {
			s.ReadyReplicas++
			if controller.IsPodAvailable(p, rs.GetSpec().GetMinReadySeconds(), now) {
				s.AvailableReplicas++
			}
		}
	}
	// ReplicaFailure while creating or deleting fails, as Kubernetes'.
	for _, cond := range rs.GetStatus().GetConditions() {
		if cond.GetType() != "ReplicaFailure" {
			s.Conditions = append(s.Conditions, cond)
		}
	}
	if manageErr != nil {
		reason := "FailedCreate"
		if len(pods) > int(replicas(rs)) {
			reason = "FailedDelete"
		}
		old := findCondition(rs.GetStatus().GetConditions(), "ReplicaFailure")
		cond := &appsv1.ReplicaSetCondition{Type: "ReplicaFailure", Status: "True", Reason: reason,
			Message: manageErr.Error(), LastTransitionTime: timestamppb.New(now)}
		if old != nil && old.GetStatus() == "True" {
			cond.LastTransitionTime = old.GetLastTransitionTime()
		}
		s.Conditions = append(s.Conditions, cond)
	}
	return s
}

func findCondition(conds []*appsv1.ReplicaSetCondition, t string) *appsv1.ReplicaSetCondition {
	for _, c := range conds {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// writeStatus writes status unless rs already has it, retrying once on a
// conflict with a fresh read.
func (c *Controller) writeStatus(ctx context.Context, rs *appsv1.ReplicaSet, status *appsv1.ReplicaSetStatus) error {
	if proto.Equal(rs.GetStatus(), status) {
		return nil
	}
	rsc := c.cs.AppsV1().ReplicaSets(rs.GetMetadata().GetNamespace())
	cur := rs
	for attempt := 0; ; attempt++ {
		cp := controller.Clone(cur)
		cp.Status = status
		_, err := rsc.UpdateStatus(ctx, cp)
		if err == nil || client.IsNotFound(err) {
			return nil
		}
		if !client.IsConflict(err) || attempt >= 1 {
			return fmt.Errorf("updating status of replicaset %s: %w", controller.KeyFunc(rs), err)
		}
		if cur, err = rsc.Get(ctx, rs.GetMetadata().GetName()); err != nil {
			return err
		}
		if cur.GetMetadata().GetUid() != rs.GetMetadata().GetUid() {
			return nil
		}
	}
}
