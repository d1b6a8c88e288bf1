package validation

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	metav1 "skiff.dev/proto/meta/v1"
	apivalidation "skiff.dev/proto/validation"
	"skiff.dev/proto/validation/field"
)

// TotalAnnotationSizeLimitB is the most bytes an object's annotations
// (keys plus values) may take, as in Kubernetes.
const TotalAnnotationSizeLimitB = 256 * 1024

const (
	finalizerOrphan             = "orphan"
	finalizerForegroundDeletion = "foregroundDeletion"
)

var metadataPath = field.NewPath("metadata")

// scope says whether a kind lives in a namespace.
type scope bool

const (
	namespaced    scope = true
	clusterScoped scope = false
)

// validateObjectMeta checks the metadata of a new object: its name (or
// generateName) by nameFn, its namespace by scope, labels, annotations,
// owner references and finalizers.
func validateObjectMeta(m *metav1.ObjectMeta, sc scope, nameFn nameFunc, p *field.Path) field.ErrorList {
	if m == nil {
		return field.ErrorList{field.Required(p, "")}
	}
	var errs field.ErrorList
	if m.GenerateName != "" {
		errs = append(errs, invalidAll(p.Child("generateName"), m.GenerateName, nameFn(m.GenerateName, true))...)
	}
	if m.Name == "" {
		if m.GenerateName == "" {
			errs = append(errs, field.Required(p.Child("name"), "name or generateName is required"))
		}
	} else {
		errs = append(errs, invalidAll(p.Child("name"), m.Name, nameFn(m.Name, false))...)
	}
	switch {
	case sc == namespaced && m.Namespace == "":
		errs = append(errs, field.Required(p.Child("namespace"), ""))
	case sc == namespaced:
		errs = append(errs, validateDNSLabel(m.Namespace, p.Child("namespace"))...)
	case m.Namespace != "":
		errs = append(errs, field.Forbidden(p.Child("namespace"), "not allowed on this type"))
	}
	if m.DeletionGracePeriodSeconds != nil && m.DeletionTimestamp == nil {
		errs = append(errs, field.Forbidden(p.Child("deletionGracePeriodSeconds"), "may only be set together with deletionTimestamp"))
	}
	errs = append(errs, validateNonnegative(int64(m.Generation), p.Child("generation"))...)
	errs = append(errs, validateLabels(m.Labels, p.Child("labels"))...)
	errs = append(errs, validateAnnotations(m.Annotations, p.Child("annotations"))...)
	errs = append(errs, validateOwnerReferences(m.OwnerReferences, p.Child("ownerReferences"))...)
	errs = append(errs, validateFinalizers(m.Finalizers, p.Child("finalizers"))...)
	return errs
}

// validateAnnotations checks annotation keys and the annotations' total size.
func validateAnnotations(annotations map[string]string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	total := 0
	for _, k := range sortedKeys(annotations) {
		errs = append(errs, invalidAll(p, k, isQualifiedNameLower(k))...)
		total += len(k) + len(annotations[k])
	}
	if total > TotalAnnotationSizeLimitB {
		errs = append(errs, field.TooLong(p, "", TotalAnnotationSizeLimitB))
	}
	return errs
}

// isQualifiedNameLower checks an annotation key, which Kubernetes compares
// case-insensitively in its prefix.
func isQualifiedNameLower(k string) []string {
	return apivalidation.IsQualifiedName(strings.ToLower(k))
}

// validateOwnerReferences checks that every reference names its owner fully
// and that at most one is the controller.
func validateOwnerReferences(refs []*metav1.OwnerReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	var controllers []string
	for i, r := range refs {
		ip := p.Index(i)
		if r == nil {
			errs = append(errs, field.Required(ip, ""))
			continue
		}
		if r.ApiVersion == "" {
			errs = append(errs, field.Required(ip.Child("apiVersion"), ""))
		}
		if r.Kind == "" {
			errs = append(errs, field.Required(ip.Child("kind"), ""))
		}
		if r.Name == "" {
			errs = append(errs, field.Required(ip.Child("name"), ""))
		}
		if r.Uid == "" {
			errs = append(errs, field.Required(ip.Child("uid"), ""))
		}
		if r.GetController() {
			controllers = append(controllers, r.Kind+"/"+r.Name)
		}
	}
	if len(controllers) > 1 {
		errs = append(errs, field.Invalid(p, strings.Join(controllers, ", "),
			"only one reference can have controller set to true"))
	}
	return errs
}

// validateFinalizers checks finalizer names (qualified names) and that
// orphan and foregroundDeletion are not both asked for.
func validateFinalizers(finalizers []string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	hasOrphan, hasForeground := false, false
	for _, f := range finalizers {
		errs = append(errs, validateLabelName(f, p)...)
		hasOrphan = hasOrphan || f == finalizerOrphan
		hasForeground = hasForeground || f == finalizerForegroundDeletion
	}
	if hasOrphan && hasForeground {
		errs = append(errs, field.Invalid(p, strings.Join(finalizers, ", "),
			"finalizer orphan and foregroundDeletion cannot be both set"))
	}
	return errs
}

// validateObjectMetaUpdate checks how the metadata of an updated object
// changed: what identifies the object may not change, deletion may only move
// forward, and an object being deleted takes no new finalizers. The new
// metadata itself is checked by validateObjectMeta.
func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta, p *field.Path) field.ErrorList {
	if newMeta == nil || oldMeta == nil {
		return nil
	}
	var errs field.ErrorList
	if newMeta.Name != oldMeta.Name {
		errs = append(errs, field.Immutable(p.Child("name"), newMeta.Name))
	}
	if newMeta.Namespace != oldMeta.Namespace {
		errs = append(errs, field.Immutable(p.Child("namespace"), newMeta.Namespace))
	}
	if newMeta.Uid != oldMeta.Uid {
		errs = append(errs, field.Immutable(p.Child("uid"), newMeta.Uid))
	}
	if !proto.Equal(newMeta.CreationTimestamp, oldMeta.CreationTimestamp) {
		errs = append(errs, field.Immutable(p.Child("creationTimestamp"), formatTime(newMeta.CreationTimestamp)))
	}
	if oldMeta.DeletionTimestamp != nil && !proto.Equal(newMeta.DeletionTimestamp, oldMeta.DeletionTimestamp) {
		errs = append(errs, field.Invalid(p.Child("deletionTimestamp"), formatTime(newMeta.DeletionTimestamp),
			"field is immutable; may only be changed via deletion"))
	}
	if oldMeta.DeletionGracePeriodSeconds != nil && !equalPtr(newMeta.DeletionGracePeriodSeconds, oldMeta.DeletionGracePeriodSeconds) {
		errs = append(errs, field.Invalid(p.Child("deletionGracePeriodSeconds"), formatPtr(newMeta.DeletionGracePeriodSeconds),
			"field is immutable; may only be changed via deletion"))
	}
	if newMeta.DeletionTimestamp != nil {
		var added []string
		for _, f := range newMeta.Finalizers {
			if !slices.Contains(oldMeta.Finalizers, f) {
				added = append(added, f)
			}
		}
		if len(added) > 0 {
			errs = append(errs, field.Forbidden(p.Child("finalizers"),
				fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %q", added)))
		}
	}
	return errs
}

func formatTime(t *timestamppb.Timestamp) string {
	if t == nil {
		return "null"
	}
	return t.AsTime().UTC().Format("2006-01-02T15:04:05Z07:00")
}

func formatPtr[T any](v *T) any {
	if v == nil {
		return "null"
	}
	return *v
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// validateStatusMeta checks the metadata of an update through a status
// subresource: valid, and changed only as an update may change it.
func validateStatusMeta(newMeta, oldMeta *metav1.ObjectMeta, sc scope, nameFn nameFunc) field.ErrorList {
	errs := validateObjectMeta(newMeta, sc, nameFn, metadataPath)
	return append(errs, validateObjectMetaUpdate(newMeta, oldMeta, metadataPath)...)
}
