package test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"skiff.dev/kubelet/internal/server"
	"skiff.dev/kubelet/internal/testutil"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestPodRunsAndAnswers: a pod from an image of --image-dir runs in its
// own network namespace, answers HTTP on its IP with its hostname (the pod
// name), sees Service env vars, reports its status, and its log is served
// by the kubelet's /containerLogs API.
func TestPodRunsAndAnswers(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	ctx := context.Background()
	svc, err := k.Client.CoreV1().Services("default").Create(ctx, &corev1.Service{
		Metadata: &metav1.ObjectMeta{Name: "web-db", Namespace: "default"},
		Spec:     &corev1.ServiceSpec{Ports: []*corev1.ServicePort{{Name: "sql", Port: 5432, TargetPort: "5432"}}},
	})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	// The Service must be in the kubelet's cache before the pod starts.
	eventually(t, waitLong, "service cached", func() error {
		if _, ok := k.Manager.ServiceCached("default", "web-db"); !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	k.CreatePod(t, testPod("web", testServer("app")))
	p := k.WaitPod(t, "default", "web", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })

	st := p.GetStatus()
	if st.GetHostIp() != "127.0.0.1" || st.GetStartTime() == nil || !strings.HasPrefix(st.GetPodIp(), "10.88.0.") {
		t.Errorf("status hostIP %q startTime %v podIP %q, want 127.0.0.1, set, 10.88.0.x", st.GetHostIp(), st.GetStartTime(), st.GetPodIp())
	}
	for _, c := range []string{"PodScheduled", "Initialized", "ContainersReady", "Ready"} {
		if got := condition(p, c); got != "True" {
			t.Errorf("condition %s = %q, want True", c, got)
		}
	}
	cs := containerStatus(p, "app")
	if cs.GetState().GetRunning() == nil || !cs.GetReady() || !cs.GetStarted() || cs.GetRestartCount() != 0 || !strings.HasPrefix(cs.GetContainerId(), "containerd://") {
		t.Errorf("container status %v, want running, ready, started, 0 restarts, a containerd id", cs)
	}

	code, body, err := k.Get(st.GetPodIp(), 8080, "/")
	if err != nil || code != 200 || strings.TrimSpace(body) != "web" {
		t.Errorf("GET / on the pod IP = %d %q %v, want 200 and the hostname web", code, body, err)
	}
	_, body, _ = k.Get(st.GetPodIp(), 8080, "/env?name=WEB_DB_SERVICE_HOST")
	if body != svc.GetSpec().GetClusterIp() || body == "" {
		t.Errorf("WEB_DB_SERVICE_HOST = %q, want the ClusterIP %q", body, svc.GetSpec().GetClusterIp())
	}
	_, body, _ = k.Get(st.GetPodIp(), 8080, "/env?name=WEB_DB_SERVICE_PORT")
	if body != "5432" {
		t.Errorf("WEB_DB_SERVICE_PORT = %q, want 5432", body)
	}

	ev := reasons(t, k, "web")
	for _, want := range []string{`Pulled: Container image "skiff.dev/testserver:1.0" already present on machine`, "Created: Created container app", "Started: Started container app"} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}

	srv, err := server.New(nil, server.Config{LogRoot: k.LogDir, PodLookup: k.Lookup, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "log served", func() error {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/containerLogs/default/web/app", nil))
		b, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || !strings.Contains(string(b), "listening on :8080") || !strings.Contains(string(b), "GET /env?name=WEB_DB_SERVICE_PORT") {
			return fmt.Errorf("GET /containerLogs = %d %q", rec.Code, b)
		}
		return nil
	})
}
