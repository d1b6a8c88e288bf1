package integration

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestSelectorsAndPaging: label and field selectors filter lists the way
// Kubernetes' do; limit/continue pages over one snapshot.
func TestSelectorsAndPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})

	t.Run("selectors", func(t *testing.T) {
		t.Parallel()
		ns := e.newNamespace(t, "sel")
		ctx := ctxT(t)
		pods := corev1.NewPodServiceClient(e.conn)
		for name, labels := range map[string]map[string]string{
			"p1": {"app": "web", "tier": "front"}, "p2": {"app": "web", "tier": "back"}, "p3": {"app": "db"}, "p4": nil,
		} {
			if _, err := pods.Create(ctx, &corev1.PodRequest{Namespace: ns, Object: &corev1.Pod{
				Metadata: &metav1.ObjectMeta{Name: name, Labels: labels}, Spec: podSpec("nginx")}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := pods.Bind(ctx, &corev1.BindingRequest{Namespace: ns, Name: "p1", Object: &corev1.Binding{
			Metadata: om("p1"), Target: &corev1.ObjectReference{Kind: "Node", Name: "node-a"}}}); err != nil {
			t.Fatalf("bind p1: %v", err)
		}
		p2, err := pods.Get(ctx, &metav1.GetOptions{Namespace: ns, Name: "p2"})
		if err != nil {
			t.Fatal(err)
		}
		p2.Status.Phase = "Running"
		if _, err := pods.UpdateStatus(ctx, &corev1.PodRequest{Namespace: ns, Name: "p2", Object: p2}); err != nil {
			t.Fatalf("p2 status: %v", err)
		}

		cases := []struct {
			label, field string
			all          bool // list /api/v1/pods instead of the namespace
			want         string
		}{
			{label: "app=web", want: "p1 p2"},
			{label: "app!=web", want: "p3 p4"},
			{label: "tier in (front,back)", want: "p1 p2"},
			{label: "tier notin (front)", want: "p2 p3 p4"},
			{label: "tier", want: "p1 p2"},
			{label: "!tier", want: "p3 p4"},
			{label: "app=web,tier=back", want: "p2"},
			{field: "metadata.name=p1", want: "p1"},
			{field: "metadata.namespace=" + ns, all: true, want: "p1 p2 p3 p4"},
			{field: "metadata.namespace=" + ns + ",metadata.name!=p1", all: true, want: "p2 p3 p4"},
			{field: "spec.nodeName=node-a", want: "p1"},
			{field: "spec.nodeName=", want: "p2 p3 p4"},
			{field: "status.phase=Running", want: "p2"},
			{field: "status.phase!=Pending", want: "p2"},
			{label: "app=web", field: "status.phase=Pending", want: "p1"},
		}
		for _, c := range cases {
			t.Run(c.label+" "+c.field, func(t *testing.T) {
				path := "/api/v1/namespaces/" + ns + "/pods"
				if c.all {
					path = "/api/v1/pods"
				}
				q := url.Values{}
				if c.label != "" {
					q.Set("labelSelector", c.label)
				}
				if c.field != "" {
					q.Set("fieldSelector", c.field)
				}
				r := e.do(t, "GET", path+"?"+q.Encode(), nil, "")
				if r.code != 200 {
					t.Fatalf("%s", r)
				}
				names := itemNames(t, r)
				sort.Strings(names)
				if got := strings.Join(names, " "); got != c.want {
					t.Errorf("got [%s], want [%s]", got, c.want)
				}
			})
		}

		r := e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods?fieldSelector="+url.QueryEscape("spec.color=red"), nil, "")
		expectStatus(t, r, 400, "BadRequest", "spec.color")
		r = e.do(t, "GET", "/api/v1/namespaces/"+ns+"/configmaps?fieldSelector="+url.QueryEscape("spec.nodeName=a"), nil, "")
		expectStatus(t, r, 400, "BadRequest", "spec.nodeName")
		r = e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods?labelSelector="+url.QueryEscape("app in (web"), nil, "")
		expectStatus(t, r, 400, "BadRequest")
		r = e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods?labelSelector="+url.QueryEscape("a b c"), nil, "")
		expectStatus(t, r, 400, "BadRequest")
		r = e.do(t, "GET", "/api/v1/namespaces/"+ns+"/pods?fieldSelector="+url.QueryEscape("metadata.name"), nil, "")
		expectStatus(t, r, 400, "BadRequest")
	})

	t.Run("paging", func(t *testing.T) {
		t.Parallel()
		ns := e.newNamespace(t, "page")
		ctx := ctxT(t)
		cms := corev1.NewConfigMapServiceClient(e.conn)
		for i := 0; i < 25; i++ {
			if _, err := cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: &corev1.ConfigMap{Metadata: om(fmt.Sprintf("cm-%02d", i))}}); err != nil {
				t.Fatal(err)
			}
		}
		path := "/api/v1/namespaces/" + ns + "/configmaps?limit=10"
		seen := map[string]bool{}
		var sizes []int
		cont := ""
		var firstRV string
		for page := 0; page < 5; page++ {
			p := path
			if cont != "" {
				p += "&continue=" + url.QueryEscape(cont)
			}
			r := e.do(t, "GET", p, nil, "")
			if r.code != 200 {
				t.Fatalf("page %d: %s", page, r)
			}
			m := r.json(t)
			names := itemNames(t, r)
			sizes = append(sizes, len(names))
			for _, n := range names {
				if seen[n] {
					t.Errorf("page %d repeats %s", page, n)
				}
				seen[n] = true
			}
			cont, _ = dig(m, "metadata", "continue").(string)
			remaining := dig(m, "metadata", "remainingItemCount")
			wantRemaining := 25 - 10*(page+1)
			if wantRemaining > 0 && fmt.Sprint(remaining) != fmt.Sprint(wantRemaining) {
				t.Errorf("page %d remainingItemCount = %v, want %d", page, remaining, wantRemaining)
			}
			if page == 0 {
				firstRV, _ = dig(m, "metadata", "resourceVersion").(string)
				// Written after the first page: not part of its snapshot.
				if _, err := cms.Create(ctx, &corev1.ConfigMapRequest{Namespace: ns, Object: &corev1.ConfigMap{Metadata: om("cm-99-late")}}); err != nil {
					t.Fatal(err)
				}
				if _, err := cms.Delete(ctx, &metav1.DeleteOptions{Namespace: ns, Name: "cm-24"}); err != nil {
					t.Fatal(err)
				}
			} else if rv, _ := dig(m, "metadata", "resourceVersion").(string); rv != firstRV {
				t.Errorf("page %d resourceVersion %s, want the first page's %s", page, rv, firstRV)
			}
			if cont == "" {
				break
			}
		}
		if fmt.Sprint(sizes) != "[10 10 5]" {
			t.Errorf("page sizes %v, want [10 10 5]", sizes)
		}
		if seen["cm-99-late"] {
			t.Errorf("an object created after the first page appeared in a later page")
		}
		if !seen["cm-24"] || len(seen) != 25 {
			t.Errorf("saw %d objects (cm-24: %v), want the 25 of the first page's snapshot", len(seen), seen["cm-24"])
		}
		r := e.do(t, "GET", path+"&continue=not-a-token", nil, "")
		expectStatus(t, r, 400, "BadRequest", "continue")
	})
}
