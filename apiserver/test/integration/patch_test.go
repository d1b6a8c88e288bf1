package integration

import (
	"fmt"
	"sync"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestPatch checks PATCH over REST as kubectl and curl send it: merge
// patches and JSON patches of objects, status and scale; preconditions;
// concurrent patches that must all land; and every bad patch refused with
// nothing changed.
func TestPatch(t *testing.T) {
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "patch")
	base := "/apis/apps/v1/namespaces/" + ns + "/deployments"
	dep := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{
			"replicas": 1,
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{
				"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "web", "image": "nginx:1.27"}}},
			},
		},
	}
	if r := e.do(t, "POST", base, dep, ""); r.code != 201 {
		t.Fatalf("create: %s", r)
	}
	path := base + "/web"
	get := func() map[string]any {
		t.Helper()
		r := e.do(t, "GET", path, nil, "")
		if r.code != 200 {
			t.Fatalf("get: %s", r)
		}
		return r.json(t)
	}
	at := func(m map[string]any, keys ...any) any {
		var v any = m
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}

	// A merge patch changes what it names and keeps the rest; null removes.
	r := e.do(t, "PATCH", path, `{"metadata":{"labels":{"tier":"front","app":null}},"spec":{"replicas":3}}`, "application/merge-patch+json")
	if r.code != 200 {
		t.Fatalf("merge patch: %s", r)
	}
	got := get()
	if at(got, "spec", "replicas") != 3.0 || at(got, "metadata", "labels", "tier") != "front" || at(got, "metadata", "labels", "app") != nil {
		t.Errorf("after merge patch: %v", got)
	}
	if at(got, "metadata", "generation") != "2" && at(got, "metadata", "generation") != 2.0 {
		t.Errorf("generation after a spec patch = %v, want 2", at(got, "metadata", "generation"))
	}
	if img := at(got, "spec", "template", "spec", "containers", 0, "image"); img != "nginx:1.27" {
		t.Errorf("image changed by an unrelated patch: %v", img)
	}

	// A JSON patch, with a test that guards it.
	r = e.do(t, "PATCH", path, `[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]`, "application/json-patch+json")
	if r.code != 200 {
		t.Fatalf("json patch: %s", r)
	}
	if img := at(get(), "spec", "template", "spec", "containers", 0, "image"); img != "nginx:1.28" {
		t.Errorf("image after json patch = %v", img)
	}

	// Status and scale subresources.
	r = e.do(t, "PATCH", path+"/status", `{"status":{"replicas":3,"readyReplicas":2},"spec":{"replicas":9}}`, "application/merge-patch+json")
	if r.code != 200 {
		t.Fatalf("status patch: %s", r)
	}
	got = get()
	if at(got, "status", "readyReplicas") != 2.0 || at(got, "spec", "replicas") != 3.0 {
		t.Errorf("status patch must change status only: %v / %v", at(got, "status"), at(got, "spec", "replicas"))
	}
	r = e.do(t, "PATCH", path+"/scale", `{"spec":{"replicas":5}}`, "application/merge-patch+json")
	if r.code != 200 || at(r.json(t), "kind") != "Scale" {
		t.Fatalf("scale patch: %s", r)
	}
	if n := at(get(), "spec", "replicas"); n != 5.0 {
		t.Errorf("replicas after scale patch = %v", n)
	}

	// Ten concurrent patches, each adding its own label, all land.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.do(t, "PATCH", path, fmt.Sprintf(`{"metadata":{"labels":{"l%d":"x"}}}`, i), "application/merge-patch+json"); r.code != 200 {
				t.Errorf("concurrent patch %d: %s", i, r)
			}
		}()
	}
	wg.Wait()
	got = get()
	for i := range 10 {
		if at(got, "metadata", "labels", fmt.Sprintf("l%d", i)) != "x" {
			t.Errorf("label l%d lost: %v", i, at(got, "metadata", "labels"))
		}
	}
	before := string(e.do(t, "GET", path, nil, "").body)

	// Refusals change nothing.
	bad := []struct {
		name, sub, body, ctype string
		code                   int
		reason                 string
		msgs                   []string
	}{
		{"stale resourceVersion", "", `{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}`, "application/merge-patch+json", 409, "Conflict", []string{"resourceVersion 1 given"}},
		{"invalid result", "", `{"spec":{"replicas":-1}}`, "application/merge-patch+json", 422, "Invalid", []string{"spec.replicas"}},
		{"wrong type", "", `{"spec":{"replicas":"many"}}`, "application/merge-patch+json", 400, "BadRequest", []string{"the patched object is not valid", "replicas"}},
		{"unknown field", "", `{"spec":{"replicaz":2}}`, "application/merge-patch+json", 400, "BadRequest", []string{"replicaz"}},
		{"rename", "", `{"metadata":{"name":"other"}}`, "application/merge-patch+json", 400, "BadRequest", []string{"may not change metadata.name"}},
		{"failed test op", "", `[{"op":"test","path":"/spec/replicas","value":42}]`, "application/json-patch+json", 400, "BadRequest", []string{"cannot be applied"}},
		{"not a JSON patch", "", `{"op":"add"}`, "application/json-patch+json", 400, "BadRequest", []string{"JSON patch is not valid"}},
		{"merge patch not an object", "", `[1]`, "application/merge-patch+json", 400, "BadRequest", []string{"must be a JSON object"}},
		{"server-side apply", "", `{"spec":{"replicas":1}}`, "application/apply-patch+yaml", 415, "UnsupportedMediaType", []string{"server-side apply", "use client-side apply"}},
		{"strategic merge, unknown field", "", `{"spec":{"replicaz":2}}`, "application/strategic-merge-patch+json", 400, "BadRequest", []string{"replicaz"}},
		{"strategic merge not an object", "", `[1]`, "application/strategic-merge-patch+json", 400, "BadRequest", []string{"must be a JSON object"}},
		{"plain JSON", "", `{"spec":{"replicas":1}}`, "application/json", 415, "UnsupportedMediaType", []string{"application/merge-patch+json"}},
		{"negative scale", "/scale", `{"spec":{"replicas":-2}}`, "application/merge-patch+json", 422, "Invalid", []string{"spec.replicas"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			expectStatus(t, e.do(t, "PATCH", path+tt.sub, tt.body, tt.ctype), tt.code, tt.reason, tt.msgs...)
		})
	}
	if after := string(e.do(t, "GET", path, nil, "").body); after != before {
		t.Errorf("a refused patch changed the object:\nbefore %s\nafter  %s", before, after)
	}
	expectStatus(t, e.do(t, "PATCH", base+"/nope", `{}`, "application/merge-patch+json"), 404, "NotFound", `deployments.apps "nope" not found`)
	expectStatus(t, e.do(t, "PATCH", base, `{}`, "application/merge-patch+json"), 405, "MethodNotAllowed")

	// A core kind and a finalizer removal through a patch.
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c", "finalizers": []any{"example.com/hold"}}, "data": map[string]any{"a": "1"}}
	cmPath := "/api/v1/namespaces/" + ns + "/configmaps"
	if r := e.do(t, "POST", cmPath, cm, ""); r.code != 201 {
		t.Fatalf("create configmap: %s", r)
	}
	if r := e.do(t, "DELETE", cmPath+"/c", nil, ""); r.code != 200 {
		t.Fatalf("delete configmap: %s", r)
	}
	if r := e.do(t, "PATCH", cmPath+"/c", `{"metadata":{"finalizers":null}}`, "application/merge-patch+json"); r.code != 200 {
		t.Fatalf("remove finalizers: %s", r)
	}
	expectStatus(t, e.do(t, "GET", cmPath+"/c", nil, ""), 404, "NotFound")
}

// TestDeleteOptionsBody: the DeleteOptions kubectl sends as a DELETE's
// body are honoured (grace period, preconditions), and a body that is not
// DeleteOptions is refused with nothing deleted.
func TestDeleteOptionsBody(t *testing.T) {
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "delbody")
	pods := "/api/v1/namespaces/" + ns + "/pods"
	if r := e.do(t, "POST", pods, podJSON(ns, "p"), ""); r.code != 201 {
		t.Fatalf("create: %s", r)
	}
	binding := `{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"node-a"}}`
	if r := e.do(t, "POST", pods+"/p/binding", binding, ""); r.code != 201 {
		t.Fatalf("bind: %s", r)
	}
	expectStatus(t, e.do(t, "DELETE", pods+"/p", `{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-the-uid"}}`, ""),
		409, "Conflict", "not-the-uid")
	expectStatus(t, e.do(t, "DELETE", pods+"/p", `{"gracePeriod":0}`, ""), 400, "BadRequest", `unknown field "gracePeriod"`)
	expectStatus(t, e.do(t, "DELETE", pods+"/p", `{"kind":"Pod"}`, ""), 400, "BadRequest", `got kind "Pod"`)
	if r := e.do(t, "GET", pods+"/p", nil, ""); r.code != 200 || dig(r.json(t), "metadata", "deletionTimestamp") != nil {
		t.Fatalf("a refused delete touched the pod: %s", r)
	}
	// A bound pod waits for its kubelet, unless the grace period is 0.
	if r := e.do(t, "DELETE", pods+"/p", `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,"propagationPolicy":"Background"}`, ""); r.code != 200 {
		t.Fatalf("delete with body: %s", r)
	}
	expectStatus(t, e.do(t, "GET", pods+"/p", nil, ""), 404, "NotFound")
}
