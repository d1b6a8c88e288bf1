// Package namespace is the namespace controller: it empties a Terminating
// namespace, deleting every object of every namespaced kind in it (pods
// gracefully), waits until they are gone, and then removes the
// "kubernetes" finalizer from spec.finalizers through namespaces/finalize so
// that the apiserver removes the namespace. Its status conditions say what
// is left, as Kubernetes' (NamespaceContentRemaining,
// NamespaceFinalizersRemaining, NamespaceDeletionContentFailure, ...).
package namespace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// FinalizerKubernetes is the spec finalizer this controller owns.
const FinalizerKubernetes = "kubernetes"

// Kubernetes' namespace condition types.
const (
	DeletionDiscoveryFailure           = "NamespaceDeletionDiscoveryFailure"
	DeletionGroupVersionParsingFailure = "NamespaceDeletionGroupVersionParsingFailure"
	DeletionContentFailure             = "NamespaceDeletionContentFailure"
	ContentRemaining                   = "NamespaceContentRemaining"
	FinalizersRemaining                = "NamespaceFinalizersRemaining"
)

// Config configures the controller.
type Config struct {
	controller.Common
	// RecheckInterval is how soon a namespace whose content is still going
	// is looked at again (1s).
	RecheckInterval time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Controller is the namespace controller.
type Controller struct {
	lg    *zap.Logger
	cs    *client.Clientset
	cfg   Config
	ns    informer.Lister[*corev1.Namespace]
	kinds []controller.Kind

	*controller.Controller
}

// New makes the controller; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	inf := f.Core().V1().Namespaces()
	c := &Controller{lg: lg, cs: cs, cfg: cfg, ns: inf.Lister()}
	for _, k := range controller.Kinds() {
		if k.Namespaced {
			c.kinds = append(c.kinds, k)
		}
	}
	c.Controller = controller.New(lg, controller.Options{
		Name: "namespace", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{inf.Informer().HasSynced},
	})
	inf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Namespace]{
		AddFunc:    c.enqueueTerminating,
		UpdateFunc: func(_, n *corev1.Namespace) { c.enqueueTerminating(n) },
	})
	return c
}

func (c *Controller) enqueueTerminating(n *corev1.Namespace) {
	if n.GetMetadata().GetDeletionTimestamp() != nil {
		c.Enqueue(n)
	}
}

// content is what a pass over a namespace found.
type content struct {
	remaining  map[string]int // resource → objects left
	finalizers map[string]int // finalizer → objects left that carry it
	errs       []error
}

// sync empties one terminating namespace.
func (c *Controller) sync(ctx context.Context, name string) (controller.Result, error) {
	ns, err := c.ns.Get("", name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.GetMetadata().GetDeletionTimestamp() == nil {
		return controller.Result{}, nil
	}
	if len(ns.GetSpec().GetFinalizers()) == 0 && len(ns.GetMetadata().GetFinalizers()) == 0 {
		// Finalized but still here (deleted before the apiserver handed
		// deletion to this controller): delete it again, as Kubernetes'
		// deleteNamespaceWhenDone.
		err := c.cs.CoreV1().Namespaces().Delete(ctx, name, client.DeleteOptions{PreconditionUID: ns.GetMetadata().GetUid()})
		if client.IsNotFound(err) || client.IsConflict(err) {
			err = nil
		}
		return controller.Result{}, err
	}
	if !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes) {
		return controller.Result{}, nil
	}
	found := c.deleteContent(ctx, name)
	if err := c.writeConditions(ctx, ns, found); err != nil {
		return controller.Result{}, err
	}
	if len(found.errs) > 0 {
		return controller.Result{}, errors.Join(found.errs...)
	}
	if len(found.remaining) > 0 {
		return controller.Result{RequeueAfter: c.cfg.RecheckInterval}, nil
	}
	return controller.Result{}, c.finalize(ctx, name)
}

// deleteContent deletes every object in the namespace not yet being
// deleted, and counts what is left.
func (c *Controller) deleteContent(ctx context.Context, ns string) content {
	found := content{remaining: map[string]int{}, finalizers: map[string]int{}}
	for _, k := range c.kinds {
		kc := k.Client(c.cs, ns)
		objs, err := kc.List(ctx, client.ListOptions{})
		if err != nil {
			found.errs = append(found.errs, fmt.Errorf("list %s: %w", k.Resource, err))
			continue
		}
		for _, obj := range objs {
			m := obj.GetMetadata()
			if m.GetDeletionTimestamp() == nil {
				err := kc.Delete(ctx, m.GetName(), client.DeleteOptions{PreconditionUID: m.GetUid(), PropagationPolicy: "Background"})
				switch {
				case client.IsNotFound(err):
					continue
				case err != nil:
					found.errs = append(found.errs, fmt.Errorf("delete %s %s: %w", k.Resource, m.GetName(), err))
				}
			}
			found.remaining[qualified(k)]++
			for _, f := range m.GetFinalizers() {
				found.finalizers[f]++
			}
		}
	}
	// What a delete removed at once is no longer remaining.
	for _, k := range c.kinds {
		if found.remaining[qualified(k)] == 0 {
			continue
		}
		objs, err := k.Client(c.cs, ns).List(ctx, client.ListOptions{})
		if err == nil {
			if len(objs) == 0 {
				delete(found.remaining, qualified(k))
			} else {
				found.remaining[qualified(k)] = len(objs)
			}
		}
	}
	return found
}

// writeConditions records the deletion's progress in the namespace status,
// with Kubernetes' condition types, reasons and messages.
func (c *Controller) writeConditions(ctx context.Context, ns *corev1.Namespace, found content) error {
	conds := []*corev1.NamespaceCondition{
		{Type: DeletionDiscoveryFailure, Status: "False", Reason: "ResourcesDiscovered", Message: "All resources successfully discovered"},
		{Type: DeletionGroupVersionParsingFailure, Status: "False", Reason: "ParsedGroupVersions", Message: "All legacy kube types successfully parsed"},
		{Type: DeletionContentFailure, Status: "False", Reason: "ContentDeleted", Message: "All content successfully deleted, may be waiting on finalization"},
		{Type: ContentRemaining, Status: "False", Reason: "ContentRemoved", Message: "All content successfully removed"},
		{Type: FinalizersRemaining, Status: "False", Reason: "ContentHasNoFinalizers", Message: "All content-preserving finalizers finished"},
	}
	if len(found.errs) > 0 {
		var msgs []string
		for _, err := range found.errs {
			msgs = append(msgs, err.Error())
		}
		conds[2].Status, conds[2].Reason, conds[2].Message = "True", "ContentDeletionFailed", "Failed to delete all resource types, "+
			fmt.Sprint(len(found.errs))+" remaining: "+strings.Join(msgs, ", ")
	}
	if len(found.remaining) > 0 {
		conds[3].Status, conds[3].Reason, conds[3].Message = "True", "SomeResourcesRemain", "Some resources are remaining: "+counts(found.remaining, "has")
	}
	if len(found.finalizers) > 0 {
		conds[4].Status, conds[4].Reason, conds[4].Message = "True", "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: "+counts(found.finalizers, "in")
	}
	next := controller.Clone(ns)
	if next.Status == nil {
		next.Status = &corev1.NamespaceStatus{}
	}
	now := timestamppb.New(c.cfg.Now())
	changed := false
	for _, want := range conds {
		i := slices.IndexFunc(next.Status.Conditions, func(c *corev1.NamespaceCondition) bool { return c.GetType() == want.Type })
		switch {
		case i < 0:
			want.LastTransitionTime = now
			next.Status.Conditions = append(next.Status.Conditions, want)
			changed = true
		case next.Status.Conditions[i].GetStatus() != want.Status || next.Status.Conditions[i].GetMessage() != want.Message:
			want.LastTransitionTime = next.Status.Conditions[i].GetLastTransitionTime()
			if next.Status.Conditions[i].GetStatus() != want.Status {
				want.LastTransitionTime = now
			}
			next.Status.Conditions[i] = want
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := c.cs.CoreV1().Namespaces().UpdateStatus(ctx, next)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// counts is "pods has 2 resource instances, secrets has 1 resource
// instances" (verb "has"), sorted, as Kubernetes words it.
func counts(m map[string]int, verb string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %s %d resource instances", k, verb, m[k]))
	}
	return strings.Join(parts, ", ")
}

// qualified is a kind's resource as Kubernetes' GroupResource: pods, deployments.apps.
func qualified(k controller.Kind) string {
	if group, _, ok := strings.Cut(k.APIVersion, "/"); ok {
		return k.Resource + "." + group
	}
	return k.Resource
}

// finalize removes the "kubernetes" finalizer; the apiserver removes the
// namespace when no finalizer is left.
func (c *Controller) finalize(ctx context.Context, name string) error {
	ns, err := c.cs.CoreV1().Namespaces().Get(ctx, name)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !slices.Contains(ns.GetSpec().GetFinalizers(), FinalizerKubernetes) {
		return nil
	}
	ns.Spec.Finalizers = slices.DeleteFunc(slices.Clone(ns.Spec.Finalizers), func(f string) bool { return f == FinalizerKubernetes })
	_, err = c.cs.CoreV1().Raw().Namespaces.Finalize(ctx, &corev1.NamespaceRequest{Name: name, Object: ns})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finalize namespace %s: %w", name, err)
	}
	c.lg.Info("namespace emptied and finalized", zap.String("namespace", name))
	return nil
}
