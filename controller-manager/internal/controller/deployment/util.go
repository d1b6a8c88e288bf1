package deployment

import (
	"fmt"
	"sort"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/intstr"
	"skiff.dev/proto/rollout"
)

// Strategy types and defaults, as Kubernetes'.
const (
	RecreateStrategy      = "Recreate"
	RollingUpdateStrategy = "RollingUpdate"

	defaultMaxSurge             = "25%"
	defaultMaxUnavailable       = "25%"
	defaultRevisionHistoryLimit = 10
)

// Condition types and reasons, as Kubernetes'.
const (
	ConditionAvailable   = "Available"
	ConditionProgressing = "Progressing"

	ReasonMinimumReplicasAvailable   = "MinimumReplicasAvailable"
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	ReasonNewReplicaSetCreated       = "NewReplicaSetCreated"
	ReasonFoundNewReplicaSet         = "FoundNewReplicaSet"
	ReasonReplicaSetUpdated          = "ReplicaSetUpdated"
	ReasonNewReplicaSetAvailable     = "NewReplicaSetAvailable"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	ReasonDeploymentPaused           = "DeploymentPaused"
	ReasonDeploymentResumed          = "DeploymentResumed"
	ReasonFailedCreate               = "ReplicaSetCreateError"
)

func replicasOf(p *int32) int32 {
	if p != nil {
		return *p
	}
	return 1
}

func dReplicas(d *appsv1.Deployment) int32   { return replicasOf(d.GetSpec().Replicas) }
func rsReplicas(rs *appsv1.ReplicaSet) int32 { return replicasOf(rs.GetSpec().Replicas) }

// revision reads a revision annotation; a missing or bad one is 0.
func revision(annotations map[string]string) int64 {
	v, _ := rollout.Revision(annotations)
	return v
}

// maxSurgeAndUnavailable resolves the rolling update parameters against
// the replica count as Kubernetes' ResolveFenceposts: surge rounds up,
// unavailable down, and both zero makes unavailable 1.
func maxSurgeAndUnavailable(d *appsv1.Deployment) (surge, unavailable int32, err error) {
	if d.GetSpec().GetStrategy().GetType() == RecreateStrategy {
		return 0, 0, nil
	}
	ru := d.GetSpec().GetStrategy().GetRollingUpdate()
	s, u := ru.GetMaxSurge(), ru.GetMaxUnavailable()
	if s == "" {
		s = defaultMaxSurge
	}
	if u == "" {
		u = defaultMaxUnavailable
	}
	n := int(dReplicas(d))
	sv, err := intstr.ScaledValueFromIntOrPercent(s, n, true)
	if err != nil {
		return 0, 0, fmt.Errorf("spec.strategy.rollingUpdate.maxSurge: %w", err)
	}
	uv, err := intstr.ScaledValueFromIntOrPercent(u, n, false)
	if err != nil {
		return 0, 0, fmt.Errorf("spec.strategy.rollingUpdate.maxUnavailable: %w", err)
	}
	if sv == 0 && uv == 0 {
		uv = 1
	}
	return int32(sv), int32(min(uv, n)), nil
}

// available is the ReplicaSet's available pods as far as the Deployment
// may count on them: a status not yet updated after a scale-down can
// report more than the spec allows, and those extra pods are going.
func available(rs *appsv1.ReplicaSet) int32 {
	return min(rs.GetStatus().GetAvailableReplicas(), rsReplicas(rs))
}

func sumSpec(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += rsReplicas(rs)
		}
	}
	return n
}

func sumAvailable(rss []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range rss {
		if rs != nil {
			n += available(rs)
		}
	}
	return n
}

// byCreation sorts ReplicaSets oldest first (then by name).
func byCreation(rss []*appsv1.ReplicaSet) {
	sort.SliceStable(rss, func(i, j int) bool {
		a, b := rss[i].GetMetadata(), rss[j].GetMetadata()
		ta, tb := a.GetCreationTimestamp().AsTime(), b.GetCreationTimestamp().AsTime()
		if !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.GetName() < b.GetName()
	})
}

// condition returns the condition of type t, or nil.
func condition(s *appsv1.DeploymentStatus, t string) *appsv1.DeploymentCondition {
	for _, c := range s.GetConditions() {
		if c.GetType() == t {
			return c
		}
	}
	return nil
}

// setCondition puts c into s, keeping the last transition time when the
// status does not change, and the whole condition (with its update time)
// when nothing changes at all.
func setCondition(s *appsv1.DeploymentStatus, c *appsv1.DeploymentCondition) {
	old := condition(s, c.Type)
	if old != nil && old.GetStatus() == c.GetStatus() && old.GetReason() == c.GetReason() && old.GetMessage() == c.GetMessage() {
		return
	}
	if old != nil && old.GetStatus() == c.GetStatus() {
		c.LastTransitionTime = old.GetLastTransitionTime()
	}
	var kept []*appsv1.DeploymentCondition
	for _, x := range s.GetConditions() {
		if x.GetType() != c.Type {
			kept = append(kept, x)
		}
	}
	s.Conditions = append(kept, c)
}

func newCondition(t, status, reason, message string, now time.Time) *appsv1.DeploymentCondition {
	ts := timestamppb.New(now)
	return &appsv1.DeploymentCondition{Type: t, Status: status, Reason: reason, Message: message,
		LastUpdateTime: ts, LastTransitionTime: ts}
}

// complete reports whether the rollout is done: every replica updated
// and available and nothing old left, as Kubernetes' DeploymentComplete.
func complete(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	n := dReplicas(d)
	return s.GetUpdatedReplicas() == n && s.GetReplicas() == n && s.GetAvailableReplicas() == n &&
		s.GetObservedGeneration() >= d.GetMetadata().GetGeneration()
}

// progressing reports whether the rollout moved since the old status.
func progressing(old, cur *appsv1.DeploymentStatus) bool {
	oldStale := old.GetReplicas() - old.GetUpdatedReplicas()
	curStale := cur.GetReplicas() - cur.GetUpdatedReplicas()
	return cur.GetUpdatedReplicas() > old.GetUpdatedReplicas() || curStale < oldStale ||
		cur.GetReadyReplicas() > old.GetReadyReplicas() || cur.GetAvailableReplicas() > old.GetAvailableReplicas()
}

// progressDeadline is spec.progressDeadlineSeconds, or 0 when unset.
func progressDeadline(d *appsv1.Deployment) time.Duration {
	if p := d.GetSpec().ProgressDeadlineSeconds; p != nil && *p > 0 {
		return time.Duration(*p) * time.Second
	}
	return 0
}
