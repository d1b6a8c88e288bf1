package server

import (
	"strings"
	"testing"

	corev1 "skiff.dev/proto/core/v1"
)

// TestMarshaler checks the gateway's adapter over skiff.dev/proto/codec
// (whose own tests cover the format): the body's errors say that the body
// is at fault, YAML is YAML, and the output is the codec's.
func TestMarshaler(t *testing.T) {
	cases := []struct {
		name    string
		yaml    bool
		body    string
		check   func(*corev1.Service) bool
		wantErr string
	}{
		{name: "json", body: `{"metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}]}}`,
			check: func(s *corev1.Service) bool { return s.Spec.Ports[0].TargetPort == "8080" }},
		{name: "yaml", yaml: true, body: "metadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: http\n",
			check: func(s *corev1.Service) bool { return s.Spec.Ports[0].TargetPort == "http" }},
		{name: "unknown field", body: `{"spec":{"replica":3}}`, wantErr: `the request body is not a valid object: unknown field "spec.replica"`},
		{name: "wrong type in yaml", yaml: true, body: "spec:\n  ports: eighty\n", wantErr: `the request body is not a valid object: line 2: spec.ports: expected a list`},
		{name: "malformed json", body: `{"metadata":`, wantErr: "the request body is not valid JSON"},
		{name: "malformed yaml", yaml: true, body: "metadata: [", wantErr: "the request body is not valid YAML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &jsonMarshaler{yaml: tc.yaml}
			var svc *corev1.Service
			err := m.Unmarshal([]byte(tc.body), &svc)
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
			out, err := m.Marshal(svc)
			if err != nil {
				t.Fatal(err)
			}
			want := `"targetPort":8080`
			if tc.yaml {
				want = "targetPort: http"
			}
			if !strings.Contains(string(out), want) {
				t.Fatalf("encoded %s, want it to contain %s", out, want)
			}
		})
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
