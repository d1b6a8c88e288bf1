package kubectl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestExplain is kubectl explain (OpenAPI v3) on Skiff's documents: the
// contract's comments where it has them, else Kubernetes' own, and
// Kubernetes' types (IntOrString, Quantity, required fields).
func TestExplain(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, "", `GROUP:      apps
KIND:       Deployment
VERSION:    v1

FIELD: strategy <DeploymentStrategy>


DESCRIPTION:
    The deployment strategy to use to replace existing pods with new ones.
    DeploymentStrategy describes how to replace existing pods with new ones.
    
FIELDS:
  rollingUpdate	<RollingUpdateDeployment>
    Rolling update config params. Present only if DeploymentStrategyType =
    RollingUpdate.

  type	<string>
    type is RollingUpdate (default) or Recreate.


`, "explain", "deployment.spec.strategy")

	applyRun(t, k, "", `KIND:       Pod
VERSION:    v1

FIELD: resources <ResourceRequirements>


DESCRIPTION:
    Compute Resources required by this container. Cannot be updated. More info:
    https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/
    ResourceRequirements maps resource names (cpu, memory) to quantities.
    
FIELDS:
  limits	<map[string]Quantity>
  requests	<map[string]Quantity>

`, "explain", "pod.spec.containers.resources", "--recursive")

	applyRun(t, k, "", `KIND:       Service
VERSION:    v1

FIELD: targetPort <IntOrString>


DESCRIPTION:
    targetPort is a number or a named container port; defaults to port.
    IntOrString is a type that can hold an int32 or a string.  When used in JSON
    or YAML marshalling and unmarshalling, it produces or consumes the inner
    type.  This allows you to have, for example, a JSON field that can accept a
    name or number.
    

`, "explain", "service.spec.ports.targetPort")

	// The OpenAPI v2 form, which kubectl reads as protobuf.
	applyRun(t, k, "", `KIND:     Deployment
VERSION:  apps/v1

RESOURCE: strategy <Object>

DESCRIPTION:
     The deployment strategy to use to replace existing pods with new ones.

     DeploymentStrategy describes how to replace existing pods with new ones.

FIELDS:
   rollingUpdate	<Object>
     Rolling update config params. Present only if DeploymentStrategyType =
     RollingUpdate.

   type	<string>
     type is RollingUpdate (default) or Recreate.

`, "explain", "deployment.spec.strategy", "--output", "plaintext-openapiv2")

	out, errOut, err := k.Run("", "explain", "pod.spec.containers.foo")
	if err == nil || out != "KIND:       Pod\nVERSION:    v1\n\n" || errOut != "error: field \"foo\" does not exist\n" {
		t.Fatalf("kubectl explain pod.spec.containers.foo: %v\nstdout %q\nstderr %q", err, out, errOut)
	}
}

// TestExplainMatchesSkiffctl: kubectl explain prints, byte for byte, the
// golden outputs of skiffctl explain (ctl/internal/app/testdata/explain:
// NAME.txt is `explain NAME`, NAME-recursive.txt adds --recursive).
func TestExplainMatchesSkiffctl(t *testing.T) {
	k := applyKubectl(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "ctl", "internal", "app", "testdata", "explain", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no skiffctl explain golden files: %v", err)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		args := []string{"explain", name}
		if n, ok := strings.CutSuffix(name, "-recursive"); ok {
			args = []string{"explain", n, "--recursive"}
		}
		applyRun(t, k, "", string(want), args...)
	}
}

// TestExplainAsAnyUser: the OpenAPI documents are discovery, readable by
// every authenticated user (system:discovery), as kubectl explain needs.
func TestExplainAsAnyUser(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{Secure: true, Tokens: "alice-token,alice,1001\n"})
	k := apiservertest.NewKubectlConfig(t, "apiVersion: v1\nkind: Config\ncurrent-context: alice\n"+
		"clusters:\n- name: skiff\n  cluster:\n    server: "+srv.URL+"\n    certificate-authority: "+filepath.Join(srv.PKIDir, "ca.crt")+"\n"+
		"users:\n- name: alice\n  user: {token: alice-token}\n"+
		"contexts:\n- name: alice\n  context: {cluster: skiff, user: alice, namespace: default}\n")
	out, errOut, err := k.Run("", "explain", "deployment.spec.replicas")
	if err != nil {
		t.Fatal(err)
	}
	want := "GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nFIELD: replicas <integer>\n\n\nDESCRIPTION:\n    replicas defaults to 1.\n    \n\n"
	if out != want || errOut != "" {
		t.Fatalf("kubectl explain as alice:\nstdout %q\nwant   %q\nstderr %q", out, want, errOut)
	}
	// alice may read the documentation, not the objects.
	if _, errOut, err := k.Run("", "get", "deployments"); err == nil || !strings.Contains(errOut, "forbidden") {
		t.Fatalf("alice listed deployments: %v %s", err, errOut)
	}
}
