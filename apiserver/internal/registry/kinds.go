package registry

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/internal/storage"
	"skiff.dev/apiserver/internal/validation"
	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/proto/validation/field"
)

// Config is what the registry needs beyond its dependencies.
type Config struct {
	ServiceClusterIPRange string // e.g. 10.96.0.0/12
	ServiceNodePortRange  string // e.g. 30000-32767
}

// Registry holds one Resource per kind.
type Registry struct {
	Namespaces      *NamespaceServer
	Pods            *PodServer
	Nodes           *Resource[*corev1.Node, *corev1.NodeList, corev1.NodeWatchEvent, *corev1.NodeRequest]
	Services        *Resource[*corev1.Service, *corev1.ServiceList, corev1.ServiceWatchEvent, *corev1.ServiceRequest]
	Endpoints       *Resource[*corev1.Endpoints, *corev1.EndpointsList, corev1.EndpointsWatchEvent, *corev1.EndpointsRequest]
	Events          *Resource[*corev1.Event, *corev1.EventList, corev1.EventWatchEvent, *corev1.EventRequest]
	ConfigMaps      *Resource[*corev1.ConfigMap, *corev1.ConfigMapList, corev1.ConfigMapWatchEvent, *corev1.ConfigMapRequest]
	Secrets         *Resource[*corev1.Secret, *corev1.SecretList, corev1.SecretWatchEvent, *corev1.SecretRequest]
	ServiceAccounts *Resource[*corev1.ServiceAccount, *corev1.ServiceAccountList, corev1.ServiceAccountWatchEvent, *corev1.ServiceAccountRequest]
	ReplicaSets     *scaleServer[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent, *appsv1.ReplicaSetRequest]
	Deployments     *scaleServer[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.DeploymentRequest]
	DaemonSets      *Resource[*appsv1.DaemonSet, *appsv1.DaemonSetList, appsv1.DaemonSetWatchEvent, *appsv1.DaemonSetRequest]
	Jobs            *Resource[*batchv1.Job, *batchv1.JobList, batchv1.JobWatchEvent, *batchv1.JobRequest]
	Leases          *Resource[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent, *coordinationv1.LeaseRequest]

	infos    []Info
	watches  map[string]WatchFunc
	patchers map[string]PatchFunc
	runners  []func(context.Context)
	readies  []<-chan struct{}
}

// Compile-time checks: each kind's resource is its generated gRPC service.
var (
	_ appsv1.DeploymentServiceServer    = (*scaleServer[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.DeploymentRequest])(nil)
	_ coordinationv1.LeaseServiceServer = (*Resource[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent, *coordinationv1.LeaseRequest])(nil)
)

// withMeta wraps a kind's validation with the checks every object gets.
func rules[T storage.Object](def func(T), val func(T) field.ErrorList, upd func(T, T) field.ErrorList, status ...func(T, T) field.ErrorList) Strategy[T] {
	s := Strategy[T]{Default: def, Validate: val, ValidateUpdate: upd}
	if len(status) > 0 {
		s.ValidateStatusUpdate = status[0]
	}
	return s
}

func add[T storage.Object, L proto.Message, EV any, R request[T]](reg *Registry, r *Resource[T, L, EV, R]) *Resource[T, L, EV, R] {
	reg.infos = append(reg.infos, r.Info)
	if reg.watches == nil {
		reg.watches = map[string]WatchFunc{}
	}
	reg.watches[r.Group+"/"+r.Resource] = r.RESTWatch()
	reg.addPatcher(r.Group, r.Resource, "", r.RESTPatch(false))
	if r.HasStatus {
		reg.addPatcher(r.Group, r.Resource, "status", r.RESTPatch(true))
	}
	reg.runners = append(reg.runners, r.Run)
	reg.readies = append(reg.readies, r.Ready())
	return r
}

// New builds every kind's resource.
func New(deps Deps, cfg Config) (*Registry, error) {
	ips, err := NewIPAllocator(deps.Store.Client(), cfg.ServiceClusterIPRange)
	if err != nil {
		return nil, err
	}
	ports, err := NewPortAllocator(deps.Store.Client(), cfg.ServiceNodePortRange)
	if err != nil {
		return nil, err
	}
	alloc := &serviceAllocation{ips: ips, ports: ports}
	reg := &Registry{}
	core := func(kind, resource, singular string, namespaced, status bool, short ...string) Info {
		return Info{Version: "v1", Kind: kind, Resource: resource, Singular: singular, Namespaced: namespaced, HasStatus: status, ShortNames: short}
	}
	group := func(g string, i Info) Info { i.Group = g; return i }

	nsDeps := deps
	nsDeps.NamespaceActive = nil
	nsr := add(reg, NewResource[*corev1.Namespace, *corev1.NamespaceList, corev1.NamespaceWatchEvent, *corev1.NamespaceRequest](nsDeps,
		withSub(core("Namespace", "namespaces", "namespace", false, true, "ns"), "finalize"), namespaceStrategy()))
	reg.Namespaces = &NamespaceServer{namespaceResource: nsr}
	if deps.NamespaceActive == nil {
		deps.NamespaceActive = reg.namespaceActive
	}

	podStrategy := withFields(rules(validation.DefaultPod, validation.ValidatePod, validation.ValidatePodUpdate, validation.ValidatePodStatusUpdate), podFields, podFieldLabels...)
	podStrategy.PrepareForCreate = preparePodCreate
	podStrategy.GracePeriod = podGracePeriod
	pods := add(reg, NewResource[*corev1.Pod, *corev1.PodList, corev1.PodWatchEvent, *corev1.PodRequest](deps,
		withSub(core("Pod", "pods", "pod", true, true, "po"), "binding", "log"), podStrategy))
	reg.Pods = &PodServer{podResource: pods}

	reg.Nodes = add(reg, NewResource[*corev1.Node, *corev1.NodeList, corev1.NodeWatchEvent, *corev1.NodeRequest](deps,
		core("Node", "nodes", "node", false, true, "no"),
		withFields(rules(validation.DefaultNode, validation.ValidateNode, validation.ValidateNodeUpdate, validation.ValidateNodeStatusUpdate),
			func(n *corev1.Node) map[string]string {
				return map[string]string{"spec.unschedulable": fmt.Sprint(n.GetSpec().GetUnschedulable())}
			}, "spec.unschedulable")))

	svc := rules(validation.DefaultService, validation.ValidateService, validation.ValidateServiceUpdate, validation.ValidateServiceStatusUpdate)
	svc.BeforeCreate = alloc.beforeCreate
	svc.BeforeUpdate = alloc.beforeUpdate
	svc.BeforeDelete = alloc.beforeDelete
	svc.PrepareForUpdate = validation.PreserveAllocatedServiceValues
	reg.Services = add(reg, NewResource[*corev1.Service, *corev1.ServiceList, corev1.ServiceWatchEvent, *corev1.ServiceRequest](deps,
		core("Service", "services", "service", true, true, "svc"), svc))

	reg.Endpoints = add(reg, NewResource[*corev1.Endpoints, *corev1.EndpointsList, corev1.EndpointsWatchEvent, *corev1.EndpointsRequest](deps,
		core("Endpoints", "endpoints", "endpoints", true, false, "ep"),
		rules(validation.DefaultEndpoints, validation.ValidateEndpoints, validation.ValidateEndpointsUpdate)))

	reg.Events = add(reg, NewResource[*corev1.Event, *corev1.EventList, corev1.EventWatchEvent, *corev1.EventRequest](deps,
		core("Event", "events", "event", true, false, "ev"),
		withFields(rules(validation.DefaultEvent, validation.ValidateEvent, validation.ValidateEventUpdate),
			func(e *corev1.Event) map[string]string {
				o := e.GetInvolvedObject()
				return map[string]string{"involvedObject.kind": o.GetKind(), "involvedObject.namespace": o.GetNamespace(),
					"involvedObject.name": o.GetName(), "involvedObject.uid": o.GetUid(), "reason": e.GetReason(),
					"type": e.GetType(), "source": e.GetSource().GetComponent()}
			}, "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "reason", "type", "source")))

	reg.ConfigMaps = add(reg, NewResource[*corev1.ConfigMap, *corev1.ConfigMapList, corev1.ConfigMapWatchEvent, *corev1.ConfigMapRequest](deps,
		core("ConfigMap", "configmaps", "configmap", true, false, "cm"),
		rules(validation.DefaultConfigMap, validation.ValidateConfigMap, validation.ValidateConfigMapUpdate)))

	secrets := withFields(rules(validation.DefaultSecret, validation.ValidateSecret, validation.ValidateSecretUpdate),
		func(s *corev1.Secret) map[string]string { return map[string]string{"type": s.GetType()} }, "type")
	secrets.PrepareForCreate = mergeStringData
	secrets.PrepareForUpdate = func(s, _ *corev1.Secret) { mergeStringData(s) }
	reg.Secrets = add(reg, NewResource[*corev1.Secret, *corev1.SecretList, corev1.SecretWatchEvent, *corev1.SecretRequest](deps,
		core("Secret", "secrets", "secret", true, false), secrets))

	reg.ServiceAccounts = add(reg, NewResource[*corev1.ServiceAccount, *corev1.ServiceAccountList, corev1.ServiceAccountWatchEvent, *corev1.ServiceAccountRequest](deps,
		core("ServiceAccount", "serviceaccounts", "serviceaccount", true, false, "sa"),
		rules(validation.DefaultServiceAccount, validation.ValidateServiceAccount, validation.ValidateServiceAccountUpdate)))

	rs := add(reg, NewResource[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent, *appsv1.ReplicaSetRequest](deps,
		withSub(group("apps", core("ReplicaSet", "replicasets", "replicaset", true, true, "rs")), "scale"),
		rules(validation.DefaultReplicaSet, validation.ValidateReplicaSet, validation.ValidateReplicaSetUpdate, validation.ValidateReplicaSetStatusUpdate)))
	reg.ReplicaSets = &scaleServer[*appsv1.ReplicaSet, *appsv1.ReplicaSetList, appsv1.ReplicaSetWatchEvent, *appsv1.ReplicaSetRequest]{
		Resource: rs, access: ScaleAccess[*appsv1.ReplicaSet]{
			Replicas: func(o *appsv1.ReplicaSet) (int32, int32) {
				return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas()
			},
			SetReplicas: func(o *appsv1.ReplicaSet, n int32) { o.Spec.Replicas = &n },
			Selector:    func(o *appsv1.ReplicaSet) *metav1.LabelSelector { return o.GetSpec().GetSelector() },
		}}

	deploy := add(reg, NewResource[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.DeploymentRequest](deps,
		withSub(group("apps", core("Deployment", "deployments", "deployment", true, true, "deploy")), "scale"),
		rules(validation.DefaultDeployment, validation.ValidateDeployment, validation.ValidateDeploymentUpdate, validation.ValidateDeploymentStatusUpdate)))
	reg.Deployments = &scaleServer[*appsv1.Deployment, *appsv1.DeploymentList, appsv1.DeploymentWatchEvent, *appsv1.DeploymentRequest]{
		Resource: deploy, access: ScaleAccess[*appsv1.Deployment]{
			Replicas: func(o *appsv1.Deployment) (int32, int32) {
				return o.GetSpec().GetReplicas(), o.GetStatus().GetReplicas()
			},
			SetReplicas: func(o *appsv1.Deployment, n int32) { o.Spec.Replicas = &n },
			Selector:    func(o *appsv1.Deployment) *metav1.LabelSelector { return o.GetSpec().GetSelector() },
		}}

	reg.addPatcher("apps", "replicasets", "scale", func(ctx context.Context, ns, name string, dry bool, apply ApplyFunc) (proto.Message, error) {
		return reg.ReplicaSets.PatchScale(ctx, ns, name, dry, apply)
	})
	reg.addPatcher("apps", "deployments", "scale", func(ctx context.Context, ns, name string, dry bool, apply ApplyFunc) (proto.Message, error) {
		return reg.Deployments.PatchScale(ctx, ns, name, dry, apply)
	})

	reg.DaemonSets = add(reg, NewResource[*appsv1.DaemonSet, *appsv1.DaemonSetList, appsv1.DaemonSetWatchEvent, *appsv1.DaemonSetRequest](deps,
		group("apps", core("DaemonSet", "daemonsets", "daemonset", true, true, "ds")),
		rules(validation.DefaultDaemonSet, validation.ValidateDaemonSet, validation.ValidateDaemonSetUpdate, validation.ValidateDaemonSetStatusUpdate)))

	jobs := withFields(rules(validation.DefaultJob, validation.ValidateJob, validation.ValidateJobUpdate, validation.ValidateJobStatusUpdate),
		func(j *batchv1.Job) map[string]string {
			return map[string]string{"status.successful": fmt.Sprint(j.GetStatus().GetSucceeded())}
		}, "status.successful")
	jobs.PrepareForCreate = validation.GenerateJobSelector
	reg.Jobs = add(reg, NewResource[*batchv1.Job, *batchv1.JobList, batchv1.JobWatchEvent, *batchv1.JobRequest](deps,
		group("batch", core("Job", "jobs", "job", true, true)), jobs))

	leases := rules(validation.DefaultLease, validation.ValidateLease, validation.ValidateLeaseUpdate)
	leases.KeepStatusOnCreate = true
	reg.Leases = add(reg, NewResource[*coordinationv1.Lease, *coordinationv1.LeaseList, coordinationv1.LeaseWatchEvent, *coordinationv1.LeaseRequest](deps,
		group("coordination.k8s.io", core("Lease", "leases", "lease", true, false)), leases))
	return reg, nil
}

func withFields[T storage.Object](s Strategy[T], f func(T) map[string]string, labels ...string) Strategy[T] {
	s.Fields, s.FieldLabels = f, labels
	return s
}

func withSub(i Info, sub ...string) Info { i.Subresources = sub; return i }

// mergeStringData folds a Secret's write-only stringData into data.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// Infos describes every kind, for discovery.
func (reg *Registry) Infos() []Info { return reg.infos }

// Watch is the REST watch of group/resource ("/pods", "apps/deployments").
func (reg *Registry) Watch(group, resource string) (WatchFunc, bool) {
	w, ok := reg.watches[group+"/"+resource]
	return w, ok
}

// Run feeds every watch cache until ctx ends.
func (reg *Registry) Run(ctx context.Context) {
	for _, run := range reg.runners {
		go run(ctx)
	}
	go reg.Namespaces.cache.run(ctx, reg.Namespaces)
}

// WaitReady blocks until every watch cache can serve.
func (reg *Registry) WaitReady(ctx context.Context) error {
	for _, ch := range reg.readies {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// RegisterGRPC registers every kind's service.
func (reg *Registry) RegisterGRPC(s grpc.ServiceRegistrar) {
	corev1.RegisterNamespaceServiceServer(s, reg.Namespaces)
	corev1.RegisterPodServiceServer(s, reg.Pods)
	corev1.RegisterNodeServiceServer(s, reg.Nodes)
	corev1.RegisterServiceServiceServer(s, reg.Services)
	corev1.RegisterEndpointsServiceServer(s, reg.Endpoints)
	corev1.RegisterEventServiceServer(s, reg.Events)
	corev1.RegisterConfigMapServiceServer(s, reg.ConfigMaps)
	corev1.RegisterSecretServiceServer(s, reg.Secrets)
	corev1.RegisterServiceAccountServiceServer(s, reg.ServiceAccounts)
	appsv1.RegisterReplicaSetServiceServer(s, reg.ReplicaSets)
	appsv1.RegisterDeploymentServiceServer(s, reg.Deployments)
	appsv1.RegisterDaemonSetServiceServer(s, reg.DaemonSets)
	batchv1.RegisterJobServiceServer(s, reg.Jobs)
	coordinationv1.RegisterLeaseServiceServer(s, reg.Leases)
}
