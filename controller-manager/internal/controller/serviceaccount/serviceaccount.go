// Package serviceaccount holds the service account controllers, as
// Kubernetes': the ServiceAccounts controller keeps a "default"
// ServiceAccount in every active namespace (recreated if deleted), and the
// token controller gives every ServiceAccount a Secret of type
// kubernetes.io/service-account-token holding a token signed with
// --service-account-private-key-file (data token, ca.crt, namespace),
// listed in the ServiceAccount's secrets; a deleted ServiceAccount's token
// Secrets are deleted.
package serviceaccount

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"skiff.dev/controller-manager/internal/controller"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
	sa "skiff.dev/proto/serviceaccount"
)

// Config configures the ServiceAccounts controller.
type Config struct {
	controller.Common
	// ServiceAccounts are created in every namespace (["default"]).
	ServiceAccounts []string
}

// Controller is the ServiceAccounts controller; its keys are namespaces.
type Controller struct {
	lg    *zap.Logger
	cs    *client.Clientset
	names []string
	ns    informer.Lister[*corev1.Namespace]
	sas   informer.Lister[*corev1.ServiceAccount]

	*controller.Controller
}

// New makes the controller; Run starts it.
func New(lg *zap.Logger, cs *client.Clientset, f *informer.SharedInformerFactory, cfg Config) *Controller {
	if lg == nil {
		lg = zap.NewNop()
	}
	if len(cfg.ServiceAccounts) == 0 {
		cfg.ServiceAccounts = []string{sa.DefaultServiceAccount}
	}
	nsInf, saInf := f.Core().V1().Namespaces(), f.Core().V1().ServiceAccounts()
	c := &Controller{lg: lg, cs: cs, names: cfg.ServiceAccounts, ns: nsInf.Lister(), sas: saInf.Lister()}
	c.Controller = controller.New(lg, controller.Options{
		Name: "serviceaccount", Workers: cfg.Workers, Reconcile: c.sync, MetricsProvider: cfg.MetricsProvider,
		HasSynced: []func() bool{nsInf.Informer().HasSynced, saInf.Informer().HasSynced},
	})
	nsInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Namespace]{
		AddFunc:    func(n *corev1.Namespace) { c.Enqueue(n) },
		UpdateFunc: func(_, n *corev1.Namespace) { c.Enqueue(n) },
	})
	saInf.Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.ServiceAccount]{
		DeleteFunc: func(s *corev1.ServiceAccount) { c.EnqueueKey(s.GetMetadata().GetNamespace()) },
	})
	return c
}

// sync creates the missing service accounts of an active namespace.
func (c *Controller) sync(ctx context.Context, name string) (controller.Result, error) {
	ns, err := c.ns.Get("", name)
	if client.IsNotFound(err) {
		return controller.Result{}, nil
	}
	if err != nil {
		return controller.Result{}, err
	}
	if ns.GetMetadata().GetDeletionTimestamp() != nil || ns.GetStatus().GetPhase() == "Terminating" {
		return controller.Result{}, nil
	}
	for _, n := range c.names {
		if _, err := c.sas.Get(name, n); err == nil {
			continue
		}
		_, err := c.cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{
			Metadata: &metav1.ObjectMeta{Name: n, Namespace: name}})
		switch {
		case err == nil:
			c.lg.Info("created service account", zap.String("namespace", name), zap.String("serviceaccount", n))
		case client.IsAlreadyExists(err):
		case client.IsForbidden(err) || client.IsNotFound(err):
			// The namespace is going away.
		default:
			return controller.Result{}, fmt.Errorf("create service account %s/%s: %w", name, n, err)
		}
	}
	return controller.Result{}, nil
}
