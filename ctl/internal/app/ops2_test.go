package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// labelledPod creates a pod with labels, binds it to node unless empty,
// sets its phase (Ready when Running) and returns its uid.
func (e *logsEnv) labelledPod(name, node, phase string, labels map[string]string) string {
	e.t.Helper()
	m := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  labels:\n"
	for k, v := range labels {
		m += "    " + k + ": \"" + v + "\"\n"
	}
	m += "spec:\n  containers:\n  - name: app\n    image: busybox\n"
	e.must("apply", "-f", e.file(name+".yaml", m))
	path := "/api/v1/namespaces/default/pods/" + name
	if node != "" {
		e.rest("POST", path+"/binding", `{"metadata":{"name":"`+name+`"},"target":{"kind":"Node","name":"`+node+`"}}`)
	}
	st := map[string]any{"phase": phase}
	if phase == "Running" {
		st["conditions"] = []any{map[string]any{"type": "Ready", "status": "True"}}
	}
	e.putStatus(path, st)
	return e.rest("GET", path, "")["metadata"].(map[string]any)["uid"].(string)
}

// TestLogsOfWorkloads: logs TYPE/NAME picks the workload's first pod as
// kubectl does (scheduled, running and ready first) and says which when
// there are several.
func TestLogsOfWorkloads(t *testing.T) {
	e := newLogsEnv(t)
	e.node("node-1", e.k.Port)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	e.labelledPod("web-a", "", "Pending", map[string]string{"app": "web"})
	uid := e.labelledPod("web-b", "node-1", "Running", map[string]string{"app": "web"})
	e.labelledPod("web-c", "node-1", "Pending", map[string]string{"app": "web"})
	e.k.WriteLog(t, "default", "web-b", uid, "app", 0, "serving")

	e.must("apply", "-f", e.file("job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata: {name: mig}\nspec:\n  template:\n    spec:\n"+
		"      restartPolicy: Never\n      containers:\n      - {name: app, image: busybox}\n"))
	jobUID := e.must("get", "job", "mig", "-o", "jsonpath={.spec.selector.matchLabels.*}")
	uid = e.labelledPod("mig-1", "node-1", "Running", map[string]string{"batch.kubernetes.io/controller-uid": jobUID})
	e.k.WriteLog(t, "default", "mig-1", uid, "app", 0, "migrated")
	e.must("apply", "-f", e.file("empty.yaml", strings.ReplaceAll(webDeployment, "web", "empty")))
	e.must("apply", "-f", e.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"))

	tests := []struct {
		args               []string
		wantOut, wantError string
	}{
		{[]string{"logs", "deploy/web"}, "serving\n", "Found 3 pods, using pod/web-b\n"},
		{[]string{"logs", "deployment.apps/web", "--tail=1"}, "serving\n", "Found 3 pods, using pod/web-b\n"},
		{[]string{"logs", "job/mig"}, "migrated\n", ""},
		{[]string{"logs", "deploy/empty"}, "", "error: no pods found for deployment.apps/empty (selector app=empty)\n"},
		{[]string{"logs", "deploy/nope"}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
		{[]string{"logs", "cm/cfg"}, "", "error: cannot get the logs of a ConfigMap: name a pod or a deployment, replicaset, daemonset, job or service\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if out != tt.wantOut || errOut != tt.wantError || (code == 0) != (tt.wantOut != "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q, stderr %q", code, out, errOut, tt.wantOut, tt.wantError)
			}
		})
	}
}

// TestConfigDiscovery: with no flag, skiffctl reads ~/.skiff/config, else
// the first file of $KUBECONFIG, else ~/.kube/config (kubectl's files, with
// their preferences), and says how to set one up when there is none.
func TestConfigDiscovery(t *testing.T) {
	e := newEnv(t)
	home := os.Getenv("HOME")
	t.Setenv("KUBECONFIG", "")
	run := func(args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var out, errOut bytes.Buffer
		code := Run(ctx, args, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	kubeconfig := func(ns string) string {
		return "apiVersion: v1\nkind: Config\npreferences: {}\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: " + e.srv.URL +
			"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n    namespace: " + ns + "\nusers:\n- name: u\n  user: {}\n"
	}
	write := func(p, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	_, errOut, code := run("get", "pods")
	if want := "error: no cluster configured: ~/.skiff/config does not exist (nor $KUBECONFIG or ~/.kube/config). " +
		"Run `make up` for a local cluster (it writes ~/.skiff/config for the user who ran it), " +
		"or set one up with `skiffctl config set-cluster NAME --server=https://HOST:6443 --certificate-authority=CA_FILE`, " +
		"`skiffctl config set-context NAME --cluster=NAME` and `skiffctl config use-context NAME`, or pass --server\n"; code != 1 || errOut != want {
		t.Errorf("no config: exit %d, stderr %q", code, errOut)
	}

	kc := filepath.Join(e.dir, "kc")
	write(kc, kubeconfig("from-kubeconfig-env"))
	t.Setenv("KUBECONFIG", filepath.Join(e.dir, "missing")+string(os.PathListSeparator)+kc)
	if _, errOut, _ := run("get", "pods"); errOut != "No resources found in from-kubeconfig-env namespace.\n" {
		t.Errorf("$KUBECONFIG: stderr %q", errOut)
	}
	if out, errOut, code := run("config", "current-context"); code != 0 || out != "c\n" {
		t.Errorf("config current-context with $KUBECONFIG: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	write(filepath.Join(home, ".kube", "config"), kubeconfig("from-kube-config"))
	t.Setenv("KUBECONFIG", "")
	if _, errOut, _ := run("get", "pods"); errOut != "No resources found in from-kube-config namespace.\n" {
		t.Errorf("~/.kube/config: stderr %q", errOut)
	}
	// The config skiffctl config writes (and make up) wins.
	for _, args := range [][]string{
		{"config", "set-cluster", "local", "--server", e.srv.URL},
		{"config", "set-context", "local", "--cluster", "local", "--namespace", "from-skiff-config"},
		{"config", "use-context", "local"},
	} {
		if _, errOut, code := run(args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, ".kube", "config")); err != nil || string(b) != kubeconfig("from-kube-config") {
		t.Errorf("skiffctl config changed ~/.kube/config: %v\n%s", err, b)
	}
	t.Setenv("KUBECONFIG", kc)
	if out, _, _ := run("config", "current-context"); out != "local\n" {
		t.Errorf("config current-context with ~/.skiff/config: %q", out)
	}
	if _, errOut, _ := run("get", "pods"); errOut != "No resources found in from-skiff-config namespace.\n" {
		t.Errorf("~/.skiff/config: stderr %q", errOut)
	}
	if _, errOut, _ := run("get", "pods", "--kubeconfig", kc); errOut != "No resources found in from-kubeconfig-env namespace.\n" {
		t.Errorf("--kubeconfig: stderr %q", errOut)
	}
}
