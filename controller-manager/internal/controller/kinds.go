package controller

import (
	"context"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	"skiff.dev/proto/client"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
)

// Kind is one resource the apiserver serves, with kind-independent access
// to it, for the controllers that handle every kind: the namespace
// controller (empties namespaces) and the garbage collector (follows
// ownerReferences).
type Kind struct {
	APIVersion string // v1, apps/v1
	Kind       string // Pod
	Resource   string // pods
	Namespaced bool
	// Informer is the factory's shared informer of the kind.
	Informer func(f *informer.SharedInformerFactory) informer.SharedInformer
	// Client is the kind's client in namespace ns ("" for all namespaces or
	// a cluster-scoped kind).
	Client func(cs *client.Clientset, ns string) ObjectClient
}

// ObjectClient reads and writes objects of one kind as client.Object.
type ObjectClient interface {
	Get(ctx context.Context, name string) (client.Object, error)
	List(ctx context.Context, opts client.ListOptions) ([]client.Object, error)
	Update(ctx context.Context, obj client.Object) (client.Object, error)
	Delete(ctx context.Context, name string, opts client.DeleteOptions) error
}

type objectClient[T client.Object, L client.ObjectList[T]] struct{ r *client.Resource[T, L] }

func (c objectClient[T, L]) Get(ctx context.Context, name string) (client.Object, error) {
	return c.r.Get(ctx, name)
}

func (c objectClient[T, L]) List(ctx context.Context, opts client.ListOptions) ([]client.Object, error) {
	l, err := c.r.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(l.GetItems()))
	for _, it := range l.GetItems() {
		out = append(out, it)
	}
	return out, nil
}

func (c objectClient[T, L]) Update(ctx context.Context, obj client.Object) (client.Object, error) {
	return c.r.Update(ctx, obj.(T))
}

func (c objectClient[T, L]) Delete(ctx context.Context, name string, opts client.DeleteOptions) error {
	return c.r.Delete(ctx, name, opts)
}

func kind[T client.Object, L client.ObjectList[T]](apiVersion, k, resource string, namespaced bool,
	inf func(f *informer.SharedInformerFactory) informer.TypedInformer[T],
	r func(cs *client.Clientset, ns string) *client.Resource[T, L]) Kind {
	return Kind{APIVersion: apiVersion, Kind: k, Resource: resource, Namespaced: namespaced,
		Informer: func(f *informer.SharedInformerFactory) informer.SharedInformer { return inf(f).Informer() },
		Client:   func(cs *client.Clientset, ns string) ObjectClient { return objectClient[T, L]{r(cs, ns)} },
	}
}

// Kinds is every kind the apiserver serves, in Kubernetes' discovery order
// (a test checks it against the apiserver's discovery).
func Kinds() []Kind {
	return []Kind{
		kind("v1", "Namespace", "namespaces", false,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Namespace] {
				return f.Core().V1().Namespaces()
			},
			func(cs *client.Clientset, _ string) *client.Resource[*corev1.Namespace, *corev1.NamespaceList] {
				return cs.CoreV1().Namespaces().Resource
			}),
		kind("v1", "Pod", "pods", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Pod] {
				return f.Core().V1().Pods()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.Pod, *corev1.PodList] {
				return cs.CoreV1().Pods(ns).Resource
			}),
		kind("v1", "Node", "nodes", false,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Node] {
				return f.Core().V1().Nodes()
			},
			func(cs *client.Clientset, _ string) *client.Resource[*corev1.Node, *corev1.NodeList] {
				return cs.CoreV1().Nodes().Resource
			}),
		kind("v1", "Service", "services", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Service] {
				return f.Core().V1().Services()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.Service, *corev1.ServiceList] {
				return cs.CoreV1().Services(ns).Resource
			}),
		kind("v1", "Endpoints", "endpoints", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Endpoints] {
				return f.Core().V1().Endpoints()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.Endpoints, *corev1.EndpointsList] {
				return cs.CoreV1().Endpoints(ns)
			}),
		kind("v1", "Event", "events", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Event] {
				return f.Core().V1().Events()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.Event, *corev1.EventList] {
				return cs.CoreV1().Events(ns)
			}),
		kind("v1", "ConfigMap", "configmaps", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.ConfigMap] {
				return f.Core().V1().ConfigMaps()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.ConfigMap, *corev1.ConfigMapList] {
				return cs.CoreV1().ConfigMaps(ns)
			}),
		kind("v1", "Secret", "secrets", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.Secret] {
				return f.Core().V1().Secrets()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.Secret, *corev1.SecretList] {
				return cs.CoreV1().Secrets(ns)
			}),
		kind("v1", "ServiceAccount", "serviceaccounts", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*corev1.ServiceAccount] {
				return f.Core().V1().ServiceAccounts()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
				return cs.CoreV1().ServiceAccounts(ns)
			}),
		kind("apps/v1", "ReplicaSet", "replicasets", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*appsv1.ReplicaSet] {
				return f.Apps().V1().ReplicaSets()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList] {
				return cs.AppsV1().ReplicaSets(ns).Resource
			}),
		kind("apps/v1", "Deployment", "deployments", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*appsv1.Deployment] {
				return f.Apps().V1().Deployments()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*appsv1.Deployment, *appsv1.DeploymentList] {
				return cs.AppsV1().Deployments(ns).Resource
			}),
		kind("apps/v1", "DaemonSet", "daemonsets", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*appsv1.DaemonSet] {
				return f.Apps().V1().DaemonSets()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList] {
				return cs.AppsV1().DaemonSets(ns).Resource
			}),
		kind("batch/v1", "Job", "jobs", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*batchv1.Job] {
				return f.Batch().V1().Jobs()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*batchv1.Job, *batchv1.JobList] {
				return cs.BatchV1().Jobs(ns).Resource
			}),
		kind("coordination.k8s.io/v1", "Lease", "leases", true,
			func(f *informer.SharedInformerFactory) informer.TypedInformer[*coordinationv1.Lease] {
				return f.Coordination().V1().Leases()
			},
			func(cs *client.Clientset, ns string) *client.Resource[*coordinationv1.Lease, *coordinationv1.LeaseList] {
				return cs.CoordinationV1().Leases(ns)
			}),
	}
}

// KindOf finds the kind with apiVersion and kind in kinds.
func KindOf(kinds []Kind, apiVersion, kind string) (Kind, bool) {
	for _, k := range kinds {
		if k.APIVersion == apiVersion && k.Kind == kind {
			return k, true
		}
	}
	return Kind{}, false
}
