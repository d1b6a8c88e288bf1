package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/apiservertest"
	appsv1 "skiff.dev/proto/apps/v1"
	batchv1 "skiff.dev/proto/batch/v1"
	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

type object interface {
	proto.Message
	GetMetadata() *metav1.ObjectMeta
	GetApiVersion() string
	GetKind() string
}

// kindOps drives one kind over its generated gRPC client.
type kindOps[T object] struct {
	apiVersion, kind string
	namespaced       bool
	newObj           func(name string) T
	create           func(ctx context.Context, ns string, o T) (T, error)
	get              func(ctx context.Context, ns, name string) (T, error)
	list             func(ctx context.Context, ns string) ([]T, error)
	update           func(ctx context.Context, ns string, o T) (T, error)
	updateStatus     func(ctx context.Context, ns string, o T) (T, error) // nil: no status
	del              func(ctx context.Context, ns, name string) error
	changeSpec       func(o T) // nil: no spec
	setStatus        func(o T) // writes a marker into status
	hasStatus        func(o T) bool
}

type crudCase interface {
	name() string
	run(t *testing.T, ns string)
}

func (k kindOps[T]) name() string { return k.kind }

func (k kindOps[T]) run(t *testing.T, ns string) {
	ctx := ctxT(t)
	obj := k.newObj("crud-" + ns)
	if !k.namespaced {
		ns = ""
	}
	name := obj.GetMetadata().GetName()
	if k.setStatus != nil {
		k.setStatus(obj)
	}
	created, err := k.create(ctx, ns, obj)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	m := created.GetMetadata()
	if m.GetUid() == "" || m.GetCreationTimestamp() == nil {
		t.Errorf("create: uid %q, creationTimestamp %v: both must be set", m.GetUid(), m.GetCreationTimestamp())
	}
	if created.GetApiVersion() != k.apiVersion || created.GetKind() != k.kind {
		t.Errorf("create: apiVersion/kind = %s/%s, want %s/%s", created.GetApiVersion(), created.GetKind(), k.apiVersion, k.kind)
	}
	wantGen := int32(0)
	if k.changeSpec != nil {
		wantGen = 1
	}
	if m.GetGeneration() != wantGen {
		t.Errorf("create: generation = %d, want %d", m.GetGeneration(), wantGen)
	}
	if k.hasStatus != nil && k.hasStatus(created) {
		t.Errorf("create: status given on create was kept: %v", created)
	}
	rv0 := rvInt(t, m.GetResourceVersion())

	got, err := k.get(ctx, ns, name)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.GetMetadata().GetUid() != m.GetUid() || got.GetMetadata().GetResourceVersion() != m.GetResourceVersion() {
		t.Errorf("get: uid/rv = %s/%s, want %s/%s", got.GetMetadata().GetUid(), got.GetMetadata().GetResourceVersion(), m.GetUid(), m.GetResourceVersion())
	}
	if got.GetApiVersion() != k.apiVersion || got.GetKind() != k.kind {
		t.Errorf("get: apiVersion/kind = %s/%s, want %s/%s", got.GetApiVersion(), got.GetKind(), k.apiVersion, k.kind)
	}

	items, err := k.list(ctx, ns)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	found := false
	for _, it := range items {
		if it.GetMetadata().GetName() == name {
			found = true
		}
	}
	if !found {
		t.Errorf("list: %s not among %d items", name, len(items))
	}

	// Metadata-only update: generation stays.
	upd := proto.Clone(got).(T)
	upd.GetMetadata().Labels = map[string]string{"touched": "yes"}
	afterMeta, err := k.update(ctx, ns, upd)
	if err != nil {
		t.Fatalf("update labels: %v", err)
	}
	rv1 := rvInt(t, afterMeta.GetMetadata().GetResourceVersion())
	if rv1 <= rv0 {
		t.Errorf("update labels: resourceVersion %d, not above %d", rv1, rv0)
	}
	if g := afterMeta.GetMetadata().GetGeneration(); g != wantGen {
		t.Errorf("update labels: generation = %d, want %d (metadata changes do not bump it)", g, wantGen)
	}
	if afterMeta.GetMetadata().GetLabels()["touched"] != "yes" || afterMeta.GetMetadata().GetUid() != m.GetUid() {
		t.Errorf("update labels: got %v", afterMeta.GetMetadata())
	}

	last := afterMeta
	if k.changeSpec != nil {
		upd = proto.Clone(last).(T)
		k.changeSpec(upd)
		if k.setStatus != nil {
			k.setStatus(upd) // status in an Update is ignored
		}
		afterSpec, err := k.update(ctx, ns, upd)
		if err != nil {
			t.Fatalf("update spec: %v", err)
		}
		if g := afterSpec.GetMetadata().GetGeneration(); g != 2 {
			t.Errorf("update spec: generation = %d, want 2", g)
		}
		if rv := rvInt(t, afterSpec.GetMetadata().GetResourceVersion()); rv <= rv1 {
			t.Errorf("update spec: resourceVersion %d, not above %d", rv, rv1)
		}
		if k.hasStatus != nil && k.hasStatus(afterSpec) {
			t.Errorf("update spec: status in the request was written by Update")
		}
		last = afterSpec
	}

	if k.updateStatus != nil {
		upd = proto.Clone(last).(T)
		k.setStatus(upd)
		afterStatus, err := k.updateStatus(ctx, ns, upd)
		if err != nil {
			t.Fatalf("updateStatus: %v", err)
		}
		if !k.hasStatus(afterStatus) {
			t.Errorf("updateStatus: status not written: %v", afterStatus)
		}
		if g, w := afterStatus.GetMetadata().GetGeneration(), last.GetMetadata().GetGeneration(); g != w {
			t.Errorf("updateStatus: generation = %d, want %d (status does not bump it)", g, w)
		}
		again, err := k.get(ctx, ns, name)
		if err != nil {
			t.Fatalf("get after updateStatus: %v", err)
		}
		if !k.hasStatus(again) {
			t.Errorf("get after updateStatus: status not stored")
		}
	}

	if err := k.del(ctx, ns, name); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = k.get(ctx, ns, name)
	expectCode(t, err, codes.NotFound, name, "not found")
}

func items[T any](l interface{ GetItems() []T }, err error) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return l.GetItems(), nil
}

func om(name string) *metav1.ObjectMeta { return &metav1.ObjectMeta{Name: name} }

func sel(l map[string]string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: l} }

func crudCases(conn grpc.ClientConnInterface) []crudCase {
	nsc := corev1.NewNamespaceServiceClient(conn)
	pods := corev1.NewPodServiceClient(conn)
	nodes := corev1.NewNodeServiceClient(conn)
	svcs := corev1.NewServiceServiceClient(conn)
	eps := corev1.NewEndpointsServiceClient(conn)
	evs := corev1.NewEventServiceClient(conn)
	cms := corev1.NewConfigMapServiceClient(conn)
	secs := corev1.NewSecretServiceClient(conn)
	sas := corev1.NewServiceAccountServiceClient(conn)
	rss := appsv1.NewReplicaSetServiceClient(conn)
	deps := appsv1.NewDeploymentServiceClient(conn)
	dss := appsv1.NewDaemonSetServiceClient(conn)
	jobs := batchv1.NewJobServiceClient(conn)
	leases := coordinationv1.NewLeaseServiceClient(conn)
	get := func(ns, name string) *metav1.GetOptions { return &metav1.GetOptions{Namespace: ns, Name: name} }
	lo := func(ns string) *metav1.ListOptions { return &metav1.ListOptions{Namespace: ns} }
	do := func(ns, name string) *metav1.DeleteOptions { return &metav1.DeleteOptions{Namespace: ns, Name: name} }
	app := map[string]string{"app": "web"}
	return []crudCase{
		kindOps[*corev1.Namespace]{apiVersion: "v1", kind: "Namespace",
			newObj: func(n string) *corev1.Namespace {
				return &corev1.Namespace{Metadata: om("x" + n), Spec: &corev1.NamespaceSpec{}}
			},
			create: func(ctx context.Context, ns string, o *corev1.Namespace) (*corev1.Namespace, error) {
				return nsc.Create(ctx, &corev1.NamespaceRequest{Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Namespace, error) { return nsc.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Namespace, error) {
				return items[*corev1.Namespace](nsc.List(ctx, lo(ns)))
			},
			// Update keeps spec.finalizers, which only finalize writes:
			// a spec change goes through both, as a client would do it.
			update: func(ctx context.Context, ns string, o *corev1.Namespace) (*corev1.Namespace, error) {
				got, err := nsc.Update(ctx, &corev1.NamespaceRequest{Name: o.Metadata.Name, Object: o})
				if err != nil || slices.Equal(got.GetSpec().GetFinalizers(), o.GetSpec().GetFinalizers()) {
					return got, err
				}
				fin := proto.Clone(got).(*corev1.Namespace)
				fin.Spec = o.Spec
				return nsc.Finalize(ctx, &corev1.NamespaceRequest{Name: o.Metadata.Name, Object: fin})
			},
			// A deleted namespace turns Terminating, and is removed once
			// the namespace controller (played here) clears its finalizers.
			del: func(ctx context.Context, ns, n string) error {
				got, err := nsc.Delete(ctx, do(ns, n))
				if err != nil {
					return err
				}
				if got.GetStatus().GetPhase() != "Terminating" || got.GetMetadata().GetDeletionTimestamp() == nil {
					return fmt.Errorf("deleted namespace is %v, want Terminating with a deletionTimestamp", got)
				}
				if _, err := nsc.Get(ctx, get(ns, n)); err != nil {
					return fmt.Errorf("namespace with spec.finalizers %v gone before finalize: %w", got.GetSpec().GetFinalizers(), err)
				}
				got.Spec.Finalizers = nil
				_, err = nsc.Finalize(ctx, &corev1.NamespaceRequest{Name: n, Object: got})
				return err
			},
			changeSpec: func(o *corev1.Namespace) { o.Spec = &corev1.NamespaceSpec{Finalizers: []string{"skiff.dev/test"}} },
			// A namespace's status (phase) is the server's: Active, or
			// Terminating once deleted, which del checks.
		},
		kindOps[*corev1.Pod]{apiVersion: "v1", kind: "Pod", namespaced: true,
			newObj: func(n string) *corev1.Pod { return &corev1.Pod{Metadata: om(n), Spec: podSpec("nginx:1.27")} },
			create: func(ctx context.Context, ns string, o *corev1.Pod) (*corev1.Pod, error) {
				return pods.Create(ctx, &corev1.PodRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Pod, error) { return pods.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Pod, error) {
				return items[*corev1.Pod](pods.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Pod) (*corev1.Pod, error) {
				return pods.Update(ctx, &corev1.PodRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *corev1.Pod) (*corev1.Pod, error) {
				return pods.UpdateStatus(ctx, &corev1.PodRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := pods.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *corev1.Pod) { o.Spec.Containers[0].Image = "nginx:1.28" },
			setStatus:  func(o *corev1.Pod) { o.Status = &corev1.PodStatus{Phase: "Running"} },
			hasStatus:  func(o *corev1.Pod) bool { return o.GetStatus().GetPhase() == "Running" },
		},
		kindOps[*corev1.Node]{apiVersion: "v1", kind: "Node",
			newObj: func(n string) *corev1.Node { return &corev1.Node{Metadata: om("node-" + n), Spec: &corev1.NodeSpec{}} },
			create: func(ctx context.Context, ns string, o *corev1.Node) (*corev1.Node, error) {
				return nodes.Create(ctx, &corev1.NodeRequest{Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Node, error) { return nodes.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Node, error) {
				return items[*corev1.Node](nodes.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Node) (*corev1.Node, error) {
				return nodes.Update(ctx, &corev1.NodeRequest{Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *corev1.Node) (*corev1.Node, error) {
				return nodes.UpdateStatus(ctx, &corev1.NodeRequest{Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := nodes.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *corev1.Node) { o.Spec.Unschedulable = true },
			setStatus:  func(o *corev1.Node) { o.Status = &corev1.NodeStatus{Capacity: map[string]string{"cpu": "4"}} },
			hasStatus:  func(o *corev1.Node) bool { return o.GetStatus().GetCapacity()["cpu"] == "4" },
		},
		kindOps[*corev1.Service]{apiVersion: "v1", kind: "Service", namespaced: true,
			newObj: func(n string) *corev1.Service {
				return &corev1.Service{Metadata: om(n), Spec: &corev1.ServiceSpec{Selector: app,
					Ports: []*corev1.ServicePort{{Port: 80, TargetPort: "8080", Protocol: "TCP"}}}}
			},
			create: func(ctx context.Context, ns string, o *corev1.Service) (*corev1.Service, error) {
				return svcs.Create(ctx, &corev1.ServiceRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Service, error) { return svcs.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Service, error) {
				return items[*corev1.Service](svcs.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Service) (*corev1.Service, error) {
				return svcs.Update(ctx, &corev1.ServiceRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *corev1.Service) (*corev1.Service, error) {
				return svcs.UpdateStatus(ctx, &corev1.ServiceRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := svcs.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *corev1.Service) { o.Spec.Selector = map[string]string{"app": "web2"} },
			setStatus: func(o *corev1.Service) {
				o.Status = &corev1.ServiceStatus{LoadBalancer: &corev1.LoadBalancerStatus{Ingress: []*corev1.LoadBalancerIngress{{Ip: "192.0.2.1"}}}}
			},
			hasStatus: func(o *corev1.Service) bool { return len(o.GetStatus().GetLoadBalancer().GetIngress()) == 1 },
		},
		kindOps[*corev1.Endpoints]{apiVersion: "v1", kind: "Endpoints", namespaced: true,
			newObj: func(n string) *corev1.Endpoints {
				return &corev1.Endpoints{Metadata: om(n), Subsets: []*corev1.EndpointSubset{{
					Addresses: []*corev1.EndpointAddress{{Ip: "10.1.0.5"}}, Ports: []*corev1.EndpointPort{{Port: 8080}}}}}
			},
			create: func(ctx context.Context, ns string, o *corev1.Endpoints) (*corev1.Endpoints, error) {
				return eps.Create(ctx, &corev1.EndpointsRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Endpoints, error) { return eps.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Endpoints, error) {
				return items[*corev1.Endpoints](eps.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Endpoints) (*corev1.Endpoints, error) {
				return eps.Update(ctx, &corev1.EndpointsRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del: func(ctx context.Context, ns, n string) error { _, err := eps.Delete(ctx, do(ns, n)); return err },
		},
		kindOps[*corev1.Event]{apiVersion: "v1", kind: "Event", namespaced: true,
			newObj: func(n string) *corev1.Event {
				return &corev1.Event{Metadata: om(n), Reason: "Scheduled", Message: "assigned", Type: "Normal",
					InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Name: "web"}}
			},
			create: func(ctx context.Context, ns string, o *corev1.Event) (*corev1.Event, error) {
				return evs.Create(ctx, &corev1.EventRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Event, error) { return evs.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Event, error) {
				return items[*corev1.Event](evs.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Event) (*corev1.Event, error) {
				return evs.Update(ctx, &corev1.EventRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del: func(ctx context.Context, ns, n string) error { _, err := evs.Delete(ctx, do(ns, n)); return err },
		},
		kindOps[*corev1.ConfigMap]{apiVersion: "v1", kind: "ConfigMap", namespaced: true,
			newObj: func(n string) *corev1.ConfigMap {
				return &corev1.ConfigMap{Metadata: om(n), Data: map[string]string{"k": "v"}}
			},
			create: func(ctx context.Context, ns string, o *corev1.ConfigMap) (*corev1.ConfigMap, error) {
				return cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.ConfigMap, error) { return cms.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.ConfigMap, error) {
				return items[*corev1.ConfigMap](cms.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.ConfigMap) (*corev1.ConfigMap, error) {
				return cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del: func(ctx context.Context, ns, n string) error { _, err := cms.Delete(ctx, do(ns, n)); return err },
		},
		kindOps[*corev1.Secret]{apiVersion: "v1", kind: "Secret", namespaced: true,
			newObj: func(n string) *corev1.Secret {
				return &corev1.Secret{Metadata: om(n), Type: "Opaque", Data: map[string][]byte{"password": []byte("s3cret")}}
			},
			create: func(ctx context.Context, ns string, o *corev1.Secret) (*corev1.Secret, error) {
				return secs.Create(ctx, &corev1.SecretRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.Secret, error) { return secs.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*corev1.Secret, error) {
				return items[*corev1.Secret](secs.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.Secret) (*corev1.Secret, error) {
				return secs.Update(ctx, &corev1.SecretRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del: func(ctx context.Context, ns, n string) error { _, err := secs.Delete(ctx, do(ns, n)); return err },
		},
		kindOps[*corev1.ServiceAccount]{apiVersion: "v1", kind: "ServiceAccount", namespaced: true,
			newObj: func(n string) *corev1.ServiceAccount { return &corev1.ServiceAccount{Metadata: om(n)} },
			create: func(ctx context.Context, ns string, o *corev1.ServiceAccount) (*corev1.ServiceAccount, error) {
				return sas.Create(ctx, &corev1.ServiceAccountRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*corev1.ServiceAccount, error) {
				return sas.Get(ctx, get(ns, n))
			},
			list: func(ctx context.Context, ns string) ([]*corev1.ServiceAccount, error) {
				return items[*corev1.ServiceAccount](sas.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *corev1.ServiceAccount) (*corev1.ServiceAccount, error) {
				return sas.Update(ctx, &corev1.ServiceAccountRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del: func(ctx context.Context, ns, n string) error { _, err := sas.Delete(ctx, do(ns, n)); return err },
		},
		kindOps[*appsv1.ReplicaSet]{apiVersion: "apps/v1", kind: "ReplicaSet", namespaced: true,
			newObj: func(n string) *appsv1.ReplicaSet {
				return &appsv1.ReplicaSet{Metadata: om(n), Spec: &appsv1.ReplicaSetSpec{Replicas: proto.Int32(2), Selector: sel(app), Template: podTemplate(app)}}
			},
			create: func(ctx context.Context, ns string, o *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
				return rss.Create(ctx, &appsv1.ReplicaSetRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*appsv1.ReplicaSet, error) { return rss.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*appsv1.ReplicaSet, error) {
				return items[*appsv1.ReplicaSet](rss.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
				return rss.Update(ctx, &appsv1.ReplicaSetRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
				return rss.UpdateStatus(ctx, &appsv1.ReplicaSetRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := rss.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *appsv1.ReplicaSet) { o.Spec.Replicas = proto.Int32(3) },
			setStatus:  func(o *appsv1.ReplicaSet) { o.Status = &appsv1.ReplicaSetStatus{Replicas: 7} },
			hasStatus:  func(o *appsv1.ReplicaSet) bool { return o.GetStatus().GetReplicas() == 7 },
		},
		kindOps[*appsv1.Deployment]{apiVersion: "apps/v1", kind: "Deployment", namespaced: true,
			newObj: func(n string) *appsv1.Deployment {
				return &appsv1.Deployment{Metadata: om(n), Spec: &appsv1.DeploymentSpec{Replicas: proto.Int32(2), Selector: sel(app), Template: podTemplate(app)}}
			},
			create: func(ctx context.Context, ns string, o *appsv1.Deployment) (*appsv1.Deployment, error) {
				return deps.Create(ctx, &appsv1.DeploymentRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*appsv1.Deployment, error) { return deps.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*appsv1.Deployment, error) {
				return items[*appsv1.Deployment](deps.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *appsv1.Deployment) (*appsv1.Deployment, error) {
				return deps.Update(ctx, &appsv1.DeploymentRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *appsv1.Deployment) (*appsv1.Deployment, error) {
				return deps.UpdateStatus(ctx, &appsv1.DeploymentRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := deps.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *appsv1.Deployment) { o.Spec.Template.Spec.Containers[0].Image = "nginx:1.28" },
			setStatus:  func(o *appsv1.Deployment) { o.Status = &appsv1.DeploymentStatus{Replicas: 7} },
			hasStatus:  func(o *appsv1.Deployment) bool { return o.GetStatus().GetReplicas() == 7 },
		},
		kindOps[*appsv1.DaemonSet]{apiVersion: "apps/v1", kind: "DaemonSet", namespaced: true,
			newObj: func(n string) *appsv1.DaemonSet {
				return &appsv1.DaemonSet{Metadata: om(n), Spec: &appsv1.DaemonSetSpec{Selector: sel(app), Template: podTemplate(app)}}
			},
			create: func(ctx context.Context, ns string, o *appsv1.DaemonSet) (*appsv1.DaemonSet, error) {
				return dss.Create(ctx, &appsv1.DaemonSetRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*appsv1.DaemonSet, error) { return dss.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*appsv1.DaemonSet, error) {
				return items[*appsv1.DaemonSet](dss.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *appsv1.DaemonSet) (*appsv1.DaemonSet, error) {
				return dss.Update(ctx, &appsv1.DaemonSetRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *appsv1.DaemonSet) (*appsv1.DaemonSet, error) {
				return dss.UpdateStatus(ctx, &appsv1.DaemonSetRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := dss.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *appsv1.DaemonSet) { o.Spec.MinReadySeconds = 5 },
			setStatus:  func(o *appsv1.DaemonSet) { o.Status = &appsv1.DaemonSetStatus{NumberReady: 7} },
			hasStatus:  func(o *appsv1.DaemonSet) bool { return o.GetStatus().GetNumberReady() == 7 },
		},
		kindOps[*batchv1.Job]{apiVersion: "batch/v1", kind: "Job", namespaced: true,
			newObj: func(n string) *batchv1.Job {
				t := podTemplate(map[string]string{"job": n})
				t.Spec.RestartPolicy = "Never"
				return &batchv1.Job{Metadata: om(n), Spec: &batchv1.JobSpec{Template: t}}
			},
			create: func(ctx context.Context, ns string, o *batchv1.Job) (*batchv1.Job, error) {
				return jobs.Create(ctx, &batchv1.JobRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*batchv1.Job, error) { return jobs.Get(ctx, get(ns, n)) },
			list: func(ctx context.Context, ns string) ([]*batchv1.Job, error) {
				return items[*batchv1.Job](jobs.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *batchv1.Job) (*batchv1.Job, error) {
				return jobs.Update(ctx, &batchv1.JobRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			updateStatus: func(ctx context.Context, ns string, o *batchv1.Job) (*batchv1.Job, error) {
				return jobs.UpdateStatus(ctx, &batchv1.JobRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := jobs.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *batchv1.Job) { o.Spec.BackoffLimit = proto.Int32(2) },
			setStatus:  func(o *batchv1.Job) { o.Status = &batchv1.JobStatus{Active: 7} },
			hasStatus:  func(o *batchv1.Job) bool { return o.GetStatus().GetActive() == 7 },
		},
		kindOps[*coordinationv1.Lease]{apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespaced: true,
			newObj: func(n string) *coordinationv1.Lease {
				return &coordinationv1.Lease{Metadata: om(n), Spec: &coordinationv1.LeaseSpec{HolderIdentity: proto.String("a"), LeaseDurationSeconds: proto.Int32(15)}}
			},
			create: func(ctx context.Context, ns string, o *coordinationv1.Lease) (*coordinationv1.Lease, error) {
				return leases.Create(ctx, &coordinationv1.LeaseRequest{Namespace: ns, Object: o})
			},
			get: func(ctx context.Context, ns, n string) (*coordinationv1.Lease, error) {
				return leases.Get(ctx, get(ns, n))
			},
			list: func(ctx context.Context, ns string) ([]*coordinationv1.Lease, error) {
				return items[*coordinationv1.Lease](leases.List(ctx, lo(ns)))
			},
			update: func(ctx context.Context, ns string, o *coordinationv1.Lease) (*coordinationv1.Lease, error) {
				return leases.Update(ctx, &coordinationv1.LeaseRequest{Namespace: ns, Name: o.Metadata.Name, Object: o})
			},
			del:        func(ctx context.Context, ns, n string) error { _, err := leases.Delete(ctx, do(ns, n)); return err },
			changeSpec: func(o *coordinationv1.Lease) { o.Spec.HolderIdentity = proto.String("b") },
		},
	}
}

// TestCRUDEveryKind creates, reads, lists, updates and deletes one object of
// every kind over gRPC and checks the fields only the server sets.
func TestCRUDEveryKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "crud")
	for _, c := range crudCases(e.conn) {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			c.run(t, ns)
		})
	}
}
