package kubectl

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// dryRunExit is kubectl's exit code: 0, or that of a failed run.
func dryRunExit(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// dryRunVarying is what changes from run to run (timestamps, uids); dryRunStable hides it.
var dryRunVarying = regexp.MustCompile(`(creationTimestamp: |uid: )\S+`)

func dryRunStable(s string) string { return dryRunVarying.ReplaceAllString(s, "${1}X") }

// dryRunWebUnchanged checks the state applyWeb leaves, which no dry run may change.
func dryRunWebUnchanged(t *testing.T, k *apiservertest.Kubectl) {
	t.Helper()
	applyRun(t, k, "", "nginx:1.25 busybox:1.36 1 fast", "get", "deployment/web", "configmap/settings", "-o",
		"jsonpath={.items[0].spec.template.spec.containers[*].image} {.items[0].metadata.generation} {.items[1].data.mode}")
}

// TestDryRunDiff is kubectl diff, a server-side dry-run patch of each
// object: nothing to show (exit 0) when the manifest is what is stored,
// although the server added defaults the manifest does not name; the
// change, with what the server would do (generation, dropped
// rollingUpdate), and exit 1 when a field changed; nothing stored.
func TestDryRunDiff(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")

	out, errOut, err := k.Run(applyWeb, "diff", "-f", "-")
	if code := dryRunExit(t, err); code != 0 || out != "" || errOut != "" {
		t.Fatalf("kubectl diff of the applied manifest: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}

	out, errOut, err = k.Run(applyWebEdited, "diff", "-f", "-")
	if code := dryRunExit(t, err); code != 1 || errOut != "" {
		t.Fatalf("kubectl diff of a change: exit %d, want 1\nstdout %s\nstderr %s", code, out, errOut)
	}
	lines := strings.SplitN(out, "\n", 4)
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "diff -u -N ") || !strings.HasSuffix(lines[0], "/apps.v1.Deployment.default.web") ||
		!strings.HasPrefix(lines[1], "--- ") || !strings.HasPrefix(lines[2], "+++ ") {
		t.Fatalf("kubectl diff: the header is not one file's diff:\n%s", out)
	}
	const wantBody = `@@ -5,7 +5,7 @@
     kubectl.kubernetes.io/last-applied-configuration: |
       {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"labels":{"app":"x"},"name":"web","namespace":"default"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],"image":"nginx:1.25","name":"nginx","ports":[{"containerPort":80,"name":"http"}]},{"command":["sleep","3600"],"image":"busybox:1.36","name":"sidecar"}]}}}}
   creationTimestamp: X
-  generation: 1
+  generation: 2
   labels:
     app: x
   name: web
@@ -20,10 +20,7 @@
     matchLabels:
       app: web
   strategy:
-    rollingUpdate:
-      maxSurge: 25%
-      maxUnavailable: 25%
-    type: RollingUpdate
+    type: Recreate
   template:
     metadata:
       labels:
@@ -33,9 +30,7 @@
       - env:
         - name: A
           value: "1"
-        - name: B
-          value: "2"
-        image: nginx:1.25
+        image: nginx:1.27
         imagePullPolicy: IfNotPresent
         name: nginx
         ports:
@@ -43,13 +38,6 @@
           name: http
           protocol: TCP
         terminationMessagePath: /dev/termination-log
-      - command:
-        - sleep
-        - "3600"
-        image: busybox:1.36
-        imagePullPolicy: IfNotPresent
-        name: sidecar
-        terminationMessagePath: /dev/termination-log
       dnsPolicy: ClusterFirst
       enableServiceLinks: true
       restartPolicy: Always
`
	if got := dryRunStable(lines[3]); got != wantBody {
		t.Fatalf("kubectl diff body:\n%s\nwant:\n%s", got, wantBody)
	}
	dryRunWebUnchanged(t, k)

	// A new object is diffed against nothing, from a dry-run create: its
	// defaults show; it is not created.
	out, _, err = k.Run(strings.Replace(applyWeb, "name: settings", "name: fresh", 1), "diff", "-f", "-")
	if code := dryRunExit(t, err); code != 1 || !strings.Contains(out, "/v1.ConfigMap.default.fresh") ||
		!strings.Contains(out, "\n+  name: fresh\n") || !strings.Contains(out, "\n+  uid: ") {
		t.Fatalf("kubectl diff of a new object: exit %d\n%s", code, out)
	}
	if _, errOut, err := k.Run("", "get", "configmap", "fresh"); err == nil ||
		errOut != "Error from server (NotFound): configmaps \"fresh\" not found\n" {
		t.Fatalf("kubectl get of the diffed new object: %v %q", err, errOut)
	}
}

// TestDryRunApply is kubectl apply --dry-run=server: kubectl says what it
// would do, the server changes nothing; a change the server refuses is
// refused in the dry run too.
func TestDryRunApply(t *testing.T) {
	k := applyKubectl(t)
	applyRun(t, k, applyWeb, "deployment.apps/web created\nconfigmap/settings created\n", "apply", "-f", "-")
	applyRun(t, k, applyWebEdited, "deployment.apps/web configured (server dry run)\nconfigmap/settings unchanged (server dry run)\n",
		"apply", "-f", "-", "--dry-run=server")
	dryRunWebUnchanged(t, k)

	// kubectl scale patches the scale subresource, dry too.
	applyRun(t, k, "", "deployment.apps/web scaled (server dry run)\n", "scale", "deployment", "web", "--replicas=5", "--dry-run=server")
	applyRun(t, k, "", "deployment.apps/web labeled (server dry run)\n", "label", "deployment", "web", "tier=x", "--dry-run=server")
	dryRunWebUnchanged(t, k)
	applyRun(t, k, "", `2 {"app":"x"}`, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.metadata.labels}")

	_, errOut, err := k.Run(strings.Replace(applyWebEdited, "replicas: 2", "replicas: -1", 1), "apply", "-f", "-", "--dry-run=server")
	if err == nil || !strings.Contains(errOut, `spec.replicas: Invalid value: -1`) {
		t.Fatalf("kubectl apply --dry-run=server of an invalid change: %v\n%s", err, errOut)
	}
	dryRunWebUnchanged(t, k)
}

const dryRunNew = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: x
spec:
  selector:
    matchLabels: {app: x}
  template:
    metadata:
      labels: {app: x}
    spec:
      containers:
      - name: c
        image: busybox:1.36
`

// TestDryRunCreate is kubectl create --dry-run=server -o yaml: the object
// as the server would store it, with its defaults, a uid and a
// creationTimestamp, but no resourceVersion; nothing is created.
func TestDryRunCreate(t *testing.T) {
	k := applyKubectl(t)
	const want = `apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: X
  generation: 1
  name: x
  namespace: default
  uid: X
spec:
  progressDeadlineSeconds: 600
  replicas: 1
  revisionHistoryLimit: 10
  selector:
    matchLabels:
      app: x
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 25%
    type: RollingUpdate
  template:
    metadata:
      labels:
        app: x
    spec:
      containers:
      - image: busybox:1.36
        imagePullPolicy: IfNotPresent
        name: c
        terminationMessagePath: /dev/termination-log
      dnsPolicy: ClusterFirst
      enableServiceLinks: true
      restartPolicy: Always
      schedulerName: default-scheduler
      terminationGracePeriodSeconds: 30
`
	out, errOut, err := k.Run(dryRunNew, "create", "-f", "-", "--dry-run=server", "-o", "yaml")
	if err != nil || dryRunStable(out) != want || errOut != "" {
		t.Fatalf("kubectl create --dry-run=server -o yaml: %v\n%s\nwant:\n%s\nstderr %s", err, dryRunStable(out), want, errOut)
	}
	if _, errOut, err := k.Run("", "get", "deployment", "x"); err == nil ||
		errOut != "Error from server (NotFound): deployments.apps \"x\" not found\n" {
		t.Fatalf("kubectl get of the dry-run created deployment: %v %q", err, errOut)
	}

	// Once it exists, a dry-run create conflicts as a create would.
	applyRun(t, k, dryRunNew, "deployment.apps/x created\n", "create", "-f", "-")
	_, errOut, err = k.Run(dryRunNew, "create", "-f", "-", "--dry-run=server")
	if err == nil || errOut != "Error from server (AlreadyExists): error when creating \"STDIN\": deployments.apps \"x\" already exists\n" {
		t.Fatalf("kubectl create --dry-run=server of an existing object: %v %q", err, errOut)
	}

	// A dry-run delete answers as a delete, and deletes nothing.
	applyRun(t, k, "", "deployment.apps \"x\" deleted (server dry run)\n", "delete", "deployment", "x", "--dry-run=server")
	applyRun(t, k, "", "x", "get", "deployment", "x", "-o", "jsonpath={.metadata.name}")
}
