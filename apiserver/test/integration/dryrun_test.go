package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"skiff.dev/apiserver/apiservertest"
	appsv1 "skiff.dev/proto/apps/v1"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// etcdRevision is etcd's current revision and the number of keys under
// prefix: a dry run must change neither.
func etcdRevision(t *testing.T, e *env, prefix string) (int64, int64) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: e.srv.EtcdEndpoints, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctxT(t), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision, resp.Count
}

// TestDryRunPod: every write of a pod with ?dryRun=All answers what the
// real write would, and stores nothing: no etcd revision, no watch event.
func TestDryRunPod(t *testing.T) {
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "dry")
	base := "/api/v1/namespaces/" + ns + "/pods"
	list, err := corev1.NewPodServiceClient(e.conn).List(ctxT(t), &metav1.ListOptions{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := corev1.NewPodServiceClient(e.conn).Watch(ctxT(t), &metav1.ListOptions{Namespace: ns, ResourceVersion: list.GetMetadata().GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"nginx:1.27"}]}}`

	rev0, _ := etcdRevision(t, e, "/skiff/")
	r := e.do(t, "POST", base+"?dryRun=All", pod, "")
	if r.code != http.StatusCreated {
		t.Fatalf("dry-run create: %s", r)
	}
	m := r.json(t)
	meta := m["metadata"].(map[string]any)
	spec := m["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	if meta["uid"] == nil || meta["creationTimestamp"] == nil || meta["resourceVersion"] != nil || meta["namespace"] != ns ||
		spec["restartPolicy"] != "Always" || c["terminationMessagePath"] != "/dev/termination-log" ||
		m["status"].(map[string]any)["phase"] != "Pending" {
		t.Fatalf("dry-run create answered %s", r.body)
	}
	expectStatus(t, e.do(t, "GET", base+"/p", nil, ""), http.StatusNotFound, "NotFound")
	// generateName is filled in, as a create would.
	r = e.do(t, "POST", base+"?dryRun=All", strings.Replace(pod, `"name":"p"`, `"generateName":"g-"`, 1), "")
	if name, _ := r.json(t)["metadata"].(map[string]any)["name"].(string); r.code != http.StatusCreated || !strings.HasPrefix(name, "g-") || len(name) != 7 {
		t.Fatalf("dry-run create with generateName: %s", r)
	}
	if rev, _ := etcdRevision(t, e, "/skiff/"); rev != rev0 {
		t.Fatalf("a dry-run create moved etcd from revision %d to %d", rev0, rev)
	}

	r = e.do(t, "POST", base, pod, "")
	if r.code != http.StatusCreated {
		t.Fatalf("create: %s", r)
	}
	rv := r.json(t)["metadata"].(map[string]any)["resourceVersion"].(string)
	// A dry-run create of an existing name conflicts as a create does.
	expectStatus(t, e.do(t, "POST", base+"?dryRun=All", pod, ""), http.StatusConflict, "AlreadyExists", `pods "p" already exists`)

	rev0, _ = etcdRevision(t, e, "/skiff/")
	changed := strings.Replace(strings.Replace(pod, "nginx:1.27", "nginx:1.29", 1), `"name":"p"`, `"name":"p","resourceVersion":"`+rv+`"`, 1)
	r = e.do(t, "PUT", base+"/p?dryRun=All", changed, "")
	if got := r.json(t); r.code != http.StatusOK || got["metadata"].(map[string]any)["resourceVersion"] != rv ||
		got["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] != "nginx:1.29" {
		t.Fatalf("dry-run update: %s", r)
	}
	// A stale resourceVersion still conflicts; an invalid object is still refused.
	expectStatus(t, e.do(t, "PUT", base+"/p?dryRun=All", strings.Replace(changed, `"resourceVersion":"`+rv, `"resourceVersion":"1`, 1), ""),
		http.StatusConflict, "Conflict", "the object has been modified")
	expectStatus(t, e.do(t, "PUT", base+"/p?dryRun=All", strings.Replace(changed, `"image":"nginx:1.29"`, `"image":""`, 1), ""),
		http.StatusUnprocessableEntity, "Invalid", "spec.containers[0].image: Required value")

	for _, p := range []struct{ ct, body string }{
		{"application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`},
		{"application/json-patch+json", `[{"op":"add","path":"/metadata/labels/x","value":"y"}]`},
		{"application/strategic-merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`},
	} {
		r = e.do(t, "PATCH", base+"/p?dryRun=All", p.body, p.ct)
		if got := r.json(t); r.code != http.StatusOK || got["metadata"].(map[string]any)["labels"].(map[string]any)["x"] != "y" ||
			got["metadata"].(map[string]any)["resourceVersion"] != rv {
			t.Fatalf("dry-run %s patch: %s", p.ct, r)
		}
	}
	expectStatus(t, e.do(t, "PATCH", base+"/p?dryRun=All", `{"spec":{"containers":[{"name":"c","image":""}]}}`, "application/strategic-merge-patch+json"),
		http.StatusUnprocessableEntity, "Invalid", "spec.containers[0].image: Required value")

	// Deletes, by query and by DeleteOptions body: the pod (unscheduled, so
	// deleted at once) is the answer; the pod stays.
	for _, d := range []struct{ path, body string }{
		{base + "/p?dryRun=All", ""},
		{base + "/p", `{"kind":"DeleteOptions","apiVersion":"v1","dryRun":["All"]}`},
	} {
		var body any
		if d.body != "" {
			body = d.body
		}
		r = e.do(t, "DELETE", d.path, body, "")
		if got := r.json(t); r.code != http.StatusOK || got["metadata"].(map[string]any)["name"] != "p" || got["metadata"].(map[string]any)["resourceVersion"] != rv {
			t.Fatalf("dry-run delete %s %s: %s", d.path, d.body, r)
		}
	}
	if rev, _ := etcdRevision(t, e, "/skiff/"); rev != rev0 {
		t.Fatalf("dry-run writes moved etcd from revision %d to %d", rev0, rev)
	}
	r = e.do(t, "GET", base+"/p", nil, "")
	got := r.json(t)
	if r.code != http.StatusOK || got["metadata"].(map[string]any)["resourceVersion"] != rv ||
		got["metadata"].(map[string]any)["deletionTimestamp"] != nil || got["metadata"].(map[string]any)["labels"].(map[string]any)["x"] != nil {
		t.Fatalf("after dry runs the pod is %s", r)
	}

	// A subresource that cannot run dry refuses the dry run rather than
	// making the write: the pod stays unbound.
	expectStatus(t, e.do(t, "POST", base+"/p/binding?dryRun=All", `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}}`, ""),
		http.StatusBadRequest, "BadRequest", "dryRun is not supported for POST "+base+"/p/binding: nothing was changed")
	// A dry-run delete of the namespace answers it Terminating; it stays Active.
	r = e.do(t, "DELETE", "/api/v1/namespaces/"+ns+"?dryRun=All", nil, "")
	if got := r.json(t); r.code != http.StatusOK || got["status"].(map[string]any)["phase"] != "Terminating" {
		t.Fatalf("dry-run delete of the namespace: %s", r)
	}
	r = e.do(t, "GET", "/api/v1/namespaces/"+ns, nil, "")
	if got := r.json(t); r.code != http.StatusOK || got["status"].(map[string]any)["phase"] != "Active" || got["metadata"].(map[string]any)["deletionTimestamp"] != nil {
		t.Fatalf("after a dry-run delete the namespace is %s", r)
	}

	// Any other dryRun value is refused, as Kubernetes refuses it.
	for _, c := range []struct{ method, path, body, ct, options string }{
		{"POST", base + "?dryRun=Yes", pod, "", "CreateOptions"},
		{"PUT", base + "/p?dryRun=Yes", changed, "", "UpdateOptions"},
		{"PATCH", base + "/p?dryRun=All&dryRun=Yes", `{"metadata":{"labels":{"x":"y"}}}`, "application/merge-patch+json", "PatchOptions"},
		{"DELETE", base + "/p?dryRun=Yes", "", "", "DeleteOptions"},
	} {
		var body any
		if c.body != "" {
			body = c.body
		}
		want := fmt.Sprintf(`%s.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: supported values: "All"`, c.options)
		if c.method == "PATCH" {
			want = strings.Replace(want, `[]string{"Yes"}`, `[]string{"All", "Yes"}`, 1)
		}
		r := e.do(t, c.method, c.path, body, c.ct)
		expectStatus(t, r, http.StatusUnprocessableEntity, "Invalid")
		if msg := r.json(t)["message"]; msg != want {
			t.Errorf("%s %s: message %q, want %q", c.method, c.path, msg, want)
		}
	}
	if rev, _ := etcdRevision(t, e, "/skiff/"); rev != rev0 {
		t.Fatalf("refused dry runs moved etcd from revision %d to %d", rev0, rev)
	}

	// The watch saw the real create, then the marker: nothing in between.
	if _, err := corev1.NewPodServiceClient(e.conn).Create(ctxT(t), &corev1.PodRequest{Namespace: ns,
		Object: &corev1.Pod{Metadata: om("marker"), Spec: podSpec("nginx:1.27")}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p", "marker"} {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetType() != metav1.EventType_ADDED || ev.GetObject().GetMetadata().GetName() != want {
			t.Fatalf("watch event %v %s, want ADDED %s", ev.GetType(), ev.GetObject().GetMetadata().GetName(), want)
		}
	}
}

// TestDryRunDeploymentGRPC: the gRPC API takes dry_run on its requests and
// DeleteOptions, with the same rules as REST.
func TestDryRunDeploymentGRPC(t *testing.T) {
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "dry")
	c := appsv1.NewDeploymentServiceClient(e.conn)
	d := &appsv1.Deployment{Metadata: om("web"), Spec: &appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: podTemplate(map[string]string{"app": "web"})}}
	all := []string{"All"}

	out, err := c.Create(ctxT(t), &appsv1.DeploymentRequest{Namespace: ns, Object: d, DryRun: all})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSpec().GetStrategy().GetType() != "RollingUpdate" || out.GetSpec().GetReplicas() != 1 ||
		out.GetMetadata().GetGeneration() != 1 || out.GetMetadata().GetUid() == "" || out.GetMetadata().GetResourceVersion() != "" {
		t.Fatalf("dry-run create answered %v", out)
	}
	_, err = c.Get(ctxT(t), &metav1.GetOptions{Namespace: ns, Name: "web"})
	expectCode(t, err, codes.NotFound)

	stored, err := c.Create(ctxT(t), &appsv1.DeploymentRequest{Namespace: ns, Object: d})
	if err != nil {
		t.Fatal(err)
	}
	next := stored
	next.Spec.Replicas = proto.Int32(3)
	next.Spec.Template.Spec.Containers[0].Image = "nginx:1.29"
	out, err = c.Update(ctxT(t), &appsv1.DeploymentRequest{Namespace: ns, Name: "web", Object: next, DryRun: all})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSpec().GetReplicas() != 3 || out.GetMetadata().GetGeneration() != 2 || out.GetMetadata().GetResourceVersion() != stored.GetMetadata().GetResourceVersion() {
		t.Fatalf("dry-run update answered %v", out)
	}
	next.Spec.Replicas = proto.Int32(-1)
	_, err = c.Update(ctxT(t), &appsv1.DeploymentRequest{Namespace: ns, Name: "web", Object: next, DryRun: all})
	expectCode(t, err, codes.InvalidArgument, "spec.replicas")
	_, err = c.Update(ctxT(t), &appsv1.DeploymentRequest{Namespace: ns, Name: "web", Object: next, DryRun: []string{"all"}})
	expectCode(t, err, codes.InvalidArgument, `UpdateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"all"}: supported values: "All"`)
	if _, err := c.Delete(ctxT(t), &metav1.DeleteOptions{Namespace: ns, Name: "web", DryRun: all}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctxT(t), &metav1.GetOptions{Namespace: ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetSpec().GetReplicas() != 1 || got.GetMetadata().GetGeneration() != 1 || got.GetMetadata().GetResourceVersion() != stored.GetMetadata().GetResourceVersion() {
		t.Fatalf("after dry runs the deployment is %v", got)
	}
}

// TestDryRunService: a dry-run create of a Service answers the ClusterIP
// and NodePort it would get, but takes neither; a dry-run delete frees
// neither; allocation conflicts are still reported.
func TestDryRunService(t *testing.T) {
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "dry")
	c := corev1.NewServiceServiceClient(e.conn)
	all := []string{"All"}
	_, held0 := etcdRevision(t, e, "/skiff/ranges/")

	dry, err := c.Create(ctxT(t), &corev1.ServiceRequest{Namespace: ns, Object: nodePortService("a"), DryRun: all})
	if err != nil {
		t.Fatal(err)
	}
	ip, port := dry.GetSpec().GetClusterIp(), dry.GetSpec().GetPorts()[0].GetNodePort()
	if !strings.HasPrefix(ip, "10.") || port < 30000 || port > 32767 || dry.GetSpec().GetPorts()[0].GetProtocol() != "TCP" {
		t.Fatalf("dry-run create answered %v", dry)
	}
	if _, held := etcdRevision(t, e, "/skiff/ranges/"); held != held0 {
		t.Fatalf("a dry-run create of a Service holds %d allocations, before %d", held, held0)
	}
	// What the dry run answered is still free: a real create may ask for it.
	want := nodePortService("b")
	want.Spec.ClusterIp = ip
	want.Spec.Ports[0].NodePort = port
	real, err := c.Create(ctxT(t), &corev1.ServiceRequest{Namespace: ns, Object: want})
	if err != nil {
		t.Fatalf("create with the dry run's ClusterIP %s and NodePort %d: %v", ip, port, err)
	}
	if real.GetSpec().GetClusterIp() != ip || real.GetSpec().GetPorts()[0].GetNodePort() != port {
		t.Fatalf("create answered %v", real)
	}
	// Now taken: a dry run that asks for them is refused as a create is.
	want.Metadata = om("c")
	_, err = c.Create(ctxT(t), &corev1.ServiceRequest{Namespace: ns, Object: want, DryRun: all})
	expectCode(t, err, codes.InvalidArgument, "spec.clusterIP: Invalid value: \""+ip+"\": provided IP is already allocated")

	// A dry-run delete releases nothing.
	if _, err := c.Delete(ctxT(t), &metav1.DeleteOptions{Namespace: ns, Name: "b", DryRun: all}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(ctxT(t), &corev1.ServiceRequest{Namespace: ns, Object: want})
	expectCode(t, err, codes.InvalidArgument, "provided IP is already allocated")
	if _, held := etcdRevision(t, e, "/skiff/ranges/"); held != held0+2 {
		t.Fatalf("%d allocations held, want %d (one Service: its IP and node port)", held, held0+2)
	}
}
