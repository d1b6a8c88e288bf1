package registry

import (
	"slices"

	"skiff.dev/apiserver/internal/apierrors"
	"skiff.dev/apiserver/internal/storage"
	"skiff.dev/proto/fields"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"

	"google.golang.org/protobuf/proto"
)

// selection is a list or watch's filter: namespace, labels and fields.
type selection[T storage.Object] struct {
	namespace string
	labels    labels.Selector
	fields    fields.Selector
	fieldsOf  func(T) fields.Set
}

func (r *Resource[T, L, EV, R]) selection(opts *metav1.ListOptions) (*selection[T], error) {
	s := &selection[T]{namespace: opts.GetNamespace(), labels: labels.Everything(), fields: fields.Everything()}
	if !r.Namespaced && s.namespace != "" {
		return nil, apierrors.BadRequest("%s are not namespaced: remove the namespace %q", r.Resource, s.namespace)
	}
	if ls := opts.GetLabelSelector(); ls != "" {
		sel, err := labels.Parse(ls)
		if err != nil {
			return nil, apierrors.BadRequest("invalid labelSelector %q: %v", ls, err)
		}
		s.labels = sel
	}
	if fs := opts.GetFieldSelector(); fs != "" {
		sel, err := fields.Parse(fs)
		if err != nil {
			return nil, apierrors.BadRequest("invalid fieldSelector %q: %v", fs, err)
		}
		supported := append([]string{"metadata.name", "metadata.namespace"}, r.strategy.FieldLabels...)
		for _, req := range sel.Requirements() {
			if !slices.Contains(supported, req.Field) {
				return nil, apierrors.BadRequest("field label not supported: %s (%s support %v)", req.Field, r.Resource, supported)
			}
		}
		s.fields = sel
	}
	s.fieldsOf = func(obj T) fields.Set {
		m := metaOf(obj)
		set := fields.Set{"metadata.name": m.Name, "metadata.namespace": m.Namespace}
		if r.strategy.Fields != nil {
			for k, v := range r.strategy.Fields(obj) {
				set[k] = v
			}
		}
		return set
	}
	return s, nil
}

func (s *selection[T]) matches(obj T) bool {
	m := obj.GetMetadata()
	if s.namespace != "" && m.GetNamespace() != s.namespace {
		return false
	}
	if !s.labels.Empty() && !s.labels.Matches(labels.Set(m.GetLabels())) {
		return false
	}
	if !s.fields.Empty() && !s.fields.Matches(s.fieldsOf(obj)) {
		return false
	}
	return true
}

// transform turns a storage event into what this watcher sees: an object
// that starts matching the filter is ADDED, one that stops matching is
// DELETED, as Kubernetes' watch cache does.
func (s *selection[T]) transform(e *storage.Event[T]) (metav1.EventType, T, bool) {
	var zero T
	cur := s.matches(e.Obj)
	switch e.Type {
	case metav1.EventType_ADDED:
		return metav1.EventType_ADDED, e.Obj, cur
	case metav1.EventType_DELETED:
		return metav1.EventType_DELETED, e.Obj, cur
	}
	prev := e.HasPrev && s.matches(e.Prev)
	switch {
	case cur && prev:
		return metav1.EventType_MODIFIED, e.Obj, true
	case cur:
		return metav1.EventType_ADDED, e.Obj, true
	case prev:
		gone := proto.Clone(e.Prev).(T)
		gone.GetMetadata().ResourceVersion = storage.FormatRev(e.Rev)
		return metav1.EventType_DELETED, gone, true
	}
	return metav1.EventType_EVENT_TYPE_UNSPECIFIED, zero, false
}
