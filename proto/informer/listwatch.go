package informer

import (
	"context"

	"skiff.dev/proto/client"
	metav1 "skiff.dev/proto/meta/v1"
)

// Object is any API object: a generated message with metadata.
type Object = client.Object

// Event is one change seen by a watch.
type Event struct {
	Type   metav1.EventType
	Object Object
}

// WatchStream is an open watch.
type WatchStream interface {
	// Recv blocks for the next event; io.EOF means the server ended the
	// watch cleanly, an error for which client.IsGone holds means the
	// resourceVersion is too old.
	Recv() (Event, error)
	// Stop ends the watch.
	Stop()
}

// ListWatcher lists and watches one kind. Tests supply their own; real
// ones come from NewListWatcher.
type ListWatcher interface {
	// List returns one page of objects and the list's metadata
	// (resourceVersion, and continue when opts.Limit cut it short).
	List(ctx context.Context, opts client.ListOptions) ([]Object, *metav1.ListMeta, error)
	// Watch streams the changes after opts.ResourceVersion.
	Watch(ctx context.Context, opts client.ListOptions) (WatchStream, error)
}

// typedClient is what the typed clients of package client have.
type typedClient[T client.Object, L client.ObjectList[T]] interface {
	List(ctx context.Context, opts client.ListOptions) (L, error)
	Watch(ctx context.Context, opts client.ListOptions) (*client.Watcher[T], error)
}

// NewListWatcher adapts the typed client of any kind, e.g.
// NewListWatcher(cs.CoreV1().Pods("")); tweak, if not nil, edits the
// options of every list and watch (a label or field selector).
func NewListWatcher[T client.Object, L client.ObjectList[T]](c typedClient[T, L], tweak func(*client.ListOptions)) ListWatcher {
	return &typedListWatcher[T, L]{c: c, tweak: tweak}
}

type typedListWatcher[T client.Object, L client.ObjectList[T]] struct {
	c     typedClient[T, L]
	tweak func(*client.ListOptions)
}

func (lw *typedListWatcher[T, L]) List(ctx context.Context, opts client.ListOptions) ([]Object, *metav1.ListMeta, error) {
	if lw.tweak != nil {
		lw.tweak(&opts)
	}
	l, err := lw.c.List(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	items := l.GetItems()
	out := make([]Object, len(items))
	for i, it := range items {
		out[i] = it
	}
	meta := l.GetMetadata()
	if meta == nil {
		meta = &metav1.ListMeta{}
	}
	return out, meta, nil
}

func (lw *typedListWatcher[T, L]) Watch(ctx context.Context, opts client.ListOptions) (WatchStream, error) {
	if lw.tweak != nil {
		lw.tweak(&opts)
	}
	w, err := lw.c.Watch(ctx, opts)
	if err != nil {
		return nil, err
	}
	return typedStream[T]{w}, nil
}

type typedStream[T client.Object] struct{ w *client.Watcher[T] }

func (s typedStream[T]) Recv() (Event, error) {
	ev, err := s.w.Recv()
	if err != nil {
		return Event{}, err
	}
	return Event{Type: ev.Type, Object: ev.Object}, nil
}

func (s typedStream[T]) Stop() { s.w.Stop() }
