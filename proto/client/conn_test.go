package client

import (
	"context"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// newTestClient makes a Clientset that sees no config file.
func newTestClient(t *testing.T, opts Options) *Clientset {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv(ConfigEnv, "")
	if opts.Logger == nil {
		opts.Logger = zaptest.NewLogger(t)
	}
	cs, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFailoverWhenServerStops(t *testing.T) {
	a := startServer(t, &cmServer{})
	b := startServer(t, &cmServer{})
	cs := newTestClient(t, Options{Server: []string{"http://" + a.addr + ",http://" + b.addr}})
	ctx := testCtx(t)
	cms := cs.CoreV1().ConfigMaps("default")

	if _, err := cms.Get(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	a.srv.Stop()
	for i := range 3 {
		if _, err := cms.Create(ctx, cm("default", "y")); err != nil {
			t.Fatalf("create %d after the first apiserver stopped: %v", i, err)
		}
	}
	if got, want := a.cm.Calls(), []string{"get"}; !reflect.DeepEqual(got, want) {
		t.Errorf("first apiserver served %v, want %v", got, want)
	}
	if got, want := b.cm.Calls(), []string{"create", "create", "create"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second apiserver served %v, want %v", got, want)
	}
}

func TestFailoverOnDeadFirstEndpoint(t *testing.T) {
	b := startServer(t, &cmServer{})
	cs := newTestClient(t, Options{Server: []string{"http://" + deadAddr(t), "http://" + b.addr}})
	ctx := testCtx(t)
	if _, err := cs.CoreV1().ConfigMaps("default").List(ctx, ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := b.cm.Calls(); !reflect.DeepEqual(got, []string{"list"}) {
		t.Errorf("second apiserver served %v", got)
	}
}

func TestFailoverOnlyOnUnavailable(t *testing.T) {
	tests := []struct {
		name      string
		code      codes.Code
		wantCalls []string // on the second apiserver
		check     func(error) bool
	}{
		{"unavailable fails over", codes.Unavailable, []string{"update"}, func(err error) bool { return err == nil }},
		{"not found does not", codes.NotFound, nil, IsNotFound},
		{"conflict does not", codes.Aborted, nil, IsConflict},
		{"invalid does not", codes.InvalidArgument, nil, IsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startServer(t, &cmServer{fail: tt.code})
			b := startServer(t, &cmServer{})
			cs := newTestClient(t, Options{Server: []string{"http://" + a.addr, "http://" + b.addr}})
			_, err := cs.CoreV1().ConfigMaps("default").Update(testCtx(t), cm("default", "x"))
			if !tt.check(err) {
				t.Errorf("err = %v", err)
			}
			if got := a.cm.Calls(); !reflect.DeepEqual(got, []string{"update"}) {
				t.Errorf("first apiserver served %v", got)
			}
			if got := b.cm.Calls(); !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("second apiserver served %v, want %v", got, tt.wantCalls)
			}
		})
	}
}

func TestAllEndpointsUnavailable(t *testing.T) {
	cs := newTestClient(t, Options{Server: []string{"http://" + deadAddr(t), "http://" + deadAddr(t)}})
	_, err := cs.CoreV1().ConfigMaps("default").Get(testCtx(t), "x")
	if !IsUnavailable(err) || !strings.Contains(err.Error(), "all 2 apiservers unavailable") {
		t.Fatalf("err = %v, want Unavailable naming both apiservers", err)
	}
}

func TestWatchOpensOnNextEndpoint(t *testing.T) {
	events := []*corev1.ConfigMapWatchEvent{
		{Type: metav1.EventType_ADDED, Object: cm("default", "a")},
		{Type: metav1.EventType_MODIFIED, Object: cm("default", "a")},
	}
	b := startServer(t, &cmServer{events: events})
	// A per-call timeout far shorter than the watch: watches must not get it.
	cs := newTestClient(t, Options{Server: []string{"http://" + deadAddr(t), "http://" + b.addr}, Timeout: 50 * time.Millisecond})
	b.cm.delay = 300 * time.Millisecond
	w, err := cs.CoreV1().ConfigMaps("default").Watch(testCtx(t), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for i, want := range []metav1.EventType{metav1.EventType_ADDED, metav1.EventType_MODIFIED} {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != want || ev.Object.GetMetadata().GetName() != "a" {
			t.Errorf("event %d = %v %v, want %v a", i, ev.Type, ev.Object.GetMetadata().GetName(), want)
		}
	}
	w.Stop()
	if _, err := w.Recv(); err == nil || err == io.EOF {
		t.Errorf("Recv after Stop = %v, want a cancellation error", err)
	}
}

func TestUnaryTimeout(t *testing.T) {
	a := startServer(t, &cmServer{block: true})
	cs := newTestClient(t, Options{Server: []string{"http://" + a.addr}, Timeout: 100 * time.Millisecond})
	_, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "x")
	if Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err = %v, want DeadlineExceeded from the default timeout", err)
	}
}

func TestRateLimit(t *testing.T) {
	a := startServer(t, &cmServer{})
	cs := newTestClient(t, Options{Server: []string{"http://" + a.addr}, QPS: 0.001, Burst: 1})
	cms := cs.CoreV1().ConfigMaps("default")
	if _, err := cms.Get(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	// The next token comes in ~1000 s, past any deadline: the call must
	// fail without reaching the server.
	_, err := cms.Get(testCtx(t), "x")
	if Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("err = %v, want a rate-limit DeadlineExceeded", err)
	}
	if got := a.cm.Calls(); len(got) != 1 {
		t.Errorf("server saw %v, want one call", got)
	}
}

func TestBearerTokenPlaintext(t *testing.T) {
	a := startServer(t, &cmServer{})
	cs := newTestClient(t, Options{Server: []string{"http://" + a.addr}, Token: "abc"})
	if _, err := cs.CoreV1().ConfigMaps("default").Get(testCtx(t), "x"); err != nil {
		t.Fatal(err)
	}
	if got := a.cm.Auth(); !reflect.DeepEqual(got, []string{"Bearer abc"}) {
		t.Errorf("authorization = %v", got)
	}
}

func TestTLS(t *testing.T) {
	pki := newPKI(t)
	tests := []struct {
		name    string
		mtls    bool
		opts    Options
		wantErr codes.Code
	}{
		{"CA and token", false, Options{CertificateAuthority: pki.caFile, Token: "tok"}, codes.OK},
		{"client certificate", true, Options{CertificateAuthority: pki.caFile, ClientCertificate: pki.clientCrt, ClientKey: pki.clientKy}, codes.OK},
		{"insecure skip verify", false, Options{InsecureSkipTLSVerify: true}, codes.OK},
		{"unknown CA", false, Options{}, codes.Unavailable},
		{"missing client certificate", true, Options{CertificateAuthority: pki.caFile}, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startServer(t, &cmServer{}, pki.serverCreds(tt.mtls))
			opts := tt.opts
			opts.Server = []string{"https://" + a.addr}
			cs := newTestClient(t, opts)
			_, err := cs.CoreV1().ConfigMaps("default").Get(testCtx(t), "x")
			if Code(err) != tt.wantErr {
				t.Fatalf("err = %v, want code %v", err, tt.wantErr)
			}
			if tt.opts.Token != "" {
				if got := a.cm.Auth(); !reflect.DeepEqual(got, []string{"Bearer " + tt.opts.Token}) {
					t.Errorf("authorization = %v", got)
				}
			}
		})
	}
}

func TestNewRejectsBadFiles(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv(ConfigEnv, "")
	notPEM := writeFile(t, t.TempDir()+"/ca.crt", "not a certificate")
	_, err := New(Options{Server: []string{"https://127.0.0.1:1"}, CertificateAuthority: notPEM})
	if err == nil || !strings.Contains(err.Error(), "no PEM certificate found") {
		t.Fatalf("err = %v", err)
	}
	_, err = New(Options{Server: []string{"https://127.0.0.1:1"}, CertificateAuthority: "/nonexistent/ca.crt"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.crt") {
		t.Fatalf("err = %v", err)
	}
}

// TestRetryWhileTheOnlyServerRestarts: a call made while the one apiserver
// is restarting waits for it (a few back-off rounds) instead of failing
// with the connection's last error.
func TestRetryWhileTheOnlyServerRestarts(t *testing.T) {
	first := startServer(t, &cmServer{})
	cs := newTestClient(t, Options{Server: []string{"http://" + first.addr}})
	ctx := testCtx(t)
	cms := cs.CoreV1().ConfigMaps("default")
	if _, err := cms.Get(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	first.srv.Stop()
	// The client notices the connection is gone and is in its reconnect
	// back-off when the call comes.
	if _, err := cms.Get(ctx, "x"); status.Code(err) != codes.Unavailable {
		t.Fatalf("get with the server down = %v, want Unavailable", err)
	}
	second := &cmServer{}
	go func() {
		time.Sleep(300 * time.Millisecond)
		lis, err := net.Listen("tcp", first.addr)
		if err != nil {
			t.Errorf("listen again on %s: %v", first.addr, err)
			return
		}
		srv := grpc.NewServer()
		corev1.RegisterConfigMapServiceServer(srv, second)
		go srv.Serve(lis)
		t.Cleanup(srv.Stop)
	}()
	if _, err := cms.Create(ctx, cm("default", "y")); err != nil {
		t.Fatalf("create while the server restarts: %v", err)
	}
	if got := second.Calls(); !reflect.DeepEqual(got, []string{"create"}) {
		t.Errorf("restarted server served %v, want [create]", got)
	}
}
