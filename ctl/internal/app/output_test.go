package app

import (
	"fmt"
	"strings"
	"testing"
)

const headlessService = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
spec:
  clusterIP: None
  selector:
    app: web
  ports:
  - port: 80
`

// outputEnv is an apiserver holding deployment web, headless service web
// and pods a (app=x), b (app=z) and c (app=m, tier=db).
func outputEnv(t *testing.T) *env {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment+"---\n"+headlessService))
	pods := fmt.Sprintf(podManifest, "a", "x") + "---\n" + fmt.Sprintf(podManifest, "b", "z") + "---\n" +
		strings.Replace(fmt.Sprintf(podManifest, "c", "m"), "app: m\n", "app: m\n    tier: db\n", 1)
	e.must("apply", "-f", e.file("pods.yaml", pods))
	return e
}

// TestGetOutputFormats: -o jsonpath, custom-columns, go-template (and
// their -file forms), --sort-by, -L and --show-labels print what kubectl
// prints for the same objects.
func TestGetOutputFormats(t *testing.T) {
	e := outputEnv(t)
	jp := e.file("names.jsonpath", `{range .items[*]}{.metadata.name}{","}{end}`)
	cc := e.file("cols.txt", "NAME          IMAGE\n.metadata.name   {.spec.containers[0].image}\n")
	gt := e.file("names.tmpl", `{{range .items}}{{.metadata.name}}={{index .metadata.labels "app"}} {{end}}`)

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"}, "2"},
		{[]string{"get", "deploy/web", "-o", `jsonpath={.metadata.name}{"\n"}`}, "web\n"},
		{[]string{"get", "pods", "-o", "jsonpath={.items[*].metadata.name}"}, "a b c"},
		{[]string{"get", "pods", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\t"}{.metadata.labels.app}{"\n"}{end}`}, "a\tx\nb\tz\nc\tm\n"},
		{[]string{"get", "pods", "-o", `jsonpath={.items[?(@.metadata.labels.app=="z")].metadata.name}`}, "b"},
		{[]string{"get", "pods", "-l", "tier=db", "-o", `jsonpath={.items[0].metadata.labels}`}, `{"app":"m","tier":"db"}`},
		// One named object is itself; several (or a list) are a List.
		{[]string{"get", "pod", "a", "-o", "jsonpath={.kind}"}, "Pod"},
		{[]string{"get", "pod", "a", "b", "-o", "jsonpath={.kind} {.items[*].kind}"}, "List Pod Pod"},
		{[]string{"get", "deploy,svc", "-o", "jsonpath={.items[*].kind}"}, "Deployment Service"},
		{[]string{"get", "pods", "-o", "jsonpath-file=" + jp}, "a,b,c,"},
		{[]string{"get", "pods", "--template", "{{len .items}}"}, "3"},
		// A missing key prints nothing unless --allow-missing-template-keys=false.
		{[]string{"get", "deploy", "web", "-o", "jsonpath={.foo}"}, ""},
		{[]string{"get", "pods", "-n", "empty", "-o", "jsonpath={.items[*].metadata.name}"}, ""},
		{[]string{"get", "pods", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,NODE:.spec.nodeName,CTR:{.spec.containers[*].name}"},
			"NAME   APP   NODE     CTR\na      x     <none>   c\nb      z     <none>   c\nc      m     <none>   c\n"},
		{[]string{"get", "pod", "a", "-o", "custom-columns=NAME:metadata.name", "--no-headers"}, "a\n"},
		{[]string{"get", "pods", "-o", "custom-columns-file=" + cc}, "NAME   IMAGE\na      busybox\nb      busybox\nc      busybox\n"},
		{[]string{"get", "pods", "-o", `go-template={{range .items}}{{.metadata.name}}{{"\n"}}{{end}}`}, "a\nb\nc\n"},
		{[]string{"get", "pods", "-o", "go-template-file=" + gt}, "a=x b=z c=m "},
		{[]string{"get", "deploy", "web", "-o", `go-template={{.spec.nothing}}`}, "<no value>"},
		{[]string{"get", "deploy", "web", "-o", `go-template={{if exists . "spec" "replicas"}}yes{{end}}`}, "yes"},
		// --sort-by: by the label app (m, x, z); objects without the field first.
		{[]string{"get", "pods", "--sort-by=.metadata.labels.app", "-o", "name"}, "pod/c\npod/a\npod/b\n"},
		{[]string{"get", "pods", "--sort-by={.metadata.labels.tier}", "-o", "name"}, "pod/a\npod/b\npod/c\n"},
		{[]string{"get", "pods", "--sort-by=.metadata.labels.app", "-o", "jsonpath={.items[*].metadata.name}"}, "c a b"},
		{[]string{"get", "pods", "--sort-by=.metadata.labels.app", "--no-headers"},
			"c     0/1   Pending   0     AGE\na     0/1   Pending   0     AGE\nb     0/1   Pending   0     AGE\n"},
		// -L and --show-labels, in kubectl's order.
		{[]string{"get", "pods", "-L", "app", "-L", "tier,example.com/none", "--show-labels"},
			"NAME   READY   STATUS    RESTARTS   AGE   APP   TIER   NONE   LABELS\n" +
				"a      0/1     Pending   0          AGE   x                   app=x\n" +
				"b      0/1     Pending   0          AGE   z                   app=z\n" +
				"c      0/1     Pending   0          AGE   m     db            app=m,tier=db\n"},
		{[]string{"get", "deploy", "--label-columns=app"}, "NAME   READY   UP-TO-DATE   AVAILABLE   AGE   APP\nweb    0/2     0            0           AGE   web\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			got := out
			if strings.Contains(tt.want, "AGE") {
				got = normAge(out)
			}
			if got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestGetAll: get all prints each kind of kubectl's "all" category that
// has objects as its own table, names prefixed with the kind, a blank
// line between; comma lists and TYPE/NAME lists do the same.
func TestGetAll(t *testing.T) {
	e := outputEnv(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "all"}, `NAME    READY   STATUS    RESTARTS   AGE
pod/a   0/1     Pending   0          AGE
pod/b   0/1     Pending   0          AGE
pod/c   0/1     Pending   0          AGE

NAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/web   ClusterIP   None         <none>        80/TCP    AGE

NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   0/2     0            0           AGE
`},
		{[]string{"get", "all", "-o", "name"}, "pod/a\npod/b\npod/c\nservice/web\ndeployment.apps/web\n"},
		{[]string{"get", "deploy,svc"}, `NAME                  READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/web   0/2     0            0           AGE

NAME          TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE
service/web   ClusterIP   None         <none>        80/TCP    AGE
`},
		// Several kinds asked for, one found: no prefix, as kubectl.
		{[]string{"get", "deploy,cm"}, "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    0/2     0            0           AGE\n"},
		{[]string{"get", "pods", "a", "c"}, "NAME   READY   STATUS    RESTARTS   AGE\na      0/1     Pending   0          AGE\nc      0/1     Pending   0          AGE\n"},
		{[]string{"get", "pod/b", "deploy/web", "--no-headers"}, "pod/b   0/1   Pending   0     AGE\ndeployment.apps/web   0/2   0     0     AGE\n"},
		{[]string{"get", "all", "-l", "app=z", "-o", "custom-columns=KIND:.kind,NAME:.metadata.name"}, "KIND   NAME\nPod    b\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if got := normAge(out); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	if _, errOut, code := e.run("get", "all", "-n", "empty"); code != 0 || errOut != "No resources found in empty namespace.\n" {
		t.Errorf("get all in an empty namespace: exit %d, stderr %q", code, errOut)
	}
}

// TestGetOutputErrors: bad templates and sort fields are refused with
// kubectl's messages, before anything is printed.
func TestGetOutputErrors(t *testing.T) {
	e := outputEnv(t)
	tests := []struct {
		args       []string
		wantPrefix string
	}{
		{[]string{"get", "deploy", "web", "-o", "jsonpath={.spec.replicas"}, "error: error parsing jsonpath {.spec.replicas, unclosed action\n"},
		{[]string{"get", "deploy", "web", "-o", "jsonpath={.foo}", "--allow-missing-template-keys=false"},
			"error: error executing jsonpath \"{.foo}\": Error executing template: foo is not found. Printing more information for debugging the template:\n" +
				"\ttemplate was:\n\t\t{.foo}\n\tobject given to jsonpath engine was:\n\t\tmap[string]interface {}{\"apiVersion\":\"apps/v1\", \"kind\":\"Deployment\", \"metadata\":map[string]interface {}{"},
		{[]string{"get", "pods", "-o", "jsonpath"}, "error: template format specified but no template given\n"},
		{[]string{"get", "pods", "-o", "jsonpath-file=/nonexistent"}, "error: error reading --template /nonexistent, open /nonexistent: no such file or directory\n"},
		{[]string{"get", "pods", "-o", "go-template={{.items"}, "error: error parsing template {{.items, template: output:1: unclosed action\n"},
		{[]string{"get", "pods", "-o", "custom-columns=NAME"}, "error: unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>\n"},
		{[]string{"get", "pods", "-o", "custom-columns=A:{.x"}, "error: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'\n"},
		{[]string{"get", "pods", "--sort-by=.foo"}, "error: couldn't find any field with path \"{.foo}\" in the list of objects\n"},
		{[]string{"get", "pods", "-o", "xml"}, "error: unable to match a printer suitable for the output format \"xml\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if code != 1 || out != "" || !strings.HasPrefix(errOut, tt.wantPrefix) {
				t.Errorf("exit %d, stdout %q, stderr\n%q\nwant stderr starting with\n%q", code, out, errOut, tt.wantPrefix)
			}
		})
	}
}
