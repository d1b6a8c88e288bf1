package app

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/component"
)

func TestFormatError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unauthenticated, "invalid bearer token"), "error: You must be logged in to the server (Unauthorized): invalid bearer token"},
		{status.Error(codes.PermissionDenied, `pods is forbidden: User "bob" cannot list pods`), `Error from server (Forbidden): pods is forbidden: User "bob" cannot list pods`},
		{status.Error(codes.NotFound, `pods "x" not found`), `Error from server (NotFound): pods "x" not found`},
		{status.Error(codes.Aborted, "the object has been modified"), "Error from server (Conflict): the object has been modified"},
		{errors.New("boom"), "error: boom"},
	}
	c := &cli{}
	for _, tt := range tests {
		if got := c.formatError(tt.err); got != tt.want {
			t.Errorf("formatError(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// startSecure starts an apiserver with TLS, the tokens given and an ABAC
// policy making bob a reader of namespace readNS, and returns it, a way to
// run skiffctl against it with credentials and stdin, and the admin's
// credentials (a client certificate).
func startSecure(t *testing.T, tokens, readNS string) (*apiservertest.Server, func(stdin string, creds []string, args ...string) (string, string, int), []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SKIFF_CONFIG", "")
	srv := apiservertest.Start(t, apiservertest.Options{
		Secure: true,
		Tokens: tokens,
		Policy: fmt.Sprintf(`{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "bob", "namespace": %q, "resource": "*", "apiGroup": "*", "readonly": true}}`, readNS) + "\n",
	})
	ca := filepath.Join(srv.PKIDir, "ca.crt")
	run := func(stdin string, creds []string, args ...string) (string, string, int) {
		var out, errOut strings.Builder
		all := append(append([]string{"--server", srv.URL, "--certificate-authority", ca}, creds...), args...)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		code := Run(ctx, all, strings.NewReader(stdin), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	admin := []string{"--client-certificate", filepath.Join(srv.PKIDir, "admin.crt"), "--client-key", filepath.Join(srv.PKIDir, "admin.key")}
	return srv, run, admin
}

// TestAuthErrors runs skiffctl against an apiserver with TLS, tokens and an
// ABAC policy: bad or missing credentials are 401, a user without a policy
// for the request is 403, each one line on stderr.
func TestAuthErrors(t *testing.T) {
	_, runIn, admin := startSecure(t, "t0k,alice,1001\nb0b,bob,1002\n", "dev")
	run := func(creds []string, args ...string) (string, string, int) { return runIn("", creds, args...) }
	bob := []string{"--token", "b0b"}
	tests := []struct {
		name       string
		creds      []string
		args       []string
		wantStdout string
		wantStderr string
		wantCode   int
	}{
		{"no credentials", nil, []string{"get", "pods"}, "", "error: You must be logged in to the server (Unauthorized)\n", 1},
		{"wrong token", []string{"--token", "nope"}, []string{"get", "pods"}, "", "error: You must be logged in to the server (Unauthorized)\n", 1},
		{"admin certificate", admin, []string{"create", "namespace", "dev"}, "namespace/dev created\n", "", 0},
		{"bob reads dev", bob, []string{"get", "pods", "-n", "dev"}, "", "No resources found in dev namespace.\n", 0},
		{"bob cannot read default", bob, []string{"get", "pods"}, "",
			`Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default": No policy matched.` + "\n", 1},
		{"bob cannot write dev", bob, []string{"create", "configmap", "c", "-n", "dev"}, "",
			`Error from server (Forbidden): configmaps is forbidden: User "bob" cannot create resource "configmaps" in API group "" in the namespace "dev": No policy matched.` + "\n", 1},
		{"bob cannot delete a named object", bob, []string{"delete", "deployment", "web", "-n", "dev"}, "",
			`Error from server (Forbidden): deployments.apps "web" is forbidden: User "bob" cannot delete resource "deployments" in API group "apps" in the namespace "dev": No policy matched.` + "\n", 1},
		{"bob discovers resources", bob, []string{"api-resources", "--api-group=apps", "--no-headers"}, "daemonsets    ds       apps/v1   true   DaemonSet\ndeployments   deploy   apps/v1   true   Deployment\nreplicasets   rs       apps/v1   true   ReplicaSet\n", "", 0},
		{"no credentials for discovery", nil, []string{"api-resources"}, "", "error: You must be logged in to the server (Unauthorized)\n", 1},
		{"cluster-scoped names", bob, []string{"api-resources", "--namespaced=false", "-o", "name"}, "namespaces\nnodes\n", "", 0},
		{"bob reads the version", bob, []string{"version"}, "Client Version: " + component.Version + "\nServer Version: " + component.Version + "\nKubernetes API Version: " + component.KubernetesVersion + "\n", "", 0},
		{"alice has no policy", []string{"--token", "t0k"}, []string{"get", "nodes"}, "",
			`Error from server (Forbidden): nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope: No policy matched.` + "\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(tt.creds, tt.args...)
			if out != tt.wantStdout || errOut != tt.wantStderr || code != tt.wantCode {
				t.Errorf("skiffctl %v:\ngot  stdout %q stderr %q code %d\nwant stdout %q stderr %q code %d",
					tt.args, out, errOut, code, tt.wantStdout, tt.wantStderr, tt.wantCode)
			}
		})
	}
}
