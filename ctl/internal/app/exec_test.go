package app

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestExec(t *testing.T) {
	rt := &kubelettest.FakeExec{} // the runtime's side is not what is tested here
	e := newKubeletEnv(t, kubelettest.Options{Exec: rt.Exec})
	e.node("node-1", e.k.Port)
	e.pod("web", "node-1", "app")
	e.pod("multi", "node-1", "a", "b")
	e.pod("down", "node-1", "gone")

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
		{name: "cannot run", args: []string{"exec", "down", "--", "ls"},
			stderr: "Error from server (InternalError): Internal error occurred: error executing command in container: container \"gone\" of pod default/down is not running\n",
			code:   1, call: "default/down/gone [ls] stdin=false tty=false"},
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

// TestExecSecure: over TLS with client certificates and tokens, exec is
// authorized as "create pods/exec": the admin may, a read-only user may
// not.
func TestExecSecure(t *testing.T) {
	srv, run, admin := startSecure(t, "b0b,bob,1002\n", "default")
	ca := filepath.Join(srv.PKIDir, "ca.crt")
	// The kubelet serves TLS too (with a serving certificate of the test
	// PKI; the apiserver here does not verify kubelets').
	rt := &kubelettest.FakeExec{}
	k := kubelettest.Start(t, kubelettest.Options{Exec: rt.Exec,
		CertFile: filepath.Join(srv.PKIDir, "apiserver.crt"), KeyFile: filepath.Join(srv.PKIDir, "apiserver.key")})
	cs, err := client.New(client.Options{Server: []string{srv.URL}, CertificateAuthority: ca,
		ClientCertificate: admin[1], ClientKey: admin[3], QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node-1"}})
	if err != nil {
		t.Fatal(err)
	}
	node.Status = &corev1.NodeStatus{Addresses: []*corev1.NodeAddress{{Type: "InternalIP", Address: "127.0.0.1"}},
		DaemonEndpoints: &corev1.NodeDaemonEndpoints{KubeletEndpoint: &corev1.DaemonEndpoint{Port: int32(k.Port)}}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "web"},
		Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "app", Image: "busybox"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Pods("default").Bind(ctx, "web", "node-1"); err != nil {
		t.Fatal(err)
	}

	if out, errOut, code := run("over TLS\n", admin, "exec", "-i", "web", "--", "cat"); out != "over TLS\n" || errOut != "" || code != 0 {
		t.Errorf("admin exec: %q %q %d", out, errOut, code)
	}
	if out, errOut, code := run("", admin, "exec", "web", "--", "exit", "5"); out != "out\n" || code != 5 {
		t.Errorf("admin exec exit 5: %q %q %d", out, errOut, code)
	}
	before := rt.Last()
	want := `Error from server (Forbidden): pods "web" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace "default": No policy matched.` + "\n"
	if _, errOut, code := run("", []string{"--token", "b0b"}, "exec", "web", "--", "exit", "0"); errOut != want || code != 1 {
		t.Errorf("read-only bob exec: stderr %q code %d, want %q", errOut, code, want)
	}
	if rt.Last() != before {
		t.Errorf("the kubelet ran %q for a user without the right", rt.Last())
	}
}
