package informer

import (
	"context"
	"reflect"
	"sync"
	"time"

	"go.uber.org/zap"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
)

// SharedInformerFactory hands out one shared informer per kind, so a
// process that needs pods in three places opens one watch on pods:
//
//	f := informer.NewSharedInformerFactory(cs, 10*time.Minute)
//	pods := f.Core().V1().Pods()
//	pods.Informer().AddEventHandler(...)
//	f.Start(ctx)
//	if !f.WaitForCacheSync(ctx) { ... }
//	pod, err := pods.Lister().Get("default", "web-0")
type SharedInformerFactory struct {
	cs        *client.Clientset
	lg        *zap.Logger
	resync    time.Duration
	namespace string
	tweak     func(*client.ListOptions)

	mu        sync.Mutex
	informers map[reflect.Type]SharedInformer
	started   map[reflect.Type]bool
	wg        sync.WaitGroup
}

// FactoryOption configures a SharedInformerFactory.
type FactoryOption func(*SharedInformerFactory)

// WithNamespace limits the factory's informers of namespaced kinds to one
// namespace.
func WithNamespace(namespace string) FactoryOption {
	return func(f *SharedInformerFactory) { f.namespace = namespace }
}

// WithTweakListOptions edits the options of every list and watch, e.g. a
// kubelet's field selector spec.nodeName=<node>.
func WithTweakListOptions(tweak func(*client.ListOptions)) FactoryOption {
	return func(f *SharedInformerFactory) { f.tweak = tweak }
}

// NewSharedInformerFactory makes informers over cs; resync > 0 re-sends
// every cached object to the handlers that often. It logs through
// cs.Logger().
func NewSharedInformerFactory(cs *client.Clientset, resync time.Duration, opts ...FactoryOption) *SharedInformerFactory {
	f := &SharedInformerFactory{
		cs:        cs,
		lg:        cs.Logger().Named("informer"),
		resync:    resync,
		informers: map[reflect.Type]SharedInformer{},
		started:   map[reflect.Type]bool{},
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// InformerFor returns the factory's informer for objects of exampleObj's
// type, making it with newLW on first use. The typed accessors
// (f.Core().V1().Pods()) use it; call it for list-watchers of one's own.
func (f *SharedInformerFactory) InformerFor(exampleObj Object, newLW func(cs *client.Clientset, namespace string, tweak func(*client.ListOptions)) ListWatcher) SharedInformer {
	t := reflect.TypeOf(exampleObj)
	f.mu.Lock()
	defer f.mu.Unlock()
	if inf, ok := f.informers[t]; ok {
		return inf
	}
	inf := NewSharedInformer(newLW(f.cs, f.namespace, f.tweak), exampleObj, f.resync, WithLogger(f.lg))
	f.informers[t] = inf
	return inf
}

// Start runs every informer requested so far that is not running yet,
// until ctx ends. Informers requested later need another Start.
func (f *SharedInformerFactory) Start(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t, inf := range f.informers {
		if f.started[t] {
			continue
		}
		f.started[t] = true
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			inf.Run(ctx)
		}()
	}
}

// WaitForCacheSync waits until every started informer has synced; false
// means ctx ended first.
func (f *SharedInformerFactory) WaitForCacheSync(ctx context.Context) bool {
	f.mu.Lock()
	var synced []func() bool
	for t, inf := range f.informers {
		if f.started[t] {
			synced = append(synced, inf.HasSynced)
		}
	}
	f.mu.Unlock()
	return WaitForCacheSync(ctx, synced...)
}

// Shutdown waits until every started informer has stopped (after the
// context given to Start ended).
func (f *SharedInformerFactory) Shutdown() { f.wg.Wait() }

// TypedInformer is the shared informer of one kind with its lister.
type TypedInformer[T Object] struct {
	informer SharedInformer
	resource string
}

// Informer is the shared informer, to add handlers to.
func (i TypedInformer[T]) Informer() SharedInformer { return i.informer }

// Lister reads the informer's cache.
func (i TypedInformer[T]) Lister() Lister[T] { return NewLister[T](i.informer.GetStore(), i.resource) }

// typedClient of kind T in namespace ns ("" for all or cluster-scoped).
type clientFor[T client.Object, L client.ObjectList[T]] func(cs *client.Clientset, ns string) typedClient[T, L]

// forKind returns f's informer of kind T.
func forKind[T client.Object, L client.ObjectList[T]](f *SharedInformerFactory, resource string, c clientFor[T, L]) TypedInformer[T] {
	var zero T
	inf := f.InformerFor(zero, func(cs *client.Clientset, ns string, tweak func(*client.ListOptions)) ListWatcher {
		return NewListWatcher(c(cs, ns), tweak)
	})
	return TypedInformer[T]{informer: inf, resource: resource}
}

// Core is the core API group.
func (f *SharedInformerFactory) Core() CoreGroup { return CoreGroup{f} }

// Apps is the apps API group.
func (f *SharedInformerFactory) Apps() AppsGroup { return AppsGroup{f} }

// Batch is the batch API group.
func (f *SharedInformerFactory) Batch() BatchGroup { return BatchGroup{f} }

// Coordination is the coordination.k8s.io API group.
func (f *SharedInformerFactory) Coordination() CoordinationGroup { return CoordinationGroup{f} }

// CoreGroup selects a version of the core group.
type CoreGroup struct{ f *SharedInformerFactory }

// V1 is core/v1.
func (g CoreGroup) V1() CoreV1Informers { return CoreV1Informers(g) }

// CoreV1Informers are the informers of core/v1.
type CoreV1Informers struct{ f *SharedInformerFactory }

// Namespaces is the shared informer of namespaces.
func (v CoreV1Informers) Namespaces() TypedInformer[*corev1.Namespace] {
	return forKind(v.f, "namespaces", func(cs *client.Clientset, _ string) typedClient[*corev1.Namespace, *corev1.NamespaceList] {
		return cs.CoreV1().Namespaces()
	})
}

// Pods is the shared informer of pods.
func (v CoreV1Informers) Pods() TypedInformer[*corev1.Pod] {
	return forKind(v.f, "pods", func(cs *client.Clientset, ns string) typedClient[*corev1.Pod, *corev1.PodList] {
		return cs.CoreV1().Pods(ns)
	})
}

// Nodes is the shared informer of nodes.
func (v CoreV1Informers) Nodes() TypedInformer[*corev1.Node] {
	return forKind(v.f, "nodes", func(cs *client.Clientset, _ string) typedClient[*corev1.Node, *corev1.NodeList] {
		return cs.CoreV1().Nodes()
	})
}

// Services is the shared informer of services.
func (v CoreV1Informers) Services() TypedInformer[*corev1.Service] {
	return forKind(v.f, "services", func(cs *client.Clientset, ns string) typedClient[*corev1.Service, *corev1.ServiceList] {
		return cs.CoreV1().Services(ns)
	})
}

// Endpoints is the shared informer of endpoints.
func (v CoreV1Informers) Endpoints() TypedInformer[*corev1.Endpoints] {
	return forKind(v.f, "endpoints", func(cs *client.Clientset, ns string) typedClient[*corev1.Endpoints, *corev1.EndpointsList] {
		return cs.CoreV1().Endpoints(ns)
	})
}

// Events is the shared informer of events.
func (v CoreV1Informers) Events() TypedInformer[*corev1.Event] {
	return forKind(v.f, "events", func(cs *client.Clientset, ns string) typedClient[*corev1.Event, *corev1.EventList] {
		return cs.CoreV1().Events(ns)
	})
}

// ConfigMaps is the shared informer of configmaps.
func (v CoreV1Informers) ConfigMaps() TypedInformer[*corev1.ConfigMap] {
	return forKind(v.f, "configmaps", func(cs *client.Clientset, ns string) typedClient[*corev1.ConfigMap, *corev1.ConfigMapList] {
		return cs.CoreV1().ConfigMaps(ns)
	})
}

// Secrets is the shared informer of secrets.
func (v CoreV1Informers) Secrets() TypedInformer[*corev1.Secret] {
	return forKind(v.f, "secrets", func(cs *client.Clientset, ns string) typedClient[*corev1.Secret, *corev1.SecretList] {
		return cs.CoreV1().Secrets(ns)
	})
}

// ServiceAccounts is the shared informer of serviceaccounts.
func (v CoreV1Informers) ServiceAccounts() TypedInformer[*corev1.ServiceAccount] {
	return forKind(v.f, "serviceaccounts", func(cs *client.Clientset, ns string) typedClient[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
		return cs.CoreV1().ServiceAccounts(ns)
	})
}

// AppsGroup selects a version of the apps group.
type AppsGroup struct{ f *SharedInformerFactory }

// V1 is apps/v1.
func (g AppsGroup) V1() AppsV1Informers { return AppsV1Informers(g) }

// AppsV1Informers are the informers of apps/v1.
type AppsV1Informers struct{ f *SharedInformerFactory }

// ReplicaSets is the shared informer of replicasets.
func (v AppsV1Informers) ReplicaSets() TypedInformer[*appsv1.ReplicaSet] {
	return forKind(v.f, "replicasets", func(cs *client.Clientset, ns string) typedClient[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
		return cs.AppsV1().ReplicaSets(ns)
	})
}

// Deployments is the shared informer of deployments.
func (v AppsV1Informers) Deployments() TypedInformer[*appsv1.Deployment] {
	return forKind(v.f, "deployments", func(cs *client.Clientset, ns string) typedClient[*appsv1.Deployment, *appsv1.DeploymentList] {
		return cs.AppsV1().Deployments(ns)
	})
}

// DaemonSets is the shared informer of daemonsets.
func (v AppsV1Informers) DaemonSets() TypedInformer[*appsv1.DaemonSet] {
	return forKind(v.f, "daemonsets", func(cs *client.Clientset, ns string) typedClient[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
		return cs.AppsV1().DaemonSets(ns)
	})
}

// BatchGroup selects a version of the batch group.
type BatchGroup struct{ f *SharedInformerFactory }

// V1 is batch/v1.
func (g BatchGroup) V1() BatchV1Informers { return BatchV1Informers(g) }

// BatchV1Informers are the informers of batch/v1.
type BatchV1Informers struct{ f *SharedInformerFactory }

// Jobs is the shared informer of jobs.
func (v BatchV1Informers) Jobs() TypedInformer[*batchv1.Job] {
	return forKind(v.f, "jobs", func(cs *client.Clientset, ns string) typedClient[*batchv1.Job, *batchv1.JobList] {
		return cs.BatchV1().Jobs(ns)
	})
}

// CoordinationGroup selects a version of the coordination.k8s.io group.
type CoordinationGroup struct{ f *SharedInformerFactory }

// V1 is coordination.k8s.io/v1.
func (g CoordinationGroup) V1() CoordinationV1Informers { return CoordinationV1Informers(g) }

// CoordinationV1Informers are the informers of coordination.k8s.io/v1.
type CoordinationV1Informers struct{ f *SharedInformerFactory }

// Leases is the shared informer of leases.
func (v CoordinationV1Informers) Leases() TypedInformer[*coordinationv1.Lease] {
	return forKind(v.f, "leases", func(cs *client.Clientset, ns string) typedClient[*coordinationv1.Lease, *coordinationv1.LeaseList] {
		return cs.CoordinationV1().Leases(ns)
	})
}
