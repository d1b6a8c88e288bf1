package validation

import (
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	PodUnknown   = "Unknown"
)

var (
	specPath   = field.NewPath("spec")
	statusPath = field.NewPath("status")

	podPhases        = []string{PodPending, PodRunning, PodSucceeded, PodFailed, PodUnknown}
	conditionStatus  = []string{"True", "False", "Unknown"}
	podConditionType = []string{"PodScheduled", "Initialized", "ContainersReady", "Ready", "DisruptionTarget", "PodReadyToStartContainers"}
)

// podUpdateForbiddenMsg is what a user sees when a pod update changes more
// than Kubernetes lets a pod change.
const podUpdateForbiddenMsg = "pod updates may not change fields other than `spec.containers[*].image`, " +
	"`spec.initContainers[*].image`, `spec.activeDeadlineSeconds` and `spec.tolerations` (only additions to existing tolerations)"

// DefaultPod fills a pod's defaults: the pod spec defaults (restartPolicy
// Always, terminationGracePeriodSeconds 30, dnsPolicy ClusterFirst,
// schedulerName default-scheduler, container pull policies, port protocols,
// probe timings, toleration operators) and container requests copied from
// limits where unset.
func DefaultPod(p *corev1.Pod) {
	if p == nil {
		return
	}
	if p.Spec == nil {
		p.Spec = &corev1.PodSpec{}
	}
	defaultPodSpec(p.Spec, false)
	defaultPodRequests(p.Spec)
}

// ValidatePod checks a new pod.
func ValidatePod(p *corev1.Pod) field.ErrorList {
	errs := validateObjectMeta(p.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	return append(errs, validatePodSpec(p.GetSpec(), specPath, podOptions)...)
}

// ValidatePodUpdate checks an update of a pod's metadata and spec. A pod's
// spec is fixed once created, except container images,
// activeDeadlineSeconds (set, or lowered) and tolerations (added). The
// node a pod runs on is set by binding, never by update.
func ValidatePodUpdate(newObj, old *corev1.Pod) field.ErrorList {
	errs := ValidatePod(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	newSpec, oldSpec := newObj.GetSpec(), old.GetSpec()
	if newSpec == nil || oldSpec == nil {
		return errs
	}
	if len(newSpec.Containers) != len(oldSpec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(newSpec.InitContainers) != len(oldSpec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	if oldDeadline := oldSpec.ActiveDeadlineSeconds; oldDeadline != nil {
		adp := specPath.Child("activeDeadlineSeconds")
		switch newDeadline := newSpec.ActiveDeadlineSeconds; {
		case newDeadline == nil:
			errs = append(errs, field.Invalid(adp, "null", "must not update from a positive integer to nil value"))
		case *newDeadline > *oldDeadline:
			errs = append(errs, field.Invalid(adp, *newDeadline, "must be less than or equal to previous value"))
		}
	}
	errs = append(errs, validateOnlyAddedTolerations(newSpec.Tolerations, oldSpec.Tolerations, specPath.Child("tolerations"))...)

	// Apply the allowed changes to a copy of the old spec; anything else
	// that differs is a forbidden change.
	munged := proto.Clone(oldSpec).(*corev1.PodSpec)
	for i, c := range munged.Containers {
		if c != nil && newSpec.Containers[i] != nil {
			c.Image = newSpec.Containers[i].Image
		}
	}
	for i, c := range munged.InitContainers {
		if c != nil && newSpec.InitContainers[i] != nil {
			c.Image = newSpec.InitContainers[i].Image
		}
	}
	munged.ActiveDeadlineSeconds = newSpec.ActiveDeadlineSeconds
	munged.Tolerations = newSpec.Tolerations
	if changed := diffPaths(munged, newSpec, specPath); len(changed) > 0 {
		errs = append(errs, field.Forbidden(specPath, podUpdateForbiddenMsg+"; changed: "+strings.Join(changed, ", ")))
	}
	return errs
}

// validateOnlyAddedTolerations checks that every old toleration is still
// there; only tolerationSeconds may change.
func validateOnlyAddedTolerations(newTols, oldTols []*corev1.Toleration, p *field.Path) field.ErrorList {
	for _, o := range oldTols {
		found := false
		for _, n := range newTols {
			if n == nil || o == nil {
				found = found || n == o
				continue
			}
			c := proto.Clone(o).(*corev1.Toleration)
			c.TolerationSeconds = n.TolerationSeconds
			if proto.Equal(c, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// ValidatePodStatusUpdate checks an update through the status subresource:
// metadata rules, a known phase that does not leave Succeeded or Failed,
// valid IPs and conditions.
func ValidatePodStatusUpdate(newObj, old *corev1.Pod) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsSubdomainName)
	st := newObj.GetStatus()
	if st == nil {
		return errs
	}
	errs = append(errs, validateOptionalEnum(st.Phase, podPhases, statusPath.Child("phase"))...)
	if oldPhase := old.GetStatus().GetPhase(); (oldPhase == PodSucceeded || oldPhase == PodFailed) && st.Phase != oldPhase {
		errs = append(errs, field.Forbidden(statusPath.Child("phase"),
			"may not transition from terminal phase "+oldPhase+" to "+st.Phase))
	}
	if st.NominatedNodeName != "" {
		errs = append(errs, validateDNSSubdomain(st.NominatedNodeName, statusPath.Child("nominatedNodeName"))...)
	}
	if st.HostIp != "" {
		errs = append(errs, validateIP(st.HostIp, statusPath.Child("hostIP"))...)
	}
	if st.PodIp != "" {
		errs = append(errs, validateIP(st.PodIp, statusPath.Child("podIP"))...)
	}
	for i, ip := range st.PodIps {
		errs = append(errs, validateIP(ip.GetIp(), statusPath.Child("podIPs").Index(i).Child("ip"))...)
	}
	for i, c := range st.Conditions {
		cp := statusPath.Child("conditions").Index(i)
		errs = append(errs, validateEnum(c.GetType(), podConditionType, cp.Child("type"))...)
		errs = append(errs, validateEnum(c.GetStatus(), conditionStatus, cp.Child("status"))...)
	}
	for _, list := range []struct {
		statuses []*corev1.ContainerStatus
		name     string
	}{{st.InitContainerStatuses, "initContainerStatuses"}, {st.ContainerStatuses, "containerStatuses"}} {
		for i, cs := range list.statuses {
			cp := statusPath.Child(list.name).Index(i)
			if cs.GetName() == "" {
				errs = append(errs, field.Required(cp.Child("name"), ""))
			}
			errs = append(errs, validateNonnegative(int64(cs.GetRestartCount()), cp.Child("restartCount"))...)
		}
	}
	return errs
}

// ValidatePodBinding checks a binding posted to pods/{name}/binding: it
// must name a target node.
func ValidatePodBinding(b *corev1.Binding) field.ErrorList {
	tp := field.NewPath("target")
	t := b.GetTarget()
	if t == nil {
		return field.ErrorList{field.Required(tp, "")}
	}
	var errs field.ErrorList
	if t.Kind != "" && t.Kind != "Node" {
		errs = append(errs, field.NotSupported(tp.Child("kind"), t.Kind, []string{"Node", "<empty>"}))
	}
	if t.Name == "" {
		errs = append(errs, field.Required(tp.Child("name"), ""))
	} else {
		errs = append(errs, validateDNSSubdomain(t.Name, tp.Child("name"))...)
	}
	return errs
}

// validatePodTemplateSpec checks a workload's pod template: its labels and
// annotations, and its pod spec as opts allow.
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, p *field.Path, opts podSpecOptions) field.ErrorList {
	if t == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	mp := p.Child("metadata")
	errs := validateLabels(t.GetMetadata().GetLabels(), mp.Child("labels"))
	errs = append(errs, validateAnnotations(t.GetMetadata().GetAnnotations(), mp.Child("annotations"))...)
	return append(errs, validatePodSpec(t.Spec, p.Child("spec"), opts)...)
}
