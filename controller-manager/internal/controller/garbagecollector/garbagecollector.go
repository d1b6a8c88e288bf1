// Package garbagecollector is the garbage collector: it follows
// ownerReferences over every kind the apiserver serves, as Kubernetes' does.
//
//   - Background: an object all of whose owners are gone is deleted.
//   - Foreground: an owner deleted with propagationPolicy=Foreground carries
//     the foregroundDeletion finalizer; its dependents are deleted first
//     (foreground too when they have dependents of their own), and once
//     none with blockOwnerDeletion is left the finalizer is removed, so the
//     apiserver removes the owner.
//   - Orphan: an owner deleted with propagationPolicy=Orphan carries the
//     orphan finalizer; its dependents lose their ownerReference to it, then
//     the finalizer is removed.
//
// An owner that the cache does not hold is looked up with the apiserver
// before its dependents are deleted, so a lagging cache never deletes the
// dependents of a live owner.
package garbagecollector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

// The finalizers of foreground and orphan deletion.
const (
	FinalizerOrphan             = "orphan"
	FinalizerForegroundDeletion = "foregroundDeletion"
)

// ownerIndex files objects under the UIDs of their owners.
const ownerIndex = "metadata.ownerReferences.uid"

// Config configures the collector.
type Config struct {
	controller.Common
}

// kindCache is one kind's access: its cache and its client.
type kindCache struct {
	controller.Kind
	inf informer.SharedInformer
}

// Controller is the garbage collector.
type Controller struct {
	lg    *zap.Logger
	cs    *client.Clientset
	kinds []kindCache

	*controller.Controller
}

// The work items: check an object's owners, finish a foreground deletion,
// orphan an object's dependents.
const (
	actDependent  = "dependent"
	actForeground = "foreground"
	actOrphan     = "orphan"
)

// New makes the collector over every kind's informer; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	c := &Controller{lg: lg, cs: cs}
	var synced []func() bool
	for _, k := range controller.Kinds() {
		inf := k.Informer(f)
		_ = inf.AddIndexers(informer.Indexers{ownerIndex: func(obj informer.Object) []string {
			var uids []string
			for _, ref := range obj.GetMetadata().GetOwnerReferences() {
				uids = append(uids, ref.GetUid())
			}
			return uids
		}})
		c.kinds = append(c.kinds, kindCache{Kind: k, inf: inf})
		synced = append(synced, inf.HasSynced)
	}
	c.Controller = controller.New(lg, controller.Options{
		Name: "garbagecollector", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: synced,
	})
	for i := range c.kinds {
		k := c.kinds[i]
		k.inf.AddEventHandler(informer.ResourceEventHandlerFuncs{
			AddFunc:    func(obj informer.Object) { c.changed(k, obj, false) },
			UpdateFunc: func(_, obj informer.Object) { c.changed(k, obj, false) },
			DeleteFunc: func(obj informer.Object) { c.changed(k, obj, true) },
		})
	}
	return c
}

func item(action string, k controller.Kind, key string) string {
	return action + "|" + k.APIVersion + "|" + k.Kind + "|" + key
}

// changed queues the work an object's change may call for.
func (c *Controller) changed(k kindCache, obj informer.Object, deleted bool) {
	m := obj.GetMetadata()
	key := controller.KeyFunc(obj)
	if !deleted {
		if len(m.GetOwnerReferences()) > 0 {
			c.EnqueueKey(item(actDependent, k.Kind, key))
		}
		if m.GetDeletionTimestamp() != nil {
			switch {
			case slices.Contains(m.GetFinalizers(), FinalizerForegroundDeletion):
				c.EnqueueKey(item(actForeground, k.Kind, key))
			case slices.Contains(m.GetFinalizers(), FinalizerOrphan):
				c.EnqueueKey(item(actOrphan, k.Kind, key))
			}
		}
	} else {
		// Its dependents may now be garbage.
		for _, d := range c.dependents(m.GetUid()) {
			c.EnqueueKey(item(actDependent, d.kind.Kind, controller.KeyFunc(d.obj)))
		}
	}
	// An owner waiting for its dependents looks again when one changes.
	if deleted || m.GetDeletionTimestamp() != nil {
		for _, ref := range m.GetOwnerReferences() {
			if ok, found := c.kindOf(ref.GetApiVersion(), ref.GetKind()); found {
				c.EnqueueKey(item(actForeground, ok.Kind, ownerKey(ok.Kind, m.GetNamespace(), ref.GetName())))
			}
		}
	}
}

type dependent struct {
	kind kindCache
	obj  informer.Object
}

// dependents are the cached objects with an ownerReference to uid.
func (c *Controller) dependents(uid string) []dependent {
	var out []dependent
	for _, k := range c.kinds {
		objs, _ := k.inf.GetStore().ByIndex(ownerIndex, uid)
		for _, o := range objs {
			out = append(out, dependent{kind: k, obj: o})
		}
	}
	return out
}

func ownerKey(k controller.Kind, ns, name string) string {
	if k.Namespaced {
		return ns + "/" + name
	}
	return name
}

func (c *Controller) kindOf(apiVersion, kind string) (kindCache, bool) {
	for _, k := range c.kinds {
		if k.APIVersion == apiVersion && k.Kind.Kind == kind {
			return k, true
		}
	}
	return kindCache{}, false
}

// sync does one work item.
func (c *Controller) sync(ctx context.Context, it string) (controller.Result, error) {
	parts := strings.SplitN(it, "|", 4)
	if len(parts) != 4 {
		return controller.Result{}, nil
	}
	k, ok := c.kindOf(parts[1], parts[2])
	if !ok {
		return controller.Result{}, nil
	}
	cached, ok := k.inf.GetStore().GetByKey(parts[3])
	if !ok {
		return controller.Result{}, nil
	}
	switch parts[0] {
	case actDependent:
		return controller.Result{}, c.checkOwners(ctx, k, cached)
	case actForeground:
		return c.foreground(ctx, k, cached)
	case actOrphan:
		return controller.Result{}, c.orphan(ctx, k, cached)
	}
	return controller.Result{}, nil
}

// ownerState is what became of an owner.
type ownerState int

const (
	ownerSolid   ownerState = iota // exists
	ownerGone                      // absent, or another object by that name
	ownerWaiting                   // being deleted in the foreground
)

// owner finds what ref points to, asking the apiserver when the cache does
// not have it.
func (c *Controller) owner(ctx context.Context, ns string, ref *metav1.OwnerReference) (ownerState, error) {
	k, ok := c.kindOf(ref.GetApiVersion(), ref.GetKind())
	if !ok {
		return ownerSolid, nil // a kind we do not know: never collect for it
	}
	key := ownerKey(k.Kind, ns, ref.GetName())
	obj, ok := k.inf.GetStore().GetByKey(key)
	if !ok || obj.GetMetadata().GetUid() != ref.GetUid() {
		live, err := k.Client(c.cs, ns).Get(ctx, ref.GetName())
		switch {
		case client.IsNotFound(err):
			return ownerGone, nil
		case err != nil:
			return ownerSolid, fmt.Errorf("look up owner %s %s: %w", ref.GetKind(), key, err)
		case live.GetMetadata().GetUid() != ref.GetUid():
			return ownerGone, nil
		}
		obj = live
	}
	m := obj.GetMetadata()
	if m.GetDeletionTimestamp() != nil && slices.Contains(m.GetFinalizers(), FinalizerForegroundDeletion) {
		return ownerWaiting, nil
	}
	return ownerSolid, nil
}

// checkOwners deletes an object whose owners are all gone (or all waiting
// for their dependents), and drops references to gone owners of an object
// that still has a live one.
func (c *Controller) checkOwners(ctx context.Context, k kindCache, obj informer.Object) error {
	m := obj.GetMetadata()
	if m.GetDeletionTimestamp() != nil {
		return nil
	}
	var gone []string
	solid, waiting := 0, 0
	for _, ref := range m.GetOwnerReferences() {
		st, err := c.owner(ctx, m.GetNamespace(), ref)
		if err != nil {
			return err
		}
		switch st {
		case ownerGone:
			gone = append(gone, ref.GetUid())
		case ownerWaiting:
			waiting++
		default:
			solid++
		}
	}
	switch {
	case solid > 0 && len(gone) > 0:
		return c.removeRefs(ctx, k, obj, gone)
	case solid > 0 || len(gone)+waiting == 0:
		return nil
	}
	policy := "Background"
	if waiting > 0 && len(c.dependents(m.GetUid())) > 0 {
		policy = "Foreground"
	}
	err := k.Client(c.cs, m.GetNamespace()).Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid(), PropagationPolicy: policy})
	if client.IsNotFound(err) || client.IsConflict(err) {
		return nil // gone, or another object now: its own events bring it back
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", k.Resource, controller.KeyFunc(obj), err)
	}
	c.lg.Info("deleted object whose owners are gone", zap.String("kind", k.Kind.Kind), zap.String("object", controller.KeyFunc(obj)),
		zap.String("propagationPolicy", policy))
	return nil
}

// removeRefs drops the ownerReferences with the given UIDs from an object.
func (c *Controller) removeRefs(ctx context.Context, k kindCache, obj informer.Object, uids []string) error {
	kc := k.Client(c.cs, obj.GetMetadata().GetNamespace())
	return retryOnConflict(ctx, kc, obj, func(o client.Object) bool {
		m := o.GetMetadata()
		n := len(m.OwnerReferences)
		m.OwnerReferences = slices.DeleteFunc(m.OwnerReferences, func(r *metav1.OwnerReference) bool { return slices.Contains(uids, r.GetUid()) })
		return len(m.OwnerReferences) != n
	})
}

// removeFinalizer drops a finalizer from an object.
func (c *Controller) removeFinalizer(ctx context.Context, k kindCache, obj informer.Object, finalizer string) error {
	kc := k.Client(c.cs, obj.GetMetadata().GetNamespace())
	return retryOnConflict(ctx, kc, obj, func(o client.Object) bool {
		m := o.GetMetadata()
		n := len(m.Finalizers)
		m.Finalizers = slices.DeleteFunc(m.Finalizers, func(f string) bool { return f == finalizer })
		return len(m.Finalizers) != n
	})
}

// retryOnConflict applies change to a copy of obj and updates it, reading
// it again when another writer came first.
func retryOnConflict(ctx context.Context, kc controller.ObjectClient, obj informer.Object, change func(client.Object) bool) error {
	cur := client.Object(controller.Clone(obj))
	uid := obj.GetMetadata().GetUid()
	for attempt := 0; ; attempt++ {
		if !change(cur) {
			return nil
		}
		_, err := kc.Update(ctx, cur)
		if err == nil || client.IsNotFound(err) {
			return nil
		}
		if !client.IsConflict(err) || attempt >= 5 {
			return fmt.Errorf("update %s: %w", controller.KeyFunc(obj), err)
		}
		if cur, err = kc.Get(ctx, obj.GetMetadata().GetName()); err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
		if cur.GetMetadata().GetUid() != uid {
			return nil
		}
	}
}

// foreground deletes the dependents of an owner deleted in the foreground
// and, once none that blocks it is left, removes its finalizer.
func (c *Controller) foreground(ctx context.Context, k kindCache, obj informer.Object) (controller.Result, error) {
	m := obj.GetMetadata()
	if m.GetDeletionTimestamp() == nil || !slices.Contains(m.GetFinalizers(), FinalizerForegroundDeletion) {
		return controller.Result{}, nil
	}
	blocking := 0
	var errs []error
	for _, d := range c.dependents(m.GetUid()) {
		dm := d.obj.GetMetadata()
		if dm.GetDeletionTimestamp() == nil {
			errs = append(errs, c.checkOwners(ctx, d.kind, d.obj))
		}
		for _, ref := range dm.GetOwnerReferences() {
			if ref.GetUid() == m.GetUid() && ref.GetBlockOwnerDeletion() {
				blocking++
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return controller.Result{}, err
	}
	if blocking > 0 {
		// The dependents' deletions bring the owner back; look again
		// anyway in case one is missed.
		return controller.Result{RequeueAfter: 5 * time.Second}, nil
	}
	if err := c.removeFinalizer(ctx, k, obj, FinalizerForegroundDeletion); err != nil {
		return controller.Result{}, err
	}
	c.lg.Info("dependents deleted, owner released", zap.String("kind", k.Kind.Kind), zap.String("object", controller.KeyFunc(obj)))
	return controller.Result{}, nil
}

// orphan removes the owner's ownerReference from its dependents, then the
// orphan finalizer.
func (c *Controller) orphan(ctx context.Context, k kindCache, obj informer.Object) error {
	m := obj.GetMetadata()
	if m.GetDeletionTimestamp() == nil || !slices.Contains(m.GetFinalizers(), FinalizerOrphan) {
		return nil
	}
	var errs []error
	for _, d := range c.dependents(m.GetUid()) {
		errs = append(errs, c.removeRefs(ctx, d.kind, d.obj, []string{m.GetUid()}))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := c.removeFinalizer(ctx, k, obj, FinalizerOrphan); err != nil {
		return err
	}
	c.lg.Info("dependents orphaned", zap.String("kind", k.Kind.Kind), zap.String("object", controller.KeyFunc(obj)))
	return nil
}
