package informer

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/proto/labels"
)

// Lister reads one kind from an informer's cache. The objects are the
// cache's own: clone before changing (informer.Clone).
type Lister[T Object] struct {
	store    Store
	resource string // plural, for messages
}

// NewLister reads objects of type T from store; resource ("pods") names
// them in NotFound errors.
func NewLister[T Object](store Store, resource string) Lister[T] {
	return Lister[T]{store: store, resource: resource}
}

// Get returns the object; namespace is "" for cluster-scoped kinds. A
// missing object is an error for which client.IsNotFound holds.
func (l Lister[T]) Get(namespace, name string) (T, error) {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	if obj, ok := l.store.GetByKey(key); ok {
		if t, ok := obj.(T); ok {
			return t, nil
		}
	}
	var zero T
	if namespace != "" {
		return zero, status.Errorf(codes.NotFound, "%s %q not found in namespace %q", l.resource, name, namespace)
	}
	return zero, status.Errorf(codes.NotFound, "%s %q not found", l.resource, name)
}

// List returns the objects selector matches across all namespaces; a nil
// selector matches everything, as does labels.Everything().
func (l Lister[T]) List(selector labels.Selector) []T {
	return filter[T](l.store.List(), selector)
}

// ListNamespace returns the objects of one namespace that selector matches.
func (l Lister[T]) ListNamespace(namespace string, selector labels.Selector) []T {
	objs, _ := l.store.ByIndex(NamespaceIndex, namespace) // the index always exists
	return filter[T](objs, selector)
}

// ByIndex returns the objects the named index files under value.
func (l Lister[T]) ByIndex(indexName, value string) ([]T, error) {
	objs, err := l.store.ByIndex(indexName, value)
	if err != nil {
		return nil, err
	}
	return filter[T](objs, nil), nil
}

func filter[T Object](objs []Object, selector labels.Selector) []T {
	out := make([]T, 0, len(objs))
	for _, obj := range objs {
		t, ok := obj.(T)
		if !ok {
			continue
		}
		if selector != nil && !selector.Matches(labels.Set(obj.GetMetadata().GetLabels())) {
			continue
		}
		out = append(out, t)
	}
	return out
}
