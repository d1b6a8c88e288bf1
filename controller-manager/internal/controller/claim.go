package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"skiff.dev/proto/client"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// RefManager adopts and releases the objects a controller owns, as
// Kubernetes' ControllerRefManager: an object matching the owner's selector
// and controlled by nobody is adopted (given a controller ownerReference to
// the owner), an owned object that no longer matches is released, and an
// object controlled by someone else is left alone.
type RefManager[T client.Object] struct {
	// Owner is the controller, e.g. a ReplicaSet from the cache.
	Owner client.Object
	// Selector selects the objects Owner should control.
	Selector labels.Selector
	// CanAdopt re-reads Owner from the apiserver and fails when it is gone
	// or being deleted (so nothing is adopted by a dying owner); it is
	// called at most once, before the first adoption.
	CanAdopt func(ctx context.Context) error
	// Get re-reads an object after a conflict; Update writes one.
	Get    func(ctx context.Context, namespace, name string) (T, error)
	Update func(ctx context.Context, obj T) (T, error)

	once     sync.Once
	adoptErr error
}

// Claim returns the objects Owner controls after adopting and releasing,
// and the errors of adoptions and releases that failed.
func (m *RefManager[T]) Claim(ctx context.Context, objs []T) ([]T, error) {
	var claimed []T
	var errs []error
	ownerUID := m.Owner.GetMetadata().GetUid()
	ownerDeleting := m.Owner.GetMetadata().GetDeletionTimestamp() != nil
	for _, obj := range objs {
		meta := obj.GetMetadata()
		matches := m.Selector.Matches(labels.Set(meta.GetLabels()))
		ref := ControllerOf(meta)
		switch {
		case ref != nil && ref.GetUid() != ownerUID:
			// Someone else's.
		case ref != nil && matches:
			claimed = append(claimed, obj)
		case ref != nil:
			// Ours but no longer selected: release, unless we are being
			// deleted (the garbage collector handles our objects then).
			if ownerDeleting {
				continue
			}
			if err := m.release(ctx, obj); err != nil {
				errs = append(errs, err)
			}
		case matches && !ownerDeleting && meta.GetDeletionTimestamp() == nil:
			adopted, err := m.adopt(ctx, obj)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !isZero(adopted) {
				claimed = append(claimed, adopted)
			}
		}
	}
	return claimed, errors.Join(errs...)
}

func isZero[T client.Object](obj T) bool {
	var zero T
	return any(obj) == any(zero)
}

// adopt gives obj a controller reference to Owner; it returns the zero T if
// obj changed under us and is no longer ours to adopt.
func (m *RefManager[T]) adopt(ctx context.Context, obj T) (T, error) {
	var zero T
	m.once.Do(func() {
		if m.CanAdopt != nil {
			m.adoptErr = m.CanAdopt(ctx)
		}
	})
	if m.adoptErr != nil {
		return zero, fmt.Errorf("cannot adopt %s: %w", KeyFunc(obj), m.adoptErr)
	}
	return m.modify(ctx, obj, func(meta *metav1.ObjectMeta) bool {
		if ControllerOf(meta) != nil || meta.GetDeletionTimestamp() != nil || !m.Selector.Matches(labels.Set(meta.GetLabels())) {
			return false
		}
		meta.OwnerReferences = append(meta.OwnerReferences, NewControllerRef(m.Owner))
		return true
	})
}

// release drops Owner's ownerReference from obj.
func (m *RefManager[T]) release(ctx context.Context, obj T) error {
	uid := m.Owner.GetMetadata().GetUid()
	_, err := m.modify(ctx, obj, func(meta *metav1.ObjectMeta) bool {
		kept := meta.OwnerReferences[:0]
		for _, r := range meta.OwnerReferences {
			if r.GetUid() != uid {
				kept = append(kept, r)
			}
		}
		changed := len(kept) != len(meta.OwnerReferences)
		meta.OwnerReferences = kept
		return changed
	})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// modify applies change to a copy of obj and writes it, re-reading and
// retrying on conflicts; change returns false when there is nothing to do.
func (m *RefManager[T]) modify(ctx context.Context, obj T, change func(*metav1.ObjectMeta) bool) (T, error) {
	var zero T
	cur := obj
	for attempt := 0; ; attempt++ {
		cp := Clone(cur)
		if !change(cp.GetMetadata()) {
			return zero, nil
		}
		out, err := m.Update(ctx, cp)
		if err == nil {
			return out, nil
		}
		if !client.IsConflict(err) || attempt >= 3 {
			return zero, fmt.Errorf("updating owner references of %s: %w", KeyFunc(obj), err)
		}
		if cur, err = m.Get(ctx, obj.GetMetadata().GetNamespace(), obj.GetMetadata().GetName()); err != nil {
			return zero, err
		}
	}
}
