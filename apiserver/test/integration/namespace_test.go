package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
)

// TestNamespaceDeletion: as in Kubernetes, the apiserver only marks a deleted
// namespace Terminating and refuses new content; emptying it is the namespace
// controller's job (tested in the controller-manager), which then clears the
// "kubernetes" finalizer through namespaces/{name}/finalize; the namespace is
// removed once spec.finalizers and metadata.finalizers are both empty.
func TestNamespaceDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "doomed")
	nsPath := "/api/v1/namespaces/" + ns
	r := e.do(t, "GET", nsPath, nil, "")
	if fin := finalizers(t, r, "spec"); !slices.Equal(fin, []string{"kubernetes"}) {
		t.Fatalf("new namespace: spec.finalizers = %v, want [kubernetes] defaulted: %s", fin, r)
	}
	if r := e.do(t, "POST", nsPath+"/configmaps", `{"metadata":{"name":"cfg"},"data":{"a":"1"}}`, ""); r.code != 201 {
		t.Fatalf("POST configmap: %s", r)
	}
	// Update keeps spec.finalizers: only finalize writes them.
	r = e.do(t, "PUT", nsPath, fmt.Sprintf(`{"metadata":{"name":%q,"labels":{"a":"b"}},"spec":{"finalizers":[]}}`, ns), "")
	if fin := finalizers(t, r, "spec"); r.code != 200 || !slices.Equal(fin, []string{"kubernetes"}) {
		t.Fatalf("PUT namespace without finalizers: %s; want 200 with spec.finalizers still [kubernetes]", r)
	}

	r = e.do(t, "DELETE", nsPath, nil, "")
	if r.code != 200 || dig(r.json(t), "status", "phase") != "Terminating" || dig(r.json(t), "metadata", "deletionTimestamp") == nil {
		t.Fatalf("DELETE namespace: %s; want 200 with status.phase Terminating and a deletionTimestamp", r)
	}
	expectStatus(t, e.do(t, "POST", nsPath+"/configmaps", `{"metadata":{"name":"late"}}`, ""), 403, "Forbidden", "being terminated")
	// The apiserver leaves the content to the namespace controller.
	time.Sleep(time.Second)
	if r := e.do(t, "GET", nsPath+"/configmaps/cfg", nil, ""); r.code != 200 {
		t.Fatalf("configmap cfg deleted by the apiserver itself: %s", r)
	}
	if r := e.do(t, "DELETE", nsPath, nil, ""); r.code != 200 || dig(r.json(t), "status", "phase") != "Terminating" {
		t.Fatalf("second DELETE of a terminating namespace with finalizers: %s; want 200, still Terminating", r)
	}

	// The namespace controller's last step: finalize with no finalizers.
	r = e.do(t, "PUT", nsPath+"/finalize", fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"finalizers":[]}}`, ns), "")
	if r.code != 200 {
		t.Fatalf("PUT finalize: %s", r)
	}
	if r := e.do(t, "GET", nsPath, nil, ""); r.code != 404 {
		t.Fatalf("namespace finalized with no finalizers left still exists: %s", r)
	}
	expectStatus(t, e.do(t, "DELETE", "/api/v1/namespaces/default", nil, ""), 403, "Forbidden", "may not be deleted")
}

// TestNamespaceMetadataFinalizers: metadata.finalizers hold a finalized
// namespace until the last one is removed; a namespace with no finalizers
// at all goes at once.
func TestNamespaceMetadataFinalizers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	const name = "held"
	path := "/api/v1/namespaces/" + name
	if r := e.do(t, "POST", "/api/v1/namespaces", `{"metadata":{"name":"held","finalizers":["skiff.dev/hold"]}}`, ""); r.code != 201 {
		t.Fatalf("POST namespace: %s", r)
	}
	if r := e.do(t, "DELETE", path, nil, ""); r.code != 200 {
		t.Fatalf("DELETE: %s", r)
	}
	if r := e.do(t, "PUT", path+"/finalize", `{"metadata":{"name":"held"},"spec":{}}`, ""); r.code != 200 {
		t.Fatalf("PUT finalize: %s", r)
	}
	r := e.do(t, "GET", path, nil, "")
	if r.code != 200 || len(finalizers(t, r, "spec")) != 0 {
		t.Fatalf("finalized namespace with metadata.finalizers: %s; want it kept, spec.finalizers empty", r)
	}
	body := r.json(t)
	body["metadata"].(map[string]any)["finalizers"] = []string{}
	if r := e.do(t, "PUT", path, body, ""); r.code != 200 {
		t.Fatalf("PUT without the metadata finalizer: %s", r)
	}
	if r := e.do(t, "GET", path, nil, ""); r.code != 404 {
		t.Fatalf("namespace with no finalizers left still exists: %s", r)
	}

	// Nothing holds a namespace created without the default finalizer
	// removed through finalize before its deletion: DELETE removes it.
	if r := e.do(t, "POST", "/api/v1/namespaces", `{"metadata":{"name":"quick"}}`, ""); r.code != 201 {
		t.Fatalf("POST namespace: %s", r)
	}
	if r := e.do(t, "PUT", "/api/v1/namespaces/quick/finalize", `{"metadata":{"name":"quick"},"spec":{}}`, ""); r.code != 200 {
		t.Fatalf("PUT finalize: %s", r)
	}
	if r := e.do(t, "DELETE", "/api/v1/namespaces/quick", nil, ""); r.code != 200 {
		t.Fatalf("DELETE: %s", r)
	}
	if r := e.do(t, "GET", "/api/v1/namespaces/quick", nil, ""); r.code != 404 {
		t.Fatalf("namespace with no finalizers still exists after DELETE: %s", r)
	}
}

// finalizers reads spec.finalizers or metadata.finalizers of a namespace response.
func finalizers(t *testing.T, r response, at string) []string {
	t.Helper()
	var out []string
	list, _ := dig(r.json(t), at, "finalizers").([]any)
	for _, f := range list {
		out = append(out, fmt.Sprint(f))
	}
	return out
}
