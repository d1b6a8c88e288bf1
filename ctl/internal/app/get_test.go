package app

import (
	"fmt"
	"strings"
	"testing"
)

func TestGetTables(t *testing.T) {
	e := newEnv(t)
	e.must("apply", "-f", e.file("web.yaml", webDeployment+"---\n"+webService))
	e.must("apply", "-f", e.file("pods.yaml", fmt.Sprintf(podManifest, "a", "x")+"---\n"+fmt.Sprintf(podManifest, "b", "z")))
	e.must("apply", "-f", e.file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '1', b: '2'}\n"))

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get", "pods"}, "NAME   READY   STATUS    RESTARTS   AGE\na      0/1     Pending   0          AGE\nb      0/1     Pending   0          AGE\n"},
		{[]string{"get", "po", "-l", "app=x"}, "NAME   READY   STATUS    RESTARTS   AGE\na      0/1     Pending   0          AGE\n"},
		{[]string{"get", "po", "-o", "wide", "--field-selector", "metadata.name=b"}, "NAME   READY   STATUS    RESTARTS   AGE   IP       NODE     NOMINATED NODE   READINESS GATES\nb      0/1     Pending   0          AGE   <none>   <none>   <none>           <none>\n"},
		{[]string{"get", "deploy"}, "NAME   READY   UP-TO-DATE   AVAILABLE   AGE\nweb    0/2     0            0           AGE\n"},
		{[]string{"get", "cm", "cfg"}, "NAME   DATA   AGE\ncfg    2      AGE\n"},
		{[]string{"get", "cm", "-A"}, "NAMESPACE   NAME   DATA   AGE\ndefault     cfg    2      AGE\n"},
		{[]string{"get", "pod/a", "-o", "name"}, "pod/a\n"},
		{[]string{"get", "deployments.apps", "-o", "name"}, "deployment.apps/web\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := e.must(tt.args...)
			if got := normAge(out); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}

	out := e.must("get", "svc", "web")
	if !strings.Contains(out, "NodePort") || !strings.Contains(out, "80:30080/TCP") || !strings.HasPrefix(out, "NAME   TYPE       CLUSTER-IP") {
		t.Errorf("get svc web:\n%s", out)
	}
}

func TestGetEmptyAndErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args       []string
		wantStderr string
		wantCode   int
	}{
		{[]string{"get", "pods"}, "No resources found in default namespace.\n", 0},
		{[]string{"get", "pods", "-n", "other"}, "No resources found in other namespace.\n", 0},
		{[]string{"get", "nodes"}, "No resources found\n", 0},
		{[]string{"get", "pods", "x"}, "Error from server (NotFound): pods \"x\" not found\n", 1},
		{[]string{"get", "widgets"}, "error: the server doesn't have a resource type \"widgets\"\n", 1},
		{[]string{"get", "pods", "-o", "xml"}, "error: unable to match a printer suitable for the output format \"xml\", allowed formats are: custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,name,template,templatefile,wide,yaml\n", 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := e.run(tt.args...)
			if errOut != tt.wantStderr || code != tt.wantCode || out != "" {
				t.Errorf("got stdout %q stderr %q code %d, want stderr %q code %d", out, errOut, code, tt.wantStderr, tt.wantCode)
			}
		})
	}
}
