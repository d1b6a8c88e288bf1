package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestApplyRoundTrip(t *testing.T) {
	e := newEnv(t)
	f := e.file("web.yaml", webDeployment+"---\n"+webService)
	if out := e.must("apply", "-f", f); out != "deployment.apps/web created\nservice/web created\n" {
		t.Fatalf("first apply: %q", out)
	}
	if out := e.must("apply", "-f", f); out != "deployment.apps/web unchanged\nservice/web unchanged\n" {
		t.Fatalf("second apply: %q", out)
	}
	// -o yaml of the live objects, applied back, changes nothing.
	y := e.must("get", "deploy", "web", "-o", "yaml")
	if out, errOut, code := e.runIn(y, "apply", "-f", "-"); code != 0 || out != "deployment.apps/web unchanged\n" {
		t.Fatalf("apply of -o yaml: %q %q", out, errOut)
	}
	list := e.must("get", "svc,deploy", "-o", "yaml")
	if out := e.must("apply", "-f", e.file("list.yaml", list)); out != "service/web unchanged\ndeployment.apps/web unchanged\n" {
		t.Fatalf("apply of a List: %q", out)
	}
	// A change is configured; the server-set clusterIP survives.
	ip := e.must("get", "svc", "web", "-o", "json")
	changed := strings.Replace(webDeployment, "replicas: 2", "replicas: 3", 1) + "---\n" + strings.Replace(webService, "app: web\n  ports", "app: web2\n  ports", 1)
	if out := e.must("apply", "-f", e.file("web2.yaml", changed)); out != "deployment.apps/web configured\nservice/web configured\n" {
		t.Fatalf("changed apply: %q", out)
	}
	if got := e.must("get", "deploy", "web", "-o", "json"); !strings.Contains(got, `"replicas": 3`) {
		t.Errorf("replicas not updated:\n%s", got)
	}
	if a, b := clusterIP(ip), clusterIP(e.must("get", "svc", "web", "-o", "json")); a == "" || a != b {
		t.Errorf("clusterIP changed by apply: %q -> %q", a, b)
	}
	// create -f fails on an existing object.
	_, errOut, code := e.run("create", "-f", f)
	if code == 0 || !strings.Contains(errOut, `Error from server (AlreadyExists): deployments.apps "web" already exists`) {
		t.Errorf("create existing: code %d stderr %q", code, errOut)
	}
	// A folder applies every manifest in it.
	dir := filepath.Join(e.dir, "d")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "a.yaml"), fmt.Appendf(nil, podManifest, "p1", "p"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c1"},"data":{"k":"v"}}`), 0o644)
	if out := e.must("apply", "-f", dir); out != "pod/p1 created\nconfigmap/c1 created\n" {
		t.Errorf("apply dir: %q", out)
	}
}

func clusterIP(js string) string {
	_, after, ok := strings.Cut(js, `"clusterIP": "`)
	if !ok {
		return ""
	}
	ip, _, _ := strings.Cut(after, `"`)
	return ip
}

func TestManifestErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, content, want string
	}{
		{"bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [y\n", "bad.yaml: not valid YAML: yaml: line 9"},
		{"kind.yaml", "apiVersion: v1\nkind: Widget\nmetadata: {name: x}\n", `kind.yaml:1: no matches for kind "Widget" in version "v1"`},
		{"field.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspecc: {}\n", `field.yaml:4 (ConfigMap): unknown field "specc"`},
		{"type.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: 80\n    targetPort: [80]\n",
			`type.yaml:11 (Service): spec.ports[0].targetPort: expected a string, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := e.run("apply", "-f", e.file(tt.name, tt.content))
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("code %d stderr %q, want one line containing %q", code, errOut, tt.want)
			}
		})
	}
	// Validation errors keep the server's field paths.
	_, errOut, code := e.run("apply", "-f", e.file("inv.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"))
	if code == 0 || !strings.Contains(errOut, "Error from server (Invalid)") || !strings.Contains(errOut, "spec.containers[0].image") {
		t.Errorf("invalid pod: code %d stderr %q", code, errOut)
	}
}

func TestUnreachableServer(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	t.Setenv("HOME", t.TempDir())
	var out, errOut strings.Builder
	code := Run(context.Background(), []string{"--server", "http://127.0.0.1:1,http://127.0.0.1:2", "get", "pods"}, strings.NewReader(""), &out, &errOut)
	if code == 0 || !strings.HasPrefix(errOut.String(), "Unable to connect to the server (tried http://127.0.0.1:1, http://127.0.0.1:2)") {
		t.Errorf("code %d stderr %q", code, errOut.String())
	}
}

func TestDeleteScaleLabelEtc(t *testing.T) {
	e := newEnv(t)
	e.must("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"scale", "deployment", "web", "--replicas=5"}, "deployment.apps/web scaled\n"},
		{[]string{"label", "deploy", "web", "tier=front"}, "deployment.apps/web labeled\n"},
		{[]string{"annotate", "deploy/web", "note=hi"}, "deployment.apps/web annotated\n"},
		{[]string{"set", "image", "deployment/web", "nginx=nginx:1.28"}, "deployment.apps/web image updated\n"},
		{[]string{"expose", "deployment", "web", "--port=80", "--target-port=8080", "--type=NodePort"}, "service/web exposed\n"},
		{[]string{"rollout", "restart", "deployment/web"}, "deployment.apps/web restarted\n"},
	}
	for _, tt := range tests {
		if out := e.must(tt.args...); out != tt.want {
			t.Errorf("%v: got %q want %q", tt.args, out, tt.want)
		}
	}
	js := e.must("get", "deploy", "web", "-o", "json")
	for _, want := range []string{`"replicas": 5`, `"tier": "front"`, `"note": "hi"`, `"image": "nginx:1.28"`, `kubectl.kubernetes.io/restartedAt`} {
		if !strings.Contains(js, want) {
			t.Errorf("deployment lacks %s:\n%s", want, js)
		}
	}
	svc := e.must("get", "svc", "web", "-o", "json")
	if !strings.Contains(svc, `"targetPort": 8080`) || !strings.Contains(svc, `"type": "NodePort"`) || !strings.Contains(svc, `"nodePort"`) {
		t.Errorf("exposed service:\n%s", svc)
	}
	// Overwriting a label needs --overwrite; k- removes it.
	if _, errOut, code := e.run("label", "deploy", "web", "tier=back"); code == 0 || !strings.Contains(errOut, "--overwrite is false") {
		t.Errorf("label without --overwrite: %d %q", code, errOut)
	}
	e.must("label", "deploy", "web", "tier=back", "--overwrite")
	e.must("label", "deploy", "web", "tier-")
	if js := e.must("get", "deploy", "web", "-o", "json"); strings.Contains(js, `"tier"`) {
		t.Errorf("label not removed:\n%s", js)
	}
	// Cordon a node.
	e.must("apply", "-f", e.file("node.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"))
	if out := e.must("cordon", "n1"); out != "node/n1 cordoned\n" {
		t.Errorf("cordon: %q", out)
	}
	if out := e.must("get", "no"); !strings.Contains(out, "SchedulingDisabled") {
		t.Errorf("get nodes after cordon:\n%s", out)
	}
	if out := e.must("uncordon", "n1"); out != "node/n1 uncordoned\n" {
		t.Errorf("uncordon: %q", out)
	}
	// Delete by name, by label and by file.
	e.must("apply", "-f", e.file("pods.yaml", fmt.Sprintf(podManifest, "a", "x")+"---\n"+fmt.Sprintf(podManifest, "b", "x")+"---\n"+fmt.Sprintf(podManifest, "c", "other")))
	if out := e.must("delete", "pod", "c", "--grace-period=0"); out != "pod \"c\" deleted\n" {
		t.Errorf("delete: %q", out)
	}
	if out := e.must("delete", "pods", "-l", "app=x", "--force"); out != "pod \"a\" deleted\npod \"b\" deleted\n" {
		t.Errorf("delete -l: %q", out)
	}
	if out := e.must("delete", "-f", e.file("cm.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n")); out != "service \"web\" deleted\n" {
		t.Errorf("delete -f: %q", out)
	}
	if _, errOut, code := e.run("delete", "pod", "nope"); code == 0 || errOut != "Error from server (NotFound): pods \"nope\" not found\n" {
		t.Errorf("delete missing: %d %q", code, errOut)
	}
	if _, errOut, _ := e.run("get", "pods"); errOut != "No resources found in default namespace.\n" {
		t.Errorf("pods left after delete: %q", errOut)
	}
	// describe prints the key fields.
	if out := e.must("describe", "deploy", "web"); !strings.Contains(out, "Name:") || !strings.Contains(out, "web") || !strings.Contains(out, "5 desired") || !strings.Contains(out, "Events:") {
		t.Errorf("describe:\n%s", out)
	}
}

func TestGetWatch(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var out strings.Builder
	w := lockedWriter{mu: &mu, w: &out}
	done := make(chan int)
	go func() {
		done <- Run(ctx, append(append([]string{}, e.base...), "get", "cm", "-w"), strings.NewReader(""), w, w)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.must("create", "configmap", fmt.Sprintf("c%d", time.Now().UnixNano()%1000000))
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		s := out.String()
		mu.Unlock()
		if strings.Contains(s, "DATA") && strings.Count(s, "\nc") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch printed no row:\n%s", s)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exit %d:\n%s", code, out.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConfigAndMisc(t *testing.T) {
	e := newEnv(t)
	cfg := filepath.Join(e.dir, "config")
	run := func(args ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		if code := Run(context.Background(), append([]string{"--kubeconfig", cfg}, args...), strings.NewReader(""), &out, &errOut); code != 0 {
			t.Fatalf("%v: %d %s", args, code, errOut.String())
		}
		return out.String()
	}
	os.WriteFile(cfg, nil, 0o600)
	run("config", "set-cluster", "dev", "--server", "http://"+e.srv.Address)
	run("config", "set-credentials", "admin", "--token", "secret")
	run("config", "set-context", "dev", "--cluster", "dev", "--user", "admin", "--namespace", "kube-system")
	if out := run("config", "use-context", "dev"); out != "Switched to context \"dev\".\n" {
		t.Errorf("use-context: %q", out)
	}
	if v := run("config", "view"); !strings.Contains(v, "current-context: dev") || strings.Contains(v, "secret") {
		t.Errorf("config view:\n%s", v)
	}
	// The context's namespace is used.
	var errOut strings.Builder
	Run(context.Background(), []string{"--kubeconfig", cfg, "get", "pods"}, strings.NewReader(""), &strings.Builder{}, &errOut)
	if errOut.String() != "No resources found in kube-system namespace.\n" {
		t.Errorf("get through config: %q", errOut.String())
	}
	if out := e.must("api-resources"); !strings.Contains(out, "deployments") || !strings.Contains(out, "apps/v1") || !strings.HasPrefix(out, "NAME") {
		t.Errorf("api-resources:\n%s", out)
	}
	if out := e.must("version"); !strings.Contains(out, "Client Version: ") || !strings.Contains(out, "Server Version: ") {
		t.Errorf("version:\n%s", out)
	}
	if out := e.must("completion", "bash"); !strings.Contains(out, "skiffctl") {
		t.Errorf("completion bash: %.100s", out)
	}
}
