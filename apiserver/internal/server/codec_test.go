package server

import (
	"strings"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
)

func TestDecodeKubernetesJSON(t *testing.T) {
	cases := []struct {
		name    string
		yaml    bool
		body    string
		check   func(*corev1.Service) bool
		wantErr string
	}{
		{name: "numbers where the API has strings", body: `{"metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}]}}`,
			check: func(s *corev1.Service) bool {
				return s.Spec.Ports[0].TargetPort == "8080" && s.Spec.Ports[0].Port == 80
			}},
		{name: "named target port", body: `{"spec":{"ports":[{"port":80,"targetPort":"http"}]}}`,
			check: func(s *corev1.Service) bool { return s.Spec.Ports[0].TargetPort == "http" }},
		{name: "yaml", yaml: true, body: "metadata:\n  name: web\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n    targetPort: 8080\n",
			check: func(s *corev1.Service) bool {
				return s.Spec.ClusterIp == "10.0.0.1" && s.Spec.Ports[0].TargetPort == "8080"
			}},
		{name: "unknown field is named", body: `{"spec":{"replica":3}}`, wantErr: `unknown field "replica"`},
		{name: "malformed json", body: `{"metadata":`, wantErr: "not valid JSON"},
		{name: "malformed yaml", yaml: true, body: "metadata: [", wantErr: "not valid YAML"},
		{name: "wrong type that no coercion fixes", body: `{"spec":{"ports":"eighty"}}`, wantErr: "not a valid object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var svc *corev1.Service
			err := (&jsonMarshaler{yaml: tc.yaml}).Unmarshal([]byte(tc.body), &svc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(svc) {
				t.Fatalf("decoded %v", svc)
			}
		})
	}
}

func TestQuantitiesAsNumbers(t *testing.T) {
	var pod *corev1.Pod
	body := `{"spec":{"containers":[{"name":"a","image":"x","resources":{"requests":{"cpu":1,"memory":"64Mi"},"limits":{"cpu":0.5}}}]}}`
	if err := (&jsonMarshaler{}).Unmarshal([]byte(body), &pod); err != nil {
		t.Fatal(err)
	}
	r := pod.Spec.Containers[0].Resources
	if r.Requests["cpu"] != "1" || r.Limits["cpu"] != "0.5" || r.Requests["memory"] != "64Mi" {
		t.Fatalf("resources = %v", r)
	}
}

func TestParsePath(t *testing.T) {
	cases := []struct {
		path string
		want restTarget
		ok   bool
	}{
		{"/api/v1/namespaces/default/pods", restTarget{version: "v1", namespace: "default", resource: "pods"}, true},
		{"/api/v1/namespaces/default/pods/web/log", restTarget{version: "v1", namespace: "default", resource: "pods", name: "web", sub: "log"}, true},
		{"/api/v1/namespaces/dev", restTarget{version: "v1", resource: "namespaces", name: "dev"}, true},
		{"/api/v1/namespaces/dev/status", restTarget{version: "v1", resource: "namespaces", name: "dev", sub: "status"}, true},
		{"/api/v1/pods", restTarget{version: "v1", resource: "pods"}, true},
		{"/api/v1/watch/namespaces/x/pods", restTarget{version: "v1", namespace: "x", resource: "pods", watch: true}, true},
		{"/apis/apps/v1/namespaces/x/deployments/web/scale", restTarget{group: "apps", version: "v1", namespace: "x", resource: "deployments", name: "web", sub: "scale"}, true},
		{"/apis/apps/v1", restTarget{group: "apps", version: "v1", discovery: true}, true},
		{"/apis/apps", restTarget{group: "apps", groupDiscovery: true}, true},
		{"/healthz", restTarget{}, false},
	}
	for _, tc := range cases {
		got, ok := parsePath(tc.path)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v, %v", tc.path, got, ok, tc.want, tc.ok)
		}
	}
}
