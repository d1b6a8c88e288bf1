package validation

import (
	"slices"
	"strings"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// Namespace phases.
const (
	NamespaceActive      = "Active"
	NamespaceTerminating = "Terminating"

	// FinalizerKubernetes is the finalizer the namespace controller clears
	// once a deleted namespace is empty.
	FinalizerKubernetes = "kubernetes"
)

var (
	namespacePhases    = []string{NamespaceActive, NamespaceTerminating}
	standardFinalizers = []string{FinalizerKubernetes, finalizerOrphan, finalizerForegroundDeletion}
)

// DefaultNamespace fills a namespace's defaults: status.phase Active.
func DefaultNamespace(ns *corev1.Namespace) {
	if ns == nil {
		return
	}
	if ns.Status == nil {
		ns.Status = &corev1.NamespaceStatus{}
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = NamespaceActive
	}
}

// ValidateNamespace checks a new namespace: a cluster-scoped DNS-1123 label
// name, spec finalizers and the phase.
func ValidateNamespace(ns *corev1.Namespace) field.ErrorList {
	errs := validateObjectMeta(ns.GetMetadata(), clusterScoped, dnsLabelName, metadataPath)
	errs = append(errs, validateNamespaceFinalizers(ns.GetSpec().GetFinalizers(), specPath.Child("finalizers"))...)
	return append(errs, validateOptionalEnum(ns.GetStatus().GetPhase(), namespacePhases, statusPath.Child("phase"))...)
}

// validateNamespaceFinalizers checks spec.finalizers: each a qualified
// name, and one without a domain must be a standard finalizer.
func validateNamespaceFinalizers(finalizers []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range finalizers {
		if e := validateLabelName(f, p); len(e) > 0 {
			errs = append(errs, e...)
			continue
		}
		if !strings.Contains(f, "/") && !slices.Contains(standardFinalizers, f) {
			errs = append(errs, field.Invalid(p, f, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}

// ValidateNamespaceUpdate checks a namespace update.
func ValidateNamespaceUpdate(newObj, old *corev1.Namespace) field.ErrorList {
	return append(ValidateNamespace(newObj), validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
}

// ValidateNamespaceStatusUpdate checks an update through the status
// subresource: a namespace is Active until deleted and Terminating after.
func ValidateNamespaceStatusUpdate(newObj, old *corev1.Namespace) field.ErrorList {
	errs := validateStatusMeta(newObj.GetMetadata(), old.GetMetadata(), clusterScoped, dnsLabelName)
	phase := newObj.GetStatus().GetPhase()
	pp := statusPath.Child("phase")
	switch {
	case newObj.GetMetadata().GetDeletionTimestamp() == nil && phase != NamespaceActive:
		errs = append(errs, field.Invalid(pp, phase, "may only be 'Active' if `deletionTimestamp` is empty"))
	case newObj.GetMetadata().GetDeletionTimestamp() != nil && phase != NamespaceTerminating:
		errs = append(errs, field.Invalid(pp, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"))
	}
	return errs
}
