package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func podJSON(ns, name string) map[string]any {
	return map[string]any{"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"app": "web"}},
		"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27"}}}}
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func itemNames(t *testing.T, r response) []string {
	t.Helper()
	var names []string
	list, _ := r.json(t)["items"].([]any)
	for _, it := range list {
		names = append(names, dig(it.(map[string]any), "metadata", "name").(string))
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestREST drives the REST front on the paths Kubernetes clients use.
func TestREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "rest")
	ns2 := e.newNamespace(t, "rest")

	t.Run("pod lifecycle", func(t *testing.T) {
		base := "/api/v1/namespaces/" + ns + "/pods"
		r := e.do(t, "POST", base, podJSON(ns, "web"), "")
		if r.code != http.StatusCreated {
			t.Fatalf("POST: %s, want 201", r)
		}
		created := r.json(t)
		if created["apiVersion"] != "v1" || created["kind"] != "Pod" || dig(created, "metadata", "uid") == "" {
			t.Errorf("POST body: %s", r.body)
		}
		if dig(created, "status", "phase") != "Pending" {
			t.Errorf("new pod phase = %v, want Pending", dig(created, "status", "phase"))
		}
		r = e.do(t, "GET", base+"/web", nil, "")
		if r.code != http.StatusOK || dig(r.json(t), "metadata", "name") != "web" {
			t.Fatalf("GET: %s", r)
		}
		got := r.json(t)
		got["metadata"].(map[string]any)["labels"] = map[string]any{"app": "web", "tier": "front"}
		r = e.do(t, "PUT", base+"/web", got, "")
		if r.code != http.StatusOK || dig(r.json(t), "metadata", "labels", "tier") != "front" {
			t.Fatalf("PUT: %s", r)
		}
		r = e.do(t, "GET", base, nil, "")
		if r.code != http.StatusOK {
			t.Fatalf("list: %s", r)
		}
		l := r.json(t)
		if l["apiVersion"] != "v1" || l["kind"] != "PodList" || dig(l, "metadata", "resourceVersion") == nil || l["items"] == nil {
			t.Errorf("list is not a PodList with metadata.resourceVersion and items: %s", r.body)
		}
		if names := itemNames(t, r); len(names) != 1 || names[0] != "web" {
			t.Errorf("list names = %v, want [web]", names)
		}
		r = e.do(t, "POST", "/api/v1/namespaces/"+ns2+"/pods", podJSON(ns2, "other"), "")
		if r.code != http.StatusCreated {
			t.Fatalf("POST in %s: %s", ns2, r)
		}
		r = e.do(t, "GET", "/api/v1/pods", nil, "")
		if names := itemNames(t, r); r.code != 200 || !contains(names, "web") || !contains(names, "other") {
			t.Errorf("GET /api/v1/pods: %d, names %v, want web and other", r.code, names)
		}
		r = e.do(t, "DELETE", base+"/web", nil, "")
		if r.code != http.StatusOK {
			t.Fatalf("DELETE: %s", r)
		}
		expectStatus(t, e.do(t, "GET", base+"/web", nil, ""), 404, "NotFound", `pods "web" not found`)
	})

	t.Run("apps and coordination groups", func(t *testing.T) {
		dep := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web"},
			"spec": map[string]any{"replicas": 2, "selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
				"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
					"spec": map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx"}}}}}}
		path := "/apis/apps/v1/namespaces/" + ns + "/deployments"
		r := e.do(t, "POST", path, dep, "")
		if r.code != 201 || r.json(t)["apiVersion"] != "apps/v1" || dig(r.json(t), "metadata", "generation") != float64(1) {
			t.Fatalf("POST deployment: %s", r)
		}
		r = e.do(t, "GET", path, nil, "")
		if l := r.json(t); r.code != 200 || l["kind"] != "DeploymentList" || l["apiVersion"] != "apps/v1" || !contains(itemNames(t, r), "web") {
			t.Errorf("list deployments: %s", r)
		}
		lease := map[string]any{"metadata": map[string]any{"name": "leader"}, "spec": map[string]any{"holderIdentity": "a", "leaseDurationSeconds": 15}}
		lpath := "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases"
		r = e.do(t, "POST", lpath, lease, "")
		if r.code != 201 || r.json(t)["apiVersion"] != "coordination.k8s.io/v1" || r.json(t)["kind"] != "Lease" {
			t.Fatalf("POST lease: %s", r)
		}
		r = e.do(t, "GET", lpath+"/leader", nil, "")
		if r.code != 200 || dig(r.json(t), "spec", "holderIdentity") != "a" {
			t.Errorf("GET lease: %s", r)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		r := e.do(t, "GET", "/api", nil, "")
		if m := r.json(t); r.code != 200 || m["kind"] != "APIVersions" || fmt.Sprint(m["versions"]) != "[v1]" {
			t.Errorf("/api: %s", r)
		}
		r = e.do(t, "GET", "/apis", nil, "")
		var groups []string
		for _, g := range r.json(t)["groups"].([]any) {
			groups = append(groups, g.(map[string]any)["name"].(string))
		}
		for _, g := range []string{"apps", "batch", "coordination.k8s.io"} {
			if !contains(groups, g) {
				t.Errorf("/apis groups %v lack %s", groups, g)
			}
		}
		find := func(path, name string) map[string]any {
			r := e.do(t, "GET", path, nil, "")
			if r.code != 200 || r.json(t)["kind"] != "APIResourceList" {
				t.Fatalf("%s: %s", path, r)
			}
			for _, res := range r.json(t)["resources"].([]any) {
				if m := res.(map[string]any); m["name"] == name {
					return m
				}
			}
			t.Fatalf("%s has no resource %s: %s", path, name, r.body)
			return nil
		}
		pods := find("/api/v1", "pods")
		if fmt.Sprint(pods["shortNames"]) != "[po]" || !strings.Contains(fmt.Sprint(pods["verbs"]), "watch") || pods["namespaced"] != true {
			t.Errorf("/api/v1 pods: %v", pods)
		}
		if nodes := find("/api/v1", "nodes"); nodes["namespaced"] != false {
			t.Errorf("/api/v1 nodes namespaced: %v", nodes)
		}
		find("/api/v1", "pods/binding")
		deploy := find("/apis/apps/v1", "deployments")
		if fmt.Sprint(deploy["shortNames"]) != "[deploy]" || !strings.Contains(fmt.Sprint(deploy["verbs"]), "create") {
			t.Errorf("/apis/apps/v1 deployments: %v", deploy)
		}
		if sc := find("/apis/apps/v1", "deployments/scale"); sc["kind"] != "Scale" {
			t.Errorf("deployments/scale: %v", sc)
		}
	})

	t.Run("health version metrics", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/readyz"} {
			if r := e.do(t, "GET", p, nil, ""); r.code != 200 || string(r.body) != "ok" {
				t.Errorf("%s: %s", p, r)
			}
		}
		if r := e.do(t, "GET", "/version", nil, ""); r.code != 200 || r.json(t)["gitVersion"] == nil && r.json(t)["major"] == nil {
			t.Errorf("/version: %s", r)
		}
		if r := e.do(t, "GET", "/metrics", nil, ""); r.code != 200 || !strings.Contains(string(r.body), "apiserver_request_total") {
			t.Errorf("/metrics: HTTP %d, has apiserver_request_total: %v", r.code, strings.Contains(string(r.body), "apiserver_request_total"))
		}
	})

	t.Run("yaml body and numbers for strings", func(t *testing.T) {
		yml := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  key: value\n"
		r := e.do(t, "POST", "/api/v1/namespaces/"+ns+"/configmaps", yml, "application/yaml")
		if r.code != 201 {
			t.Fatalf("POST yaml: %s", r)
		}
		r = e.do(t, "GET", "/api/v1/namespaces/"+ns+"/configmaps/from-yaml", nil, "")
		if dig(r.json(t), "data", "key") != "value" {
			t.Errorf("GET from-yaml: %s", r)
		}
		svc := `{"metadata":{"name":"numbers"},"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}`
		r = e.do(t, "POST", "/api/v1/namespaces/"+ns+"/services", svc, "")
		if r.code != 201 {
			t.Fatalf("POST service with numeric targetPort: %s", r)
		}
		ports := dig(r.json(t), "spec", "ports").([]any)
		if tp := ports[0].(map[string]any)["targetPort"]; tp != float64(8080) {
			t.Errorf("targetPort = %#v, want the number 8080", tp)
		}
		pod := `{"metadata":{"name":"cpu"},"spec":{"containers":[{"name":"app","image":"nginx","resources":{"requests":{"cpu":1,"memory":"64Mi"},"limits":{"cpu":2}}}]}}`
		r = e.do(t, "POST", "/api/v1/namespaces/"+ns+"/pods", pod, "")
		if r.code != 201 {
			t.Fatalf("POST pod with cpu: 1: %s", r)
		}
		c := dig(r.json(t), "spec", "containers").([]any)[0].(map[string]any)
		if cpu := dig(c, "resources", "requests", "cpu"); cpu != "1" {
			t.Errorf("requests.cpu = %#v, want \"1\"", cpu)
		}
	})
}

// TestStaleUpdateConflict: an update carrying an old resourceVersion fails
// and says which object and which versions.
func TestStaleUpdateConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "conflict")
	ctx := ctxT(t)
	cms := corev1.NewConfigMapServiceClient(e.conn)
	v1, err := cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: &corev1.ConfigMap{
		Metadata: om("cfg"), Data: map[string]string{"n": "0"}}})
	if err != nil {
		t.Fatal(err)
	}
	v1.Data["n"] = "1"
	v2, err := cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: "cfg", Object: v1})
	if err != nil {
		t.Fatal(err)
	}
	stale := v1.GetMetadata().GetResourceVersion()
	cur := v2.GetMetadata().GetResourceVersion()
	v1.Data["n"] = "2"
	_, err = cms.Update(ctx, &corev1.ConfigMapRequest{Namespace: ns, Name: "cfg", Object: v1})
	expectCode(t, err, codes.Aborted, `configmaps "cfg"`, stale, cur)

	body := fmt.Sprintf(`{"metadata":{"name":"cfg","resourceVersion":%q},"data":{"n":"3"}}`, stale)
	r := e.do(t, "PUT", "/api/v1/namespaces/"+ns+"/configmaps/cfg", body, "")
	expectStatus(t, r, 409, "Conflict", `configmaps "cfg"`, stale, cur)
	got, err := cms.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "cfg"})
	if err != nil || got.Data["n"] != "1" {
		t.Errorf("after rejected updates: data %v, err %v; want n=1", got.GetData(), err)
	}
}
