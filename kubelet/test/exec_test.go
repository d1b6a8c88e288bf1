package test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/kubelet/internal/testutil"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/remotecommand"
)

// TestExec: `skiffctl exec`'s path into a real pod: the client's Exec
// through the apiserver's pods/exec to the daemon's kubelet API, which
// runs the command in the container through containerd, with stdin,
// stdout, stderr, a terminal and the exit code; the kubelet's own refusals
// in Kubernetes' words; and an exec whose caller goes away is killed.
func TestExec(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonOptions{node: "node-e", containerdNS: "ske-exec", netNSPrefix: "ske-x", podCIDR: "10.250.4.0/24"})
	pod := testPod("web", testServer("app"), testServer("done", "--exit-now=0"))
	pod.Spec.RestartPolicy = "OnFailure" // "done" stays exited, "app" runs
	d.k.CreatePod(t, pod)
	p := d.k.WaitPod(t, "default", "web", waitLong, "running with app ready and done exited", func(p *corev1.Pod) bool {
		return running(p) && containerStatus(p, "app").GetReady() && containerStatus(p, "done").GetState().GetTerminated() != nil
	})

	for _, c := range []struct {
		name           string
		opts           remotecommand.Options
		stdin          string
		code           int
		stdout, stderr string
		err            string // a part of the error, when the command cannot run
	}{
		{name: "hostname is the pod name", opts: remotecommand.Options{Command: []string{"/testserver", "--hostname"}, Stdout: true, Stderr: true},
			stdout: "web\n"},
		{name: "exit code and both outputs", opts: remotecommand.Options{Command: []string{"/testserver", "--exit-now=3"}, Stdout: true, Stderr: true},
			code: 3, stdout: "out\n", stderr: "err\n"},
		{name: "container named", opts: remotecommand.Options{Container: "app", Command: []string{"/testserver", "--exit-now=0"}, Stdout: true},
			stdout: "out\n"},
		{name: "stdin", opts: remotecommand.Options{Container: "app", Command: []string{"/testserver", "--cat"}, Stdin: true, Stdout: true, Stderr: true},
			stdin: "line 1\nline 2\n", stdout: "line 1\nline 2\n"},
		{name: "a terminal merges stderr into stdout", opts: remotecommand.Options{Command: []string{"/testserver", "--exit-now=5"}, Stdout: true, TTY: true},
			code: 5, stdout: "out\r\nerr\r\n"},
		{name: "no such binary", opts: remotecommand.Options{Command: []string{"/nope"}, Stdout: true},
			err: `"/nope"`},
		{name: "container not running", opts: remotecommand.Options{Container: "done", Command: []string{"/testserver", "--hostname"}, Stdout: true},
			err: `container not running ("done")`},
		{name: "no such container", opts: remotecommand.Options{Container: "nope", Command: []string{"/testserver", "--hostname"}, Stdout: true},
			err: `container nope is not valid for pod web`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.opts.Container == "" {
				c.opts.Container = "app"
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			s := remotecommand.ClientStreams{Stdout: &stdout, Stderr: &stderr}
			if c.opts.Stdin {
				s.Stdin = strings.NewReader(c.stdin)
			}
			code, err := d.client.Exec(ctx, "default", "web", c.opts, s)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("exec %v: exit %d, error %v; want an error with %s", c.opts.Command, code, err, c.err)
				}
				return
			}
			if err != nil || code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
				t.Errorf("exec %v: exit %d, error %v, stdout %q, stderr %q; want exit %d, stdout %q, stderr %q",
					c.opts.Command, code, err, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
			}
		})
	}

	// The kubelet's own answer, which the apiserver's check of the pod's
	// containers hides.
	t.Run("kubelet: no such container", func(t *testing.T) {
		q := remotecommand.Options{Command: []string{"/testserver", "--hostname"}, Stdout: true}.Query().Encode()
		dialer := websocket.Dialer{Subprotocols: remotecommand.Protocols, HandshakeTimeout: 30 * time.Second}
		conn, _, err := dialer.Dial(fmt.Sprintf("ws://127.0.0.1:%d/exec/default/web/nope?%s", d.port, q), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = remotecommand.Stream(ctx, conn, remotecommand.ClientStreams{Stdout: io.Discard})
		want := `Internal error occurred: error executing command in container: container not found ("nope")`
		if err == nil || err.Error() != want {
			t.Errorf("exec in container nope: %v, want %s", err, want)
		}
	})

	t.Run("the command of a caller that went away is killed", func(t *testing.T) {
		ip := p.GetStatus().GetPodIp()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := d.client.Exec(ctx, "default", "web",
				remotecommand.Options{Container: "app", Command: []string{"/testserver", "--listen=:9090"}, Stdout: true}, remotecommand.ClientStreams{Stdout: io.Discard})
			done <- err
		}()
		eventually(t, waitLong, "the exec'd server answers", func() error {
			select {
			case err := <-done:
				return fmt.Errorf("the exec ended early: %w", err)
			default:
			}
			_, body, err := testutil.Get(d.hostNS, ip, 9090, "/")
			if err != nil || body != "web\n" {
				return fmt.Errorf("GET :9090 = %q %v", body, err)
			}
			return nil
		})
		cancel()
		select {
		case <-done:
		case <-time.After(waitLong):
			t.Fatal("Exec did not return after its context ended")
		}
		eventually(t, waitLong, "the exec'd server is gone", func() error {
			if _, body, err := testutil.Get(d.hostNS, ip, 9090, "/"); err == nil {
				return fmt.Errorf("GET :9090 still answers %q", body)
			}
			return nil
		})
		// The pod's own container is untouched.
		if cur, err := d.client.CoreV1().Pods("default").Get(context.Background(), "web"); err != nil || containerStatus(cur, "app").GetRestartCount() != 0 {
			t.Errorf("after the exec: %v %v, want app not restarted", containerStatus(cur, "app"), err)
		}
	})
}
