package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/remotecommand"
)

// execCall is what the kubelet passed to its executor.
type execCall struct {
	ns, pod, container string
	cmd                []string
	stdin, tty         bool
}

// fakeRuntime stands in for the container runtime (not what these tests
// test): "cat" echoes stdin, "exit N" prints and exits N, anything in a
// container called "gone" cannot run.
type fakeRuntime struct {
	mu    sync.Mutex
	calls []execCall
}

func (f *fakeRuntime) exec(ctx context.Context, ns, pod, ctr string, cmd []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) (int, error) {
	f.mu.Lock()
	f.calls = append(f.calls, execCall{ns, pod, ctr, cmd, stdin != nil, tty})
	f.mu.Unlock()
	if ctr == "gone" {
		return 0, fmt.Errorf("container %q of pod %s/%s is not running", ctr, ns, pod)
	}
	switch cmd[0] {
	case "cat":
		_, err := io.Copy(stdout, stdin)
		return 0, err
	case "exit":
		fmt.Fprintf(stdout, "to stdout\n")
		if stderr != nil {
			fmt.Fprintf(stderr, "to stderr\n")
		}
		var code int
		fmt.Sscan(cmd[1], &code)
		return code, nil
	}
	return 127, nil
}

func (f *fakeRuntime) last() execCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[len(f.calls)-1]
}

func dialExec(url string, opts remotecommand.Options, tc *tls.Config) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: remotecommand.Protocols, TLSClientConfig: tc, HandshakeTimeout: 10 * time.Second}
	url = "ws" + strings.TrimPrefix(url, "http")
	return d.Dial(url+"?"+opts.Query().Encode(), nil)
}

func TestExec(t *testing.T) {
	rt := &fakeRuntime{}
	k := kubelettest.Start(t, kubelettest.Options{Exec: rt.exec, PodLookup: func(ns, name string) (string, bool) {
		return "uid-1", ns == "ns" && name == "web"
	}})
	for _, c := range []struct {
		name           string
		path           string
		opts           remotecommand.Options
		stdin          string
		code           int
		stdout, stderr string
		call           execCall
	}{
		{name: "exit code and both outputs", path: "/exec/ns/web/app",
			opts: remotecommand.Options{Command: []string{"exit", "42"}, Stdout: true, Stderr: true},
			code: 42, stdout: "to stdout\n", stderr: "to stderr\n",
			call: execCall{"ns", "web", "app", []string{"exit", "42"}, false, false}},
		{name: "stdin", path: "/exec/ns/web/app",
			opts:  remotecommand.Options{Command: []string{"cat"}, Stdin: true, Stdout: true},
			stdin: "line 1\nline 2\n", stdout: "line 1\nline 2\n",
			call: execCall{"ns", "web", "app", []string{"cat"}, true, false}},
		{name: "tty", path: "/exec/ns/web/sidecar",
			opts:   remotecommand.Options{Command: []string{"exit", "0"}, Stdin: true, Stdout: true, Stderr: true, TTY: true},
			stdout: "to stdout\n",
			call:   execCall{"ns", "web", "sidecar", []string{"exit", "0"}, true, true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, _, err := dialExec(k.URL+c.path, c.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			s := remotecommand.ClientStreams{Stdout: &stdout, Stderr: &stderr}
			if c.opts.Stdin {
				s.Stdin = strings.NewReader(c.stdin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, err := remotecommand.Stream(ctx, conn, s)
			if err != nil || code != c.code || stdout.String() != c.stdout || stderr.String() != c.stderr {
				t.Errorf("exec: %d %v stdout %q stderr %q, want %d stdout %q stderr %q", code, err, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
			}
			if got := rt.last(); fmt.Sprint(got) != fmt.Sprint(c.call) {
				t.Errorf("executor called with %+v, want %+v", got, c.call)
			}
		})
	}

	t.Run("command cannot run", func(t *testing.T) {
		conn, _, err := dialExec(k.URL+"/exec/ns/web/gone", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = remotecommand.Stream(context.Background(), conn, remotecommand.ClientStreams{Stdout: io.Discard})
		if err == nil || !strings.Contains(err.Error(), `container "gone" of pod ns/web is not running`) {
			t.Errorf("err = %v, want the runtime's reason", err)
		}
	})

	for _, c := range []struct {
		name, path string
		opts       remotecommand.Options
		code       int
		body       string
	}{
		{"unknown pod", "/exec/ns/nope/app", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 404, "nope"},
		{"no command", "/exec/ns/web/app", remotecommand.Options{Stdout: true}, 400, "at least one command"},
		{"bad name", "/exec/ns/Web_1/app", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, 400, "invalid pod name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, resp, err := dialExec(k.URL+c.path, c.opts, nil)
			if err == nil {
				t.Fatal("exec was accepted")
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.code || !strings.Contains(string(b), c.body) {
				t.Errorf("%d %q, want %d with %q", resp.StatusCode, b, c.code, c.body)
			}
		})
	}

	t.Run("kubelet without exec", func(t *testing.T) {
		k := kubelettest.Start(t, kubelettest.Options{})
		_, resp, err := dialExec(k.URL+"/exec/ns/web/app", remotecommand.Options{Command: []string{"ls"}, Stdout: true}, nil)
		if err == nil || resp.StatusCode != http.StatusNotImplemented {
			t.Errorf("err %v resp %v, want 501", err, resp)
		}
	})
}

func TestExecNeedsClientCertificate(t *testing.T) {
	ca := newPKI(t, "cluster-ca")
	crt, key := ca.issue(t, "kubelet", x509.ExtKeyUsageServerAuth, net.IPv4(127, 0, 0, 1))
	rt := &fakeRuntime{}
	k := kubelettest.Start(t, kubelettest.Options{CertFile: crt, KeyFile: key, ClientCAFile: ca.caFile, Exec: rt.exec})
	roots := x509.NewCertPool()
	roots.AddCert(ca.ca)
	opts := remotecommand.Options{Command: []string{"exit", "0"}, Stdout: true}

	_, resp, err := dialExec(k.URL+"/exec/ns/web/app", opts, &tls.Config{RootCAs: roots})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("exec without a client certificate: %v %v, want 401", err, resp)
	}
	apiCrt, apiKey := ca.issue(t, "skiff-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	cert, err := tls.LoadX509KeyPair(apiCrt, apiKey)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := dialExec(k.URL+"/exec/ns/web/app", opts, &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code, err := remotecommand.Stream(context.Background(), conn, remotecommand.ClientStreams{Stdout: &out}); code != 0 || err != nil || out.String() != "to stdout\n" {
		t.Errorf("exec with the apiserver's certificate: %d %v %q", code, err, out.String())
	}
}
