package app

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/apiserver/apiservertest"
)

var updateExplain = flag.Bool("update-explain", false, "rewrite testdata/explain/*.txt from skiffctl's output")

// TestExplain: skiffctl explain prints what the golden files hold, and
// what the real kubectl explain prints for the same apiserver, byte for
// byte.
func TestExplain(t *testing.T) {
	e := newEnv(t)
	k := apiservertest.NewKubectl(t, e.srv)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"pod.txt", []string{"pod"}},
		{"deployment.spec.strategy.txt", []string{"deployment.spec.strategy"}},
		{"service.spec.ports.txt", []string{"svc.spec.ports"}},
		{"configmap-recursive.txt", []string{"configmaps", "--recursive"}},
		{"deployment.spec.template.spec.containers.env-recursive.txt", []string{"deployment.spec.template.spec.containers.env", "--recursive"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out := e.must(append([]string{"explain"}, tc.args...)...)
			p := filepath.Join("testdata", "explain", tc.golden)
			if *updateExplain {
				if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("skiffctl explain %s:\n%s\nwant (%s):\n%s", strings.Join(tc.args, " "), out, p, want)
			}
			kout, kerr, err := k.Run("", append([]string{"explain"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if out != kout || kerr != "" {
				t.Errorf("skiffctl explain %s differs from kubectl's:\n%s\nkubectl:\n%s\nkubectl stderr: %s", strings.Join(tc.args, " "), out, kout, kerr)
			}
		})
	}
}

// TestExplainUnknownField fails as kubectl does: the header, then the
// error naming the last field of the path.
func TestExplainUnknownField(t *testing.T) {
	e := newEnv(t)
	out, errOut, code := e.run("explain", "pod.spec.containers.foo")
	if code != 1 || out != "KIND:       Pod\nVERSION:    v1\n\n" || errOut != "error: field \"foo\" does not exist\n" {
		t.Fatalf("skiffctl explain pod.spec.containers.foo: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	_, errOut, code = e.run("explain", "widgets")
	if code != 1 || errOut != "error: the server doesn't have a resource type \"widgets\"\n" {
		t.Fatalf("skiffctl explain widgets: exit %d, stderr %q", code, errOut)
	}
}
