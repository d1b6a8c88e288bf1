package integration

import (
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestGracefulDeletionAndFinalizers: a pod on a node is only marked on
// delete until its grace period is cut to zero; an unbound pod goes at once;
// finalizers hold any object until removed.
func TestGracefulDeletionAndFinalizers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "grace")
	pods := "/api/v1/namespaces/" + ns + "/pods"
	for _, n := range []string{"bound", "unbound"} {
		if r := e.do(t, "POST", pods, podJSON(ns, n), ""); r.code != 201 {
			t.Fatalf("create %s: %s", n, r)
		}
	}
	binding := `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bound"},"target":{"kind":"Node","name":"node-a"}}`
	if r := e.do(t, "POST", pods+"/bound/binding", binding, ""); r.code != 201 {
		t.Fatalf("bind: %s, want 201", r)
	}
	r := e.do(t, "GET", pods+"/bound", nil, "")
	if dig(r.json(t), "spec", "nodeName") != "node-a" {
		t.Fatalf("after binding: %s", r)
	}
	expectStatus(t, e.do(t, "POST", pods+"/bound/binding", `{"metadata":{"name":"bound"},"target":{"name":"node-b"}}`, ""),
		409, "Conflict", "already assigned", "node-a")
	if dig(e.do(t, "GET", pods+"/bound", nil, "").json(t), "spec", "nodeName") != "node-a" {
		t.Errorf("second binding moved the pod")
	}

	r = e.do(t, "DELETE", pods+"/bound", nil, "")
	if r.code != 200 {
		t.Fatalf("delete bound: %s", r)
	}
	r = e.do(t, "GET", pods+"/bound", nil, "")
	if r.code != 200 {
		t.Fatalf("bound pod gone at once; want it kept for its grace period: %s", r)
	}
	m := r.json(t)
	if dig(m, "metadata", "deletionTimestamp") == nil || dig(m, "metadata", "deletionGracePeriodSeconds") != float64(30) {
		t.Errorf("bound pod after delete: deletionTimestamp %v, deletionGracePeriodSeconds %v; want set and 30",
			dig(m, "metadata", "deletionTimestamp"), dig(m, "metadata", "deletionGracePeriodSeconds"))
	}
	if r := e.do(t, "DELETE", pods+"/bound?gracePeriodSeconds=0", nil, ""); r.code != 200 {
		t.Fatalf("delete with gracePeriodSeconds=0: %s", r)
	}
	expectStatus(t, e.do(t, "GET", pods+"/bound", nil, ""), 404, "NotFound")

	if r := e.do(t, "DELETE", pods+"/unbound", nil, ""); r.code != 200 {
		t.Fatalf("delete unbound: %s", r)
	}
	expectStatus(t, e.do(t, "GET", pods+"/unbound", nil, ""), 404, "NotFound", `pods "unbound" not found`)

	cms := "/api/v1/namespaces/" + ns + "/configmaps"
	if r := e.do(t, "POST", cms, `{"metadata":{"name":"held","finalizers":["skiff.dev/hold"]},"data":{"a":"b"}}`, ""); r.code != 201 {
		t.Fatalf("create held: %s", r)
	}
	if r := e.do(t, "DELETE", cms+"/held", nil, ""); r.code != 200 {
		t.Fatalf("delete held: %s", r)
	}
	r = e.do(t, "GET", cms+"/held", nil, "")
	if r.code != 200 || dig(r.json(t), "metadata", "deletionTimestamp") == nil {
		t.Fatalf("configmap with a finalizer after delete: %s; want it kept with deletionTimestamp", r)
	}
	held := r.json(t)
	delete(held["metadata"].(map[string]any), "finalizers")
	if r := e.do(t, "PUT", cms+"/held", held, ""); r.code != 200 {
		t.Fatalf("remove finalizer: %s", r)
	}
	expectStatus(t, e.do(t, "GET", cms+"/held", nil, ""), 404, "NotFound")
}

// TestScaleSubresource: deployments/scale reads and writes spec.replicas as
// an autoscaling/v1 Scale.
func TestScaleSubresource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "scale")
	base := "/apis/apps/v1/namespaces/" + ns + "/deployments"
	dep := `{"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"nginx"}]}}}}`
	if r := e.do(t, "POST", base, dep, ""); r.code != 201 {
		t.Fatalf("create: %s", r)
	}
	r := e.do(t, "GET", base+"/web/scale", nil, "")
	m := r.json(t)
	if r.code != 200 || m["apiVersion"] != "autoscaling/v1" || m["kind"] != "Scale" || dig(m, "spec", "replicas") != float64(2) || dig(m, "status", "selector") != "app=web" {
		t.Fatalf("GET scale: %s; want autoscaling/v1 Scale, spec.replicas 2, status.selector app=web", r)
	}
	r = e.do(t, "PUT", base+"/web/scale", `{"metadata":{"name":"web"},"spec":{"replicas":5}}`, "")
	if r.code != 200 || dig(r.json(t), "spec", "replicas") != float64(5) {
		t.Fatalf("PUT scale: %s", r)
	}
	d := e.do(t, "GET", base+"/web", nil, "").json(t)
	if dig(d, "spec", "replicas") != float64(5) || dig(d, "metadata", "generation") != float64(2) {
		t.Errorf("deployment after scale: replicas %v generation %v, want 5 and 2", dig(d, "spec", "replicas"), dig(d, "metadata", "generation"))
	}
	expectStatus(t, e.do(t, "GET", base+"/missing/scale", nil, ""), 404, "NotFound", "missing")
}
