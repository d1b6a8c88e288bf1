package client

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	metav1 "skiff.dev/proto/meta/v1"
)

// Object is any API object: a generated message with metadata
// (*corev1.Pod, *appsv1.Deployment, ...).
type Object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
}

// ObjectList is a generated list message of T (*corev1.PodList, ...).
type ObjectList[T Object] interface {
	proto.Message
	GetMetadata() *metav1.ListMeta
	GetItems() []T
}

// ListOptions selects objects for List and Watch, as in Kubernetes.
type ListOptions struct {
	LabelSelector string // "app=web,tier!=db"
	FieldSelector string // "spec.nodeName=node-1"
	// Limit pages a list: at most Limit items, and ListMeta.Continue to
	// pass as Continue for the next page.
	Limit    int64
	Continue string
	// ResourceVersion: for Watch, stream the changes after this version
	// (empty streams the current objects as ADDED first).
	ResourceVersion string
	// AllowWatchBookmarks asks Watch for BOOKMARK events that carry only a
	// newer resourceVersion.
	AllowWatchBookmarks bool
	// TimeoutSeconds ends a watch after this long; 0 is the server's choice.
	TimeoutSeconds int64
}

// Proto returns the request message for namespace ns.
func (o ListOptions) Proto(ns string) *metav1.ListOptions {
	return &metav1.ListOptions{
		Namespace:           ns,
		LabelSelector:       o.LabelSelector,
		FieldSelector:       o.FieldSelector,
		Limit:               o.Limit,
		Continue:            o.Continue,
		ResourceVersion:     o.ResourceVersion,
		AllowWatchBookmarks: o.AllowWatchBookmarks,
		TimeoutSeconds:      o.TimeoutSeconds,
	}
}

// DeleteOptions says how to delete; the zero value is the server's defaults.
type DeleteOptions struct {
	// GracePeriodSeconds overrides the object's grace period; 0 deletes at once.
	GracePeriodSeconds *int64
	// Precondition: delete only if the object still has this UID and/or
	// resourceVersion (empty: no precondition).
	PreconditionUID             string
	PreconditionResourceVersion string
	// PropagationPolicy is Orphan, Background or Foreground.
	PropagationPolicy string
}

// Proto returns the request message for namespace ns and name.
func (o DeleteOptions) Proto(ns, name string) *metav1.DeleteOptions {
	d := &metav1.DeleteOptions{
		Namespace:          ns,
		Name:               name,
		GracePeriodSeconds: o.GracePeriodSeconds,
		PropagationPolicy:  o.PropagationPolicy,
	}
	if o.PreconditionUID != "" || o.PreconditionResourceVersion != "" {
		d.Preconditions = &metav1.Preconditions{}
		if o.PreconditionUID != "" {
			d.Preconditions.Uid = &o.PreconditionUID
		}
		if o.PreconditionResourceVersion != "" {
			d.Preconditions.ResourceVersion = &o.PreconditionResourceVersion
		}
	}
	return d
}

// crudClient is what every generated XServiceClient has: T is *X, L is
// *XList, E is XWatchEvent and R is XRequest.
type crudClient[T Object, L ObjectList[T], E, R any] interface {
	Create(ctx context.Context, in *R, opts ...grpc.CallOption) (T, error)
	Get(ctx context.Context, in *metav1.GetOptions, opts ...grpc.CallOption) (T, error)
	List(ctx context.Context, in *metav1.ListOptions, opts ...grpc.CallOption) (L, error)
	Update(ctx context.Context, in *R, opts ...grpc.CallOption) (T, error)
	Delete(ctx context.Context, in *metav1.DeleteOptions, opts ...grpc.CallOption) (T, error)
	Watch(ctx context.Context, in *metav1.ListOptions, opts ...grpc.CallOption) (grpc.ServerStreamingClient[E], error)
}

// statusClient is a crudClient of a kind with a status subresource.
type statusClient[T Object, L ObjectList[T], E, R any] interface {
	crudClient[T, L, E, R]
	UpdateStatus(ctx context.Context, in *R, opts ...grpc.CallOption) (T, error)
}

// Resource is the typed client of one kind, in one namespace for namespaced
// kinds (an empty namespace lists and watches across all namespaces). One
// generic implementation serves every kind; get one from a group client,
// e.g. cs.CoreV1().ConfigMaps("default").
type Resource[T Object, L ObjectList[T]] struct {
	resource  string // plural, for messages: "pods"
	namespace string

	create func(ctx context.Context, ns, name string, obj T) (T, error)
	update func(ctx context.Context, ns, name string, obj T) (T, error)
	get    func(ctx context.Context, in *metav1.GetOptions, opts ...grpc.CallOption) (T, error)
	list   func(ctx context.Context, in *metav1.ListOptions, opts ...grpc.CallOption) (L, error)
	del    func(ctx context.Context, in *metav1.DeleteOptions, opts ...grpc.CallOption) (T, error)
	watch  func(ctx context.Context, in *metav1.ListOptions) (func() (WatchEvent[T], error), error)
}

// StatusResource is a Resource whose kind has a status written only
// through UpdateStatus.
type StatusResource[T Object, L ObjectList[T]] struct {
	*Resource[T, L]
	updateStatus func(ctx context.Context, ns, name string, obj T) (T, error)
}

func newResource[T Object, L ObjectList[T], E, R any](resource, namespace string, c crudClient[T, L, E, R]) *Resource[T, L] {
	return &Resource[T, L]{
		resource:  resource,
		namespace: namespace,
		create:    withRequest[T](c.Create),
		update:    withRequest[T](c.Update),
		get:       c.Get,
		list:      c.List,
		del:       c.Delete,
		watch: func(ctx context.Context, in *metav1.ListOptions) (func() (WatchEvent[T], error), error) {
			s, err := c.Watch(ctx, in)
			if err != nil {
				return nil, err
			}
			return func() (WatchEvent[T], error) {
				ev, err := s.Recv()
				if err != nil {
					return WatchEvent[T]{}, err
				}
				e := any(ev).(watchEvent[T])
				return WatchEvent[T]{Type: e.GetType(), Object: e.GetObject()}, nil
			}, nil
		},
	}
}

func newStatusResource[T Object, L ObjectList[T], E, R any](resource, namespace string, c statusClient[T, L, E, R]) *StatusResource[T, L] {
	return &StatusResource[T, L]{
		Resource:     newResource(resource, namespace, c),
		updateStatus: withRequest[T](c.UpdateStatus),
	}
}

// watchEvent is what every generated *XWatchEvent has.
type watchEvent[T Object] interface {
	GetType() metav1.EventType
	GetObject() T
}

// withRequest adapts a generated call taking *XRequest{namespace, name,
// object} to one taking the object. The request is built through protobuf
// reflection, so one function serves every kind; the shapes are checked by
// this package's tests for every kind.
func withRequest[T Object, R any](call func(context.Context, *R, ...grpc.CallOption) (T, error)) func(ctx context.Context, ns, name string, obj T) (T, error) {
	return func(ctx context.Context, ns, name string, obj T) (T, error) {
		req := new(R)
		m := any(req).(proto.Message).ProtoReflect()
		f := m.Descriptor().Fields()
		m.Set(f.ByName("namespace"), protoreflect.ValueOfString(ns))
		m.Set(f.ByName("name"), protoreflect.ValueOfString(name))
		m.Set(f.ByName("object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
		return call(ctx, req)
	}
}

// Namespace is the namespace this client works in ("" for cluster-scoped
// kinds or all namespaces).
func (r *Resource[T, L]) Namespace() string { return r.namespace }

// Get returns the named object.
func (r *Resource[T, L]) Get(ctx context.Context, name string) (T, error) {
	return r.get(ctx, &metav1.GetOptions{Namespace: r.namespace, Name: name})
}

// List returns the objects that opts selects.
func (r *Resource[T, L]) List(ctx context.Context, opts ListOptions) (L, error) {
	return r.list(ctx, opts.Proto(r.namespace))
}

// Create creates obj and returns it as stored. obj's namespace, if empty,
// is the client's.
func (r *Resource[T, L]) Create(ctx context.Context, obj T) (T, error) {
	return r.create(ctx, r.objectNamespace(obj), obj.GetMetadata().GetName(), obj)
}

// Update replaces obj, which must carry the resourceVersion it was read at;
// a concurrent change makes it fail with IsConflict.
func (r *Resource[T, L]) Update(ctx context.Context, obj T) (T, error) {
	return r.update(ctx, r.objectNamespace(obj), obj.GetMetadata().GetName(), obj)
}

// Delete deletes the named object.
func (r *Resource[T, L]) Delete(ctx context.Context, name string, opts DeleteOptions) error {
	_, err := r.del(ctx, opts.Proto(r.namespace, name))
	return err
}

// Watch streams the changes to the objects that opts selects until ctx ends,
// Stop is called or the stream breaks.
func (r *Resource[T, L]) Watch(ctx context.Context, opts ListOptions) (*Watcher[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	recv, err := r.watch(ctx, opts.Proto(r.namespace))
	if err != nil {
		cancel()
		return nil, err
	}
	return &Watcher[T]{recv: recv, cancel: cancel}, nil
}

// UpdateStatus writes obj's status; the server ignores changes to the rest.
func (r *StatusResource[T, L]) UpdateStatus(ctx context.Context, obj T) (T, error) {
	return r.updateStatus(ctx, r.objectNamespace(obj), obj.GetMetadata().GetName(), obj)
}

func (r *Resource[T, L]) objectNamespace(obj T) string {
	if r.namespace != "" {
		return r.namespace
	}
	return obj.GetMetadata().GetNamespace()
}

// String names the client in messages: "pods in default".
func (r *Resource[T, L]) String() string {
	if r.namespace == "" {
		return r.resource
	}
	return fmt.Sprintf("%s in %s", r.resource, r.namespace)
}

// WatchEvent is one change: ADDED, MODIFIED or DELETED with the object, or
// BOOKMARK with an object that carries only a newer resourceVersion.
type WatchEvent[T Object] struct {
	Type   metav1.EventType
	Object T
}

// Watcher is an open watch.
type Watcher[T Object] struct {
	recv   func() (WatchEvent[T], error)
	cancel context.CancelFunc
}

// Recv blocks for the next event. It returns io.EOF when the server ended
// the watch cleanly (e.g. TimeoutSeconds), an error for which IsGone holds
// when the resourceVersion is too old, or the error that broke the stream.
func (w *Watcher[T]) Recv() (WatchEvent[T], error) { return w.recv() }

// Stop ends the watch; a blocked Recv returns.
func (w *Watcher[T]) Stop() { w.cancel() }
