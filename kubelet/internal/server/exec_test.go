package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/remotecommand"
)

func dialExec(url string, opts remotecommand.Options, tc *tls.Config) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: remotecommand.Protocols, TLSClientConfig: tc, HandshakeTimeout: 10 * time.Second}
	url = "ws" + strings.TrimPrefix(url, "http")
	return d.Dial(url+"?"+opts.Query().Encode(), nil)
}

func TestExec(t *testing.T) {
	rt := &kubelettest.FakeExec{}
	k := kubelettest.Start(t, kubelettest.Options{Exec: rt.Exec, PodLookup: func(ns, name string) (string, bool) {
		return "uid-1", ns == "ns" && name == "web"
	}})
	for _, c := range []struct {
		name           string
		path           string
		opts           remotecommand.Options
		stdin          string
		code           int
		stdout, stderr string
		call           string
	}{
		{name: "exit code and both outputs", path: "/exec/ns/web/app",
			opts: remotecommand.Options{Command: []string{"exit", "42"}, Stdout: true, Stderr: true},
			code: 42, stdout: "out\n", stderr: "err\n", call: "ns/web/app [exit 42] stdin=false tty=false"},
		{name: "stdin", path: "/exec/ns/web/app",
			opts:  remotecommand.Options{Command: []string{"cat"}, Stdin: true, Stdout: true},
			stdin: "line 1\nline 2\n", stdout: "line 1\nline 2\n",
			call: "ns/web/app [cat] stdin=true tty=false"},
		{name: "tty", path: "/exec/ns/web/sidecar",
			opts:   remotecommand.Options{Command: []string{"exit", "0"}, Stdin: true, Stdout: true, Stderr: true, TTY: true},
			stdout: "out\n", call: "ns/web/sidecar [exit 0] stdin=true tty=true"},
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
			if got := rt.Last(); got != c.call {
				t.Errorf("executor called with %q, want %q", got, c.call)
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
	rt := &kubelettest.FakeExec{}
	k := kubelettest.Start(t, kubelettest.Options{CertFile: crt, KeyFile: key, ClientCAFile: ca.caFile, Exec: rt.Exec})
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
	if code, err := remotecommand.Stream(context.Background(), conn, remotecommand.ClientStreams{Stdout: &out}); code != 0 || err != nil || out.String() != "out\n" {
		t.Errorf("exec with the apiserver's certificate: %d %v %q", code, err, out.String())
	}
}
