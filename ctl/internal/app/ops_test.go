package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// putStatus replaces an object's status over REST, as its controller or
// kubelet would.
func (e *logsEnv) putStatus(path string, status map[string]any) {
	e.t.Helper()
	obj := e.rest("GET", path, "")
	obj["status"] = status
	b, _ := json.Marshal(obj)
	e.rest("PUT", path+"/status", string(b))
}

// restEnv is newEnv with the REST helpers of logsEnv (no kubelet).
func restEnv(t *testing.T) *logsEnv {
	return &logsEnv{env: newEnv(t)}
}

func TestPatch(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	tests := []struct {
		args       []string
		want       string
		wantStderr string
	}{
		{[]string{"patch", "deploy", "web", "--type", "merge", "-p", `{"spec":{"replicas":3}}`}, "deployment.apps/web patched\n", ""},
		{[]string{"patch", "deploy/web", "--type=merge", "-p", `{"spec":{"replicas":3}}`}, "deployment.apps/web patched (no change)\n", ""},
		{[]string{"patch", "deploy", "web", "--type", "json", "-p", `[{"op":"replace","path":"/spec/replicas","value":4}]`}, "deployment.apps/web patched\n", ""},
		// YAML patches, and strategic merge (the default) merges containers by name.
		{[]string{"patch", "deploy", "web", "-p", "spec: {template: {spec: {containers: [{name: side, image: busybox}]}}}"}, "deployment.apps/web patched\n", ""},
		{[]string{"patch", "deploy", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.28"}]}}}}`}, "deployment.apps/web patched\n", ""},
		{[]string{"patch", "deploy", "web", "-p", `{"metadata":{"labels":{"tier":"front"}}}`, "-o", "jsonpath={.metadata.labels}"}, `{"app":"web","tier":"front"}`, ""},
		{[]string{"patch", "deploy", "web", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}}}`}, "deployment.apps/web patched\n", ""},
		{[]string{"patch", "deploy", "web", "--type", "json", "-p", `[{"op":"replace","path":"/spec/nope/x","value":4}]`}, "",
			"Error from server (BadRequest): the patch cannot be applied: replace operation does not apply: doc is missing path: /spec/nope/x: missing value\n"},
		{[]string{"patch", "deploy", "web", "--type", "merge", "-p", `{"spec":{"replicas":"x"}}`}, "", "Error from server (BadRequest): the patched object is not valid: spec.replicas: expected an integer, got \"x\"\n"},
		{[]string{"patch", "deploy", "web", "--type", "foo", "-p", `{}`}, "", "error: --type must be one of [json merge strategic], not \"foo\"\n"},
		{[]string{"patch", "deploy", "web"}, "", "error: must specify --patch or --patch-file containing the contents of the patch\n"},
		{[]string{"patch", "deploy", "nope", "--type", "merge", "-p", `{"spec":{}}`}, "", "Error from server (NotFound): deployments.apps \"nope\" not found\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if out != tt.want || errOut != tt.wantStderr || (code == 0) != (tt.wantStderr == "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q stderr %q", code, out, errOut, tt.want, tt.wantStderr)
			}
		})
	}
	got := e.must("get", "deploy", "web", "-o", `jsonpath={.spec.replicas} {range .spec.template.spec.containers[*]}{.name}={.image} {end}`)
	if want := "4 web=nginx:1.28 "; got != want {
		t.Errorf("after the patches: %q, want %q", got, want)
	}
	pf := e.file("patch.yaml", "spec:\n  replicas: 1\n")
	if out := e.must("patch", "deploy", "web", "--patch-file", pf); out != "deployment.apps/web patched\n" {
		t.Errorf("--patch-file: %q", out)
	}
}

func TestRun(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args       []string
		want       string
		wantStderr string
	}{
		{[]string{"run", "r1", "--image=busybox", "--restart=Never", "--env=A=1", "--env", "B=2", "--port=80", "--labels=app=r,tier=t", "--", "sleep", "10"}, "pod/r1 created\n", ""},
		{[]string{"run", "r2", "--image=busybox", "--command", "--", "sh", "-c", "echo hi"}, "pod/r2 created\n", ""},
		{[]string{"run", "r3", "--image=nginx:1.27", "-o", "name"}, "pod/r3\n", ""},
		{[]string{"run", "r2", "--image=busybox"}, "", "Error from server (AlreadyExists): pods \"r2\" already exists\n"},
		{[]string{"run", "r4"}, "", "error: required flag(s) \"image\" not set\n"},
		{[]string{"run", "r4", "--image=busybox", "--restart=Foo"}, "", "error: invalid restart policy: Foo\n"},
		{[]string{"run", "r4", "--image=busybox", "--rm"}, "", "error: --rm should only be used for attached containers\n"},
		// No kubelet here: the pod never starts, and --rm deletes it.
		{[]string{"run", "stuck", "--image=busybox", "--restart=Never", "--rm", "-i", "--pod-running-timeout=1s"}, "pod \"stuck\" deleted\n",
			"error: timed out waiting for the condition: pod default/stuck did not start within --pod-running-timeout=1s\n"},
		{[]string{"run", "r4", "--image=busybox", "--dry-run=client", "-o", "yaml"},
			"apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    run: r4\n  name: r4\nspec:\n  containers:\n  - image: busybox\n    name: r4\n    resources: {}\n  dnsPolicy: ClusterFirst\n  restartPolicy: Always\n", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if out != tt.want || errOut != tt.wantStderr || (code == 0) != (tt.wantStderr == "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q stderr %q", code, out, errOut, tt.want, tt.wantStderr)
			}
		})
	}
	if _, errOut, _ := e.run("get", "pod", "stuck"); errOut != "Error from server (NotFound): pods \"stuck\" not found\n" {
		t.Errorf("run --rm left its pod: %q", errOut)
	}
	spec := `{.metadata.labels} {.spec.restartPolicy} {range .spec.containers[*]}{.name} {.image} {.command} {.args} {.env} {.ports}{end}`
	for _, tc := range []struct{ pod, want string }{
		{"r1", `{"app":"r","tier":"t"} Never r1 busybox  ["sleep","10"] [{"name":"A","value":"1"},{"name":"B","value":"2"}] [{"containerPort":80,"protocol":"TCP"}]`},
		{"r2", `{"run":"r2"} Always r2 busybox ["sh","-c","echo hi"]   `},
	} {
		if got := e.must("get", "pod", tc.pod, "-o", "jsonpath="+spec); got != tc.want {
			t.Errorf("pod %s:\n got %s\nwant %s", tc.pod, got, tc.want)
		}
	}
	if _, errOut, _ := e.run("get", "pod", "r4"); !strings.Contains(errOut, "NotFound") {
		t.Errorf("--dry-run=client created the pod: %q", errOut)
	}
}

// TestRunRmAttached: run --rm -i waits for the pod, prints its whole log
// as the container writes it, and deletes the pod once it ended.
func TestRunRmAttached(t *testing.T) {
	e := newLogsEnv(t)
	e.node("node-1", e.k.Port)
	r := e.start("run", "once", "--image=busybox", "--restart=Never", "--rm", "-i", "--", "date")
	path := "/api/v1/namespaces/default/pods/once"
	var uid string
	deadline := time.Now().Add(30 * time.Second)
	for uid == "" {
		if out, _, code := e.run("get", "pod", "once", "-o", "jsonpath={.metadata.uid}"); code == 0 {
			uid = out
		} else if time.Now().After(deadline) {
			t.Fatal("run did not create the pod")
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	e.rest("POST", path+"/binding", `{"metadata":{"name":"once"},"target":{"kind":"Node","name":"node-1"}}`)
	e.k.WriteLog(t, "default", "once", uid, "once", 0, "hello")
	e.putStatus(path, map[string]any{"phase": "Running"})
	r.waitFor("hello\n")
	e.k.WriteLog(t, "default", "once", uid, "once", 0, "bye")
	e.putStatus(path, map[string]any{"phase": "Succeeded"})
	if code := r.wait(); code != 0 {
		out, errOut := r.output()
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, errOut := r.output(); out != "hello\nbye\npod \"once\" deleted\n" || errOut != "" {
		t.Errorf("stdout %q, stderr %q", out, errOut)
	}
	if _, errOut, _ := e.run("get", "pod", "once"); errOut != "Error from server (NotFound): pods \"once\" not found\n" {
		t.Errorf("pod not deleted: %q", errOut)
	}
}

func TestWait(t *testing.T) {
	e := restEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	e.must("apply", "-f", e.file("pods.yaml", fmt.Sprintf(podManifest, "a", "x")+"---\n"+fmt.Sprintf(podManifest, "b", "x")))
	tests := []struct {
		args       []string
		want       string
		wantStderr string
	}{
		{[]string{"wait", "--for=jsonpath={.spec.replicas}=2", "deploy/web"}, "deployment.apps/web condition met\n", ""},
		{[]string{"wait", "--for=jsonpath=.metadata.labels.app=x", "pod", "a", "b"}, "pod/a condition met\npod/b condition met\n", ""},
		{[]string{"wait", "--for=jsonpath={.spec.replicas}", "deployment", "web"}, "deployment.apps/web condition met\n", ""},
		{[]string{"wait", "--for=create", "pod/a"}, "pod/a condition met\n", ""},
		{[]string{"wait", "--for=delete", "pod/nope"}, "", ""},
		{[]string{"wait", "--for=condition=Available", "deploy/web", "--timeout=1s"}, "", "error: timed out waiting for the condition on deployments/web\n"},
		{[]string{"wait", "--for=jsonpath={.spec.replicas}=5", "deploy/web", "--timeout=0"}, "", "error: timed out waiting for the condition on deployments/web\n"},
		{[]string{"wait", "--for=condition=Ready", "pod", "--all", "--timeout=1s"}, "", "timed out waiting for the condition on pods/a\ntimed out waiting for the condition on pods/b\n"},
		{[]string{"wait", "--for=condition=Ready", "pod/nope"}, "", "Error from server (NotFound): pods \"nope\" not found\n"},
		{[]string{"wait", "--for=foo", "pod/a"}, "", "error: unrecognized condition: \"foo\"\n"},
		{[]string{"wait", "pod/a"}, "", "error: unrecognized condition: \"\"\n"},
		{[]string{"wait", "--for=condition=Ready", "pod"}, "", "error: resource(s) were provided, but no name was specified\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if out != tt.want || errOut != tt.wantStderr || (code == 0) != (tt.wantStderr == "") {
				t.Errorf("exit %d, stdout %q, stderr %q; want stdout %q stderr %q", code, out, errOut, tt.want, tt.wantStderr)
			}
		})
	}

	// Conditions met while waiting.
	avail := e.start("wait", "--for=condition=Available", "deploy/web", "--timeout=90s")
	notReady := e.start("wait", "--for=condition=Ready=false", "pod", "-l", "app=x", "--timeout=90s")
	gone := e.start("wait", "--for=delete", "pod/a", "--timeout=90s")
	created := e.start("wait", "--for=create", "pod/later", "--timeout=90s")
	e.putStatus("/apis/apps/v1/namespaces/default/deployments/web", map[string]any{
		"conditions": []any{map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}}})
	for _, p := range []string{"a", "b"} {
		e.putStatus("/api/v1/namespaces/default/pods/"+p, map[string]any{"phase": "Pending",
			"conditions": []any{map[string]any{"type": "Ready", "status": "False"}}})
	}
	if code := notReady.wait(); code != 0 {
		t.Errorf("wait --for=condition=Ready=false: exit %d", code)
	}
	e.must("delete", "pod", "a")
	e.must("run", "later", "--image=busybox")
	for _, w := range []struct {
		r    *running
		want string
	}{
		{avail, "deployment.apps/web condition met\n"},
		{notReady, "pod/a condition met\npod/b condition met\n"},
		{gone, "pod/a condition met\n"},
		{created, "pod/later condition met\n"},
	} {
		code := w.r.wait()
		out, errOut := w.r.output()
		if code != 0 || out != w.want || errOut != "" {
			t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errOut, w.want)
		}
	}
}

var diffHeader = regexp.MustCompile(`(?m)^(diff -u -N|---|\+\+\+) .*$`)

func TestDiff(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment))
	// The live object applied back: no difference, exit 0.
	live := e.file("live.yaml", e.must("get", "deploy", "web", "-o", "yaml"))
	if out, errOut, code := e.run("diff", "-f", live); code != 0 || out != "" || errOut != "" {
		t.Errorf("diff of the live object: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, errOut, code := e.run("diff", "-f", e.file("same.yaml", webDeployment)); code != 0 || out != "" {
		t.Errorf("diff of the applied manifest: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	changed := strings.Replace(strings.Replace(webDeployment, "replicas: 2", "replicas: 3", 1), "nginx:1.27", "nginx:1.28", 1) +
		"---\n" + fmt.Sprintf(podManifest, "new", "nw")
	out, errOut, code := e.run("diff", "-f", e.file("changed.yaml", changed))
	if code != 1 || errOut != "" {
		t.Fatalf("diff with changes: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	for _, re := range []string{
		`^diff -u -N /tmp/LIVE-\d+/apps\.v1\.Deployment\.default\.web /tmp/MERGED-\d+/apps\.v1\.Deployment\.default\.web\n`,
		`\n--- /tmp/LIVE-\d+/apps\.v1\.Deployment\.default\.web\t`,
		`\n\+\+\+ /tmp/MERGED-\d+/apps\.v1\.Deployment\.default\.web\t`,
		`\ndiff -u -N /tmp/LIVE-\d+/v1\.Pod\.default\.new /tmp/MERGED-\d+/v1\.Pod\.default\.new\n`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("diff output does not match %s:\n%s", re, out)
		}
	}
	body := diffHeader.ReplaceAllString(out, "$1 H")
	for _, want := range []string{
		"@@ -11,7 +11,7 @@\n   uid: ", "-  replicas: 2\n+  replicas: 3\n", "-      - image: nginx:1.27\n+      - image: nginx:1.28\n",
		// What the server would store: generation moves with the spec.
		"\n-  generation: 1\n+  generation: 2\n",
		// A new object is the server's dry-run create: its defaults, uid and status show.
		"@@ -0,0 +1,23 @@\n+apiVersion: v1\n+kind: Pod\n+metadata:\n+  creationTimestamp: ",
		"\n+  generation: 1\n+  labels:\n+    app: nw\n+  name: new\n+  namespace: default\n+  uid: ",
		"\n+spec:\n+  containers:\n+  - image: busybox\n+    imagePullPolicy: Always\n+    name: c\n+    terminationMessagePath: /dev/termination-log\n" +
			"+  dnsPolicy: ClusterFirst\n+  enableServiceLinks: true\n+  restartPolicy: Always\n+  schedulerName: default-scheduler\n" +
			"+  terminationGracePeriodSeconds: 30\n+status:\n+  phase: Pending\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("diff output lacks %q:\n%s", want, body)
		}
	}
	// The server validates what it would store: a refused change is an error, not a diff.
	invalid := strings.Replace(webDeployment, "replicas: 2", "replicas: -1", 1)
	if out, errOut, code := e.run("diff", "-f", e.file("invalid.yaml", invalid)); code != 2 || out != "" ||
		!strings.Contains(errOut, "spec.replicas: Invalid value: -1") {
		t.Errorf("diff of an invalid change: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := e.run("diff"); code != 2 || errOut != "error: must specify one of -f and -k\n" {
		t.Errorf("diff without -f: exit %d, stderr %q", code, errOut)
	}
	// Nothing was changed by diff, and its folders are gone.
	if got := e.must("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("diff changed the deployment: replicas %s", got)
	}
	if _, _, code := e.run("get", "pod", "new"); code == 0 {
		t.Error("diff created pod new")
	}
	for _, m := range regexp.MustCompile(`/tmp/(LIVE|MERGED)-\d+`).FindAllString(out, -1) {
		if _, err := os.Stat(m); !os.IsNotExist(err) {
			t.Errorf("%s left behind", m)
		}
	}
}

// editor writes an EDITOR script running cmds on the file ($1).
func (e *env) editor(name, cmds string) string {
	e.t.Helper()
	p := e.file(name, "#!/bin/sh\n"+cmds+"\n")
	if err := os.Chmod(p, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func TestEdit(t *testing.T) {
	e := newEnv(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("KUBE_EDITOR", "")
	e.must("apply", "-f", e.file("web.yaml", webDeployment))

	t.Setenv("EDITOR", e.editor("grow.sh", `grep -q "^# Please edit the object below" "$1" && sed -i "s/replicas: 2/replicas: 5/" "$1"`))
	if out, errOut, code := e.run("edit", "deploy", "web"); code != 0 || out != "deployment.apps/web edited\n" || errOut != "" {
		t.Fatalf("edit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := e.must("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("replicas after edit: %s", got)
	}

	t.Setenv("EDITOR", e.editor("json.sh", `grep -q '^    "kind": "Deployment",$' "$1" && sed -i '0,/"app": "web"$/s//"app": "web", "json": "edited"/' "$1"`))
	if out, errOut, code := e.run("edit", "deploy", "web", "-o", "json"); code != 0 || out != "deployment.apps/web edited\n" {
		t.Errorf("edit -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := e.must("get", "deploy", "web", "-o", "jsonpath={.metadata.labels.json}"); got != "edited" {
		t.Errorf("label after edit -o json: %q", got)
	}
	if _, errOut, code := e.run("edit", "deploy", "web", "-o", "xml"); code != 1 || errOut != "error: the flag 'output' must be one of yaml|json\n" {
		t.Errorf("edit -o xml: exit %d, stderr %q", code, errOut)
	}

	t.Setenv("EDITOR", e.editor("noop.sh", "true"))
	if out, errOut, code := e.run("edit", "deploy/web"); code != 0 || out != "" || errOut != "Edit cancelled, no changes made.\n" {
		t.Errorf("unchanged edit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	t.Setenv("EDITOR", e.editor("empty.sh", `: > "$1"`))
	if out, errOut, code := e.run("edit", "deploy/web"); code != 0 || out != "" || errOut != "Edit cancelled, saved file was empty.\n" {
		t.Errorf("emptied edit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// KUBE_EDITOR wins over EDITOR.
	t.Setenv("KUBE_EDITOR", e.editor("label.sh", `sed -i 's/^    app: web$/    app: web\n    edited: "yes"/' "$1"`))
	if out, _, code := e.run("edit", "deployment", "web"); code != 0 || out != "deployment.apps/web edited\n" {
		t.Errorf("KUBE_EDITOR edit: exit %d, stdout %q", code, out)
	}
	t.Setenv("KUBE_EDITOR", "")
	if got := e.must("get", "deploy", "web", "-o", "jsonpath={.metadata.labels.edited}"); got != "yes" {
		t.Errorf("label after KUBE_EDITOR edit: %q", got)
	}

	// An invalid edit reopens the file with the reason on top; saved
	// again unchanged, the edit is cancelled and the file kept.
	log := filepath.Join(e.dir, "headers.log")
	t.Setenv("EDITOR", e.editor("bad.sh", `grep "^# The edited file" "$1" >> `+log+`; sed -i "s/replicas: .*/replicas: lots/" "$1"`))
	out, errOut, code := e.run("edit", "deploy", "web")
	m := regexp.MustCompile(`^A copy of your changes has been stored to "(` + regexp.QuoteMeta(tmp) + `/skiffctl-edit-\d+\.yaml)"\nerror: Edit cancelled, no valid changes were saved\.\n$`).FindStringSubmatch(errOut)
	if code != 1 || out != "" || m == nil {
		t.Fatalf("invalid edit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	kept, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(kept), "\n  replicas: lots\n") || !strings.Contains(string(kept), "# The edited file had a syntax error: ") {
		t.Errorf("kept file %s (%v):\n%s", m[1], err, kept)
	}
	if h, _ := os.ReadFile(log); strings.Count(string(h), "# The edited file had a syntax error: ") != 1 {
		t.Errorf("the reopened file's header: %q", h)
	}
	if got := e.must("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); got != "5" {
		t.Errorf("replicas after the invalid edit: %s", got)
	}

	// An edit the apiserver refuses (a new selector label) is reopened with
	// its reason on top.
	t.Setenv("EDITOR", e.editor("refused.sh", `grep -q '^# deployments.apps "web" was not valid:$' "$1" || sed -i '0,/"app": "web"$/s//"app": "web", "x": "y"/' "$1"`))
	out, errOut, code = e.run("edit", "deploy", "web", "-o", "json")
	m = regexp.MustCompile(`^error: deployments\.apps "web" is invalid\nA copy of your changes has been stored to "(` + regexp.QuoteMeta(tmp) + `/skiffctl-edit-\d+\.json)"\nerror: Edit cancelled, no valid changes were saved\.\n$`).FindStringSubmatch(errOut)
	if code != 1 || out != "" || m == nil {
		t.Fatalf("refused edit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if kept, _ := os.ReadFile(m[1]); !strings.Contains(string(kept), "#\n# deployments.apps \"web\" was not valid:\n# * ") {
		t.Errorf("kept file lacks the reason:\n%s", kept)
	}

	// A conflict (the object changed while in the editor) keeps the file.
	t.Setenv("EDITOR", e.editor("race2.sh", `sed -i "s/replicas: 5/replicas: 6/" "$1"; touch `+filepath.Join(e.dir, "edited")+`; while [ ! -e `+filepath.Join(e.dir, "go")+` ]; do sleep 0.05; done`))
	r := e.start("edit", "deploy", "web")
	for deadline := time.Now().Add(30 * time.Second); ; {
		if _, err := os.Stat(filepath.Join(e.dir, "edited")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the editor did not run")
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.must("label", "deploy", "web", "meanwhile=1")
	os.WriteFile(filepath.Join(e.dir, "go"), nil, 0o644)
	if code := r.wait(); code != 1 {
		t.Errorf("conflicting edit: exit %d", code)
	}
	_, errOut = r.output()
	m = regexp.MustCompile(`^error: deployments\.apps "web" could not be patched: Error from server \(Conflict\): .*\nYou can run ` + "`skiffctl apply -f (" + regexp.QuoteMeta(tmp) + `/skiffctl-edit-\d+\.yaml)` + "`" + ` to try this update again\.\n$`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("conflicting edit: stderr %q", errOut)
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Errorf("the file of the conflicting edit is gone: %v", err)
	}
}
