// Package rollout is the Deployment controller's bookkeeping, as
// Kubernetes': the annotations and labels by which a Deployment's
// ReplicaSets record its revisions, and how pod templates are compared and
// hashed. skiff-controller-manager writes them; skiffctl's rollout history,
// status and undo read them. Both use this package, so they cannot drift.
package rollout

import (
	"hash/fnv"
	"strconv"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	corev1 "skiff.dev/proto/core/v1"
)

// Annotations and labels, as Kubernetes'.
const (
	// RevisionAnnotation numbers a Deployment's revisions (on the
	// Deployment and on each of its ReplicaSets).
	RevisionAnnotation = "deployment.kubernetes.io/revision"
	// RevisionHistoryAnnotation lists the older revisions a ReplicaSet had.
	RevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history"
	// DesiredReplicasAnnotation is the Deployment's replicas when a
	// ReplicaSet was last sized; MaxReplicasAnnotation adds maxSurge.
	DesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas"
	MaxReplicasAnnotation     = "deployment.kubernetes.io/max-replicas"
	// ChangeCauseAnnotation is the user's note of why a revision was made.
	ChangeCauseAnnotation = "kubernetes.io/change-cause"
	// LastAppliedAnnotation is kubectl apply's record.
	LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"
	// RollbackToAnnotation is the old rollback request (not used by Skiff).
	RollbackToAnnotation = "deprecated.deployment.rollback.to"
	// PodTemplateHashLabel tells apart the pods of a Deployment's
	// ReplicaSets.
	PodTemplateHashLabel = "pod-template-hash"
)

// NotCopiedAnnotations are the annotations a ReplicaSet does not take from
// its Deployment, and a rollback does not take from the ReplicaSet
// (Kubernetes' skipCopyAnnotation and kubectl's annotationsToSkip).
var NotCopiedAnnotations = map[string]bool{
	LastAppliedAnnotation:     true,
	RevisionAnnotation:        true,
	RevisionHistoryAnnotation: true,
	DesiredReplicasAnnotation: true,
	MaxReplicasAnnotation:     true,
	RollbackToAnnotation:      true,
}

// Revision reads a revision annotation; a missing one is revision 0.
func Revision(annotations map[string]string) (int64, error) {
	v, ok := annotations[RevisionAnnotation]
	if !ok {
		return 0, nil
	}
	return strconv.ParseInt(v, 10, 64)
}

// WithoutHash is a copy of t without the pod-template-hash label.
func WithoutHash(t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	if t == nil {
		return &corev1.PodTemplateSpec{}
	}
	t = proto.Clone(t).(*corev1.PodTemplateSpec)
	if t.Metadata != nil {
		delete(t.Metadata.Labels, PodTemplateHashLabel)
		if len(t.Metadata.Labels) == 0 {
			t.Metadata.Labels = nil
		}
	}
	return t
}

// EqualIgnoreHash compares templates ignoring the pod-template-hash label:
// a ReplicaSet whose template equals its Deployment's this way runs the
// Deployment's current revision. As Kubernetes' semantic equality of its
// Go structs, a message that is set but holds nothing ("resources": {})
// equals one not set: kubectl rollout undo sends the old ReplicaSet's
// template with every empty struct written out, and must find that
// ReplicaSet again rather than make a new one.
func EqualIgnoreHash(a, b *corev1.PodTemplateSpec) bool {
	x, y := WithoutHash(a), WithoutHash(b)
	dropEmpty(x.ProtoReflect())
	dropEmpty(y.ProtoReflect())
	return proto.Equal(x, y)
}

// dropEmpty clears the message fields of m that hold nothing, deepest
// first, and reports whether m is empty then. Elements of lists and maps
// stay (an empty element still counts).
func dropEmpty(m protoreflect.Message) bool {
	var clear []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			if fd.Message() != nil {
				l := v.List()
				for i := range l.Len() {
					dropEmpty(l.Get(i).Message())
				}
			}
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					dropEmpty(mv.Message())
					return true
				})
			}
		case fd.Message() != nil:
			if dropEmpty(v.Message()) {
				clear = append(clear, fd)
			}
		}
		return true
	})
	for _, fd := range clear {
		m.Clear(fd)
	}
	empty := true
	m.Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool {
		empty = false
		return false
	})
	return empty
}

// safeAlphabet is Kubernetes' rand.SafeEncodeString alphabet: no vowels,
// no confusable characters, so a hash never spells a word.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// ComputeHash is the pod-template-hash of a template: an FNV-32a of its
// deterministic protobuf encoding without the hash label (and of the
// collision count, when set), written with Kubernetes' safe alphabet, e.g.
// "6799fc88d8".
func ComputeHash(tmpl *corev1.PodTemplateSpec, collisionCount *int32) string {
	h := fnv.New32a()
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(WithoutHash(tmpl))
	_, _ = h.Write(b)
	if collisionCount != nil {
		_, _ = h.Write([]byte(strconv.FormatInt(int64(*collisionCount), 10)))
	}
	digits := strconv.FormatUint(uint64(h.Sum32()), 10)
	out := make([]byte, len(digits))
	for i := range len(digits) {
		out[i] = safeAlphabet[int(digits[i])%len(safeAlphabet)]
	}
	return string(out)
}
