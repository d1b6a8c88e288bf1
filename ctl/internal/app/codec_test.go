package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
)

// numbersManifest is what the Kubernetes documentation writes: integers
// where the API has an IntOrString, unquoted quantities.
const numbersManifest = `apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  selector: {app: nginx}
  ports:
  - {name: web, protocol: TCP, port: 80, targetPort: 80}
  - {name: named, protocol: TCP, port: 81, targetPort: http}
---
apiVersion: v1
kind: Pod
metadata: {name: probed, labels: {app: nginx}}
spec:
  containers:
  - name: app
    image: nginx:1.27
    ports: [{name: http, containerPort: 80}]
    resources:
      requests: {cpu: 1, memory: 1Gi}
      limits: {cpu: 2, memory: 2Gi}
    livenessProbe:
      httpGet: {path: /, port: 80}
    readinessProbe:
      tcpSocket: {port: http}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          requests: {cpu: 0.5, memory: 64Mi}
`

// TestManifestNumbers: skiffctl applies ordinary manifests with integer
// ports and unquoted quantities, stores what the REST gateway stores for
// the same YAML, and prints integers as numbers and names as strings.
func TestManifestNumbers(t *testing.T) {
	e := newEnv(t)
	e.must("create", "namespace", "viactl")
	e.must("create", "namespace", "viarest")
	out := e.must("apply", "-n", "viactl", "-f", e.file("numbers.yaml", numbersManifest))
	if out != "service/my-service created\npod/probed created\ndeployment.apps/web created\n" {
		t.Fatalf("apply: %q", out)
	}

	// The same documents, POSTed as YAML to the REST gateway.
	paths := []string{"/api/v1/namespaces/viarest/services", "/api/v1/namespaces/viarest/pods", "/apis/apps/v1/namespaces/viarest/deployments"}
	for i, doc := range strings.Split(numbersManifest, "---\n") {
		req, err := http.NewRequestWithContext(e.ctx(), "POST", e.srv.URL+paths[i], strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/yaml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: HTTP %d: %s", paths[i], resp.StatusCode, body)
		}
	}

	cs := e.client()
	svcs, pods, deps := map[string]*corev1.Service{}, map[string]*corev1.Pod{}, map[string]*appsv1.Deployment{}
	for _, ns := range []string{"viactl", "viarest"} {
		s, err := cs.CoreV1().Services(ns).Get(e.ctx(), "my-service")
		if err != nil {
			t.Fatal(err)
		}
		// The cluster IP is allocated per service; the rest must match.
		s.Spec.ClusterIp, s.Spec.ClusterIps = "", nil
		p, err := cs.CoreV1().Pods(ns).Get(e.ctx(), "probed")
		if err != nil {
			t.Fatal(err)
		}
		d, err := cs.AppsV1().Deployments(ns).Get(e.ctx(), "web")
		if err != nil {
			t.Fatal(err)
		}
		svcs[ns], pods[ns], deps[ns] = s, p, d
	}
	if !proto.Equal(svcs["viactl"].Spec, svcs["viarest"].Spec) {
		t.Errorf("service spec differs:\nskiffctl: %v\nREST:     %v", svcs["viactl"].Spec, svcs["viarest"].Spec)
	}
	if !proto.Equal(pods["viactl"].Spec, pods["viarest"].Spec) {
		t.Errorf("pod spec differs:\nskiffctl: %v\nREST:     %v", pods["viactl"].Spec, pods["viarest"].Spec)
	}
	if !proto.Equal(deps["viactl"].Spec, deps["viarest"].Spec) {
		t.Errorf("deployment spec differs:\nskiffctl: %v\nREST:     %v", deps["viactl"].Spec, deps["viarest"].Spec)
	}
	s, p, d := svcs["viactl"], pods["viactl"], deps["viactl"]
	c := p.Spec.Containers[0]
	for _, chk := range []struct{ what, got, want string }{
		{"service targetPort", s.Spec.Ports[0].TargetPort, "80"},
		{"named targetPort", s.Spec.Ports[1].TargetPort, "http"},
		{"liveness httpGet port", c.LivenessProbe.GetHttpGet().GetPort(), "80"},
		{"readiness tcpSocket port", c.ReadinessProbe.GetTcpSocket().GetPort(), "http"},
		{"requests.cpu", c.Resources.GetRequests()["cpu"], "1"},
		{"requests.memory", c.Resources.GetRequests()["memory"], "1Gi"},
		{"maxSurge", d.Spec.GetStrategy().GetRollingUpdate().GetMaxSurge(), "1"},
		{"maxUnavailable", d.Spec.GetStrategy().GetRollingUpdate().GetMaxUnavailable(), "25%"},
		{"deployment cpu", d.Spec.Template.Spec.Containers[0].Resources.GetRequests()["cpu"], "0.5"},
	} {
		if chk.got != chk.want {
			t.Errorf("stored %s = %q, want %q", chk.what, chk.got, chk.want)
		}
	}

	// -o json and -o yaml: integers are numbers, names and percentages strings.
	for _, format := range []string{"json", "yaml"} {
		for _, tc := range []struct {
			args []string
			path []any
			want any
		}{
			{[]string{"service", "my-service"}, []any{"spec", "ports", 0, "targetPort"}, float64(80)},
			{[]string{"service", "my-service"}, []any{"spec", "ports", 1, "targetPort"}, "http"},
			{[]string{"pod", "probed"}, []any{"spec", "containers", 0, "livenessProbe", "httpGet", "port"}, float64(80)},
			{[]string{"pod", "probed"}, []any{"spec", "containers", 0, "readinessProbe", "tcpSocket", "port"}, "http"},
			{[]string{"pod", "probed"}, []any{"spec", "containers", 0, "resources", "requests", "cpu"}, "1"},
			{[]string{"deployment", "web"}, []any{"spec", "strategy", "rollingUpdate", "maxSurge"}, float64(1)},
			{[]string{"deployment", "web"}, []any{"spec", "strategy", "rollingUpdate", "maxUnavailable"}, "25%"},
			// Several objects print as a List; its items carry numbers too.
			{[]string{"services,pods"}, []any{"items", 0, "spec", "ports", 0, "targetPort"}, float64(80)},
		} {
			out := e.must(append([]string{"get", "-n", "viactl", "-o", format}, tc.args...)...)
			got := walk(t, parseOutput(t, format, out), tc.path)
			if got != tc.want {
				t.Errorf("get %s -o %s: %v = %#v, want %#v\n%s", strings.Join(tc.args, " "), format, tc.path, got, tc.want, out)
			}
		}
	}
}

// TestEmptyListOutput: get -o json|yaml of nothing is a List with
// "items": [], as kubectl prints it.
func TestEmptyListOutput(t *testing.T) {
	e := newEnv(t)
	for _, format := range []string{"json", "yaml"} {
		out, errOut, code := e.run("get", "pods", "-o", format)
		if code != 0 || errOut != "" {
			t.Fatalf("get pods -o %s: exit %d, stderr %q", format, code, errOut)
		}
		list, ok := parseOutput(t, format, out).(map[string]any)
		items, isList := list["items"].([]any)
		if !ok || list["kind"] != "List" || !isList || len(items) != 0 {
			t.Errorf("get pods -o %s = %q, want a List with items: []", format, out)
		}
	}
}

func parseOutput(t *testing.T, format, out string) any {
	t.Helper()
	b := []byte(out)
	if format == "yaml" {
		var err error
		if b, err = yaml.YAMLToJSON(b); err != nil {
			t.Fatalf("output is not YAML (%v): %s", err, out)
		}
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("output is not JSON (%v): %s", err, out)
	}
	return v
}

// walk follows keys and indexes into a decoded JSON value.
func walk(t *testing.T, v any, path []any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: no object at %q", path, k)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			v = l[k]
		default:
			panic(fmt.Sprintf("bad path element %v", p))
		}
	}
	return v
}
