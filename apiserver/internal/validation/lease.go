package validation

import (
	coordinationv1 "skiff.dev/proto/coordination/v1"
	"skiff.dev/proto/validation/field"
)

// DefaultLease fills a Lease's defaults. Kubernetes has none; it exists so
// every kind has the same three functions.
func DefaultLease(*coordinationv1.Lease) {}

// ValidateLease checks a new Lease: a positive duration and a non-negative
// transition count when set.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	errs := validateObjectMeta(l.GetMetadata(), namespaced, dnsSubdomainName, metadataPath)
	sp := l.GetSpec()
	if sp == nil {
		return errs
	}
	if sp.LeaseDurationSeconds != nil {
		errs = append(errs, validatePositive(int64(*sp.LeaseDurationSeconds), specPath.Child("leaseDurationSeconds"))...)
	}
	return append(errs, validateOptionalNonnegative(sp.LeaseTransitions, specPath.Child("leaseTransitions"))...)
}

// ValidateLeaseUpdate checks a Lease update, as leader election and node
// heartbeats make every few seconds.
func ValidateLeaseUpdate(newObj, old *coordinationv1.Lease) field.ErrorList {
	errs := ValidateLease(newObj)
	return append(errs, validateObjectMetaUpdate(newObj.GetMetadata(), old.GetMetadata(), metadataPath)...)
}
