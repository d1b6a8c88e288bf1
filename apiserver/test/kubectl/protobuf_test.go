package kubectl

// The real kubectl v1.32.3 against a real apiserver: its typed clients send
// and prefer Kubernetes protobuf (application/vnd.kubernetes.protobuf), so
// these commands go through the apiserver's protobuf path.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	k8scorev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"

	"skiff.dev/apiserver/apiservertest"
)

const mediaProtobuf = "application/vnd.kubernetes.protobuf"

// pbEnv is one apiserver with a kubectl for it.
type pbEnv struct {
	srv     *apiservertest.Server
	kubectl *apiservertest.Kubectl
}

func startPB(t *testing.T) *pbEnv {
	t.Helper()
	srv := apiservertest.Start(t, apiservertest.Options{})
	return &pbEnv{srv: srv, kubectl: apiservertest.NewKubectl(t, srv)}
}

// run runs kubectl and wants exactly stdout.
func (e *pbEnv) run(t *testing.T, want string, args ...string) {
	t.Helper()
	if got := e.kubectl.MustRun(args...); got != want {
		t.Errorf("kubectl %s:\n got %q\nwant %q", strings.Join(args, " "), got, want)
	}
}

type pbResponse struct {
	code int
	ct   string
	body []byte
}

// do sends one REST request.
func (e *pbEnv) do(t *testing.T, method, path, accept, contentType string, body []byte) pbResponse {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return pbResponse{code: resp.StatusCode, ct: resp.Header.Get("Content-Type"), body: b}
}

// post creates an object from JSON; put replaces one (a status).
func (e *pbEnv) post(t *testing.T, path, doc string) map[string]any {
	t.Helper()
	r := e.do(t, "POST", path, "application/json", "application/json", []byte(doc))
	if r.code != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, r.code, r.body)
	}
	return decodeJSON(t, r.body)
}

func (e *pbEnv) put(t *testing.T, path, doc string) {
	t.Helper()
	if r := e.do(t, "PUT", path, "application/json", "application/json", []byte(doc)); r.code != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", path, r.code, r.body)
	}
}

// getJSON reads an object as JSON; a missing one is nil.
func (e *pbEnv) getJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	r := e.do(t, "GET", path, "application/json", "", nil)
	if r.code == http.StatusNotFound {
		return nil
	}
	if r.code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, r.code, r.body)
	}
	return decodeJSON(t, r.body)
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, b)
	}
	return m
}

// at reads a value at a dotted path with [i] list indexes, as a string.
func at(m map[string]any, path string) string {
	var v any = m
	for _, p := range strings.Split(path, ".") {
		idx := -1
		if i := strings.Index(p, "["); i >= 0 {
			idx = int(p[i+1] - '0')
			p = p[:i]
		}
		mm, ok := v.(map[string]any)
		if !ok {
			return "<none>"
		}
		v = mm[p]
		if idx >= 0 {
			l, ok := v.([]any)
			if !ok || idx >= len(l) {
				return "<none>"
			}
			v = l[idx]
		}
	}
	if v == nil {
		return "<none>"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// decodePB reads a protobuf envelope into a Kubernetes type.
func decodePB(t *testing.T, b []byte, into runtime.Object) {
	t.Helper()
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	if _, _, err := s.Decode(b, nil, into); err != nil {
		t.Fatalf("decode protobuf: %v (% x)", err, b[:min(len(b), 32)])
	}
}

func TestKubectlProtobufCreateDeployment(t *testing.T) {
	e := startPB(t)
	out, stderr, err := e.kubectl.Run("", "create", "deployment", "web", "--image=nginx", "-v=8")
	if err != nil {
		t.Fatal(err)
	}
	if out != "deployment.apps/web created\n" {
		t.Errorf("stdout %q", out)
	}
	// kubectl sent protobuf and read protobuf back.
	for _, want := range []string{"Content-Type: application/vnd.kubernetes.protobuf", "Response Status: 201 Created"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("kubectl -v=8 did not log %q:\n%s", want, stderr)
		}
	}
	if _, answer, _ := strings.Cut(stderr, "Response Status: 201 Created"); !strings.Contains(strings.Split(answer, "Response Body")[0], "Content-Type: application/vnd.kubernetes.protobuf") {
		t.Errorf("the create's answer was not protobuf:\n%s", stderr)
	}
	d := e.getJSON(t, "/apis/apps/v1/namespaces/default/deployments/web")
	for path, want := range map[string]string{
		"metadata.labels":                        `{"app":"web"}`,
		"spec.replicas":                          "1",
		"spec.selector.matchLabels":              `{"app":"web"}`,
		"spec.template.metadata.labels":          `{"app":"web"}`,
		"spec.template.spec.containers[0].name":  "nginx",
		"spec.template.spec.containers[0].image": "nginx",
	} {
		if got := at(d, path); got != want {
			t.Errorf("deployment %s = %s, want %s", path, got, want)
		}
	}
	// A second create: AlreadyExists, read from a protobuf Status.
	_, stderr, err = e.kubectl.Run("", "create", "deployment", "web", "--image=nginx")
	if err == nil || stderr != "error: failed to create deployment: deployments.apps \"web\" already exists\n" {
		t.Errorf("second create: %v, stderr %q", err, stderr)
	}
}

func TestKubectlProtobufNamespaceAndConfigMap(t *testing.T) {
	e := startPB(t)
	e.run(t, "namespace/team-a created\n", "create", "namespace", "team-a")
	e.run(t, "configmap/app-config created\n", "create", "configmap", "app-config", "-n", "team-a",
		"--from-literal=color=blue", "--from-literal=size=10")
	cm := e.getJSON(t, "/api/v1/namespaces/team-a/configmaps/app-config")
	if got := at(cm, "data"); got != `{"color":"blue","size":"10"}` {
		t.Errorf("configmap data = %s", got)
	}
	if ns := e.getJSON(t, "/api/v1/namespaces/team-a"); at(ns, "status.phase") != "Active" {
		t.Errorf("namespace status.phase = %s", at(ns, "status.phase"))
	}
	e.run(t, "configmap/app-config\n", "get", "configmap", "app-config", "-n", "team-a", "-o", "name")
}

// TestKubectlProtobufCreateKinds creates the other kinds kubectl has
// generators for: bytes (a Secret), IntOrString (a Service's
// targetPort, a number and a name), a Job's command.
func TestKubectlProtobufCreateKinds(t *testing.T) {
	e := startPB(t)
	e.run(t, "secret/s1 created\n", "create", "secret", "generic", "s1", "--from-literal=password=hunter2")
	e.run(t, "service/web created\n", "create", "service", "clusterip", "web", "--tcp=80:8080")
	e.run(t, "service/np created\n", "create", "service", "nodeport", "np", "--tcp=80:http")
	e.run(t, "job.batch/j1 created\n", "create", "job", "j1", "--image=busybox", "--", "echo", "hi")
	e.run(t, "serviceaccount/sa1 created\n", "create", "serviceaccount", "sa1")
	for path, want := range map[string]string{
		"/api/v1/namespaces/default/secrets/s1|data.password":                                "aHVudGVyMg==",
		"/api/v1/namespaces/default/services/web|spec.ports":                                 `[{"name":"80-8080","port":80,"protocol":"TCP","targetPort":8080}]`,
		"/api/v1/namespaces/default/services/np|spec.ports[0].targetPort":                    "http",
		"/api/v1/namespaces/default/services/np|spec.type":                                   "NodePort",
		"/apis/batch/v1/namespaces/default/jobs/j1|spec.template.spec.containers[0].command": `["echo","hi"]`,
		"/apis/batch/v1/namespaces/default/jobs/j1|spec.template.spec.restartPolicy":         "Never",
	} {
		p, field, _ := strings.Cut(path, "|")
		if got := at(e.getJSON(t, p), field); got != want {
			t.Errorf("%s %s = %s, want %s", p, field, got, want)
		}
	}
}

func TestKubectlProtobufScale(t *testing.T) {
	e := startPB(t)
	e.run(t, "deployment.apps/web created\n", "create", "deployment", "web", "--image=nginx")
	e.run(t, "deployment.apps/web scaled\n", "scale", "deploy", "web", "--replicas=3")
	if got := at(e.getJSON(t, "/apis/apps/v1/namespaces/default/deployments/web"), "spec.replicas"); got != "3" {
		t.Errorf("spec.replicas after scale = %s, want 3", got)
	}
	// With a precondition kubectl reads the Scale and writes it back.
	e.run(t, "deployment.apps/web scaled\n", "scale", "deploy", "web", "--current-replicas=3", "--replicas=5")
	_, stderr, err := e.kubectl.Run("", "scale", "deploy", "web", "--current-replicas=3", "--replicas=1")
	if err == nil || !strings.Contains(stderr, "Expected replicas to be 3, was 5") {
		t.Errorf("scale with a stale precondition: %v, stderr %q", err, stderr)
	}

	// The Scale subresource, over JSON and over protobuf.
	path := "/apis/apps/v1/namespaces/default/deployments/web/scale"
	s := e.getJSON(t, path)
	if at(s, "apiVersion") != "autoscaling/v1" || at(s, "kind") != "Scale" || at(s, "spec.replicas") != "5" || at(s, "status.selector") != "app=web" {
		t.Errorf("JSON scale: %v", s)
	}
	r := e.do(t, "GET", path, mediaProtobuf, "", nil)
	if r.code != http.StatusOK || r.ct != mediaProtobuf {
		t.Fatalf("protobuf scale: %d %s %q", r.code, r.ct, r.body)
	}
	var sc autoscalingv1.Scale
	decodePB(t, r.body, &sc)
	if sc.Spec.Replicas != 5 || sc.Status.Selector != "app=web" || sc.Name != "web" {
		t.Errorf("protobuf scale: %+v", sc)
	}
	sc.Spec.Replicas = 2
	var buf bytes.Buffer
	if err := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme).Encode(&sc, &buf); err != nil {
		t.Fatal(err)
	}
	r = e.do(t, "PUT", path, mediaProtobuf, mediaProtobuf, buf.Bytes())
	if r.code != http.StatusOK {
		t.Fatalf("PUT protobuf scale: %d %q", r.code, r.body)
	}
	decodePB(t, r.body, &sc)
	if sc.Spec.Replicas != 2 {
		t.Errorf("PUT scale answered replicas %d", sc.Spec.Replicas)
	}

	// A ReplicaSet scales the same way.
	e.post(t, "/apis/apps/v1/namespaces/default/replicasets", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"front"},
		"spec":{"replicas":1,"selector":{"matchLabels":{"app":"front"}},"template":{"metadata":{"labels":{"app":"front"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`)
	e.run(t, "replicaset.apps/front scaled\n", "scale", "rs", "front", "--replicas=4")
	if got := at(e.getJSON(t, "/apis/apps/v1/namespaces/default/replicasets/front/scale"), "spec.replicas"); got != "4" {
		t.Errorf("replicaset scale spec.replicas = %s, want 4", got)
	}
}

func TestKubectlProtobufLabelAnnotateDelete(t *testing.T) {
	e := startPB(t)
	e.run(t, "deployment.apps/web created\n", "create", "deployment", "web", "--image=nginx")
	e.run(t, "deployment.apps/web labeled\n", "label", "deploy", "web", "tier=front", "team=a")
	e.run(t, "deployment.apps/web annotated\n", "annotate", "deploy", "web", "owner=alice")
	e.run(t, "deployment.apps/web unlabeled\n", "label", "deploy", "web", "team-")
	d := e.getJSON(t, "/apis/apps/v1/namespaces/default/deployments/web")
	if got := at(d, "metadata.labels"); got != `{"app":"web","tier":"front"}` {
		t.Errorf("labels = %s", got)
	}
	if got := at(d, "metadata.annotations"); got != `{"owner":"alice"}` {
		t.Errorf("annotations = %s", got)
	}
	_, stderr, err := e.kubectl.Run("", "label", "deploy", "web", "tier=back")
	if err == nil || !strings.Contains(stderr, "'tier' already has a value (front), and --overwrite is false") {
		t.Errorf("label without --overwrite: %v, %q", err, stderr)
	}
	e.run(t, "configmap/cfg created\n", "create", "configmap", "cfg", "--from-literal=a=b")
	e.run(t, "deployment.apps \"web\" deleted\n", "delete", "deployment", "web")
	e.run(t, "configmap \"cfg\" deleted\n", "delete", "configmap", "cfg")
	if d := e.getJSON(t, "/apis/apps/v1/namespaces/default/deployments/web"); d != nil {
		t.Errorf("deployment still there after delete: %v", d)
	}
	_, stderr, err = e.kubectl.Run("", "delete", "deployment", "web")
	if err == nil || stderr != "Error from server (NotFound): deployments.apps \"web\" not found\n" {
		t.Errorf("delete of a missing deployment: %v, %q", err, stderr)
	}
}

// timestampRE and ageRE match the parts of describe's output that change
// from run to run: timestamps, and ages of objects made by the test (under
// 100 s, so a column of them keeps its width).
var (
	timestampRE = regexp.MustCompile(`[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000`)
	ageRE       = regexp.MustCompile(`\b\d{1,2}s\b *`)
)

// stable replaces timestamps with <time> and ages with AGE, keeping
// columns aligned.
func stable(s string) string {
	s = timestampRE.ReplaceAllString(s, "<time>")
	return ageRE.ReplaceAllStringFunc(s, func(m string) string {
		return "AGE" + strings.Repeat(" ", max(0, len(m)-3))
	})
}

// TestKubectlProtobufDescribe describes a node, a pod, a service and a
// deployment with their events: describe reads them all (and the events,
// by field selector) through the typed clients, in protobuf.
func TestKubectlProtobufDescribe(t *testing.T) {
	e := startPB(t)
	e.post(t, "/api/v1/nodes", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1","labels":{"kubernetes.io/hostname":"node-1"}},"spec":{"podCIDR":"10.244.1.0/24"}}`)
	e.put(t, "/api/v1/nodes/node-1/status", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"},"spec":{"podCIDR":"10.244.1.0/24"},
		"status":{"capacity":{"cpu":"2","memory":"4Gi","pods":"110"},"allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},
		"addresses":[{"type":"InternalIP","address":"10.0.0.11"},{"type":"Hostname","address":"node-1"}],
		"nodeInfo":{"machineID":"m1","systemUUID":"u1","bootID":"b1","kernelVersion":"6.1.0","osImage":"Debian GNU/Linux 12","containerRuntimeVersion":"containerd://1.7.24","kubeletVersion":"v0.1.0","operatingSystem":"linux","architecture":"amd64"}}}`)
	e.post(t, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"node-1"},
		"spec":{"holderIdentity":"node-1","leaseDurationSeconds":40,"renewTime":"2026-01-02T03:04:05.000000Z"}}`)
	pod := e.post(t, "/api/v1/namespaces/default/pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"}},
		"spec":{"nodeName":"node-1","containers":[{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80}],
		"resources":{"requests":{"cpu":"250m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"128Mi"}}}]}}`)
	e.post(t, "/api/v1/namespaces/default/services", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
		"spec":{"selector":{"app":"web"},"clusterIP":"10.96.0.20","ports":[{"name":"http","port":80,"targetPort":8080}]}}`)
	now := time.Now().UTC().Format(time.RFC3339)
	// What the kubelet would report.
	e.put(t, "/api/v1/namespaces/default/pods/web-1/status", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default"},
		"status":{"phase":"Running","hostIP":"10.0.0.11","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}],"startTime":"2026-01-02T03:04:05Z","qosClass":"Burstable",
		"conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-02T03:04:06Z"},{"type":"PodScheduled","status":"True","lastTransitionTime":"2026-01-02T03:04:05Z"}],
		"containerStatuses":[{"name":"nginx","ready":true,"restartCount":0,"image":"nginx:1.27","imageID":"docker.io/library/nginx@sha256:0123","containerID":"containerd://abc123",
		"started":true,"state":{"running":{"startedAt":"2026-01-02T03:04:06Z"}}}]}}`)
	e.post(t, "/api/v1/namespaces/default/endpoints", `{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"web"},
		"subsets":[{"addresses":[{"ip":"10.244.1.5","nodeName":"node-1","targetRef":{"kind":"Pod","name":"web-1","namespace":"default"}}],"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}]}`)
	e.run(t, "deployment.apps/web created\n", "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
	d := e.getJSON(t, "/apis/apps/v1/namespaces/default/deployments/web")
	// What the deployment controller would write: a ReplicaSet and status.
	e.post(t, "/apis/apps/v1/namespaces/default/replicasets", `{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web-7d4b9c8f6d",
		"labels":{"app":"web","pod-template-hash":"7d4b9c8f6d"},"annotations":{"deployment.kubernetes.io/revision":"1"},
		"ownerReferences":[{"apiVersion":"apps/v1","kind":"Deployment","name":"web","uid":"`+at(d, "metadata.uid")+`","controller":true,"blockOwnerDeletion":true}]},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web","pod-template-hash":"7d4b9c8f6d"}},
		"template":{"metadata":{"labels":{"app":"web","pod-template-hash":"7d4b9c8f6d"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}`)
	e.put(t, "/apis/apps/v1/namespaces/default/deployments/web/status", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
		"status":{"observedGeneration":1,"replicas":2,"updatedReplicas":2,"readyReplicas":2,"availableReplicas":2,
		"conditions":[{"type":"Available","status":"True","reason":"MinimumReplicasAvailable","message":"Deployment has minimum availability.","lastUpdateTime":"2026-01-02T03:04:07Z","lastTransitionTime":"2026-01-02T03:04:07Z"},
		{"type":"Progressing","status":"True","reason":"NewReplicaSetAvailable","message":"ReplicaSet \"web-7d4b9c8f6d\" has successfully progressed.","lastUpdateTime":"2026-01-02T03:04:07Z","lastTransitionTime":"2026-01-02T03:04:05Z"}]}}`)
	e.post(t, "/api/v1/namespaces/default/events", `{"apiVersion":"v1","kind":"Event","metadata":{"name":"web-1.1"},
		"involvedObject":{"apiVersion":"v1","kind":"Pod","name":"web-1","namespace":"default","uid":"`+at(pod, "metadata.uid")+`"},
		"reason":"Scheduled","message":"Successfully assigned default/web-1 to node-1","type":"Normal","source":{"component":"default-scheduler"},
		"firstTimestamp":"`+now+`","lastTimestamp":"`+now+`","count":1}`)
	e.post(t, "/api/v1/namespaces/default/events", `{"apiVersion":"v1","kind":"Event","metadata":{"name":"web.1"},
		"involvedObject":{"apiVersion":"apps/v1","kind":"Deployment","name":"web","namespace":"default","uid":"`+at(d, "metadata.uid")+`"},
		"reason":"ScalingReplicaSet","message":"Scaled up replica set web-7d4b9c8f6d to 2","type":"Normal","source":{"component":"deployment-controller"},
		"firstTimestamp":"`+now+`","lastTimestamp":"`+now+`","count":1}`)

	for _, tc := range []struct{ args, want string }{
		{"node node-1", describeNode},
		{"pod web-1", describePod},
		{"service web", describeService},
		{"deployment web", describeDeployment},
	} {
		out := e.kubectl.MustRun(append([]string{"describe"}, strings.Fields(tc.args)...)...)
		if got := stable(out); got != tc.want {
			t.Errorf("kubectl describe %s:\n%s\nwant:\n%s", tc.args, got, tc.want)
		}
	}
}

// TestKubectlProtobufGetEvents lists events, all and by field selector.
func TestKubectlProtobufGetEvents(t *testing.T) {
	e := startPB(t)
	if out, stderr, err := e.kubectl.Run("", "get", "events"); err != nil || out != "" || stderr != "No resources found in default namespace.\n" {
		t.Errorf("get events with none: %v, %q, %q", err, out, stderr)
	}
	for _, ev := range []string{
		`{"apiVersion":"v1","kind":"Event","metadata":{"name":"web-1.1"},"involvedObject":{"kind":"Pod","name":"web-1","namespace":"default"},
		"reason":"Scheduled","message":"Successfully assigned default/web-1 to node-1","type":"Normal","source":{"component":"default-scheduler"},"count":1}`,
		`{"apiVersion":"v1","kind":"Event","metadata":{"name":"web.1"},"involvedObject":{"apiVersion":"apps/v1","kind":"Deployment","name":"web","namespace":"default"},
		"reason":"ScalingReplicaSet","message":"Scaled up replica set web-7d4b9c8f6d to 2","type":"Normal","source":{"component":"deployment-controller"},"count":1}`,
	} {
		e.post(t, "/api/v1/namespaces/default/events", ev)
	}
	e.run(t, "event/web-1.1\nevent/web.1\n", "get", "events", "-o", "name")
	e.run(t, "Scaled up replica set web-7d4b9c8f6d to 2", "get", "events", "--field-selector", "involvedObject.kind=Deployment", "-o", "jsonpath={.items[*].message}")
	e.run(t, "web-1.1 Scheduled\n", "get", "events", "--field-selector", "reason=Scheduled", "-o", `jsonpath={range .items[*]}{.metadata.name} {.reason}{"\n"}{end}`)
}

// TestProtobufNegotiation checks content negotiation over plain HTTP:
// protobuf answers and errors, 406 and 415 with a Status that says what
// the server speaks, and a protobuf body that is not one.
func TestProtobufNegotiation(t *testing.T) {
	e := startPB(t)
	e.post(t, "/api/v1/namespaces/default/pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`)

	r := e.do(t, "GET", "/api/v1/namespaces/default/pods", mediaProtobuf+", */*", "", nil)
	if r.code != http.StatusOK || r.ct != mediaProtobuf {
		t.Fatalf("list: %d %q", r.code, r.ct)
	}
	var list k8scorev1.PodList
	decodePB(t, r.body, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "p1" || list.Items[0].Spec.Containers[0].Image != "nginx" || list.ResourceVersion == "" {
		t.Errorf("pod list: %+v", list)
	}

	r = e.do(t, "GET", "/api/v1/namespaces/default/pods/nope", mediaProtobuf, "", nil)
	var st metav1.Status
	decodePB(t, r.body, &st)
	if r.code != http.StatusNotFound || r.ct != mediaProtobuf || st.Reason != metav1.StatusReasonNotFound || st.Message != `pods "nope" not found` || st.Code != 404 {
		t.Errorf("missing pod: %d %q %+v", r.code, r.ct, st)
	}

	// A merge patch answers the patched object in protobuf.
	r = e.do(t, "PATCH", "/api/v1/namespaces/default/pods/p1", mediaProtobuf, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"patched":"yes"}}}`))
	var p k8scorev1.Pod
	decodePB(t, r.body, &p)
	if r.code != http.StatusOK || r.ct != mediaProtobuf || p.Labels["patched"] != "yes" || p.Spec.Containers[0].Image != "nginx" {
		t.Errorf("patch: %d %q %+v", r.code, r.ct, p)
	}

	// Quality values: JSON is preferred here.
	r = e.do(t, "GET", "/api/v1/namespaces/default/pods/p1", mediaProtobuf+";q=0.5, application/json", "", nil)
	if r.code != http.StatusOK || r.ct != "application/json" {
		t.Errorf("q-values: %d %q", r.code, r.ct)
	}

	r = e.do(t, "GET", "/api/v1/namespaces/default/pods/p1", "text/html", "", nil)
	if s := decodeJSON(t, r.body); r.code != http.StatusNotAcceptable || at(s, "reason") != "NotAcceptable" ||
		at(s, "message") != `none of the media types in Accept "text/html" can be served: the server writes application/json, application/yaml, application/vnd.kubernetes.protobuf` {
		t.Errorf("Accept text/html: %d %s", r.code, r.body)
	}

	r = e.do(t, "POST", "/api/v1/namespaces/default/configmaps", "", "text/plain", []byte("a=b"))
	if s := decodeJSON(t, r.body); r.code != http.StatusUnsupportedMediaType || at(s, "reason") != "UnsupportedMediaType" ||
		at(s, "message") != `the body of the request was in an unknown format (Content-Type "text/plain"): send one of application/json, application/yaml, application/vnd.kubernetes.protobuf` {
		t.Errorf("Content-Type text/plain: %d %s", r.code, r.body)
	}

	r = e.do(t, "POST", "/api/v1/namespaces/default/configmaps", mediaProtobuf, mediaProtobuf, []byte("k8s\x00\x0a\xff"))
	decodePB(t, r.body, &st)
	if r.code != http.StatusBadRequest || !strings.HasPrefix(st.Message, "the request body is not a valid protobuf object: ") {
		t.Errorf("garbage protobuf: %d %+v", r.code, st)
	}
	if e.getJSON(t, "/api/v1/namespaces/default/configmaps/x") != nil {
		t.Error("a refused request made a configmap")
	}
}

// TestKubectlProtobufSecure: over TLS with client certificates the admin
// creates and reads in protobuf; a read-only user's create is refused with
// the Forbidden Status kubectl prints.
func TestKubectlProtobufSecure(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{
		Secure: true,
		Tokens: "b0b,bob,1002\n",
		Policy: `{"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy", "spec": {"user": "bob", "namespace": "default", "resource": "*", "apiGroup": "*", "readonly": true}}` + "\n",
	})
	admin := &pbEnv{srv: srv, kubectl: apiservertest.NewKubectl(t, srv)}
	admin.run(t, "deployment.apps/web created\n", "create", "deployment", "web", "--image=nginx")
	admin.run(t, "deployment.apps/web scaled\n", "scale", "deploy", "web", "--replicas=2")
	admin.run(t, "2", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")

	bob := apiservertest.NewKubectlConfig(t, "apiVersion: v1\nkind: Config\ncurrent-context: bob\n"+
		"clusters:\n- name: skiff\n  cluster:\n    server: "+srv.URL+"\n    certificate-authority: "+srv.PKIDir+"/ca.crt\n"+
		"users:\n- name: bob\n  user:\n    token: b0b\n"+
		"contexts:\n- name: bob\n  context: {cluster: skiff, user: bob, namespace: default}\n")
	if out, _, err := bob.Run("", "describe", "deployment", "web"); err != nil || !strings.Contains(out, "Replicas:               2 desired") {
		t.Errorf("bob describes: %v\n%s", err, out)
	}
	_, stderr, err := bob.Run("", "create", "configmap", "c", "--from-literal=a=b")
	if want := "error: failed to create configmap: configmaps is forbidden: User \"bob\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\": No policy matched.\n"; err == nil || stderr != want {
		t.Errorf("bob creates: %v, stderr %q", err, stderr)
	}
}
