package app

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestIntegrationTwoControllerManagersOneLeader runs two daemons with
// --controllers='*,-endpoint': one leads and reconciles, the other waits;
// when the leader stops, the standby takes over.
func TestIntegrationTwoControllerManagersOneLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs a real apiserver")
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{})
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cfg, err := LoadConfig([]string{"--controllers=*,-endpoint", "--server=" + srv.URL,
		"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=300ms",
		"--bind-address=127.0.0.1", "--secure-port=0", "--log-format=console", "--shutdown-timeout=5s"})
	if err != nil {
		t.Fatal(err)
	}
	type daemon struct {
		cancel context.CancelFunc
		done   chan error
		addr   string
	}
	start := func(name string) *daemon {
		dctx, dcancel := context.WithCancel(ctx)
		d := &daemon{cancel: dcancel, done: make(chan error, 1)}
		addr := make(chan string, 1)
		lg := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named(name)
		go func() { d.done <- runDaemon(dctx, lg, cfg, func(a string) { addr <- a }) }()
		d.addr = <-addr
		t.Cleanup(func() { dcancel(); <-d.done })
		return d
	}
	leads := func(d *daemon) bool {
		return strings.Contains(get(t, "http://"+d.addr+"/metrics"), `workqueue_adds_total{name="replicaset"}`)
	}
	first, second := start("first"), start("second")
	waitFor(t, "a leader", func() bool {
		l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "skiff-controller-manager")
		return err == nil && l.GetSpec().GetHolderIdentity() != "" && (leads(first) || leads(second))
	})

	replicas := int32(3)
	rs := &appsv1.ReplicaSet{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "nginx"}}}}}}
	if _, err := cs.AppsV1().ReplicaSets("default").Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{Metadata: &metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: &corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []*corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "node1"}}); err != nil {
		t.Fatal(err)
	}
	podCount := func() int {
		l, err := cs.CoreV1().Pods("default").List(ctx, client.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		return len(l.GetItems())
	}
	waitFor(t, "3 pods", func() bool { return podCount() == 3 })
	waitFor(t, "node1's pod CIDR (nodeipam on by default)", func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, "node1")
		return err == nil && n.GetSpec().GetPodCidr() == "10.244.0.0/24"
	})
	if leads(first) == leads(second) {
		t.Fatalf("first leads %v, second leads %v: want exactly one", leads(first), leads(second))
	}
	if got := get(t, "http://"+first.addr+"/healthz"); got != "ok" {
		t.Errorf("/healthz = %q", got)
	}
	for _, d := range []*daemon{first, second} {
		if got := get(t, "http://"+d.addr+"/readyz"); got != "ok" {
			t.Errorf("/readyz = %q, want ok for leader and standby", got)
		}
	}

	// Hand-over: stop the leader; the standby scales the ReplicaSet.
	leader, standby := first, second
	if leads(second) {
		leader, standby = second, first
	}
	leader.cancel()
	select {
	case err := <-leader.done:
		leader.done <- err
		if err != nil {
			t.Fatalf("stopped leader returned %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("leader did not stop")
	}
	cur, err := cs.AppsV1().ReplicaSets("default").Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	replicas = 5
	cur.Spec.Replicas = &replicas
	if _, err := cs.AppsV1().ReplicaSets("default").Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 pods after hand-over", func() bool { return podCount() == 5 })
	if !leads(standby) {
		t.Error("the standby did not take over")
	}
	time.Sleep(time.Second)
	if n := podCount(); n != 5 {
		t.Errorf("%d pods, want 5", n)
	}
	// The endpoint controller was deselected.
	if _, err := cs.CoreV1().Endpoints("default").Get(ctx, "web"); !client.IsNotFound(err) {
		t.Errorf("endpoints of web: %v, want none with --controllers=*,-endpoint", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
