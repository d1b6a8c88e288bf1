package validation

import (
	"maps"
	"strings"

	"google.golang.org/protobuf/proto"

	batchv1 "skiff.dev/proto/batch/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

// Job field values and defaults.
const (
	CompletionModeNonIndexed = "NonIndexed"
	CompletionModeIndexed    = "Indexed"

	// DefaultBackoffLimit is how many times a Job retries failed pods.
	DefaultBackoffLimit = 6

	// The labels GenerateJobSelector puts on a Job's pods, as Kubernetes
	// names them (the legacy unprefixed ones too).
	JobControllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	JobNameLabel                = "batch.kubernetes.io/job-name"
	LegacyJobControllerUIDLabel = "controller-uid"
	LegacyJobNameLabel          = "job-name"
)

var (
	completionModes = []string{CompletionModeNonIndexed, CompletionModeIndexed}
	jobPodOptions   = podSpecOptions{restartPolicies: []string{RestartPolicyOnFailure, RestartPolicyNever}}
)

// DefaultJob fills a Job's defaults: parallelism 1 (and completions 1 when
// neither is given), backoffLimit 6, completionMode NonIndexed, suspend
// false, the Job's labels from its template when it has none, and the pod
// spec defaults of its template except restartPolicy, which a Job's
// template must give.
func DefaultJob(j *batchv1.Job) {
	if j == nil {
		return
	}
	if j.Spec == nil {
		j.Spec = &batchv1.JobSpec{}
	}
	s := j.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = new(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = new(int32(1))
	}
	if s.BackoffLimit == nil {
		s.BackoffLimit = new(int32(DefaultBackoffLimit))
	}
	if s.CompletionMode == "" {
		s.CompletionMode = CompletionModeNonIndexed
	}
	if s.Suspend == nil {
		s.Suspend = new(false)
	}
	if tl := s.GetTemplate().GetMetadata().GetLabels(); len(tl) > 0 && len(j.GetMetadata().GetLabels()) == 0 {
		if j.Metadata == nil {
			j.Metadata = &metav1.ObjectMeta{}
		}
		j.Metadata.Labels = maps.Clone(tl)
	}
	defaultTemplate(s.Template, true)
}

// GenerateJobSelector gives a Job whose manualSelector is not true the
// selector Kubernetes generates: its pods get the controller-uid and
// job-name labels, and the selector matches the controller-uid label. The
// Job's metadata.uid must be set; call it when preparing a Job for
// creation, before validation.
func GenerateJobSelector(j *batchv1.Job) {
	s := j.GetSpec()
	if s == nil || s.GetManualSelector() {
		return
	}
	if s.Template == nil {
		s.Template = &corev1.PodTemplateSpec{}
	}
	if s.Template.Metadata == nil {
		s.Template.Metadata = &metav1.ObjectMeta{}
	}
	if s.Template.Metadata.Labels == nil {
		s.Template.Metadata.Labels = map[string]string{}
	}
	tl := s.Template.Metadata.Labels
	uid, name := j.GetMetadata().GetUid(), j.GetMetadata().GetName()
	for k, v := range map[string]string{
		LegacyJobNameLabel: name, JobNameLabel: name,
		LegacyJobControllerUIDLabel: uid, JobControllerUIDLabel: uid,
	} {
		if _, ok := tl[k]; !ok {
			tl[k] = v
		}
	}
	if s.Selector == nil {
		s.Selector = &metav1.LabelSelector{}
	}
	if s.Selector.MatchLabels == nil {
		s.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := s.Selector.MatchLabels[JobControllerUIDLabel]; !ok {
		s.Selector.MatchLabels[JobControllerUIDLabel] = uid
	}
}

// ValidateJob checks a new Job.
func ValidateJob(j *batchv1.Job) field.ErrorList {
	errs := validateObjectMeta(j.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	s := j.GetSpec()
	if s == nil {
		return append(errs, field.Required(specPath, ""))
	}
	errs = append(errs, validateOptionalNonnegative(s.Parallelism, specPath.Child("parallelism"))...)
	errs = append(errs, validateOptionalNonnegative(s.Completions, specPath.Child("completions"))...)
	errs = append(errs, validateOptionalNonnegative(s.ActiveDeadlineSeconds, specPath.Child("activeDeadlineSeconds"))...)
	errs = append(errs, validateOptionalNonnegative(s.BackoffLimit, specPath.Child("backoffLimit"))...)
	errs = append(errs, validateOptionalNonnegative(s.TtlSecondsAfterFinished, specPath.Child("ttlSecondsAfterFinished"))...)
	errs = append(errs, validateEnum(s.CompletionMode, completionModes, specPath.Child("completionMode"))...)
	if s.CompletionMode == CompletionModeIndexed && s.Completions == nil {
		errs = append(errs, field.Required(specPath.Child("completions"), "when completion mode is Indexed"))
	}
	errs = append(errs, validateWorkloadSelector(s.Selector, s.Template, "job", specPath)...)
	return append(errs, validatePodTemplateSpec(s.Template, specPath.Child("template"), jobPodOptions)...)
}

// ValidateJobUpdate checks a Job update: its selector, template,
// completions and completion mode may not change; parallelism,
// activeDeadlineSeconds, backoffLimit, suspend and ttlSecondsAfterFinished
// may.
func ValidateJobUpdate(newObj, old *batchv1.Job) field.ErrorList {
	errs := ValidateJob(newObj)
	errs = append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
	newSpec, oldSpec := newObj.GetSpec(), old.GetSpec()
	if newSpec == nil || oldSpec == nil {
		return errs
	}
	errs = append(errs, validateSelectorUnchanged(newSpec.Selector, oldSpec.Selector, specPath.Child("selector"))...)
	if !proto.Equal(newSpec.Template, oldSpec.Template) && newSpec.Template != nil && oldSpec.Template != nil {
		tp := specPath.Child("template")
		errs = append(errs, field.Immutable(tp, strings.Join(diffPaths(newSpec.Template, oldSpec.Template, tp), ", ")))
	}
	if !equalPtr(newSpec.Completions, oldSpec.Completions) {
		errs = append(errs, field.Immutable(specPath.Child("completions"), formatPtr(newSpec.Completions)))
	}
	if newSpec.CompletionMode != oldSpec.CompletionMode {
		errs = append(errs, field.Immutable(specPath.Child("completionMode"), newSpec.CompletionMode))
	}
	return errs
}

// ValidateJobStatusUpdate checks an update through the status subresource:
// counts are not negative.
func ValidateJobStatusUpdate(newObj, old *batchv1.Job) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), namespaced, dnsSubdomainName)
	st := newObj.GetStatus()
	if st == nil {
		return errs
	}
	errs = append(errs, validateStatusCounts(statusPath, map[string]int32{
		"active": st.Active, "succeeded": st.Succeeded, "failed": st.Failed,
	})...)
	errs = append(errs, validateOptionalNonnegative(st.Ready, statusPath.Child("ready"))...)
	for i, c := range st.Conditions {
		cp := statusPath.Child("conditions").Index(i)
		if c.GetType() == "" {
			errs = append(errs, field.Required(cp.Child("type"), ""))
		}
		errs = append(errs, validateEnum(c.GetStatus(), conditionStatus, cp.Child("status"))...)
	}
	return errs
}
