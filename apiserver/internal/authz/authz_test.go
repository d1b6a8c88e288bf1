package authz

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/apiserver/internal/authn"
)

const policies = `# team policies
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "alice", "namespace": "*", "resource": "*", "apiGroup": "*"}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "bob", "namespace": "dev", "resource": "pods", "apiGroup": "", "readonly": true}}

{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"group": "ops", "namespace": "*", "resource": "deployments", "apiGroup": "apps"}}
{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "*", "readonly": true, "nonResourcePath": "/logs/*"}}
`

func TestABAC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.jsonl")
	if err := os.WriteFile(path, []byte(policies), 0o600); err != nil {
		t.Fatal(err)
	}
	pl, err := LoadPolicyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	az := Union(pl)
	user := func(name string, groups ...string) *authn.User { return &authn.User{Name: name, Groups: groups} }
	res := func(u *authn.User, verb, ns, group, resource string) Attributes {
		return Attributes{User: u, Verb: verb, ResourceRequest: true, Namespace: ns, APIGroup: group, Resource: resource}
	}
	tests := []struct {
		name  string
		attrs Attributes
		want  Decision
	}{
		{"alice may do anything", res(user("alice"), "delete", "prod", "apps", "deployments"), Allow},
		{"alice may touch nodes", res(user("alice"), "update", "", "", "nodes"), Allow},
		{"bob reads pods in dev", res(user("bob"), "list", "dev", "", "pods"), Allow},
		{"bob cannot write pods in dev", res(user("bob"), "create", "dev", "", "pods"), Deny},
		{"bob cannot read pods elsewhere", res(user("bob"), "get", "prod", "", "pods"), Deny},
		{"bob cannot list pods of all namespaces", res(user("bob"), "list", "", "", "pods"), Deny},
		{"bob cannot read services", res(user("bob"), "get", "dev", "", "services"), Deny},
		{"ops scale deployments", res(user("carol", "ops"), "update", "web", "apps", "deployments"), Allow},
		{"ops cannot touch replicasets", res(user("carol", "ops"), "update", "web", "apps", "replicasets"), Deny},
		{"everyone reads /logs/x", Attributes{User: user("dan"), Verb: "get", Path: "/logs/x"}, Allow},
		{"nobody writes /logs/x", Attributes{User: user("dan"), Verb: "post", Path: "/logs/x"}, Deny},
		{"masters do anything", res(user("root", MastersGroup), "delete", "", "", "nodes"), Allow},
		{"authenticated users discover", Attributes{User: user("eve", AuthenticatedGroup), Verb: "get", Path: "/apis/apps/v1"}, Allow},
		{"anonymous reads healthz", Attributes{User: user("system:anonymous", UnauthenticatedGroup), Verb: "get", Path: "/healthz"}, Allow},
		{"anonymous cannot discover", Attributes{User: user("system:anonymous", UnauthenticatedGroup), Verb: "get", Path: "/api"}, Deny},
		{"scheduler binds pods", Attributes{User: user(SchedulerUser, AuthenticatedGroup), Verb: "create", ResourceRequest: true, Namespace: "default", Resource: "pods", Subresource: "binding"}, Allow},
		{"scheduler cannot delete nodes", res(user(SchedulerUser), "delete", "", "", "nodes"), Deny},
		{"kubelets update their node", res(user("system:node:n1", NodesGroup), "update", "", "", "nodes"), Allow},
		{"kubelets cannot create deployments", res(user("system:node:n1", NodesGroup), "create", "default", "apps", "deployments"), Deny},
		{"kube-proxy reads endpoints", res(user(KubeProxyUser), "watch", "", "", "endpoints"), Allow},
		{"no user", res(nil, "get", "default", "", "pods"), Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := az.Authorize(context.Background(), tt.attrs)
			if err != nil || d != tt.want {
				t.Fatalf("Authorize = %v %q %v, want %v", d, reason, err, tt.want)
			}
			if d == Deny && reason != noPolicyMatched {
				t.Errorf("reason %q, want %q", reason, noPolicyMatched)
			}
		})
	}
}

func TestParsePoliciesErrors(t *testing.T) {
	const head = `{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", `
	tests := []struct {
		line, want string
	}{
		{`{"apiVersion": "v1", "kind": "Policy", "spec": {"user": "a", "resource": "*"}}`, `p.jsonl:2: apiVersion: want "abac.authorization.kubernetes.io/v1beta1", got "v1"`},
		{`{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Rule", "spec": {"user": "a", "resource": "*"}}`, `p.jsonl:2: kind: want "Policy", got "Rule"`},
		{head + `"spec": {"usr": "a"}}`, `p.jsonl:2: json: unknown field "usr"`},
		{head + `"spec": {"resource": "*"}}`, `p.jsonl:2: spec: a policy needs a user or a group`},
		{head + `"spec": {"user": "a"}}`, `p.jsonl:2: spec: a policy needs resource/apiGroup/namespace or nonResourcePath`},
		{head + `"spec": {"user": "a",`, `p.jsonl:2: unexpected EOF`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := ParsePolicies("p.jsonl", []byte("# first\n"+tt.line+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewModes(t *testing.T) {
	if _, err := New(Config{Modes: []string{"RBAC"}}); err == nil || !strings.Contains(err.Error(), `unknown mode "RBAC"`) {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := New(Config{Modes: []string{"AlwaysAllow"}, PolicyFile: "p"}); err == nil || !strings.Contains(err.Error(), "has no ABAC") {
		t.Errorf("policy file without ABAC: %v", err)
	}
	if _, err := New(Config{Modes: []string{"ABAC"}, PolicyFile: "/nonexistent/p"}); err == nil || !strings.Contains(err.Error(), "--authorization-policy-file") {
		t.Errorf("missing policy file: %v", err)
	}
	deny, err := New(Config{Modes: []string{"AlwaysDeny", "AlwaysAllow"}})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _ := deny.Authorize(context.Background(), Attributes{User: &authn.User{Name: "a"}, Verb: "get", Path: "/x"}); d != Deny {
		t.Errorf("AlwaysDeny first: %v", d)
	}
}

func TestForbiddenMessage(t *testing.T) {
	u := &authn.User{Name: "bob"}
	tests := []struct {
		attrs Attributes
		want  string
	}{
		{Attributes{User: u, Verb: "list", ResourceRequest: true, Namespace: "dev", Resource: "pods"},
			`User "bob" cannot list resource "pods" in API group "" in the namespace "dev": No policy matched.`},
		{Attributes{User: u, Verb: "get", ResourceRequest: true, Resource: "pods", Subresource: "log", Namespace: "a", Name: "p"},
			`User "bob" cannot get resource "pods/log" in API group "" in the namespace "a": No policy matched.`},
		{Attributes{User: u, Verb: "delete", ResourceRequest: true, APIGroup: "apps", Resource: "deployments"},
			`User "bob" cannot delete resource "deployments" in API group "apps" at the cluster scope: No policy matched.`},
		{Attributes{User: u, Verb: "get", Path: "/metrics"}, `User "bob" cannot get path "/metrics": No policy matched.`},
	}
	for _, tt := range tests {
		if got := ForbiddenMessage(tt.attrs, noPolicyMatched); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
