package app

import (
	"strings"
	"testing"

	"skiff.dev/kubelet/kubelettest"
)

func TestExec(t *testing.T) {
	rt := &kubelettest.FakeExec{} // the runtime's side is not what is tested here
	e := newKubeletEnv(t, kubelettest.Options{Exec: rt.Exec})
	e.node("node-1", e.k.Port)
	e.pod("web", "node-1", "app")
	e.pod("multi", "node-1", "a", "b")

	for _, c := range []struct {
		name           string
		stdin          string
		args           []string
		stdout, stderr string
		code           int
		call           string
	}{
		{name: "exit code and outputs", args: []string{"exec", "web", "--", "exit", "3"},
			stdout: "out\n", stderr: "err\ncommand terminated with exit code 3\n", code: 3, call: "default/web/app [exit 3] stdin=false tty=false"},
		{name: "success", args: []string{"exec", "pod/web", "--", "exit", "0"},
			stdout: "out\n", stderr: "err\n", call: "default/web/app [exit 0] stdin=false tty=false"},
		{name: "stdin", stdin: "hello\nthere\n", args: []string{"exec", "-i", "web", "--", "cat"},
			stdout: "hello\nthere\n", call: "default/web/app [cat] stdin=true tty=false"},
		{name: "container named", args: []string{"exec", "multi", "-c", "b", "--", "exit", "0"},
			stdout: "out\n", stderr: "err\n", call: "default/multi/b [exit 0] stdin=false tty=false"},
		{name: "tty without a terminal", args: []string{"exec", "-t", "web", "--", "exit", "0"},
			stdout: "out\n", stderr: "Unable to use a TTY - input is not a terminal or the right kind of file\nerr\n", call: "default/web/app [exit 0] stdin=false tty=false"},
		{name: "several containers, none named", args: []string{"exec", "multi", "--", "ls"},
			stderr: "Error from server (BadRequest): a container name must be specified for pod multi, choose one of: [a b]\n", code: 1},
		{name: "no such pod", args: []string{"exec", "nope", "--", "ls"},
			stderr: "Error from server (NotFound): pods \"nope\" not found\n", code: 1},
		{name: "no dash", args: []string{"exec", "web", "ls"},
			stderr: "error: exec needs a pod and a command after --: skiffctl exec POD -- COMMAND [ARG...]\n", code: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := rt.Last()
			out, errOut, code := e.runIn(c.stdin, c.args...)
			if out != c.stdout || code != c.code || errOut != c.stderr {
				t.Errorf("skiffctl %s: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					strings.Join(c.args, " "), code, out, errOut, c.code, c.stdout, c.stderr)
			}
			if got := rt.Last(); c.call != "" && got != c.call || c.call == "" && got != before {
				t.Errorf("kubelet ran %q, want %q", got, c.call)
			}
		})
	}
}
