package validation

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	coordinationv1 "skiff.dev/proto/coordination/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// ---------------------------------------------------------------- Namespace

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: "team-a"}, Spec: &corev1.NamespaceSpec{Finalizers: []string{"kubernetes"}}}
	DefaultNamespace(ns)
	if ns.Status.GetPhase() != "Active" {
		t.Errorf("phase = %q, want Active", ns.Status.GetPhase())
	}
	expectIdempotent(t, ns, DefaultNamespace)
	expectIdempotent(t, &corev1.Namespace{}, DefaultNamespace)

	tests := []struct {
		name   string
		mutate func(ns *corev1.Namespace)
		want   []string
	}{
		{"valid", func(ns *corev1.Namespace) {}, nil},
		{"domain finalizer", func(ns *corev1.Namespace) { ns.Spec.Finalizers = []string{"example.com/cleanup"} }, nil},
		{"dotted name", func(ns *corev1.Namespace) { ns.Metadata.Name = "team.a" }, []string{"metadata.name" + invalid}},
		{"name too long for a label", func(ns *corev1.Namespace) { ns.Metadata.Name = strings.Repeat("a", 64) }, []string{"metadata.name" + invalid}},
		{"unknown bare finalizer", func(ns *corev1.Namespace) { ns.Spec.Finalizers = []string{"cleanup"} }, []string{"spec.finalizers" + invalid}},
		{"bad finalizer", func(ns *corev1.Namespace) { ns.Spec.Finalizers = []string{"a b"} }, []string{"spec.finalizers" + invalid}},
		{"bad phase", func(ns *corev1.Namespace) { ns.Status.Phase = "Gone" }, []string{"status.phase" + notSupported}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := proto.Clone(ns).(*corev1.Namespace)
			tt.mutate(n)
			expectErrors(t, ValidateNamespace(n), tt.want...)
		})
	}

	t.Run("update", func(t *testing.T) {
		n := proto.Clone(ns).(*corev1.Namespace)
		n.Metadata.Labels = map[string]string{"team": "a"}
		expectErrors(t, ValidateNamespaceUpdate(n, ns))
		n.Metadata.Name = "team-b"
		expectErrors(t, ValidateNamespaceUpdate(n, ns), "metadata.name"+invalid)
	})
	t.Run("status update", func(t *testing.T) {
		n := proto.Clone(ns).(*corev1.Namespace)
		n.Status.Phase = "Terminating"
		expectErrors(t, ValidateNamespaceStatusUpdate(n, ns), "status.phase"+invalid)
		n.Metadata.DeletionTimestamp = timestamppb.Now()
		old := proto.Clone(n).(*corev1.Namespace)
		expectErrors(t, ValidateNamespaceStatusUpdate(n, old))
		n.Status.Phase = "Active"
		expectErrors(t, ValidateNamespaceStatusUpdate(n, old), "status.phase"+invalid)
	})
}

// ---------------------------------------------------------------- Node

func validNode() *corev1.Node {
	return &corev1.Node{
		Metadata: &metav1.ObjectMeta{Name: "node-1.lab", Labels: map[string]string{"kubernetes.io/hostname": "node-1"}},
		Spec: &corev1.NodeSpec{
			PodCidr: "10.244.1.0/24", PodCidrs: []string{"10.244.1.0/24"},
			Taints: []*corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule"}},
		},
		Status: &corev1.NodeStatus{
			Capacity:        map[string]string{"cpu": "2", "memory": "4Gi", "pods": "110"},
			Addresses:       []*corev1.NodeAddress{{Type: "InternalIP", Address: "192.168.50.11"}, {Type: "Hostname", Address: "node-1"}},
			Conditions:      []*corev1.NodeCondition{{Type: "Ready", Status: "True"}},
			DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: 10250}},
		},
	}
}

func TestDefaultNode(t *testing.T) {
	n := validNode()
	DefaultNode(n)
	if got := n.Status.Allocatable["memory"]; got != "4Gi" {
		t.Errorf("allocatable memory = %q, want capacity's 4Gi", got)
	}
	n.Status.Capacity["memory"] = "8Gi"
	expectIdempotent(t, n, DefaultNode)
	if got := n.Status.Allocatable["memory"]; got != "4Gi" {
		t.Errorf("allocatable followed capacity after defaulting: %q", got)
	}
	expectIdempotent(t, &corev1.Node{}, DefaultNode)
}

func TestValidateNode(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(n *corev1.Node)
		want   []string
	}{
		{"valid", func(n *corev1.Node) {}, nil},
		{"no spec", func(n *corev1.Node) { n.Spec, n.Status = nil, nil }, nil},
		{"bad pod CIDR", func(n *corev1.Node) { n.Spec.PodCidr, n.Spec.PodCidrs = "10.244.1.0/33", nil }, []string{"spec.podCIDR" + invalid}},
		{"pod CIDR without length", func(n *corev1.Node) { n.Spec.PodCidr, n.Spec.PodCidrs = "10.244.1.0", nil }, []string{"spec.podCIDR" + invalid}},
		{"bad pod CIDRs", func(n *corev1.Node) { n.Spec.PodCidr, n.Spec.PodCidrs = "", []string{"x"} }, []string{"spec.podCIDRs[0]" + invalid}},
		{"pod CIDRs disagree", func(n *corev1.Node) { n.Spec.PodCidrs = []string{"10.244.2.0/24"} }, []string{"spec.podCIDRs[0]" + invalid}},
		{"taint without effect", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "" }, []string{"spec.taints[0].effect" + required}},
		{"bad taint effect", func(n *corev1.Node) { n.Spec.Taints[0].Effect = "NoRun" }, []string{"spec.taints[0].effect" + notSupported}},
		{"taint without key", func(n *corev1.Node) { n.Spec.Taints[0].Key = "" }, []string{"spec.taints[0].key" + invalid}},
		{"bad taint key", func(n *corev1.Node) { n.Spec.Taints[0].Key = "a b" }, []string{"spec.taints[0].key" + invalid}},
		{"bad taint value", func(n *corev1.Node) { n.Spec.Taints[0].Value = "a b" }, []string{"spec.taints[0].value" + invalid}},
		{"duplicate taint", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Value: "x", Effect: "NoSchedule"})
		}, []string{"spec.taints[1]" + duplicate}},
		{"same key, other effect", func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: "NoExecute"})
		}, nil},
		{"bad capacity", func(n *corev1.Node) { n.Status.Capacity["memory"] = "4 GB" }, []string{"status.capacity[memory]" + invalid}},
		{"bad address type", func(n *corev1.Node) { n.Status.Addresses[0].Type = "PublicIP" }, []string{"status.addresses[0].type" + notSupported}},
		{"bad condition status", func(n *corev1.Node) { n.Status.Conditions[0].Status = "Yes" }, []string{"status.conditions[0].status" + notSupported}},
		{"bad kubelet port", func(n *corev1.Node) { n.Status.DaemonEndpoints.KubeletEndpoint.Port = 70000 }, []string{"status.daemonEndpoints.kubeletEndpoint.Port" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := validNode()
			DefaultNode(n)
			tt.mutate(n)
			expectErrors(t, ValidateNode(n), tt.want...)
		})
	}
}

func TestValidateNodeUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(n *corev1.Node)
		mutate func(n *corev1.Node)
		want   []string
	}{
		{"cordon", nil, func(n *corev1.Node) { n.Spec.Unschedulable = true }, nil},
		{"taint added", nil, func(n *corev1.Node) {
			n.Spec.Taints = append(n.Spec.Taints, &corev1.Taint{Key: "maintenance", Effect: "NoExecute"})
		}, nil},
		{"pod CIDR assigned", func(n *corev1.Node) { n.Spec.PodCidr, n.Spec.PodCidrs = "", nil }, func(n *corev1.Node) {}, nil},
		{"pod CIDR changed", nil, func(n *corev1.Node) { n.Spec.PodCidr, n.Spec.PodCidrs = "10.244.9.0/24", []string{"10.244.9.0/24"} },
			[]string{"spec.podCIDR" + forbidden, "spec.podCIDRs" + forbidden}},
		{"providerID changed", func(n *corev1.Node) { n.Spec.ProviderId = "lab://node-1" }, func(n *corev1.Node) { n.Spec.ProviderId = "lab://node-2" },
			[]string{"spec.providerID" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := validNode()
			if tt.old != nil {
				tt.old(old)
			}
			newObj := validNode()
			if tt.old != nil {
				tt.old(newObj)
			}
			newObj.Spec.PodCidr, newObj.Spec.PodCidrs = validNode().Spec.PodCidr, validNode().Spec.PodCidrs
			tt.mutate(newObj)
			expectErrors(t, ValidateNodeUpdate(newObj, old), tt.want...)
		})
	}

	t.Run("status update", func(t *testing.T) {
		old := validNode()
		newObj := validNode()
		newObj.Status.Allocatable = map[string]string{"cpu": "two"}
		expectErrors(t, ValidateNodeStatusUpdate(newObj, old), "status.allocatable[cpu]"+invalid)
	})
}

// ---------------------------------------------------------------- Endpoints

func validEndpoints() *corev1.Endpoints {
	return &corev1.Endpoints{
		Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Subsets: []*corev1.EndpointSubset{{
			Addresses: []*corev1.EndpointAddress{{Ip: "10.244.1.5", NodeName: new("node-1"),
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0"}}},
			NotReadyAddresses: []*corev1.EndpointAddress{{Ip: "fd00::5", Hostname: "web-1"}},
			Ports:             []*corev1.EndpointPort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9090}},
		}},
	}
}

func TestEndpoints(t *testing.T) {
	e := validEndpoints()
	DefaultEndpoints(e)
	if p := e.Subsets[0].Ports[0].Protocol; p != "TCP" {
		t.Errorf("port protocol = %q, want TCP", p)
	}
	expectIdempotent(t, validEndpoints(), DefaultEndpoints)

	tests := []struct {
		name   string
		mutate func(e *corev1.Endpoints)
		want   []string
	}{
		{"valid", func(e *corev1.Endpoints) {}, nil},
		{"no subsets", func(e *corev1.Endpoints) { e.Subsets = nil }, nil},
		{"single unnamed port", func(e *corev1.Endpoints) { e.Subsets[0].Ports = []*corev1.EndpointPort{{Port: 80, Protocol: "TCP"}} }, nil},
		{"no addresses", func(e *corev1.Endpoints) { e.Subsets[0].Addresses, e.Subsets[0].NotReadyAddresses = nil, nil }, []string{"subsets[0]" + required}},
		{"no ports", func(e *corev1.Endpoints) { e.Subsets[0].Ports = nil }, []string{"subsets[0].ports" + required}},
		{"bad IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Ip = "10.244.1" }, []string{"subsets[0].addresses[0].ip" + invalid}},
		{"loopback IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Ip = "127.0.0.1" }, []string{"subsets[0].addresses[0].ip" + invalid}},
		{"unspecified IP", func(e *corev1.Endpoints) { e.Subsets[0].NotReadyAddresses[0].Ip = "::" }, []string{"subsets[0].notReadyAddresses[0].ip" + invalid}},
		{"link-local IP", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].Ip = "169.254.1.1" }, []string{"subsets[0].addresses[0].ip" + invalid}},
		{"bad hostname", func(e *corev1.Endpoints) { e.Subsets[0].NotReadyAddresses[0].Hostname = "web.1" }, []string{"subsets[0].notReadyAddresses[0].hostname" + invalid}},
		{"bad node name", func(e *corev1.Endpoints) { e.Subsets[0].Addresses[0].NodeName = new("Node_1") }, []string{"subsets[0].addresses[0].nodeName" + invalid}},
		{"port 0", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, []string{"subsets[0].ports[0].port" + invalid}},
		{"bad protocol", func(e *corev1.Endpoints) { e.Subsets[0].Ports[0].Protocol = "HTTP" }, []string{"subsets[0].ports[0].protocol" + notSupported}},
		{"unnamed port among two", func(e *corev1.Endpoints) { e.Subsets[0].Ports[1].Name = "" }, []string{"subsets[0].ports[1].name" + required}},
		{"duplicate port name", func(e *corev1.Endpoints) { e.Subsets[0].Ports[1].Name = "http" }, []string{"subsets[0].ports[1].name" + duplicate}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEndpoints()
			DefaultEndpoints(e)
			tt.mutate(e)
			expectErrors(t, ValidateEndpoints(e), tt.want...)
		})
	}

	t.Run("update", func(t *testing.T) {
		old := validEndpoints()
		DefaultEndpoints(old)
		newObj := proto.Clone(old).(*corev1.Endpoints)
		newObj.Subsets[0].Addresses = append(newObj.Subsets[0].Addresses, &corev1.EndpointAddress{Ip: "10.244.2.7"})
		expectErrors(t, ValidateEndpointsUpdate(newObj, old))
		newObj.Subsets[0].Addresses[1].Ip = "bad"
		newObj.Metadata.Namespace = "other"
		expectErrors(t, ValidateEndpointsUpdate(newObj, old), "subsets[0].addresses[1].ip"+invalid, "metadata.namespace"+invalid)
	})
}

// ---------------------------------------------------------------- Event

func validEvent() *corev1.Event {
	return &corev1.Event{
		Metadata:       &metav1.ObjectMeta{Name: "web-0.17a8c9d2e4f6", Namespace: "default"},
		InvolvedObject: &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", Uid: "u1"},
		Reason:         "Scheduled",
		Message:        "Successfully assigned default/web-0 to node-1",
		Source:         &corev1.EventSource{Component: "default-scheduler"},
		Type:           "Normal",
		Count:          1,
		FirstTimestamp: timestamppb.Now(),
	}
}

func TestEvent(t *testing.T) {
	expectIdempotent(t, validEvent(), DefaultEvent)
	tests := []struct {
		name   string
		mutate func(e *corev1.Event)
		want   []string
	}{
		{"valid", func(e *corev1.Event) {}, nil},
		{"warning", func(e *corev1.Event) { e.Type = "Warning" }, nil},
		{"about a node", func(e *corev1.Event) { e.InvolvedObject = &corev1.ObjectReference{Kind: "Node", Name: "node-1"} }, nil},
		{"no involved object", func(e *corev1.Event) { e.InvolvedObject = nil }, []string{"involvedObject" + required}},
		{"involved object without kind", func(e *corev1.Event) { e.InvolvedObject.Kind = "" }, []string{"involvedObject.kind" + required}},
		{"involved object without name", func(e *corev1.Event) { e.InvolvedObject.Name = "" }, []string{"involvedObject.name" + required}},
		{"other namespace", func(e *corev1.Event) { e.InvolvedObject.Namespace = "kube-system" }, []string{"involvedObject.namespace" + invalid}},
		{"no type", func(e *corev1.Event) { e.Type = "" }, []string{"type" + required}},
		{"bad type", func(e *corev1.Event) { e.Type = "Error" }, []string{"type" + notSupported}},
		{"long reason", func(e *corev1.Event) { e.Reason = strings.Repeat("r", 129) }, []string{"reason" + tooLong}},
		{"negative count", func(e *corev1.Event) { e.Count = -1 }, []string{"count" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := validEvent()
			DefaultEvent(e)
			tt.mutate(e)
			expectErrors(t, ValidateEvent(e), tt.want...)
		})
	}

	updates := []struct {
		name   string
		mutate func(e *corev1.Event)
		want   []string
	}{
		{"recurrence", func(e *corev1.Event) {
			e.Count, e.LastTimestamp, e.Message = 2, timestamppb.Now(), "again"
		}, nil},
		{"other object", func(e *corev1.Event) { e.InvolvedObject.Name = "web-1" }, []string{"involvedObject" + invalid}},
		{"other reason", func(e *corev1.Event) { e.Reason = "Pulled" }, []string{"reason" + invalid}},
		{"other source", func(e *corev1.Event) { e.Source.Component = "kubelet" }, []string{"source" + invalid}},
	}
	for _, tt := range updates {
		t.Run("update "+tt.name, func(t *testing.T) {
			old := validEvent()
			newObj := proto.Clone(old).(*corev1.Event)
			tt.mutate(newObj)
			expectErrors(t, ValidateEventUpdate(newObj, old), tt.want...)
		})
	}
}

// ---------------------------------------------------------------- ServiceAccount

func TestServiceAccount(t *testing.T) {
	valid := func() *corev1.ServiceAccount {
		return &corev1.ServiceAccount{
			Metadata:         &metav1.ObjectMeta{Name: "default", Namespace: "team-a"},
			Secrets:          []*corev1.ObjectReference{{Name: "default-token-abcde"}},
			ImagePullSecrets: []*corev1.LocalObjectReference{{Name: "registry"}},
		}
	}
	expectIdempotent(t, valid(), DefaultServiceAccount)
	tests := []struct {
		name   string
		mutate func(sa *corev1.ServiceAccount)
		want   []string
	}{
		{"valid", func(sa *corev1.ServiceAccount) {}, nil},
		{"bad name", func(sa *corev1.ServiceAccount) { sa.Metadata.Name = "Default" }, []string{"metadata.name" + invalid}},
		{"secret without name", func(sa *corev1.ServiceAccount) { sa.Secrets[0].Name = "" }, []string{"secrets[0].name" + required}},
		{"bad pull secret name", func(sa *corev1.ServiceAccount) { sa.ImagePullSecrets[0].Name = "Registry" }, []string{"imagePullSecrets[0].name" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa := valid()
			DefaultServiceAccount(sa)
			tt.mutate(sa)
			expectErrors(t, ValidateServiceAccount(sa), tt.want...)
		})
	}
	t.Run("update", func(t *testing.T) {
		old := valid()
		newObj := valid()
		newObj.AutomountServiceAccountToken = new(false)
		expectErrors(t, ValidateServiceAccountUpdate(newObj, old))
		newObj.Metadata.Name = "other"
		expectErrors(t, ValidateServiceAccountUpdate(newObj, old), "metadata.name"+invalid)
	})
}

// ---------------------------------------------------------------- Lease

func TestLease(t *testing.T) {
	valid := func() *coordinationv1.Lease {
		return &coordinationv1.Lease{
			Metadata: &metav1.ObjectMeta{Name: "skiff-scheduler", Namespace: "kube-system"},
			Spec: &coordinationv1.LeaseSpec{HolderIdentity: new("master-1_4f2a"), LeaseDurationSeconds: new(int32(15)),
				AcquireTime: timestamppb.Now(), RenewTime: timestamppb.Now(), LeaseTransitions: new(int32(0))},
		}
	}
	expectIdempotent(t, valid(), DefaultLease)
	tests := []struct {
		name   string
		mutate func(l *coordinationv1.Lease)
		want   []string
	}{
		{"valid", func(l *coordinationv1.Lease) {}, nil},
		{"empty spec", func(l *coordinationv1.Lease) { l.Spec = &coordinationv1.LeaseSpec{} }, nil},
		{"no spec", func(l *coordinationv1.Lease) { l.Spec = nil }, nil},
		{"zero duration", func(l *coordinationv1.Lease) { l.Spec.LeaseDurationSeconds = new(int32(0)) }, []string{"spec.leaseDurationSeconds" + invalid}},
		{"negative transitions", func(l *coordinationv1.Lease) { l.Spec.LeaseTransitions = new(int32(-1)) }, []string{"spec.leaseTransitions" + invalid}},
		{"no namespace", func(l *coordinationv1.Lease) { l.Metadata.Namespace = "" }, []string{"metadata.namespace" + required}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := valid()
			DefaultLease(l)
			tt.mutate(l)
			expectErrors(t, ValidateLease(l), tt.want...)
		})
	}
	t.Run("update", func(t *testing.T) {
		old := valid()
		newObj := valid()
		newObj.Spec.HolderIdentity, newObj.Spec.LeaseTransitions = new("master-2_9c1b"), new(int32(1))
		expectErrors(t, ValidateLeaseUpdate(newObj, old))
		newObj.Spec.LeaseDurationSeconds = new(int32(-5))
		expectErrors(t, ValidateLeaseUpdate(newObj, old), "spec.leaseDurationSeconds"+invalid)
	})
}
