package server

import (
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"skiff.dev/apiserver/internal/authz"
	"skiff.dev/apiserver/internal/registry"
	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestRESTAttributes(t *testing.T) {
	res := func(verb, ns, group, resource, sub, name string) authz.Attributes {
		return authz.Attributes{Verb: verb, ResourceRequest: true, Namespace: ns, APIGroup: group, Resource: resource, Subresource: sub, Name: name}
	}
	tests := []struct {
		method, target string
		want           authz.Attributes
	}{
		{"GET", "/api/v1/namespaces/dev/pods", res("list", "dev", "", "pods", "", "")},
		{"GET", "/api/v1/pods", res("list", "", "", "pods", "", "")},
		{"GET", "/api/v1/pods?watch=true", res("watch", "", "", "pods", "", "")},
		{"GET", "/api/v1/watch/namespaces/dev/pods", res("watch", "dev", "", "pods", "", "")},
		{"GET", "/api/v1/namespaces/dev/pods/web", res("get", "dev", "", "pods", "", "web")},
		{"GET", "/api/v1/namespaces/dev/pods/web/log", res("get", "dev", "", "pods", "log", "web")},
		{"GET", "/api/v1/namespaces/dev/pods/web/exec?command=sh", res("create", "dev", "", "pods", "exec", "web")},
		{"POST", "/api/v1/namespaces/dev/pods/web/exec?command=sh", res("create", "dev", "", "pods", "exec", "web")},
		{"GET", "/api/v1/namespaces/dev/pods/web/portforward?ports=80", res("create", "dev", "", "pods", "portforward", "web")},
		{"POST", "/api/v1/namespaces/dev/pods/web/portforward?ports=80", res("create", "dev", "", "pods", "portforward", "web")},
		{"GET", "/api/v1/nodes/n1/proxy/stats/summary", res("get", "", "", "nodes", "proxy", "n1")},
		{"POST", "/api/v1/namespaces/dev/pods/web/binding", res("create", "dev", "", "pods", "binding", "web")},
		{"POST", "/apis/apps/v1/namespaces/dev/deployments", res("create", "dev", "apps", "deployments", "", "")},
		{"PUT", "/apis/apps/v1/namespaces/dev/deployments/web/scale", res("update", "dev", "apps", "deployments", "scale", "web")},
		{"PATCH", "/api/v1/nodes/n1", res("patch", "", "", "nodes", "", "n1")},
		{"DELETE", "/api/v1/namespaces/dev/configmaps/c", res("delete", "dev", "", "configmaps", "", "c")},
		{"DELETE", "/api/v1/namespaces/dev/configmaps", res("deletecollection", "dev", "", "configmaps", "", "")},
		{"GET", "/api/v1/namespaces/dev", res("get", "dev", "", "namespaces", "", "dev")},
		{"PUT", "/api/v1/namespaces/dev/status", res("update", "dev", "", "namespaces", "status", "dev")},
		{"PUT", "/api/v1/namespaces/dev/finalize", res("update", "dev", "", "namespaces", "finalize", "dev")},
		{"GET", "/api/v1/namespaces", res("list", "", "", "namespaces", "", "")},
		{"GET", "/apis/apps/v1", authz.Attributes{Verb: "get", Path: "/apis/apps/v1"}},
		{"GET", "/metrics", authz.Attributes{Verb: "get", Path: "/metrics"}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			got := restAttributes(httptest.NewRequest(tt.method, tt.target, nil))
			if !got.ResourceRequest {
				got.Path = tt.want.Path
			} else {
				got.Path = ""
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGRPCAttributes(t *testing.T) {
	infos := []registry.Info{
		{Version: "v1", Kind: "Pod", Resource: "pods", Namespaced: true},
		{Version: "v1", Kind: "Namespace", Resource: "namespaces"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true},
		{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease", Resource: "leases", Namespaced: true},
	}
	a := newAuthorizer(zap.NewNop(), authz.AlwaysAllow, infos)
	res := func(verb, ns, group, resource, sub, name string) authz.Attributes {
		return authz.Attributes{Verb: verb, ResourceRequest: true, Namespace: ns, APIGroup: group, Resource: resource, Subresource: sub, Name: name}
	}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "dev", Name: "web"}}
	tests := []struct {
		method string
		req    any
		want   authz.Attributes
	}{
		{"/skiff.core.v1.PodService/Create", &corev1.PodRequest{Object: pod}, res("create", "dev", "", "pods", "", "")},
		{"/skiff.core.v1.PodService/Update", &corev1.PodRequest{Object: pod}, res("update", "dev", "", "pods", "", "web")},
		{"/skiff.core.v1.PodService/UpdateStatus", &corev1.PodRequest{Namespace: "dev", Name: "web", Object: pod}, res("update", "dev", "", "pods", "status", "web")},
		{"/skiff.core.v1.PodService/List", &metav1.ListOptions{}, res("list", "", "", "pods", "", "")},
		{"/skiff.core.v1.PodService/Watch", &metav1.ListOptions{Namespace: "dev"}, res("watch", "dev", "", "pods", "", "")},
		{"/skiff.core.v1.PodService/Bind", &corev1.BindingRequest{Namespace: "dev", Name: "web"}, res("create", "dev", "", "pods", "binding", "web")},
		{"/skiff.core.v1.PodService/Log", &corev1.PodLogOptions{Namespace: "dev", Name: "web"}, res("get", "dev", "", "pods", "log", "web")},
		{"/skiff.core.v1.NamespaceService/Delete", &metav1.DeleteOptions{Name: "dev"}, res("delete", "dev", "", "namespaces", "", "dev")},
		{"/skiff.core.v1.NamespaceService/Finalize", &corev1.NamespaceRequest{Name: "dev"}, res("update", "dev", "", "namespaces", "finalize", "dev")},
		{"/skiff.apps.v1.DeploymentService/UpdateScale", &appsv1.ScaleRequest{Namespace: "dev", Name: "web"}, res("update", "dev", "apps", "deployments", "scale", "web")},
		{"/skiff.coordination.v1.LeaseService/Get", &metav1.GetOptions{Namespace: "kube-system", Name: "l"}, res("get", "kube-system", "coordination.k8s.io", "leases", "", "l")},
		{"/grpc.health.v1.Health/Check", nil, authz.Attributes{Verb: "call", Path: "/grpc.health.v1.Health/Check"}},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			got := a.grpcAttributes(tt.method, tt.req)
			if got.ResourceRequest {
				got.Path = ""
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
