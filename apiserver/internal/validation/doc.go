// Package validation defaults and validates every Skiff API kind, as
// Kubernetes' pkg/apis/*/v1 defaults and pkg/apis/*/validation do for the
// fields Skiff's protos carry.
//
// For each kind X there are three pure functions over the generated Go type:
//
//   - DefaultX fills the fields Kubernetes defaults (restartPolicy Always,
//     service type ClusterIP, deployment replicas 1, ...). Defaulting is
//     idempotent: defaulting a defaulted object changes nothing.
//   - ValidateX returns every mistake of a new object, each with its field
//     path (`spec.containers[0].image: Required value`).
//   - ValidateXUpdate validates the new object fully and also checks what
//     may not change from the old one (immutable fields, metadata), so a
//     store calls it instead of ValidateX on update.
//
// Kinds with a status subresource also have ValidateXStatusUpdate.
// Nothing here knows about storage or gRPC: the apiserver's per-kind
// strategies call these functions.
package validation
