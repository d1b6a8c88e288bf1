package registry

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/apierrors"
	appsv1 "skiff.dev/proto/apps/v1"
)

// ApplyFunc makes the patched object from a copy of the current one; it is
// called again with the newer object when a concurrent write wins.
type ApplyFunc func(cur proto.Message) (proto.Message, error)

// PatchFunc patches the object ns/name of a kind, or one of its
// subresources ("status", "scale"), for the REST front's PATCH; a dry run
// answers the patched object and stores nothing.
type PatchFunc func(ctx context.Context, ns, name string, dry bool, apply ApplyFunc) (proto.Message, error)

// Patch is the PATCH of group/resource/subresource ("/pods/", "/pods/status",
// "apps/deployments/scale").
func (reg *Registry) Patch(group, resource, sub string) (PatchFunc, bool) {
	p, ok := reg.patchers[group+"/"+resource+"/"+sub]
	return p, ok
}

func (reg *Registry) addPatcher(group, resource, sub string, p PatchFunc) {
	if reg.patchers == nil {
		reg.patchers = map[string]PatchFunc{}
	}
	reg.patchers[group+"/"+resource+"/"+sub] = p
}

// Patch changes an object, or its status only, by apply, with the same
// rules as Update and UpdateStatus. A resourceVersion the patch sets is a
// precondition; without one the patch is retried on conflicts, as
// Kubernetes does.
func (r *Resource[T, L, EV, R]) Patch(ctx context.Context, ns, name string, status, dry bool, apply ApplyFunc) (obj T, err error) {
	defer r.observe("patch", time.Now(), &err)
	var zero T
	if status && !r.HasStatus {
		return zero, apierrors.New(apierrors.ReasonMethodNotAllowed, r.Resource, name, r.Resource+" have no status subresource")
	}
	mode := specUpdate
	if status {
		mode = statusUpdate
	}
	return r.guaranteedUpdate(ctx, ns, name, "", func(old T) (T, error) {
		out, err := apply(proto.Clone(old))
		if err != nil {
			return zero, err
		}
		obj, ok := out.(T)
		if !ok {
			return zero, apierrors.Internal("patch made a %T, want a %s", out, r.Kind)
		}
		if rv := metaOf(obj).ResourceVersion; rv != metaOf(old).ResourceVersion {
			return zero, apierrors.StaleUpdate(r.qualifiedResource(), name, rv, metaOf(old).ResourceVersion)
		}
		if m := metaOf(obj); m.Name != name || (r.Namespaced && m.Namespace != ns) {
			return zero, apierrors.BadRequest("a patch may not change metadata.name or metadata.namespace (of %s %q)", r.qualifiedResource(), name)
		}
		if err := r.checkTarget(obj, ns, name); err != nil {
			return zero, err
		}
		return r.keepOtherHalf(obj, old, status), nil
	}, mode, dry)
}

// RESTPatch is the kind's PATCH, of the object or of its status.
func (r *Resource[T, L, EV, R]) RESTPatch(status bool) PatchFunc {
	return func(ctx context.Context, ns, name string, dry bool, apply ApplyFunc) (proto.Message, error) {
		return r.Patch(ctx, ns, name, status, dry, apply)
	}
}

// PatchScale patches the Scale of a Deployment or ReplicaSet: only
// spec.replicas may change.
func (s *scaleServer[T, L, EV, R]) PatchScale(ctx context.Context, ns, name string, dry bool, apply ApplyFunc) (sc *appsv1.Scale, err error) {
	defer s.observe("patch_scale", time.Now(), &err)
	obj, err := s.guaranteedUpdate(ctx, ns, name, "", func(old T) (T, error) {
		var zero T
		cur := s.scaleOf(old)
		out, err := apply(cur)
		if err != nil {
			return zero, err
		}
		in, ok := out.(*appsv1.Scale)
		if !ok {
			return zero, apierrors.Internal("patch made a %T, want a Scale", out)
		}
		if rv := in.GetMetadata().GetResourceVersion(); rv != cur.GetMetadata().GetResourceVersion() {
			return zero, apierrors.StaleUpdate(s.qualifiedResource(), name, rv, cur.GetMetadata().GetResourceVersion())
		}
		want := in.GetSpec().GetReplicas()
		if err := validScaleReplicas(name, want); err != nil {
			return zero, err
		}
		next := proto.Clone(old).(T)
		s.access.SetReplicas(next, want)
		return next, nil
	}, specUpdate, dry)
	if err != nil {
		return nil, err
	}
	return s.scaleOf(obj), nil
}
