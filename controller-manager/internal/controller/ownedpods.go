package controller

import (
	"context"
	"errors"
	"fmt"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	"skiff.dev/proto/labels"
	metav1 "skiff.dev/proto/meta/v1"
)

// ClaimPods returns the pods of pods that owner controls once it has
// adopted the orphans its selector matches and released those it no longer
// matches (RefManager); get re-reads the owner from the apiserver before
// the first adoption, so that nothing is adopted by an owner that is gone,
// recreated or being deleted.
func ClaimPods(ctx context.Context, cs *client.Clientset, owner client.Object, selector *metav1.LabelSelector,
	pods []*corev1.Pod, get func(ctx context.Context) (client.Object, error)) ([]*corev1.Pod, error) {
	sel, err := labels.FromLabelSelector(selector)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid selector: %w", KeyFunc(owner), err)
	}
	ns, uid := owner.GetMetadata().GetNamespace(), owner.GetMetadata().GetUid()
	rm := &RefManager[*corev1.Pod]{
		Owner: owner, Selector: sel,
		CanAdopt: func(ctx context.Context) error {
			fresh, err := get(ctx)
			switch {
			case err != nil:
				return err
			case fresh.GetMetadata().GetUid() != uid:
				return fmt.Errorf("%s was recreated (uid %s, want %s)", KeyFunc(owner), fresh.GetMetadata().GetUid(), uid)
			case fresh.GetMetadata().GetDeletionTimestamp() != nil:
				return fmt.Errorf("%s is being deleted", KeyFunc(owner))
			}
			return nil
		},
		Get: func(ctx context.Context, ns, name string) (*corev1.Pod, error) {
			return cs.CoreV1().Pods(ns).Get(ctx, name)
		},
		Update: func(ctx context.Context, p *corev1.Pod) (*corev1.Pod, error) {
			return cs.CoreV1().Pods(ns).Update(ctx, p)
		},
	}
	return rm.Claim(ctx, pods)
}

// OwnedPodHandler queues the key ("namespace/name") of the controller of
// kind that controls a pod whenever the pod changes, and tells exp about
// the creations and deletions it observes: the pod handler of the
// DaemonSet and Job controllers.
func OwnedPodHandler(kind string, exp *Expectations, enqueue func(key string)) informer.ResourceEventHandler {
	owner := func(p *corev1.Pod) (string, bool) {
		ref := ControllerOf(p.GetMetadata())
		if ref == nil || ref.GetKind() != kind {
			return "", false
		}
		return p.GetMetadata().GetNamespace() + "/" + ref.GetName(), true
	}
	return informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc: func(p *corev1.Pod) {
			if key, ok := owner(p); ok {
				exp.CreationObserved(key)
				enqueue(key)
			}
		},
		UpdateFunc: func(old, p *corev1.Pod) {
			if key, ok := owner(p); ok {
				if p.GetMetadata().GetDeletionTimestamp() != nil && old.GetMetadata().GetDeletionTimestamp() == nil {
					exp.DeletionObserved(key, KeyFunc(p))
				}
				enqueue(key)
			}
		},
		DeleteFunc: func(p *corev1.Pod) {
			if key, ok := owner(p); ok {
				exp.DeletionObserved(key, KeyFunc(p))
				enqueue(key)
			}
		},
	}
}

// DeletePods deletes an owner's pods with Kubernetes' SuccessfulDelete and
// FailedDelete events, expecting the deletions in exp.
func DeletePods(ctx context.Context, cs *client.Clientset, rec client.Recorder, exp *Expectations, owner client.Object, pods []*corev1.Pod) error {
	if len(pods) == 0 {
		return nil
	}
	key := KeyFunc(owner)
	keys := make([]string, 0, len(pods))
	for _, p := range pods {
		keys = append(keys, KeyFunc(p))
	}
	exp.ExpectDeletions(key, keys)
	var errs []error
	for _, p := range pods {
		m := p.GetMetadata()
		err := cs.CoreV1().Pods(m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid()})
		switch {
		case client.IsNotFound(err):
			exp.DeletionObserved(key, KeyFunc(p))
		case err != nil:
			exp.DeletionObserved(key, KeyFunc(p))
			rec.Event(owner, "Warning", "FailedDelete", "Error deleting: %v", err)
			errs = append(errs, fmt.Errorf("delete pod %s: %w", KeyFunc(p), err))
		default:
			rec.Event(owner, "Normal", "SuccessfulDelete", "Deleted pod: %s", m.GetName())
		}
	}
	return errors.Join(errs...)
}
