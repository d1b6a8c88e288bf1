package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"skiff.dev/apiserver/apiservertest"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// env is a running apiserver with a gRPC connection and an HTTP client.
type env struct {
	srv  *apiservertest.Server
	conn *grpc.ClientConn
	http *http.Client
}

func newEnv(t *testing.T, opts apiservertest.Options) *env {
	t.Helper()
	s := apiservertest.Start(t, opts)
	return connect(t, s)
}

func connect(t *testing.T, s *apiservertest.Server) *env {
	t.Helper()
	conn, err := grpc.NewClient(s.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient(%s): %v", s.Address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &env{srv: s, conn: conn, http: &http.Client{Timeout: 60 * time.Second}}
}

func ctxT(t *testing.T) context.Context { return ctxFor(t, 60*time.Second) }

// ctxFor is ctxT with a budget of d, for tests whose work grows with contention
// (many writers of one key on a busy 2-core machine).
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var nsSeq atomic.Int64

// newNamespace creates a fresh namespace so tests sharing a server do not see each other.
func (e *env) newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, nsSeq.Add(1))
	_, err := corev1.NewNamespaceServiceClient(e.conn).Create(ctxT(t), &corev1.NamespaceRequest{
		Object: &corev1.Namespace{Metadata: &metav1.ObjectMeta{Name: name}}})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// response is a REST answer.
type response struct {
	code int
	body []byte
	hdr  http.Header
}

func (r response) String() string { return fmt.Sprintf("HTTP %d: %s", r.code, r.body) }

// json decodes the body into a generic map.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r)
	}
	return m
}

// do sends a REST request; body is a string, []byte or a value to encode as JSON.
func (e *env) do(t *testing.T, method, path string, body any, contentType string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctxT(t), method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, body: b, hdr: resp.Header}
}

// expectStatus checks a REST failure: HTTP code, Status kind, reason, and
// that the message contains each of msgs.
func expectStatus(t *testing.T, r response, code int, reason string, msgs ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("got %s, want HTTP %d %s", r, code, reason)
	}
	m := r.json(t)
	if m["kind"] != "Status" || m["status"] != "Failure" {
		t.Errorf("body is not a failure Status: %s", r.body)
	}
	if reason != "" && m["reason"] != reason {
		t.Errorf("reason = %v, want %s (body %s)", m["reason"], reason, r.body)
	}
	if c, _ := m["code"].(float64); int(c) != code {
		t.Errorf("Status.code = %v, want %d", m["code"], code)
	}
	msg, _ := m["message"].(string)
	for _, want := range msgs {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not contain %q", msg, want)
		}
	}
}

// expectCode checks a gRPC error's code and that its message contains msgs.
func expectCode(t *testing.T, err error, code codes.Code, msgs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", code)
	}
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v: %s, want %v", st.Code(), st.Message(), code)
	}
	for _, want := range msgs {
		if !strings.Contains(st.Message(), want) {
			t.Errorf("message %q does not contain %q", st.Message(), want)
		}
	}
}

func rvInt(t *testing.T, rv string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(rv, &n); err != nil || n <= 0 {
		t.Fatalf("resourceVersion %q is not a positive integer", rv)
	}
	return n
}

func podSpec(image string) *corev1.PodSpec {
	return &corev1.PodSpec{Containers: []*corev1.Container{{Name: "app", Image: image}}}
}

func podTemplate(labels map[string]string) *corev1.PodTemplateSpec {
	return &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels}, Spec: podSpec("nginx:1.27")}
}

// eventually polls f until it returns nil or the deadline passes.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
