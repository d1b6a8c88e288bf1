package test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/ctl/internal/app"
)

// TestVerbsMatchKubectl: run, wait and patch say what kubectl says, and
// run creates the pod kubectl creates.
func TestVerbsMatchKubectl(t *testing.T) {
	srv := apiservertest.Start(t, apiservertest.Options{})
	k := apiservertest.NewKubectl(t, srv)
	if _, errOut, err := k.Run(objects, "apply", "--validate=false", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply: %v %s", err, errOut)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SKIFF_CONFIG", "")
	skiffctl := func(args ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out, errOut bytes.Buffer
		code := app.Run(ctx, append([]string{"--server", srv.URL}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	// compare runs args with kubectl (NAME replaced by kname) and with
	// skiffctl (by sname), and compares their output with the names put back.
	compare := func(kname, sname string, args ...string) {
		t.Helper()
		with := func(name string) []string {
			out := make([]string, len(args))
			for i, a := range args {
				out[i] = strings.ReplaceAll(a, "NAME", name)
			}
			return out
		}
		want, wantErr, kerr := k.Run("", with(kname)...)
		got, gotErr, code := skiffctl(with(sname)...)
		norm := func(s, name string) string { return strings.TrimRight(strings.ReplaceAll(s, name, "NAME"), "\n") }
		if (kerr == nil) != (code == 0) || norm(got, sname) != norm(want, kname) || norm(gotErr, sname) != norm(wantErr, kname) {
			t.Errorf("%s:\nskiffctl: exit %d, stdout %q, stderr %q\nkubectl:  %v, stdout %q, stderr %q",
				strings.Join(args, " "), code, got, gotErr, kerr, want, wantErr)
		}
	}

	for i, args := range [][]string{
		{"run", "NAME", "--image=busybox"},
		{"run", "NAME", "--image=busybox", "--restart=Never", "--env=A=1", "--env", "B=2", "--port=8080", "--labels=app=r,tier=t", "--", "sleep", "10"},
		{"run", "NAME", "--image=busybox:1.36", "--restart=OnFailure", "--command", "--", "sh", "-c", "echo hi"},
	} {
		kname, sname := fmt.Sprint("k", i), fmt.Sprint("s", i)
		compare(kname, sname, args...)
		compare(kname, sname, "get", "pod", "NAME", "-o", "jsonpath={.metadata.labels} {.spec}")
	}

	compare("", "", "wait", "--for=jsonpath={.spec.replicas}=2", "deploy/web")
	compare("", "", "wait", "--for=jsonpath={.metadata.labels.app}=x", "pod", "a")
	compare("", "", "wait", "--for=condition=Available", "deploy/web", "--timeout=1s")
	compare("", "", "wait", "--for=delete", "pod/nope", "--timeout=1s")
	compare("", "", "wait", "--for=foo", "pod/a")
	compare("", "", "wait", "--for=condition=Ready", "pod", "a", "b", "--timeout=1s")
	compare("", "", "wait", "--for=condition=Ready", "pod", "-l", "app=zzz", "--timeout=1s")
	compare("", "", "wait", "--for=jsonpath={.spec.replicas}=2", "deploy/web", "pod/a", "--timeout=1s")
	compare("", "", "wait", "--for=condition=Ready", "pod/nope", "--timeout=1s")

	compare("", "", "patch", "deploy", "web", "--type", "merge", "-p", `{"spec":{"replicas":2}}`)
	compare("", "", "patch", "deploy", "web", "--type", "foo", "-p", `{}`)
	compare("", "", "patch", "deploy", "web")
	compare("", "", "patch", "deploy", "nope", "--type", "merge", "-p", `{"spec":{}}`)
	k.MustRun("patch", "deploy", "web", "--type", "merge", "-p", `{"spec":{"replicas":3}}`)
	if out, errOut, code := skiffctl("patch", "deploy", "web", "--type", "json", "-p", `[{"op":"replace","path":"/spec/replicas","value":4}]`); code != 0 || out != "deployment.apps/web patched\n" {
		t.Errorf("skiffctl patch after kubectl's: exit %d, %q %q", code, out, errOut)
	}
	compare("", "", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
}
