package app

import (
	"context"
	"errors"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"io"

	metav1 "skiff.dev/proto/meta/v1"
)

// dynamic calls any kind's gRPC service by name, so one implementation of
// each verb serves every kind. The connection is the Clientset's, with its
// failover, credentials and rate limits.
type dynamic struct {
	conn grpc.ClientConnInterface
}

// Get returns the named object.
func (d dynamic) Get(ctx context.Context, r *resource, ns, name string) (object, error) {
	out := r.messageType("").New().Interface().(object)
	if err := d.conn.Invoke(ctx, r.method("Get"), &metav1.GetOptions{Namespace: ns, Name: name}, out); err != nil {
		return nil, err
	}
	setTypeMeta(out, r)
	return out, nil
}

// List returns the objects opts selects and the list's resourceVersion.
func (d dynamic) List(ctx context.Context, r *resource, opts *metav1.ListOptions) ([]object, string, error) {
	out := r.messageType("List").New()
	if err := d.conn.Invoke(ctx, r.method("List"), opts, out.Interface()); err != nil {
		return nil, "", err
	}
	fs := out.Descriptor().Fields()
	items := out.Get(fs.ByName("items")).List()
	objs := make([]object, 0, items.Len())
	for i := range items.Len() {
		o := items.Get(i).Message().Interface().(object)
		setTypeMeta(o, r)
		objs = append(objs, o)
	}
	rv := ""
	if lm, ok := out.Get(fs.ByName("metadata")).Message().Interface().(*metav1.ListMeta); ok {
		rv = lm.GetResourceVersion()
	}
	return objs, rv, nil
}

// write calls Create, Update or UpdateStatus with an XRequest; a dry run
// (dry_run ["All"]) gets the answer of the write without it being made.
func (d dynamic) write(ctx context.Context, r *resource, verb string, obj object, dry bool) (object, error) {
	req := r.messageType("Request").New()
	fs := req.Descriptor().Fields()
	req.Set(fs.ByName("namespace"), protoreflect.ValueOfString(meta(obj).GetNamespace()))
	req.Set(fs.ByName("name"), protoreflect.ValueOfString(meta(obj).GetName()))
	req.Set(fs.ByName("object"), protoreflect.ValueOfMessage(obj.ProtoReflect()))
	if dry {
		list := req.Mutable(fs.ByName("dry_run")).List()
		list.Append(protoreflect.ValueOfString("All"))
	}
	out := r.messageType("").New().Interface().(object)
	if err := d.conn.Invoke(ctx, r.method(verb), req.Interface(), out); err != nil {
		return nil, err
	}
	setTypeMeta(out, r)
	return out, nil
}

// Create creates obj in its metadata's namespace.
func (d dynamic) Create(ctx context.Context, r *resource, obj object) (object, error) {
	return d.write(ctx, r, "Create", obj, false)
}

// DryRunCreate is what Create would store (defaults, allocations); nothing is created.
func (d dynamic) DryRunCreate(ctx context.Context, r *resource, obj object) (object, error) {
	return d.write(ctx, r, "Create", obj, true)
}

// DryRunUpdate is what Update would store; nothing is changed.
func (d dynamic) DryRunUpdate(ctx context.Context, r *resource, obj object) (object, error) {
	return d.write(ctx, r, "Update", obj, true)
}

// Update replaces obj; it must carry the resourceVersion it was read at.
func (d dynamic) Update(ctx context.Context, r *resource, obj object) (object, error) {
	return d.write(ctx, r, "Update", obj, false)
}

// Delete deletes the named object.
func (d dynamic) Delete(ctx context.Context, r *resource, opts *metav1.DeleteOptions) error {
	out := r.messageType("").New().Interface()
	return d.conn.Invoke(ctx, r.method("Delete"), opts, out)
}

// watchEvent is one change seen by Watch.
type watchEvent struct {
	Type   metav1.EventType
	Object object
}

// Watch streams changes until ctx ends; next blocks for the next event.
func (d dynamic) Watch(ctx context.Context, r *resource, opts *metav1.ListOptions) (next func() (watchEvent, error), err error) {
	s, err := d.conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, r.method("Watch"))
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(opts); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	et := r.messageType("WatchEvent")
	return func() (watchEvent, error) {
		ev := et.New()
		if err := s.RecvMsg(ev.Interface()); err != nil {
			return watchEvent{}, err
		}
		fs := ev.Descriptor().Fields()
		typ := metav1.EventType(ev.Get(fs.ByName("type")).Enum())
		var obj object
		if ev.Has(fs.ByName("object")) {
			obj = ev.Get(fs.ByName("object")).Message().Interface().(object)
			setTypeMeta(obj, r)
		}
		return watchEvent{Type: typ, Object: obj}, nil
	}, nil
}

// WatchEach calls fn with every event of a watch of r but bookmarks, until
// fn fails, ctx ends or the server ends the watch (the last two are no
// error: an interrupted `-w` exits 0).
func (d dynamic) WatchEach(ctx context.Context, r *resource, opts *metav1.ListOptions, fn func(watchEvent) error) error {
	next, err := d.Watch(ctx, r, opts)
	if err != nil {
		return err
	}
	for {
		ev, err := next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if ev.Object == nil || ev.Type == metav1.EventType_BOOKMARK {
			continue
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// clone deep-copies an object.
func clone(o object) object { return proto.Clone(o).(object) }
