package integration

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// skiffctl builds the real skiffctl (from the workspace's ctl module) and
// returns a function running it against the test's apiserver.
func (e *env) skiffctl() func(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	bin := filepath.Join(e.t.TempDir(), "skiffctl")
	build := exec.CommandContext(e.ctx, "go", "build", "-o", bin, "skiff.dev/ctl/cmd/skiffctl")
	if out, err := build.CombinedOutput(); err != nil {
		e.t.Fatalf("building skiffctl (needs the go.work workspace): %v\n%s", err, out)
	}
	return func(args ...string) (string, string, int) {
		ctx, cancel := context.WithTimeout(e.ctx, 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"--server", e.srv.URL}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if err != nil {
			code = -1
			if x, ok := err.(*exec.ExitError); ok {
				code = x.ExitCode()
			}
		}
		return out.String(), errOut.String(), code
	}
}

// TestSkiffctlRolloutWithTheController drives a rollout with skiffctl
// against the real controllers: status, history and undo read what the
// deployment controller writes.
func TestSkiffctlRolloutWithTheController(t *testing.T) {
	e := newEnv(t)
	run := e.skiffctl()
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := run(args...)
		if code != 0 {
			t.Fatalf("skiffctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	startWorkloads(e)
	e.fakeKubelet("app=web", 100*time.Millisecond)
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, newDeployment("web", 3, "nginx:1.27")); err != nil {
		t.Fatal(err)
	}
	if out := must("rollout", "status", "deployment/web", "--timeout=80s"); !strings.HasSuffix(out, "deployment \"web\" successfully rolled out\n") {
		t.Errorf("rollout status:\n%s", out)
	}
	must("set", "image", "deployment/web", "web=nginx:1.28")
	must("annotate", "deployment/web", "kubernetes.io/change-cause=skiffctl set image deployment/web web=nginx:1.28")
	if out := must("rollout", "status", "deployment/web", "--timeout=80s"); !strings.HasSuffix(out, "deployment \"web\" successfully rolled out\n") {
		t.Errorf("rollout status after set image:\n%s", out)
	}
	e.waitRolledOut("web", "nginx:1.28")
	want := "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         skiffctl set image deployment/web web=nginx:1.28\n\n"
	e.eventually("history of two revisions", func() (bool, string) {
		out, _, _ := run("rollout", "history", "deployment/web")
		return out == want, out
	})

	if out := must("rollout", "undo", "deployment/web"); out != "deployment.apps/web rolled back\n" {
		t.Errorf("rollout undo: %q", out)
	}
	if out := must("rollout", "status", "deployment/web", "--timeout=80s"); !strings.HasSuffix(out, "deployment \"web\" successfully rolled out\n") {
		t.Errorf("rollout status after undo:\n%s", out)
	}
	e.waitRolledOut("web", "nginx:1.27")
	// Revision 1 came back as revision 3, as with Kubernetes.
	want = "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         skiffctl set image deployment/web web=nginx:1.28\n3         <none>\n\n"
	e.eventually("history after undo", func() (bool, string) {
		out, _, _ := run("rollout", "history", "deployment/web")
		return out == want, out
	})
	if out := must("rollout", "status", "deployment/web", "--revision=3", "--watch=false"); out != "deployment \"web\" successfully rolled out\n" {
		t.Errorf("rollout status --revision=3: %q", out)
	}
	// The events tell the story.
	out := must("get", "events")
	for _, s := range []string{"ScalingReplicaSet", "Scaled up replica set web-", "SuccessfulCreate", "Created pod: web-"} {
		if !strings.Contains(out, s) {
			t.Errorf("get events lacks %q:\n%s", s, out)
		}
	}
}
