package client

import (
	"go.uber.org/zap"
	"google.golang.org/grpc"

	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
)

// Clientset is the client of every API group. It is safe for concurrent
// use; make one per process and Close it at shutdown.
type Clientset struct {
	conn      grpc.ClientConnInterface
	close     func() error
	lg        *zap.Logger
	namespace string
	endpoints []string
	rest      *restClient

	core         *CoreV1Client
	apps         *AppsV1Client
	batch        *BatchV1Client
	coordination *CoordinationV1Client
}

// New makes a Clientset from opts merged over the config file. It does not
// connect: each apiserver is dialled on first use, so New fails only on
// bad options or unreadable files.
func New(opts Options) (*Clientset, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	lg := opts.Logger
	if lg == nil {
		lg = zap.NewNop()
	}
	fc, rest, err := dial(lg.Named("client"), r)
	if err != nil {
		return nil, err
	}
	cs := NewForConn(fc)
	cs.rest = rest
	cs.lg = lg
	cs.close = fc.Close
	cs.namespace = r.namespace
	for _, ep := range r.endpoints {
		cs.endpoints = append(cs.endpoints, ep.raw)
	}
	return cs, nil
}

// NewForConn makes a Clientset over an existing connection, e.g. a
// *grpc.ClientConn of the caller's own; Close does not close it.
func NewForConn(cc grpc.ClientConnInterface) *Clientset {
	return &Clientset{
		conn:         cc,
		close:        func() error { return nil },
		lg:           zap.NewNop(),
		namespace:    "default",
		core:         &CoreV1Client{raw: newCoreV1Raw(cc)},
		apps:         &AppsV1Client{raw: newAppsV1Raw(cc)},
		batch:        &BatchV1Client{raw: newBatchV1Raw(cc)},
		coordination: &CoordinationV1Client{raw: newCoordinationV1Raw(cc)},
	}
}

// Close closes the connections; calls in flight fail.
func (cs *Clientset) Close() error { return cs.close() }

// Conn is the connection every call goes through (failing over between
// apiservers), for generated clients of one's own.
func (cs *Clientset) Conn() grpc.ClientConnInterface { return cs.conn }

// Namespace is the default namespace: Options.Namespace, else the
// context's, else "default".
func (cs *Clientset) Namespace() string { return cs.namespace }

// Logger is the logger of Options.Logger (a no-op one if none), for the
// informers and recorders built on this Clientset.
func (cs *Clientset) Logger() *zap.Logger { return cs.lg }

// Endpoints lists the apiserver URLs in failover order.
func (cs *Clientset) Endpoints() []string { return append([]string(nil), cs.endpoints...) }

// CoreV1 is the core group: namespaces, pods, nodes, services, ...
func (cs *Clientset) CoreV1() *CoreV1Client { return cs.core }

// AppsV1 is the apps group: replicasets, deployments, daemonsets.
func (cs *Clientset) AppsV1() *AppsV1Client { return cs.apps }

// BatchV1 is the batch group: jobs.
func (cs *Clientset) BatchV1() *BatchV1Client { return cs.batch }

// CoordinationV1 is the coordination.k8s.io group: leases.
func (cs *Clientset) CoordinationV1() *CoordinationV1Client { return cs.coordination }

// The typed clients of kinds with no verbs beyond the common ones.
type (
	NamespaceClient      = StatusResource[*corev1.Namespace, *corev1.NamespaceList]
	NodeClient           = StatusResource[*corev1.Node, *corev1.NodeList]
	ServiceClient        = StatusResource[*corev1.Service, *corev1.ServiceList]
	EndpointsClient      = Resource[*corev1.Endpoints, *corev1.EndpointsList]
	EventClient          = Resource[*corev1.Event, *corev1.EventList]
	ConfigMapClient      = Resource[*corev1.ConfigMap, *corev1.ConfigMapList]
	SecretClient         = Resource[*corev1.Secret, *corev1.SecretList]
	ServiceAccountClient = Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList]
	DaemonSetClient      = StatusResource[*appsv1.DaemonSet, *appsv1.DaemonSetList]
	JobClient            = StatusResource[*batchv1.Job, *batchv1.JobList]
	LeaseClient          = Resource[*coordinationv1.Lease, *coordinationv1.LeaseList]
)

// CoreV1Raw holds the generated clients of the core group, for calls the
// typed clients do not cover.
type CoreV1Raw struct {
	Namespaces      corev1.NamespaceServiceClient
	Pods            corev1.PodServiceClient
	Nodes           corev1.NodeServiceClient
	Services        corev1.ServiceServiceClient
	Endpoints       corev1.EndpointsServiceClient
	Events          corev1.EventServiceClient
	ConfigMaps      corev1.ConfigMapServiceClient
	Secrets         corev1.SecretServiceClient
	ServiceAccounts corev1.ServiceAccountServiceClient
}

func newCoreV1Raw(cc grpc.ClientConnInterface) CoreV1Raw {
	return CoreV1Raw{
		Namespaces:      corev1.NewNamespaceServiceClient(cc),
		Pods:            corev1.NewPodServiceClient(cc),
		Nodes:           corev1.NewNodeServiceClient(cc),
		Services:        corev1.NewServiceServiceClient(cc),
		Endpoints:       corev1.NewEndpointsServiceClient(cc),
		Events:          corev1.NewEventServiceClient(cc),
		ConfigMaps:      corev1.NewConfigMapServiceClient(cc),
		Secrets:         corev1.NewSecretServiceClient(cc),
		ServiceAccounts: corev1.NewServiceAccountServiceClient(cc),
	}
}

// CoreV1Client is the core ("v1") group.
type CoreV1Client struct{ raw CoreV1Raw }

// Raw returns the generated clients.
func (c *CoreV1Client) Raw() CoreV1Raw { return c.raw }

// Namespaces is the client of namespaces (cluster-scoped).
func (c *CoreV1Client) Namespaces() *NamespaceClient {
	return newStatusResource("namespaces", "", c.raw.Namespaces)
}

// Pods is the client of pods in namespace ("" for all namespaces).
func (c *CoreV1Client) Pods(namespace string) *PodClient {
	return &PodClient{newStatusResource("pods", namespace, c.raw.Pods), c.raw.Pods}
}

// Nodes is the client of nodes (cluster-scoped).
func (c *CoreV1Client) Nodes() *NodeClient { return newStatusResource("nodes", "", c.raw.Nodes) }

// Services is the client of services in namespace ("" for all namespaces).
func (c *CoreV1Client) Services(namespace string) *ServiceClient {
	return newStatusResource("services", namespace, c.raw.Services)
}

// Endpoints is the client of endpoints in namespace ("" for all namespaces).
func (c *CoreV1Client) Endpoints(namespace string) *EndpointsClient {
	return newResource("endpoints", namespace, c.raw.Endpoints)
}

// Events is the client of events in namespace ("" for all namespaces).
func (c *CoreV1Client) Events(namespace string) *EventClient {
	return newResource("events", namespace, c.raw.Events)
}

// ConfigMaps is the client of configmaps in namespace ("" for all namespaces).
func (c *CoreV1Client) ConfigMaps(namespace string) *ConfigMapClient {
	return newResource("configmaps", namespace, c.raw.ConfigMaps)
}

// Secrets is the client of secrets in namespace ("" for all namespaces).
func (c *CoreV1Client) Secrets(namespace string) *SecretClient {
	return newResource("secrets", namespace, c.raw.Secrets)
}

// ServiceAccounts is the client of serviceaccounts in namespace ("" for all namespaces).
func (c *CoreV1Client) ServiceAccounts(namespace string) *ServiceAccountClient {
	return newResource("serviceaccounts", namespace, c.raw.ServiceAccounts)
}

// AppsV1Raw holds the generated clients of the apps group.
type AppsV1Raw struct {
	ReplicaSets appsv1.ReplicaSetServiceClient
	Deployments appsv1.DeploymentServiceClient
	DaemonSets  appsv1.DaemonSetServiceClient
}

func newAppsV1Raw(cc grpc.ClientConnInterface) AppsV1Raw {
	return AppsV1Raw{
		ReplicaSets: appsv1.NewReplicaSetServiceClient(cc),
		Deployments: appsv1.NewDeploymentServiceClient(cc),
		DaemonSets:  appsv1.NewDaemonSetServiceClient(cc),
	}
}

// AppsV1Client is the apps/v1 group.
type AppsV1Client struct{ raw AppsV1Raw }

// Raw returns the generated clients.
func (c *AppsV1Client) Raw() AppsV1Raw { return c.raw }

// ReplicaSets is the client of replicasets in namespace ("" for all namespaces).
func (c *AppsV1Client) ReplicaSets(namespace string) *ReplicaSetClient {
	return &ReplicaSetClient{newStatusResource("replicasets", namespace, c.raw.ReplicaSets), newScaler(namespace, c.raw.ReplicaSets)}
}

// Deployments is the client of deployments in namespace ("" for all namespaces).
func (c *AppsV1Client) Deployments(namespace string) *DeploymentClient {
	return &DeploymentClient{newStatusResource("deployments", namespace, c.raw.Deployments), newScaler(namespace, c.raw.Deployments)}
}

// DaemonSets is the client of daemonsets in namespace ("" for all namespaces).
func (c *AppsV1Client) DaemonSets(namespace string) *DaemonSetClient {
	return newStatusResource("daemonsets", namespace, c.raw.DaemonSets)
}

// BatchV1Raw holds the generated clients of the batch group.
type BatchV1Raw struct {
	Jobs batchv1.JobServiceClient
}

func newBatchV1Raw(cc grpc.ClientConnInterface) BatchV1Raw {
	return BatchV1Raw{Jobs: batchv1.NewJobServiceClient(cc)}
}

// BatchV1Client is the batch/v1 group.
type BatchV1Client struct{ raw BatchV1Raw }

// Raw returns the generated clients.
func (c *BatchV1Client) Raw() BatchV1Raw { return c.raw }

// Jobs is the client of jobs in namespace ("" for all namespaces).
func (c *BatchV1Client) Jobs(namespace string) *JobClient {
	return newStatusResource("jobs", namespace, c.raw.Jobs)
}

// CoordinationV1Raw holds the generated clients of the coordination.k8s.io group.
type CoordinationV1Raw struct {
	Leases coordinationv1.LeaseServiceClient
}

func newCoordinationV1Raw(cc grpc.ClientConnInterface) CoordinationV1Raw {
	return CoordinationV1Raw{Leases: coordinationv1.NewLeaseServiceClient(cc)}
}

// CoordinationV1Client is the coordination.k8s.io/v1 group.
type CoordinationV1Client struct{ raw CoordinationV1Raw }

// Raw returns the generated clients.
func (c *CoordinationV1Client) Raw() CoordinationV1Raw { return c.raw }

// Leases is the client of leases in namespace ("" for all namespaces).
func (c *CoordinationV1Client) Leases(namespace string) *LeaseClient {
	return newResource("leases", namespace, c.raw.Leases)
}
