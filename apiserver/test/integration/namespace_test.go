package integration

import (
	"fmt"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestNamespaceDeletion: deleting a namespace turns it Terminating, refuses
// new content, deletes what it holds (a bound pod gracefully, waiting for its
// kubelet), and removes the namespace once it is empty.
func TestNamespaceDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "doomed")
	base := "/api/v1/namespaces/" + ns
	pod := func(name string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`, name)
	}
	for _, req := range []struct{ path, body string }{
		{base + "/configmaps", `{"metadata":{"name":"cfg"},"data":{"a":"1"}}`},
		{base + "/pods", pod("unbound")},
		{base + "/pods", pod("bound")},
		{base + "/pods/bound/binding", `{"metadata":{"name":"bound"},"target":{"kind":"Node","name":"node-a"}}`},
	} {
		if r := e.do(t, "POST", req.path, req.body, ""); r.code != 201 {
			t.Fatalf("POST %s: %s", req.path, r)
		}
	}

	r := e.do(t, "DELETE", "/api/v1/namespaces/"+ns, nil, "")
	if r.code != 200 || dig(r.json(t), "status", "phase") != "Terminating" || dig(r.json(t), "metadata", "deletionTimestamp") == nil {
		t.Fatalf("DELETE namespace: %s; want 200 with status.phase Terminating and a deletionTimestamp", r)
	}
	expectStatus(t, e.do(t, "POST", base+"/configmaps", `{"metadata":{"name":"late"}}`, ""), 403, "Forbidden", "being terminated")

	// The configmap and the unbound pod go at once; the bound pod waits for its kubelet.
	eventually(t, "namespace emptied but for the bound pod", func() error {
		if r := e.do(t, "GET", base+"/configmaps/cfg", nil, ""); r.code != 404 {
			return fmt.Errorf("configmap cfg: %s", r)
		}
		if r := e.do(t, "GET", base+"/pods/unbound", nil, ""); r.code != 404 {
			return fmt.Errorf("pod unbound: %s", r)
		}
		r := e.do(t, "GET", base+"/pods/bound", nil, "")
		if r.code != 200 || dig(r.json(t), "metadata", "deletionTimestamp") == nil {
			return fmt.Errorf("pod bound should be terminating: %s", r)
		}
		return nil
	})
	if r := e.do(t, "GET", "/api/v1/namespaces/"+ns, nil, ""); r.code != 200 {
		t.Fatalf("namespace gone while a pod still terminates: %s", r)
	}
	// The kubelet confirms the pod stopped: the namespace goes.
	if r := e.do(t, "DELETE", base+"/pods/bound?gracePeriodSeconds=0", nil, ""); r.code != 200 {
		t.Fatalf("confirm pod deletion: %s", r)
	}
	eventually(t, "namespace removed", func() error {
		if r := e.do(t, "GET", "/api/v1/namespaces/"+ns, nil, ""); r.code != 404 {
			return fmt.Errorf("namespace: %s", r)
		}
		return nil
	})
	expectStatus(t, e.do(t, "DELETE", "/api/v1/namespaces/default", nil, ""), 403, "Forbidden", "may not be deleted")
}
