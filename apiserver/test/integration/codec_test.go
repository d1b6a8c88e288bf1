package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
)

// TestRESTEmptyListsHaveItems: every kind's list, when empty, carries
// "items": [], so `jq '.items[]'` works on an empty namespace.
func TestRESTEmptyListsHaveItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "empty")
	var paths []string
	for _, gv := range []string{"/api/v1", "/apis/apps/v1", "/apis/batch/v1", "/apis/coordination.k8s.io/v1"} {
		r := e.do(t, "GET", gv, nil, "")
		if r.code != 200 {
			t.Fatalf("GET %s: %s", gv, r)
		}
		for _, res := range r.json(t)["resources"].([]any) {
			m := res.(map[string]any)
			name := m["name"].(string)
			if strings.Contains(name, "/") || !strings.Contains(fmt.Sprint(m["verbs"]), "list") {
				continue
			}
			if m["namespaced"] == true {
				paths = append(paths, gv+"/namespaces/"+ns+"/"+name)
			} else {
				paths = append(paths, gv+"/"+name)
			}
		}
	}
	if len(paths) < 10 {
		t.Fatalf("discovery lists only %d kinds: %v", len(paths), paths)
	}
	for _, p := range paths {
		// A selector no object matches makes cluster-wide lists empty too.
		r := e.do(t, "GET", p+"?labelSelector=codec-test%3Dnone", nil, "")
		if r.code != 200 {
			t.Errorf("GET %s: %s", p, r)
			continue
		}
		if !strings.Contains(string(r.body), `"items":[]`) {
			t.Errorf("GET %s: the empty list has no \"items\":[]: %s", p, r.body)
		}
	}
}

// TestRESTIntOrString: an IntOrString holding an integer comes back as a
// JSON number, a name or a percentage as a string, in GET responses and in
// watch events.
func TestRESTIntOrString(t *testing.T) {
	t.Parallel()
	e := newEnv(t, apiservertest.Options{})
	ns := e.newNamespace(t, "intstr")

	// The watch starts from the empty list's resourceVersion, so its first
	// event is the service's creation.
	empty := e.do(t, "GET", "/api/v1/namespaces/"+ns+"/services", nil, "").json(t)
	rv, _ := dig(empty, "metadata", "resourceVersion").(string)
	events := watchLines(t, e, "/api/v1/namespaces/"+ns+"/services?watch=true&resourceVersion="+rv)

	svc := "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports:\n" +
		"  - {name: a, port: 80, targetPort: 8080}\n  - {name: b, port: 81, targetPort: http}\n  - {name: c, port: 82, targetPort: \"9090\"}\n"
	if r := e.do(t, "POST", "/api/v1/namespaces/"+ns+"/services", svc, "application/yaml"); r.code != 201 {
		t.Fatalf("POST service: %s", r)
	}
	wantPorts := []any{float64(8080), "http", float64(9090)}
	checkPorts := func(what string, obj map[string]any) {
		t.Helper()
		ports, _ := dig(obj, "spec", "ports").([]any)
		if len(ports) != 3 {
			t.Fatalf("%s: ports = %v", what, ports)
		}
		for i, p := range ports {
			if got := p.(map[string]any)["targetPort"]; got != wantPorts[i] {
				t.Errorf("%s: ports[%d].targetPort = %#v, want %#v", what, i, got, wantPorts[i])
			}
		}
	}
	checkPorts("GET service", e.do(t, "GET", "/api/v1/namespaces/"+ns+"/services/web", nil, "").json(t))
	list := e.do(t, "GET", "/api/v1/namespaces/"+ns+"/services", nil, "").json(t)
	checkPorts("GET service list", list["items"].([]any)[0].(map[string]any))
	select {
	case line := <-events:
		var ev struct {
			Type   string         `json:"type"`
			Object map[string]any `json:"object"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("watch line %q: %v", line, err)
		}
		if ev.Type != "ADDED" {
			t.Fatalf("first watch event %s, want ADDED: %s", ev.Type, line)
		}
		checkPorts("watch event", ev.Object)
	case <-time.After(60 * time.Second):
		t.Fatal("no watch event in 60 s")
	}

	dep := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":1,
		"selector":{"matchLabels":{"app":"web"}},"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":"25%"}},
		"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx",
		"ports":[{"name":"http","containerPort":80}],
		"livenessProbe":{"httpGet":{"path":"/","port":80}},"readinessProbe":{"tcpSocket":{"port":"http"}}}]}}}}`
	if r := e.do(t, "POST", "/apis/apps/v1/namespaces/"+ns+"/deployments", dep, ""); r.code != 201 {
		t.Fatalf("POST deployment: %s", r)
	}
	got := e.do(t, "GET", "/apis/apps/v1/namespaces/"+ns+"/deployments/web", nil, "").json(t)
	ru := dig(got, "spec", "strategy", "rollingUpdate")
	if fmt.Sprintf("%#v", ru) != fmt.Sprintf("%#v", map[string]any{"maxSurge": float64(1), "maxUnavailable": "25%"}) {
		t.Errorf("rollingUpdate = %#v, want maxSurge 1 (a number) and maxUnavailable \"25%%\"", ru)
	}
	c := dig(got, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	if p := dig(c, "livenessProbe", "httpGet", "port"); p != float64(80) {
		t.Errorf("livenessProbe.httpGet.port = %#v, want the number 80", p)
	}
	if p := dig(c, "readinessProbe", "tcpSocket", "port"); p != "http" {
		t.Errorf("readinessProbe.tcpSocket.port = %#v, want \"http\"", p)
	}
}

// watchLines streams a REST watch and sends each line; a failure is sent
// as a line that is not JSON. The server sends its headers with the first
// event, so the request runs in the goroutine.
func watchLines(t *testing.T, e *env, path string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ch := make(chan string, 100)
	send := func(s string) {
		select {
		case ch <- s:
		case <-ctx.Done():
		}
	}
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			send(fmt.Sprintf("GET %s: %v", path, err))
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			send(fmt.Sprintf("GET %s: HTTP %d", path, resp.StatusCode))
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			send(sc.Text())
		}
	}()
	return ch
}
