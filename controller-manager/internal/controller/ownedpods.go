package controller

import (
	"context"
	"errors"
	"fmt"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

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
