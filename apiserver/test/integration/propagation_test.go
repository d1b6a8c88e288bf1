package integration

import (
	"slices"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestDeletePropagationPolicy: as in Kubernetes, DELETE with
// propagationPolicy Foreground or Orphan marks the object deleted with the
// foregroundDeletion or orphan finalizer, for the garbage collector to
// finish; Background (or none) removes an object without finalizers at once.
func TestDeletePropagationPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "gc")
	base := "/api/v1/namespaces/" + ns + "/configmaps"
	for _, tt := range []struct {
		name, query string
		want        []string // finalizers of the kept object; nil: removed
	}{
		{"fg", "?propagationPolicy=Foreground", []string{"foregroundDeletion"}},
		{"orphan", "?propagationPolicy=Orphan", []string{"orphan"}},
		{"bg", "?propagationPolicy=Background", nil},
		{"none", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.do(t, "POST", base, `{"metadata":{"name":"`+tt.name+`"}}`, ""); r.code != 201 {
				t.Fatalf("POST: %s", r)
			}
			if r := e.do(t, "DELETE", base+"/"+tt.name+tt.query, nil, ""); r.code != 200 {
				t.Fatalf("DELETE: %s", r)
			}
			r := e.do(t, "GET", base+"/"+tt.name, nil, "")
			if tt.want == nil {
				if r.code != 404 {
					t.Fatalf("object without finalizers still exists after DELETE%s: %s", tt.query, r)
				}
				return
			}
			if got := finalizers(t, r, "metadata"); r.code != 200 || !slices.Equal(got, tt.want) || dig(r.json(t), "metadata", "deletionTimestamp") == nil {
				t.Fatalf("after DELETE%s: %s; want it kept, being deleted, with finalizers %v", tt.query, r, tt.want)
			}
		})
	}
	if r := e.do(t, "POST", base, `{"metadata":{"name":"bad"}}`, ""); r.code != 201 {
		t.Fatalf("POST: %s", r)
	}
	expectStatus(t, e.do(t, "DELETE", base+"/bad?propagationPolicy=Sideways", nil, ""), 400, "BadRequest", `Unsupported value: "Sideways"`)
}
