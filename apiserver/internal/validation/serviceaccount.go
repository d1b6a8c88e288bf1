package validation

import (
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/validation/field"
)

// DefaultServiceAccount fills a ServiceAccount's defaults. Kubernetes has
// none; it exists so every kind has the same three functions.
func DefaultServiceAccount(*corev1.ServiceAccount) {}

// ValidateServiceAccount checks a new ServiceAccount: its metadata and the
// names of the secrets it refers to.
func ValidateServiceAccount(sa *corev1.ServiceAccount) field.ErrorList {
	errs := validateObjectMeta(sa.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	for i, s := range sa.GetSecrets() {
		errs = append(errs, validateRefName(s.GetName(), field.NewPath("secrets").Index(i).Child("name"))...)
	}
	for i, s := range sa.GetImagePullSecrets() {
		errs = append(errs, validateRefName(s.GetName(), field.NewPath("imagePullSecrets").Index(i).Child("name"))...)
	}
	return errs
}

// ValidateServiceAccountUpdate checks a ServiceAccount update.
func ValidateServiceAccountUpdate(newObj, old *corev1.ServiceAccount) field.ErrorList {
	errs := ValidateServiceAccount(newObj)
	return append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
}
