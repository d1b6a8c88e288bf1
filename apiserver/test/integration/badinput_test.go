package integration

import (
	"fmt"
	"strings"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

// TestBadInput: each malformed request gets a clear error and stores nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "bad")
	pods := "/api/v1/namespaces/" + ns + "/pods"
	cms := "/api/v1/namespaces/" + ns + "/configmaps"
	dep := `{"metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"nginx"}]}}}}`
	if r := e.do(t, "POST", "/apis/apps/v1/namespaces/"+ns+"/deployments", dep, ""); r.code != 201 {
		t.Fatalf("create deployment: %s", r)
	}
	svc := `{"metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}`
	r := e.do(t, "POST", "/api/v1/namespaces/"+ns+"/services", svc, "")
	if r.code != 201 {
		t.Fatalf("create service: %s", r)
	}
	clusterIP := dig(r.json(t), "spec", "clusterIP").(string)
	svcs := "/api/v1/namespaces/" + ns + "/services"
	big := strings.Repeat("x", 1600*1024)

	cases := []struct {
		name, method, path, body string
		code                     int
		reason                   string
		msgs                     []string
	}{
		{"malformed JSON", "POST", pods, `{"metadata":{"name":"p1"`, 400, "BadRequest", nil},
		{"unknown field", "POST", pods, `{"metadata":{"name":"p2"},"spec":{"containerz":[{"name":"a","image":"b"}]}}`, 400, "BadRequest", []string{"containerz"}},
		{"unknown resource", "GET", "/api/v1/namespaces/" + ns + "/widgets", "", 404, "NotFound", nil},
		{"unknown group", "GET", "/apis/example.com/v1/things", "", 404, "NotFound", nil},
		{"pod without containers", "POST", pods, `{"metadata":{"name":"p3"},"spec":{}}`, 422, "Invalid", []string{`Pod "p3" is invalid`, "spec.containers"}},
		{"container without image", "POST", pods, `{"metadata":{"name":"p4"},"spec":{"containers":[{"name":"app"}]}}`, 422, "Invalid", []string{"spec.containers[0].image"}},
		{"invalid name", "POST", pods, `{"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`, 422, "Invalid", []string{"metadata.name", "Bad_Name"}},
		{"negative scale", "PUT", "/apis/apps/v1/namespaces/" + ns + "/deployments/web/scale", `{"metadata":{"name":"web"},"spec":{"replicas":-1}}`, 422, "Invalid", []string{"spec.replicas"}},
		{"too large", "POST", cms, fmt.Sprintf(`{"metadata":{"name":"big"},"data":{"k":%q}}`, big), 413, "RequestEntityTooLarge", []string{"too large"}},
		{"namespace mismatch", "POST", cms, `{"metadata":{"name":"c1","namespace":"elsewhere"}}`, 400, "BadRequest", []string{"elsewhere", ns}},
		{"missing namespace", "POST", "/api/v1/namespaces/x/configmaps", `{"metadata":{"name":"c2"}}`, 404, "NotFound", []string{`namespaces "x" not found`}},
		{"immutable clusterIP", "PUT", svcs + "/web", `{"metadata":{"name":"web"},"spec":{"clusterIP":"10.96.0.77","selector":{"app":"web"},"ports":[{"port":80}]}}`, 422, "Invalid", []string{"spec.clusterIP", "field is immutable"}},
		{"immutable deployment selector", "PUT", "/apis/apps/v1/namespaces/" + ns + "/deployments/web", `{"metadata":{"name":"web"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}},"spec":{"containers":[{"name":"app","image":"nginx"}]}}}}`, 422, "Invalid", []string{"spec.selector", "immutable"}},
		{"bad service type", "POST", svcs, `{"metadata":{"name":"lb"},"spec":{"type":"LoadBalancer","ports":[{"port":80}]}}`, 422, "Invalid", []string{"spec.type"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			expectStatus(t, e.do(t, c.method, c.path, body, ""), c.code, c.reason, c.msgs...)
		})
	}
	// Nothing of the above was stored.
	for _, p := range []string{pods, cms} {
		if r := e.do(t, "GET", p, nil, ""); r.code != 200 || len(itemNames(t, r)) != 0 {
			t.Errorf("GET %s after bad requests: %s, want no items", p, r)
		}
	}
	r = e.do(t, "GET", svcs+"/web", nil, "")
	if got := dig(r.json(t), "spec", "clusterIP"); got != clusterIP {
		t.Errorf("clusterIP after rejected update: %v, want %s", got, clusterIP)
	}
	r = e.do(t, "GET", "/apis/apps/v1/namespaces/"+ns+"/deployments/web", nil, "")
	if dig(r.json(t), "spec", "replicas") != float64(1) {
		t.Errorf("deployment replicas after rejected scale: %v", dig(r.json(t), "spec", "replicas"))
	}
}
