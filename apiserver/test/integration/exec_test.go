package integration

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/apiserver/internal/pki"
	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/remotecommand"
)

// TestPodExec: the exec subresource reaches the kubelet of the pod's node
// over TLS with the apiserver's client certificate, and the streams and
// exit code come back through it.
func TestPodExec(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := pki.Generate(dir, pki.Options{}); err != nil {
		t.Fatal(err)
	}
	kubeletCrt, kubeletKey := issueCert(t, dir, "kubelet", pki.CertRequest{CommonName: "kubelet", Hosts: []string{"127.0.0.1"}, Usage: pki.ServerAuth})
	clientCrt, clientKey := issueCert(t, dir, "apiserver-kubelet-client",
		pki.CertRequest{CommonName: "skiff-apiserver-kubelet-client", Organization: []string{pki.MastersGroup}, Usage: pki.ClientAuth})
	ca := dir + "/ca.crt"
	rt := &kubelettest.FakeExec{} // the runtime's side is not what is tested here
	k := kubelettest.Start(t, kubelettest.Options{CertFile: kubeletCrt, KeyFile: kubeletKey, ClientCAFile: ca, Exec: rt.Exec})
	e := newEnv(t, apiservertest.Options{KubeletClientCert: clientCrt, KubeletClientKey: clientKey, KubeletCA: ca})
	ns := e.newNamespace(t, "exec")
	e.addNode(t, "node-1", "127.0.0.1", k.Port)
	e.addNode(t, "node-down", "127.0.0.1", closedPort(t))
	e.addPod(t, ns, "web", "node-1", "app")
	e.addPod(t, ns, "multi", "node-1", "a", "b")
	e.addPod(t, ns, "pending", "", "app")
	e.addPod(t, ns, "far", "node-down", "app")

	execURL := func(pod string, o remotecommand.Options) string {
		return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/namespaces/" + ns + "/pods/" + pod + "/exec?" + o.Query().Encode()
	}
	dialer := websocket.Dialer{Subprotocols: remotecommand.Protocols, HandshakeTimeout: 30 * time.Second}

	for _, c := range []struct {
		name           string
		pod            string
		opts           remotecommand.Options
		stdin          string
		code           int
		stdout, stderr string
		call           string
	}{
		{name: "exit code and outputs", pod: "web", opts: remotecommand.Options{Command: []string{"exit", "3"}, Stdout: true, Stderr: true},
			code: 3, stdout: "out\n", stderr: "err\n", call: ns + "/web/app [exit 3] stdin=false tty=false"},
		{name: "stdin", pod: "web", opts: remotecommand.Options{Command: []string{"cat"}, Stdin: true, Stdout: true},
			stdin: "through the apiserver\n", stdout: "through the apiserver\n", call: ns + "/web/app [cat] stdin=true tty=false"},
		{name: "container named, tty", pod: "multi", opts: remotecommand.Options{Container: "b", Command: []string{"exit", "0"}, Stdout: true, TTY: true},
			stdout: "out\n", call: ns + "/multi/b [exit 0] stdin=false tty=true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, resp, err := dialer.Dial(execURL(c.pod, c.opts), nil)
			if err != nil {
				body := ""
				if resp != nil {
					b, _ := io.ReadAll(resp.Body)
					body = string(b)
				}
				t.Fatalf("dial: %v %s", err, body)
			}
			var stdout, stderr bytes.Buffer
			s := remotecommand.ClientStreams{Stdout: &stdout, Stderr: &stderr}
			if c.opts.Stdin {
				s.Stdin = strings.NewReader(c.stdin)
			}
			code, err := remotecommand.Stream(ctxT(t), conn, s)
			if err != nil || code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
				t.Errorf("exec: %d %v stdout %q stderr %q; want %d %q %q", code, err, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
			}
			if got := rt.Last(); got != c.call {
				t.Errorf("kubelet ran %q, want %q", got, c.call)
			}
		})
	}

	for _, c := range []struct {
		name, pod string
		opts      remotecommand.Options
		code      int
		want      []string
	}{
		{"several containers, none named", "multi", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 400,
			[]string{"a container name must be specified for pod multi, choose one of: [a b]"}},
		{"not scheduled", "pending", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 400, []string{"not scheduled to a node yet"}},
		{"no such pod", "nope", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 404, []string{`pods \"nope\" not found`}},
		{"kubelet down", "far", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 503,
			[]string{`cannot reach the kubelet of node \"node-down\"`}},
		{"kubelet refuses the request", "web", remotecommand.Options{Stdout: true, Command: nil}, 400, []string{"at least one command"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, resp, err := dialer.Dial(execURL(c.pod, c.opts), nil)
			if err == nil || resp == nil {
				t.Fatalf("exec was accepted (%v)", err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code {
				t.Errorf("status %d %s, want %d", resp.StatusCode, b, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("body %s: want %q", b, w)
				}
			}
		})
	}

	// kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false asks for SPDY,
	// which Skiff does not speak: a clear 400 says so before the kubelet
	// is called.
	t.Run("SPDY", func(t *testing.T) {
		u := e.srv.URL + "/api/v1/namespaces/" + ns + "/pods/web/exec?" + remotecommand.Options{Command: []string{"ls"}, Stdout: true}.Query().Encode()
		req, _ := http.NewRequestWithContext(ctxT(t), http.MethodPost, u, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "SPDY/3.1")
		req.Header.Set("X-Stream-Protocol-Version", "v4.channel.k8s.io")
		before := rt.Last()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		want := "exec and port-forward speak the websocket protocols v5.channel.k8s.io and v4.channel.k8s.io: this request asks for an upgrade to SPDY/3.1 (SPDY is not supported"
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("SPDY exec: %d %s, want 400 and %q", resp.StatusCode, b, want)
		}
		if got := rt.Last(); got != before {
			t.Errorf("the kubelet ran %q", got)
		}
	})
}
