package deployment

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"skiff.dev/controller-manager/internal/controller"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/rollout"
)

// syncRevision splits new from old ReplicaSets, gives the new one the
// next revision (and the Deployment the same revision annotation), and,
// with create, makes the new ReplicaSet if there is none.
func (r *deploymentSync) syncRevision(ctx context.Context, create bool) error {
	r.split()
	var maxOld int64
	for _, rs := range r.old {
		maxOld = max(maxOld, revision(rs.GetMetadata().GetAnnotations()))
	}
	next := maxOld + 1
	switch {
	case r.newRS != nil:
		cp := controller.Clone(r.newRS)
		changed := r.setAnnotations(cp, next, false)
		if cp.GetSpec().GetMinReadySeconds() != r.d.GetSpec().GetMinReadySeconds() {
			cp.Spec.MinReadySeconds = r.d.GetSpec().GetMinReadySeconds()
			changed = true
		}
		if changed {
			out, err := r.c.cs.AppsV1().ReplicaSets(cp.GetMetadata().GetNamespace()).Update(ctx, cp)
			if err != nil {
				return fmt.Errorf("updating replicaset %s: %w", controller.KeyFunc(cp), err)
			}
			r.replace(out)
		}
	case create:
		if err := r.createNewRS(ctx, next); err != nil {
			return err
		}
	default:
		return nil
	}
	return r.setDeploymentRevision(ctx, r.newRS.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation])
}

// setAnnotations gives rs the Deployment's annotations and revision rev
// (if higher than its own); a ReplicaSet about to be created also gets the
// replica annotations. It reports whether anything changed.
func (r *deploymentSync) setAnnotations(rs *appsv1.ReplicaSet, rev int64, creating bool) bool {
	m := rs.GetMetadata()
	if m.Annotations == nil {
		m.Annotations = map[string]string{}
	}
	changed := false
	for k, v := range r.d.GetMetadata().GetAnnotations() {
		if rollout.NotCopiedAnnotations[k] || m.Annotations[k] == v {
			continue
		}
		m.Annotations[k] = v
		changed = true
	}
	if old := revision(m.Annotations); old < rev {
		m.Annotations[rollout.RevisionAnnotation] = strconv.FormatInt(rev, 10)
		changed = true
	}
	if creating {
		surge, _, _ := maxSurgeAndUnavailable(r.d)
		m.Annotations[rollout.DesiredReplicasAnnotation] = strconv.Itoa(int(dReplicas(r.d)))
		m.Annotations[rollout.MaxReplicasAnnotation] = strconv.Itoa(int(dReplicas(r.d) + surge))
	}
	return changed
}

// setDeploymentRevision writes the revision annotation on the Deployment.
func (r *deploymentSync) setDeploymentRevision(ctx context.Context, rev string) error {
	if rev == "" || r.d.GetMetadata().GetAnnotations()[rollout.RevisionAnnotation] == rev {
		return nil
	}
	cp := controller.Clone(r.d)
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	cp.Metadata.Annotations[rollout.RevisionAnnotation] = rev
	out, err := r.c.cs.AppsV1().Deployments(cp.GetMetadata().GetNamespace()).Update(ctx, cp)
	if err != nil {
		return fmt.Errorf("updating revision of deployment %s: %w", controller.KeyFunc(cp), err)
	}
	r.d = out
	return nil
}

// createNewRS makes the ReplicaSet of the current template, named
// <deployment>-<pod-template-hash>.
func (r *deploymentSync) createNewRS(ctx context.Context, rev int64) error {
	d := r.d
	var collisions *int32
	if d.GetStatus() != nil {
		collisions = d.Status.CollisionCount
	}
	hash := rollout.ComputeHash(d.GetSpec().GetTemplate(), collisions)
	tmpl := proto.Clone(d.GetSpec().GetTemplate()).(*corev1.PodTemplateSpec)
	if tmpl.Metadata == nil {
		tmpl.Metadata = &metav1.ObjectMeta{}
	}
	if tmpl.Metadata.Labels == nil {
		tmpl.Metadata.Labels = map[string]string{}
	}
	tmpl.Metadata.Labels[rollout.PodTemplateHashLabel] = hash
	sel := proto.Clone(d.GetSpec().GetSelector()).(*metav1.LabelSelector)
	if sel.MatchLabels == nil {
		sel.MatchLabels = map[string]string{}
	}
	sel.MatchLabels[rollout.PodTemplateHashLabel] = hash
	replicas := r.newRSReplicas()
	rs := &appsv1.ReplicaSet{
		ApiVersion: "apps/v1",
		Kind:       "ReplicaSet",
		Metadata: &metav1.ObjectMeta{
			Name:            d.GetMetadata().GetName() + "-" + hash,
			Namespace:       d.GetMetadata().GetNamespace(),
			Labels:          tmpl.Metadata.Labels,
			OwnerReferences: []*metav1.OwnerReference{controller.NewControllerRef(d)},
		},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas, MinReadySeconds: d.GetSpec().GetMinReadySeconds(), Selector: sel, Template: tmpl},
	}
	r.setAnnotations(rs, rev, true)
	rsc := r.c.cs.AppsV1().ReplicaSets(d.GetMetadata().GetNamespace())
	created, err := rsc.Create(ctx, rs)
	if client.IsAlreadyExists(err) {
		// Our cache lags, or another template hashes alike.
		existing, gerr := rsc.Get(ctx, rs.GetMetadata().GetName())
		if gerr != nil {
			return gerr
		}
		if controller.IsControlledBy(existing.GetMetadata(), d.GetMetadata().GetUid()) &&
			rollout.EqualIgnoreHash(existing.GetSpec().GetTemplate(), d.GetSpec().GetTemplate()) {
			r.all = append(r.all, existing)
			r.newRS = existing
			return nil
		}
		s := statusCopy(d)
		n := s.GetCollisionCount() + 1
		s.CollisionCount = &n
		if werr := r.writeStatus(ctx, s); werr != nil {
			return werr
		}
		return fmt.Errorf("replicaset %s exists and is not deployment %s's current template: hash collision, collisionCount now %d",
			rs.GetMetadata().GetName(), controller.KeyFunc(d), n)
	}
	if err != nil {
		r.c.rec.Event(d, client.EventTypeWarning, "FailedCreate", "Failed to create new replica set %q: %v", rs.GetMetadata().GetName(), err)
		return fmt.Errorf("creating replicaset for deployment %s: %w", controller.KeyFunc(d), err)
	}
	if replicas > 0 {
		r.c.rec.Event(d, client.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s to %d", created.GetMetadata().GetName(), replicas)
	}
	r.all = append(r.all, created)
	r.newRS = created
	r.created = true
	return nil
}

// newRSReplicas is how many replicas the new ReplicaSet may have now.
func (r *deploymentSync) newRSReplicas() int32 {
	want := dReplicas(r.d)
	if r.d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		return want
	}
	var cur int32
	if r.newRS != nil {
		cur = rsReplicas(r.newRS)
	}
	surge, _, _ := maxSurgeAndUnavailable(r.d)
	// Pods an old ReplicaSet has not yet deleted after a scale-down count
	// too, so the pods that exist never exceed replicas + maxSurge.
	var total int32
	for _, rs := range r.allRSs() {
		total += max(rsReplicas(rs), rs.GetStatus().GetReplicas())
	}
	maxTotal := want + surge
	if total >= maxTotal {
		return cur
	}
	return cur + min(maxTotal-total, max(want-cur, 0))
}

// scaleRS sets rs's replicas (and replica annotations) to n.
func (r *deploymentSync) scaleRS(ctx context.Context, rs *appsv1.ReplicaSet, n int32) (bool, error) {
	surge, _, _ := maxSurgeAndUnavailable(r.d)
	desired := strconv.Itoa(int(dReplicas(r.d)))
	maxReplicas := strconv.Itoa(int(dReplicas(r.d) + surge))
	a := rs.GetMetadata().GetAnnotations()
	sizeChanged := rsReplicas(rs) != n
	if !sizeChanged && a[rollout.DesiredReplicasAnnotation] == desired && a[rollout.MaxReplicasAnnotation] == maxReplicas {
		return false, nil
	}
	cp := controller.Clone(rs)
	cp.Spec.Replicas = &n
	if cp.Metadata.Annotations == nil {
		cp.Metadata.Annotations = map[string]string{}
	}
	cp.Metadata.Annotations[rollout.DesiredReplicasAnnotation] = desired
	cp.Metadata.Annotations[rollout.MaxReplicasAnnotation] = maxReplicas
	out, err := r.c.cs.AppsV1().ReplicaSets(cp.GetMetadata().GetNamespace()).Update(ctx, cp)
	if err != nil {
		return false, fmt.Errorf("scaling replicaset %s to %d: %w", controller.KeyFunc(rs), n, err)
	}
	if sizeChanged {
		verb := "up"
		if n < rsReplicas(rs) {
			verb = "down"
		}
		r.c.rec.Event(r.d, client.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s to %d", verb, rs.GetMetadata().GetName(), n)
	}
	r.replace(out)
	return sizeChanged, nil
}

// rollingUpdate is one step of a RollingUpdate rollout.
func (r *deploymentSync) rollingUpdate(ctx context.Context) (controller.Result, error) {
	if err := r.syncRevision(ctx, true); err != nil {
		return controller.Result{}, err
	}
	scaledUp, err := r.reconcileNewRS(ctx)
	if err != nil || scaledUp {
		return r.syncRolloutStatus(ctx, err)
	}
	scaledDown, err := r.reconcileOldRSs(ctx)
	if err != nil || scaledDown {
		return r.syncRolloutStatus(ctx, err)
	}
	if complete(r.d, r.calculateStatus()) {
		if err := r.cleanup(ctx); err != nil {
			return r.syncRolloutStatus(ctx, err)
		}
	}
	return r.syncRolloutStatus(ctx, nil)
}

// reconcileNewRS scales the new ReplicaSet toward spec.replicas as far as
// maxSurge allows.
func (r *deploymentSync) reconcileNewRS(ctx context.Context) (bool, error) {
	if r.newRS == nil {
		return false, nil
	}
	want := dReplicas(r.d)
	cur := rsReplicas(r.newRS)
	switch {
	case cur == want:
		return false, nil
	case cur > want:
		return r.scaleRS(ctx, r.newRS, want)
	}
	return r.scaleRS(ctx, r.newRS, r.newRSReplicas())
}

// reconcileOldRSs scales old ReplicaSets down as far as maxUnavailable
// allows: their unavailable pods first, then available ones while the
// available pods stay at least spec.replicas - maxUnavailable.
func (r *deploymentSync) reconcileOldRSs(ctx context.Context) (bool, error) {
	if sumSpec(r.old) == 0 {
		return false, nil
	}
	_, maxUnavailable, err := maxSurgeAndUnavailable(r.d)
	if err != nil {
		return false, err
	}
	minAvailable := dReplicas(r.d) - maxUnavailable
	var newUnavailable int32
	if r.newRS != nil {
		newUnavailable = rsReplicas(r.newRS) - available(r.newRS)
	}
	maxScaledDown := sumSpec(r.allRSs()) - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return false, nil
	}
	old := append([]*appsv1.ReplicaSet(nil), r.old...)
	byCreation(old)
	// Unhealthy replicas of old ReplicaSets go first: losing them costs
	// no availability.
	var cleaned int32
	for _, rs := range old {
		if cleaned >= maxScaledDown {
			break
		}
		unhealthy := rsReplicas(rs) - available(rs)
		if rsReplicas(rs) == 0 || unhealthy <= 0 {
			continue
		}
		n := min(maxScaledDown-cleaned, unhealthy)
		if _, err := r.scaleRS(ctx, rs, rsReplicas(rs)-n); err != nil {
			return cleaned > 0, err
		}
		cleaned += n
	}
	// Then available ones, down to minAvailable.
	availableNow := sumAvailable(r.allRSs())
	if availableNow <= minAvailable {
		return cleaned > 0, nil
	}
	total := availableNow - minAvailable
	var scaled int32
	old = append(old[:0], r.old...)
	byCreation(old)
	for _, rs := range old {
		if scaled >= total {
			break
		}
		if rsReplicas(rs) == 0 {
			continue
		}
		n := min(rsReplicas(rs), total-scaled)
		if _, err := r.scaleRS(ctx, rs, rsReplicas(rs)-n); err != nil {
			return cleaned+scaled > 0, err
		}
		scaled += n
	}
	return cleaned+scaled > 0, nil
}

// recreate is one step of a Recreate rollout: old ReplicaSets to zero,
// wait for their pods to go, then the new one to spec.replicas.
func (r *deploymentSync) recreate(ctx context.Context) (controller.Result, error) {
	if err := r.syncRevision(ctx, false); err != nil {
		return controller.Result{}, err
	}
	scaledDown := false
	for _, rs := range r.old {
		if rsReplicas(rs) == 0 {
			continue
		}
		if _, err := r.scaleRS(ctx, rs, 0); err != nil {
			return r.syncRolloutStatus(ctx, err)
		}
		scaledDown = true
	}
	if scaledDown || r.oldPodsRunning() {
		return r.syncRolloutStatus(ctx, nil)
	}
	if r.newRS == nil {
		if err := r.syncRevision(ctx, true); err != nil {
			return r.syncRolloutStatus(ctx, err)
		}
	} else if rsReplicas(r.newRS) != dReplicas(r.d) {
		if _, err := r.scaleRS(ctx, r.newRS, dReplicas(r.d)); err != nil {
			return r.syncRolloutStatus(ctx, err)
		}
	}
	if complete(r.d, r.calculateStatus()) {
		if err := r.cleanup(ctx); err != nil {
			return r.syncRolloutStatus(ctx, err)
		}
	}
	return r.syncRolloutStatus(ctx, nil)
}

// oldPodsRunning reports whether any pod of an old ReplicaSet still
// exists and has not finished (terminating ones included).
func (r *deploymentSync) oldPodsRunning() bool {
	old := map[string]bool{}
	for _, rs := range r.old {
		if rs.GetStatus().GetReplicas() > 0 {
			return true
		}
		old[rs.GetMetadata().GetUid()] = true
	}
	for _, p := range r.c.pods.ListNamespace(r.d.GetMetadata().GetNamespace(), nil) {
		ref := controller.ControllerOf(p.GetMetadata())
		if ref == nil || !old[ref.GetUid()] {
			continue
		}
		if ph := p.GetStatus().GetPhase(); ph != "Succeeded" && ph != "Failed" {
			return true
		}
	}
	return false
}

// scaleOnly handles a paused Deployment or a change of spec.replicas
// alone: ReplicaSets are resized, proportionally while a rollout is under
// way, and no rollout step is taken.
func (r *deploymentSync) scaleOnly(ctx context.Context) (controller.Result, error) {
	if err := r.syncRevision(ctx, false); err != nil {
		return controller.Result{}, err
	}
	if err := r.scale(ctx); err != nil {
		return r.syncStatus(ctx, err)
	}
	if r.d.GetSpec().GetPaused() && complete(r.d, r.calculateStatus()) {
		if err := r.cleanup(ctx); err != nil {
			return r.syncStatus(ctx, err)
		}
	}
	return r.syncStatus(ctx, nil)
}

// scale resizes the ReplicaSets to a new spec.replicas.
func (r *deploymentSync) scale(ctx context.Context) error {
	want := dReplicas(r.d)
	var active []*appsv1.ReplicaSet
	for _, rs := range r.allRSs() {
		if rsReplicas(rs) > 0 {
			active = append(active, rs)
		}
	}
	// One ReplicaSet running (or none, then the newest): it takes all.
	if len(active) <= 1 {
		target := r.newRS
		if len(active) == 1 {
			target = active[0]
		} else if target == nil && len(r.old) > 0 {
			target = r.old[len(r.old)-1]
		}
		if target == nil {
			return nil
		}
		_, err := r.scaleRS(ctx, target, want)
		return err
	}
	// The new ReplicaSet is saturated: the old ones go.
	if r.newRS != nil && rsReplicas(r.newRS) == want && available(r.newRS) == want {
		for _, rs := range r.old {
			if _, err := r.scaleRS(ctx, rs, 0); err != nil {
				return err
			}
		}
		return nil
	}
	// Mid-rollout: spread the change in proportion to each ReplicaSet's
	// size, as Kubernetes' proportional scaling.
	surge, _, err := maxSurgeAndUnavailable(r.d)
	if err != nil {
		return err
	}
	allowed := want + surge
	toAdd := allowed - sumSpec(active)
	sort.SliceStable(active, func(i, j int) bool {
		a, b := rsReplicas(active[i]), rsReplicas(active[j])
		if a != b {
			if toAdd >= 0 {
				return a > b
			}
			return a < b
		}
		ta := active[i].GetMetadata().GetCreationTimestamp().AsTime()
		tb := active[j].GetMetadata().GetCreationTimestamp().AsTime()
		return ta.After(tb)
	})
	sizes := make([]int32, len(active))
	var added int32
	for i, rs := range active {
		p := proportion(rs, r.d, allowed, toAdd, added)
		sizes[i] = rsReplicas(rs) + p
		added += p
	}
	if len(active) > 0 && toAdd != added {
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	for i, rs := range active {
		if _, err := r.scaleRS(ctx, rs, max(sizes[i], 0)); err != nil {
			return err
		}
	}
	return nil
}

// proportion is rs's share of toAdd replicas (negative to remove).
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, allowed, toAdd, added int32) int32 {
	if rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	var fraction int32
	if dReplicas(d) == 0 {
		fraction = -rsReplicas(rs)
	} else {
		annotated, err := strconv.Atoi(rs.GetMetadata().GetAnnotations()[rollout.MaxReplicasAnnotation])
		if err != nil || annotated <= 0 {
			annotated = int(d.GetStatus().GetReplicas())
		}
		if annotated <= 0 {
			annotated = int(rsReplicas(rs))
		}
		size := float64(rsReplicas(rs)) * float64(allowed) / float64(annotated)
		fraction = int32(math.Round(size)) - rsReplicas(rs)
	}
	left := toAdd - added
	if toAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

// cleanup deletes the oldest empty old ReplicaSets beyond
// revisionHistoryLimit.
func (r *deploymentSync) cleanup(ctx context.Context) error {
	limit := int32(defaultRevisionHistoryLimit)
	if l := r.d.GetSpec().RevisionHistoryLimit; l != nil {
		limit = *l
	}
	diff := int32(len(r.old)) - limit
	if diff <= 0 {
		return nil
	}
	old := append([]*appsv1.ReplicaSet(nil), r.old...)
	sort.SliceStable(old, func(i, j int) bool {
		return revision(old[i].GetMetadata().GetAnnotations()) < revision(old[j].GetMetadata().GetAnnotations())
	})
	for _, rs := range old {
		if diff <= 0 {
			break
		}
		m := rs.GetMetadata()
		if rs.GetStatus().GetReplicas() != 0 || rsReplicas(rs) != 0 || m.GetGeneration() > rs.GetStatus().GetObservedGeneration() ||
			m.GetDeletionTimestamp() != nil {
			continue
		}
		err := r.c.cs.AppsV1().ReplicaSets(m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid()})
		if err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("deleting old replicaset %s: %w", controller.KeyFunc(rs), err)
		}
		diff--
	}
	return nil
}

// calculateStatus is the Deployment's status from its ReplicaSets'.
func (r *deploymentSync) calculateStatus() *appsv1.DeploymentStatus {
	all := r.allRSs()
	s := statusCopy(r.d)
	s.ObservedGeneration = r.d.GetMetadata().GetGeneration()
	s.Replicas, s.ReadyReplicas, s.AvailableReplicas, s.UpdatedReplicas = 0, 0, 0, 0
	for _, rs := range all {
		s.Replicas += rs.GetStatus().GetReplicas()
		s.ReadyReplicas += rs.GetStatus().GetReadyReplicas()
		s.AvailableReplicas += rs.GetStatus().GetAvailableReplicas()
	}
	if r.newRS != nil {
		s.UpdatedReplicas = r.newRS.GetStatus().GetReplicas()
	}
	s.UnavailableReplicas = max(sumSpec(all)-s.AvailableReplicas, 0)
	_, maxUnavailable, _ := maxSurgeAndUnavailable(r.d)
	now := r.c.now()
	if s.AvailableReplicas >= dReplicas(r.d)-maxUnavailable {
		setCondition(s, newCondition(ConditionAvailable, "True", ReasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(s, newCondition(ConditionAvailable, "False", ReasonMinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	if r.newRS != nil && condition(s, ConditionProgressing) == nil || r.created {
		reason, msg := ReasonFoundNewReplicaSet, fmt.Sprintf("Found new replica set %q", r.newRS.GetMetadata().GetName())
		if r.created {
			reason, msg = ReasonNewReplicaSetCreated, fmt.Sprintf("Created new replica set %q", r.newRS.GetMetadata().GetName())
		}
		setCondition(s, newCondition(ConditionProgressing, "True", reason, msg, now))
	}
	return s
}

// syncStatus writes the status without judging progress (paused,
// scaling, deleting).
func (r *deploymentSync) syncStatus(ctx context.Context, stepErr error) (controller.Result, error) {
	return controller.Result{}, errs(stepErr, r.writeStatus(ctx, r.calculateStatus()))
}

// syncStatusOnly is the sync of a Deployment being deleted.
func (r *deploymentSync) syncStatusOnly(ctx context.Context) (controller.Result, error) {
	if err := r.syncRevision(ctx, false); err != nil {
		return controller.Result{}, err
	}
	return r.syncStatus(ctx, nil)
}

// syncRolloutStatus writes the status with the Progressing condition: done,
// progressing, or past spec.progressDeadlineSeconds; it asks to be run
// again when the deadline would pass.
func (r *deploymentSync) syncRolloutStatus(ctx context.Context, stepErr error) (controller.Result, error) {
	s := r.calculateStatus()
	deadline := progressDeadline(r.d)
	cur := condition(r.d.GetStatus(), ConditionProgressing)
	done := s.GetReplicas() == s.GetUpdatedReplicas() && cur != nil && cur.GetReason() == ReasonNewReplicaSetAvailable
	now := r.c.now()
	name := ""
	if r.newRS != nil {
		name = r.newRS.GetMetadata().GetName()
	}
	var res controller.Result
	if deadline > 0 && !done && r.newRS != nil {
		switch {
		case complete(r.d, s):
			setCondition(s, newCondition(ConditionProgressing, "True", ReasonNewReplicaSetAvailable,
				fmt.Sprintf("ReplicaSet %q has successfully progressed.", name), now))
		case progressing(r.d.GetStatus(), s):
			c := newCondition(ConditionProgressing, "True", ReasonReplicaSetUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", name), now)
			if cur != nil && cur.GetStatus() == "True" {
				c.LastTransitionTime = cur.GetLastTransitionTime()
			}
			replaceCondition(s, c) // refreshes lastUpdateTime, which the deadline counts from
			res.RequeueAfter = deadline + time.Second
		case timedOut(s, deadline, now):
			setCondition(s, newCondition(ConditionProgressing, "False", ReasonProgressDeadlineExceeded,
				fmt.Sprintf("ReplicaSet %q has timed out progressing.", name), now))
		default:
			if c := condition(s, ConditionProgressing); c != nil && c.GetReason() != ReasonProgressDeadlineExceeded {
				res.RequeueAfter = c.GetLastUpdateTime().AsTime().Add(deadline).Sub(now) + time.Second
			}
		}
	}
	if stepErr != nil {
		res = controller.Result{}
	}
	return res, errs(stepErr, r.writeStatus(ctx, s))
}

// replaceCondition puts c in place of the condition of its type.
func replaceCondition(s *appsv1.DeploymentStatus, c *appsv1.DeploymentCondition) {
	var kept []*appsv1.DeploymentCondition
	for _, x := range s.GetConditions() {
		if x.GetType() != c.GetType() {
			kept = append(kept, x)
		}
	}
	s.Conditions = append(kept, c)
}

// timedOut reports whether the rollout made no progress for the deadline.
func timedOut(s *appsv1.DeploymentStatus, deadline time.Duration, now time.Time) bool {
	c := condition(s, ConditionProgressing)
	switch {
	case c == nil || c.GetReason() == ReasonNewReplicaSetAvailable:
		return false
	case c.GetReason() == ReasonProgressDeadlineExceeded:
		return true
	}
	return c.GetLastUpdateTime().AsTime().Add(deadline).Before(now)
}

// statusEqual compares statuses.
func statusEqual(a, b *appsv1.DeploymentStatus) bool { return proto.Equal(a, b) }
