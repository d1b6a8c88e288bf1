package validation

import (
	"google.golang.org/protobuf/proto"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

// Workload field values and defaults.
const (
	DeploymentStrategyRollingUpdate = "RollingUpdate"
	DeploymentStrategyRecreate      = "Recreate"

	DaemonSetStrategyRollingUpdate = "RollingUpdate"
	DaemonSetStrategyOnDelete      = "OnDelete"

	// DefaultMaxSurge and DefaultMaxUnavailable are a Deployment's rolling
	// update defaults.
	DefaultMaxSurge       = "25%"
	DefaultMaxUnavailable = "25%"
	// DefaultRevisionHistoryLimit is how many old ReplicaSets or revisions
	// a Deployment or DaemonSet keeps by default.
	DefaultRevisionHistoryLimit = 10
	// DefaultProgressDeadlineSeconds is how long a Deployment may make no
	// progress before it is reported as failed.
	DefaultProgressDeadlineSeconds = 600
)

var (
	deploymentStrategies = []string{DeploymentStrategyRecreate, DeploymentStrategyRollingUpdate}
	daemonSetStrategies  = []string{DaemonSetStrategyOnDelete, DaemonSetStrategyRollingUpdate}

	// workloadPodOptions is what ReplicaSet, Deployment and DaemonSet
	// templates allow: their pods always restart.
	workloadPodOptions = podSpecOptions{restartPolicies: []string{RestartPolicyAlways}}
)

// defaultTemplate fills the pod spec defaults of a workload's template.
func defaultTemplate(t *corev1.PodTemplateSpec, keepRestartPolicy bool) {
	if t != nil {
		defaultPodSpec(t.Spec, keepRestartPolicy)
	}
}

// validateWorkloadSelector checks that a workload has a non-empty, valid
// selector that selects the pods its template makes.
func validateWorkloadSelector(sel *metav1.LabelSelector, tmpl *corev1.PodTemplateSpec, kind string, p *field.Path) field.ErrorList {
	sp := p.Child("selector")
	switch {
	case sel == nil:
		return field.ErrorList{field.Required(sp, "")}
	case isEmptySelector(sel):
		return field.ErrorList{field.Invalid(sp, "{}", "empty selector is invalid for "+kind)}
	}
	if errs := validateLabelSelector(sel, sp); len(errs) > 0 {
		return errs
	}
	if tmpl == nil {
		return nil
	}
	return selectorMatchesTemplate(sel, tmpl.GetMetadata().GetLabels(), p.Child("template", "metadata", "labels"))
}

// validateWorkloadTemplate checks the pod template of a ReplicaSet,
// Deployment or DaemonSet.
func validateWorkloadTemplate(t *corev1.PodTemplateSpec, kind string, p *field.Path) field.ErrorList {
	errs := validatePodTemplateSpec(t, p, workloadPodOptions)
	if s := t.GetSpec(); s != nil && s.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(p.Child("spec", "activeDeadlineSeconds"), *s.ActiveDeadlineSeconds,
			"activeDeadlineSeconds in "+kind+" is not Supported"))
	}
	return errs
}

// validateSelectorUnchanged reports a changed selector; apps/v1 selectors
// are immutable.
func validateSelectorUnchanged(newSel, oldSel *metav1.LabelSelector, p *field.Path) field.ErrorList {
	if proto.Equal(newSel, oldSel) {
		return nil
	}
	return field.ErrorList{field.Immutable(p, labels.FormatLabelSelector(newSel))}
}

// validateStatusCounts reports negative status counts.
func validateStatusCounts(p *field.Path, counts map[string]int32) field.ErrorList {
	var errs field.ErrorList
	for _, k := range sortedKeys(counts) {
		errs = append(errs, validateNonnegative(int64(counts[k]), p.Child(k))...)
	}
	return errs
}

// validateNotGreater reports a status count above another ("readyReplicas
// cannot be greater than status.replicas").
func validateNotGreater(p *field.Path, name string, v int32, otherName string, other int32) field.ErrorList {
	if v > other {
		return field.ErrorList{field.Invalid(p.Child(name), v, "cannot be greater than status."+otherName)}
	}
	return nil
}

// ---------------------------------------------------------------- ReplicaSet

// DefaultReplicaSet fills a ReplicaSet's defaults: replicas 1 and the pod
// spec defaults of its template.
func DefaultReplicaSet(rs *appsv1.ReplicaSet) {
	if rs == nil {
		return
	}
	if rs.Spec == nil {
		rs.Spec = &appsv1.ReplicaSetSpec{}
	}
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = new(int32(1))
	}
	defaultTemplate(rs.Spec.Template, false)
}

// ValidateReplicaSet checks a new ReplicaSet.
func ValidateReplicaSet(rs *appsv1.ReplicaSet) field.ErrorList {
	errs := validateObjectMeta(rs.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	s := rs.GetSpec()
	if s == nil {
		return append(errs, field.Required(specPath, ""))
	}
	errs = append(errs, validateOptionalNonnegative(s.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template, "replicaset", specPath)...)
	return append(errs, validateWorkloadTemplate(s.Template, "ReplicaSet", specPath.Child("template"))...)
}

// ValidateReplicaSetUpdate checks a ReplicaSet update: its selector may not
// change.
func ValidateReplicaSetUpdate(newObj, old *appsv1.ReplicaSet) field.ErrorList {
	errs := ValidateReplicaSet(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	return append(errs, validateSelectorUnchanged(newObj.GetSpec().GetSelector(), old.GetSpec().GetSelector(), specPath.Child("selector"))...)
}

// ValidateReplicaSetStatusUpdate checks an update through the status
// subresource: counts are not negative and consistent.
func ValidateReplicaSetStatusUpdate(newObj, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsSubdomainName)
	st := newObj.GetStatus()
	if st == nil {
		return errs
	}
	errs = append(errs, validateStatusCounts(statusPath, map[string]int32{
		"replicas": st.Replicas, "fullyLabeledReplicas": st.FullyLabeledReplicas, "readyReplicas": st.ReadyReplicas,
		"availableReplicas": st.AvailableReplicas, "observedGeneration": st.ObservedGeneration,
	})...)
	errs = append(errs, validateNotGreater(statusPath, "fullyLabeledReplicas", st.FullyLabeledReplicas, "replicas", st.Replicas)...)
	errs = append(errs, validateNotGreater(statusPath, "readyReplicas", st.ReadyReplicas, "replicas", st.Replicas)...)
	errs = append(errs, validateNotGreater(statusPath, "availableReplicas", st.AvailableReplicas, "replicas", st.Replicas)...)
	return append(errs, validateNotGreater(statusPath, "availableReplicas", st.AvailableReplicas, "readyReplicas", st.ReadyReplicas)...)
}

// ---------------------------------------------------------------- Deployment

// DefaultDeployment fills a Deployment's defaults: replicas 1, strategy
// RollingUpdate with maxSurge and maxUnavailable 25%, revisionHistoryLimit
// 10, progressDeadlineSeconds 600 and the pod spec defaults of its template.
func DefaultDeployment(d *appsv1.Deployment) {
	if d == nil {
		return
	}
	if d.Spec == nil {
		d.Spec = &appsv1.DeploymentSpec{}
	}
	s := d.Spec
	if s.Replicas == nil {
		s.Replicas = new(int32(1))
	}
	if s.Strategy == nil {
		s.Strategy = &appsv1.DeploymentStrategy{}
	}
	if s.Strategy.Type == "" {
		s.Strategy.Type = DeploymentStrategyRollingUpdate
	}
	if s.Strategy.Type == DeploymentStrategyRollingUpdate {
		if s.Strategy.RollingUpdate == nil {
			s.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.Strategy.RollingUpdate.MaxSurge == "" {
			s.Strategy.RollingUpdate.MaxSurge = DefaultMaxSurge
		}
		if s.Strategy.RollingUpdate.MaxUnavailable == "" {
			s.Strategy.RollingUpdate.MaxUnavailable = DefaultMaxUnavailable
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = new(int32(DefaultRevisionHistoryLimit))
	}
	if s.ProgressDeadlineSeconds == nil {
		s.ProgressDeadlineSeconds = new(int32(DefaultProgressDeadlineSeconds))
	}
	defaultTemplate(s.Template, false)
}

// ValidateDeployment checks a new Deployment.
func ValidateDeployment(d *appsv1.Deployment) field.ErrorList {
	errs := validateObjectMeta(d.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	s := d.GetSpec()
	if s == nil {
		return append(errs, field.Required(specPath, ""))
	}
	errs = append(errs, validateOptionalNonnegative(s.Replicas, specPath.Child("replicas"))...)
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template, "deployment", specPath)...)
	errs = append(errs, validateWorkloadTemplate(s.Template, "Deployment", specPath.Child("template"))...)
	errs = append(errs, validateDeploymentStrategy(s.Strategy, specPath.Child("strategy"))...)
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	errs = append(errs, validateOptionalNonnegative(s.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
	if pd := s.ProgressDeadlineSeconds; pd != nil {
		pp := specPath.Child("progressDeadlineSeconds")
		if e := validateNonnegative(int64(*pd), pp); len(e) > 0 {
			errs = append(errs, e...)
		} else if *pd <= s.MinReadySeconds {
			errs = append(errs, field.Invalid(pp, *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateDeploymentStrategy checks the strategy type and rolling update
// parameters.
func validateDeploymentStrategy(st *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	if st == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateEnum(st.Type, deploymentStrategies, p.Child("type"))
	rp := p.Child("rollingUpdate")
	switch st.Type {
	case DeploymentStrategyRecreate:
		if st.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(rp, "may not be specified when strategy `type` is 'Recreate'"))
		}
	case DeploymentStrategyRollingUpdate:
		ru := st.RollingUpdate
		if ru == nil {
			return append(errs, field.Required(rp, "this should be defaulted and never be nil"))
		}
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
		errs = append(errs, validateNotMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
		if isZeroIntOrPercent(ru.MaxUnavailable) && isZeroIntOrPercent(ru.MaxSurge) {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
	}
	return errs
}

// ValidateDeploymentUpdate checks a Deployment update: its selector may not
// change.
func ValidateDeploymentUpdate(newObj, old *appsv1.Deployment) field.ErrorList {
	errs := ValidateDeployment(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	return append(errs, validateSelectorUnchanged(newObj.GetSpec().GetSelector(), old.GetSpec().GetSelector(), specPath.Child("selector"))...)
}

// ValidateDeploymentStatusUpdate checks an update through the status
// subresource: counts are not negative and consistent.
func ValidateDeploymentStatusUpdate(newObj, old *appsv1.Deployment) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsSubdomainName)
	st := newObj.GetStatus()
	if st == nil {
		return errs
	}
	errs = append(errs, validateStatusCounts(statusPath, map[string]int32{
		"observedGeneration": st.ObservedGeneration, "replicas": st.Replicas, "updatedReplicas": st.UpdatedReplicas,
		"readyReplicas": st.ReadyReplicas, "availableReplicas": st.AvailableReplicas, "unavailableReplicas": st.UnavailableReplicas,
	})...)
	errs = append(errs, validateOptionalNonnegative(st.CollisionCount, statusPath.Child("collisionCount"))...)
	errs = append(errs, validateNotGreater(statusPath, "updatedReplicas", st.UpdatedReplicas, "replicas", st.Replicas)...)
	errs = append(errs, validateNotGreater(statusPath, "readyReplicas", st.ReadyReplicas, "replicas", st.Replicas)...)
	errs = append(errs, validateNotGreater(statusPath, "availableReplicas", st.AvailableReplicas, "replicas", st.Replicas)...)
	return append(errs, validateNotGreater(statusPath, "availableReplicas", st.AvailableReplicas, "readyReplicas", st.ReadyReplicas)...)
}

// ---------------------------------------------------------------- DaemonSet

// DefaultDaemonSet fills a DaemonSet's defaults: updateStrategy
// RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit
// 10 and the pod spec defaults of its template.
func DefaultDaemonSet(ds *appsv1.DaemonSet) {
	if ds == nil {
		return
	}
	if ds.Spec == nil {
		ds.Spec = &appsv1.DaemonSetSpec{}
	}
	s := ds.Spec
	if s.UpdateStrategy == nil {
		s.UpdateStrategy = &appsv1.DaemonSetUpdateStrategy{}
	}
	if s.UpdateStrategy.Type == "" {
		s.UpdateStrategy.Type = DaemonSetStrategyRollingUpdate
	}
	if s.UpdateStrategy.Type == DaemonSetStrategyRollingUpdate {
		if s.UpdateStrategy.RollingUpdate == nil {
			s.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if s.UpdateStrategy.RollingUpdate.MaxUnavailable == "" {
			s.UpdateStrategy.RollingUpdate.MaxUnavailable = "1"
		}
		if s.UpdateStrategy.RollingUpdate.MaxSurge == "" {
			s.UpdateStrategy.RollingUpdate.MaxSurge = "0"
		}
	}
	if s.RevisionHistoryLimit == nil {
		s.RevisionHistoryLimit = new(int32(DefaultRevisionHistoryLimit))
	}
	defaultTemplate(s.Template, false)
}

// ValidateDaemonSet checks a new DaemonSet.
func ValidateDaemonSet(ds *appsv1.DaemonSet) field.ErrorList {
	errs := validateObjectMeta(ds.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	s := ds.GetSpec()
	if s == nil {
		return append(errs, field.Required(specPath, ""))
	}
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template, "daemonset", specPath)...)
	errs = append(errs, validateWorkloadTemplate(s.Template, "DaemonSet", specPath.Child("template"))...)
	errs = append(errs, validateDaemonSetUpdateStrategy(s.UpdateStrategy, specPath.Child("updateStrategy"))...)
	errs = append(errs, validateNonnegative(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	return append(errs, validateOptionalNonnegative(s.RevisionHistoryLimit, specPath.Child("revisionHistoryLimit"))...)
}

// validateDaemonSetUpdateStrategy checks the update strategy: with
// RollingUpdate, exactly one of maxUnavailable and maxSurge is non-zero.
func validateDaemonSetUpdateStrategy(st *appsv1.DaemonSetUpdateStrategy, p *field.Path) field.ErrorList {
	if st == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	errs := validateEnum(st.Type, daemonSetStrategies, p.Child("type"))
	if st.Type != DaemonSetStrategyRollingUpdate {
		return errs
	}
	rp := p.Child("rollingUpdate")
	ru := st.RollingUpdate
	if ru == nil {
		return append(errs, field.Required(rp, "this should be defaulted and never be nil"))
	}
	errs = append(errs, validatePositiveIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
	errs = append(errs, validateNotMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	errs = append(errs, validateNotMoreThan100Percent(ru.MaxSurge, rp.Child("maxSurge"))...)
	hasUnavailable, hasSurge := !isZeroIntOrPercent(ru.MaxUnavailable), !isZeroIntOrPercent(ru.MaxSurge)
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(rp.Child("maxSurge"), ru.MaxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
	}
	return errs
}

// ValidateDaemonSetUpdate checks a DaemonSet update: its selector may not
// change.
func ValidateDaemonSetUpdate(newObj, old *appsv1.DaemonSet) field.ErrorList {
	errs := ValidateDaemonSet(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	return append(errs, validateSelectorUnchanged(newObj.GetSpec().GetSelector(), old.GetSpec().GetSelector(), specPath.Child("selector"))...)
}

// ValidateDaemonSetStatusUpdate checks an update through the status
// subresource: counts are not negative.
func ValidateDaemonSetStatusUpdate(newObj, old *appsv1.DaemonSet) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsSubdomainName)
	st := newObj.GetStatus()
	if st == nil {
		return errs
	}
	errs = append(errs, validateStatusCounts(statusPath, map[string]int32{
		"currentNumberScheduled": st.CurrentNumberScheduled, "numberMisscheduled": st.NumberMisscheduled,
		"desiredNumberScheduled": st.DesiredNumberScheduled, "numberReady": st.NumberReady,
		"observedGeneration": st.ObservedGeneration, "updatedNumberScheduled": st.UpdatedNumberScheduled,
		"numberAvailable": st.NumberAvailable, "numberUnavailable": st.NumberUnavailable,
	})...)
	return append(errs, validateOptionalNonnegative(st.CollisionCount, statusPath.Child("collisionCount"))...)
}

// ---------------------------------------------------------------- Scale

// ValidateScale checks a Scale written to a Deployment's or ReplicaSet's
// /scale subresource.
func ValidateScale(s *appsv1.Scale) field.ErrorList {
	return validateNonnegative(int64(s.GetSpec().GetReplicas()), specPath.Child("replicas"))
}
