package kubectl

import (
	"context"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
)

// applyKubectl starts an apiserver for one test and a real kubectl for it.
func applyKubectl(t *testing.T) *apiservertest.Kubectl {
	t.Helper()
	srv := apiservertest.Start(t, apiservertest.Options{})
	return apiservertest.NewKubectl(t, srv)
}

// applyRun runs kubectl with stdin and fails the test unless it succeeds
// with exactly the wanted stdout and an empty stderr.
func applyRun(t *testing.T, k *apiservertest.Kubectl, stdin, want string, args ...string) {
	t.Helper()
	out, errOut, err := k.Run(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	if out != want || errOut != "" {
		t.Fatalf("kubectl %s:\nstdout %q\nwant   %q\nstderr %q", strings.Join(args, " "), out, want, errOut)
	}
}

const applyWeb = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: x}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - {containerPort: 80, name: http}
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
      - name: sidecar
        image: busybox:1.36
        command: [sleep, "3600"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: x}
data: {mode: fast}
`

// applyWebEdited changes the image, removes env B and the sidecar, and
// switches to the Recreate strategy (whose rollingUpdate the server had
// defaulted: Kubernetes' retainKeys drops it).
const applyWebEdited = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: x}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports:
        - {containerPort: 80, name: http}
        env:
        - {name: A, value: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: x}
data: {mode: fast}
`

// TestApplyCreateUnchangedConfigured is client-side kubectl apply: create,
// nothing to do the second time, then a strategic merge patch that
// changes an image and prunes a container and an env var the previous
// apply set (last-applied-configuration).
func TestApplyCreateUnchangedConfigured(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")
	applyRun(t, k, applyWeb, "deployment.apps/web unchanged\nconfigmap/settings unchanged\n", "apply", "-f", "-")
	applyRun(t, k, applyWebEdited, "deployment.apps/web configured\nconfigmap/settings unchanged\n", "apply", "-f", "-")

	applyRun(t, k, "", `nginx=nginx:1.27 env=A ports=http:80 strategy={"type":"Recreate"}`,
		"get", "deployment", "web", "-o",
		`jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} env={.env[*].name} ports={.ports[0].name}:{.ports[0].containerPort}{end} strategy={.spec.strategy}`)
	applyRun(t, k, applyWebEdited, "deployment.apps/web unchanged\nconfigmap/settings unchanged\n", "apply", "-f", "-")
}

// TestApplyStrategicMergePatch is kubectl patch's default type, strategic:
// containers and env merge by name (in the patch's order, as Kubernetes
// orders them), and $patch: delete removes one.
func TestApplyStrategicMergePatch(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")
	applyRun(t, k, "", "deployment.apps/web patched\n", "patch", "deployment", "web", "-p",
		`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.37"},{"name":"nginx","env":[{"name":"C","value":"3"}]}]}}}}`)
	applyRun(t, k, "", "sidecar=busybox:1.37 env=;nginx=nginx:1.25 env=C A B;",
		"get", "deployment", "web", "-o",
		`jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} env={.env[*].name};{end}`)
	applyRun(t, k, "", "deployment.apps/web patched\n", "patch", "deployment", "web", "-p",
		`{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}`)
	applyRun(t, k, "", "nginx;", "get", "deployment", "web", "-o", `jsonpath={range .spec.template.spec.containers[*]}{.name};{end}`)
	// The /scale subresource patches autoscaling/v1's Scale.
	applyRun(t, k, "", "scale.autoscaling/web patched\n", "patch", "deployment", "web", "--subresource=scale", "-p", `{"spec":{"replicas":5}}`)
	applyRun(t, k, "", "5", "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}")
}

// TestApplyPrune deletes the objects of the label that the file no longer
// has. kubectl's default prune list names kinds Skiff does not serve
// (PersistentVolumeClaim, StatefulSet, ...), so the kinds are listed.
func TestApplyPrune(t *testing.T) {
	k := applyKubectl(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", labels: {app: pr}}\ndata: {a: \"1\"}\n"
	}
	applyRun(t, k, cm("one")+"---\n"+cm("two"), "configmap/one created\nconfigmap/two created\n", "apply", "-f", "-")
	applyRun(t, k, cm("one"), "configmap/one unchanged\nconfigmap/two pruned\n",
		"apply", "-f", "-", "--prune", "-l", "app=pr", "--prune-allowlist=core/v1/ConfigMap")
	applyRun(t, k, "", "one", "get", "configmaps", "-l", "app=pr", "-o", "jsonpath={.items[*].metadata.name}")
}

// TestApplyServerSide: server-side apply is refused with a message that
// says what to do instead (kubectl prints it for each object), and nothing
// is created.
func TestApplyServerSide(t *testing.T) {
	k := applyKubectl(t)
	out, errOut, err := k.Run(applyWeb, "apply", "--server-side", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply --server-side succeeded: %s", out)
	}
	want := strings.Repeat("Server-side apply not available on the server: (server-side apply (application/apply-patch+yaml) is not supported by Skiff: use client-side apply (kubectl apply without --server-side))\n", 2)
	if out != "" || errOut != want {
		t.Fatalf("kubectl apply --server-side:\nstdout %q\nstderr %q\nwant   %q", out, errOut, want)
	}
	applyRun(t, k, "", "", "get", "deployments,configmaps", "-o", "name")
}

const applyUnknown = `apiVersion: v1
kind: ConfigMap
metadata:
  name: odd
  colour: blue
data: {a: "1"}
extra: x
`

// TestApplyFieldValidation is kubectl's --validate (the fieldValidation
// parameter, which kubectl sends once /openapi/v3 says the server
// supports it): strict refuses unknown fields, warn and false drop them.
func TestApplyFieldValidation(t *testing.T) {
	k := applyKubectl(t)
	out, errOut, err := k.Run(applyUnknown, "apply", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply of unknown fields succeeded: %s", out)
	}
	want := `Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "extra", unknown field "metadata.colour"` + "\n"
	if out != "" || errOut != want {
		t.Fatalf("kubectl apply (strict):\nstdout %q\nstderr %q\nwant   %q", out, errOut, want)
	}

	out, errOut, err = k.Run(applyUnknown, "apply", "-f", "-", "--validate=warn")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Warning: unknown field \"extra\"\nWarning: unknown field \"metadata.colour\"\n"; out != "configmap/odd created\n" || errOut != want {
		t.Fatalf("kubectl apply --validate=warn:\nstdout %q\nstderr %q\nwant   %q", out, errOut, want)
	}
	applyRun(t, k, "", "odd a=1", "get", "configmap", "odd", "-o", "jsonpath={.metadata.name} a={.data.a}")

	applyRun(t, k, strings.Replace(applyUnknown, "name: odd", "name: quiet", 1), "configmap/quiet created\n", "create", "-f", "-", "--validate=false")

	// An update under strict: the patch is refused, the object unchanged.
	_, errOut, err = k.Run(strings.Replace(applyUnknown, `a: "1"`, `a: "2"`, 1), "apply", "-f", "-")
	if err == nil || !strings.HasSuffix(errOut, `error when patching "STDIN": strict decoding error: unknown field "extra", unknown field "metadata.colour"`+"\n") {
		t.Fatalf("kubectl apply (strict update): err %v, stderr %q", err, errOut)
	}
	applyRun(t, k, "", "1", "get", "configmap", "odd", "-o", "jsonpath={.data.a}")
}

// TestEdit is kubectl edit, whose change is sent as a strategic merge
// patch; the editor is sed.
func TestEdit(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := k.Command(ctx, "edit", "deployment", "web")
	cmd.Env = append(cmd.Env, "KUBE_EDITOR=sed -i s/nginx:1.25/nginx:1.29/")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "deployment.apps/web edited\n" {
		t.Fatalf("kubectl edit: %v\n%s", err, out)
	}
	applyRun(t, k, "", "nginx:1.29 busybox:1.36", "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[*].image}")
}
