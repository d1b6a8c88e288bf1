package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
	"skiff.dev/scheduler/internal/scheduler"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := Config{}
		d := Defaults()
		c.SchedulerName = d["scheduler-name"].(string)
		c.LeaderElect = true
		c.LeaderElectLeaseDuration = 15 * time.Second
		c.LeaderElectRenewDeadline = 10 * time.Second
		c.LeaderElectRetryPeriod = 2 * time.Second
		c.LeaderElectResourceName, c.LeaderElectResourceNamespace = "skiff-scheduler", "kube-system"
		c.SecurePort = 10259
		c.LogFormat = "json"
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"lease shorter than renew deadline", func(c *Config) { c.LeaderElectLeaseDuration = 5 * time.Second },
			"--leader-elect-lease-duration: must be greater than --leader-elect-renew-deadline (10s), got 5s"},
		{"lease checks off without election", func(c *Config) { c.LeaderElect = false; c.LeaderElectLeaseDuration = 0 }, ""},
		{"bad port", func(c *Config) { c.SecurePort = 70000 }, "--secure-port: must be 0 to 65535, got 70000"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, `--log-format: must be json or console, got "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadPrecedence(t *testing.T) {
	t.Setenv("SKIFF_LEADER_ELECT_LEASE_DURATION", "30s")
	t.Setenv("SKIFF_SCHEDULER_NAME", "from-env")
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addFlags(fs)
	if err := fs.Parse([]string{"--scheduler-name", "from-flag", "--leader-elect=false"}); err != nil {
		t.Fatal(err)
	}
	v := viper.New()
	if err := v.BindPFlags(fs); err != nil {
		t.Fatal(err)
	}
	got, err := load(v, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.SchedulerName != "from-flag" || got.LeaderElect || got.LeaderElectLeaseDuration != 30*time.Second || got.SecurePort != 10259 {
		t.Errorf("config = %+v, want flag > env > default", got)
	}
}

// binds records the bindings of every daemon.
type binds struct {
	mu        sync.Mutex
	by        map[string][]int // pod -> daemons that bound it
	errors    []string         // bind errors other than conflicts
	conflicts []string
}

func TestIntegrationLeaderElectionHandsOver(t *testing.T) {
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
	for i := 1; i <= 3; i++ {
		n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("node%d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		n.Status = &corev1.NodeStatus{Allocatable: map[string]string{"cpu": "8", "memory": "16Gi", "pods": "110"},
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	b := &binds{by: map[string][]int{}}
	var daemons int
	newBinder = func(cs *client.Clientset) scheduler.Binder {
		b.mu.Lock()
		daemons++
		id := daemons
		b.mu.Unlock()
		inner := scheduler.ClientBinder(cs)
		return scheduler.BinderFunc(func(ctx context.Context, ns, name, node string) error {
			err := inner.Bind(ctx, ns, name, node)
			b.mu.Lock()
			defer b.mu.Unlock()
			switch {
			case err == nil:
				b.by[name] = append(b.by[name], id)
			case client.IsConflict(err):
				b.conflicts = append(b.conflicts, fmt.Sprintf("daemon %d: bind %s: %v", id, name, err))
			default:
				b.errors = append(b.errors, fmt.Sprintf("daemon %d: bind %s: %v", id, name, err))
			}
			return err
		})
	}
	t.Cleanup(func() { newBinder = scheduler.ClientBinder })

	cfg := Config{
		Server: []string{srv.URL}, SchedulerName: "default-scheduler",
		LeaderElect: true, LeaderElectLeaseDuration: 3 * time.Second, LeaderElectRenewDeadline: 2 * time.Second,
		LeaderElectRetryPeriod: 300 * time.Millisecond, LeaderElectResourceName: "skiff-scheduler",
		LeaderElectResourceNamespace: "kube-system", BindAddress: "127.0.0.1", SecurePort: 0,
		KubeAPIQPS: -1, KubeAPIBurst: 100, ShutdownTimeout: 5 * time.Second, LogFormat: "console",
	}
	type daemon struct {
		cancel context.CancelFunc
		done   chan error
		addr   chan string
	}
	start := func(name string) *daemon {
		dctx, dcancel := context.WithCancel(ctx)
		d := &daemon{cancel: dcancel, done: make(chan error, 1), addr: make(chan string, 1)}
		lg := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)).Named(name)
		go func() { d.done <- runDaemon(dctx, lg, cfg, func(a string) { d.addr <- a }) }()
		t.Cleanup(func() { dcancel(); <-d.done })
		return d
	}
	first := start("first")
	firstAddr := <-first.addr
	waitFor(t, "first scheduler to lead", func() bool {
		l, err := cs.CoordinationV1().Leases("kube-system").Get(ctx, "skiff-scheduler")
		return err == nil && l.GetSpec().GetHolderIdentity() != ""
	})
	second := start("second")
	<-second.addr

	createPods := func(prefix string, n int) {
		for i := 0; i < n; i++ {
			p := &corev1.Pod{Metadata: &metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("%s-%d", prefix, i)},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "busybox",
					Resources: &corev1.ResourceRequirements{Requests: map[string]string{"cpu": "100m"}}}}}}
			if _, err := cs.CoreV1().Pods("default").Create(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	allBound := func(prefix string, n int) func() bool {
		return func() bool {
			list, err := cs.CoreV1().Pods("default").List(ctx, client.ListOptions{})
			if err != nil {
				return false
			}
			bound := 0
			for _, p := range list.GetItems() {
				if strings.HasPrefix(p.GetMetadata().GetName(), prefix+"-") && p.GetSpec().GetNodeName() != "" {
					bound++
				}
			}
			return bound == n
		}
	}
	recorded := func(n int) func() bool {
		return func() bool {
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.by) >= n
		}
	}
	createPods("before", 20)
	waitFor(t, "20 pods bound", allBound("before", 20))
	waitFor(t, "20 bind calls returned", recorded(20)) // the API may show a binding before its call returns

	// Who leads? The daemon whose binder bound the pods.
	b.mu.Lock()
	leader := b.by["before-0"][0]
	b.mu.Unlock()
	metrics := get(t, "http://"+firstAddr+"/metrics")
	if leader == 1 && !strings.Contains(metrics, `skiff_scheduler_schedule_attempts_total{result="scheduled"} 20`) {
		t.Errorf("leader's /metrics lacks 20 scheduled attempts:\n%s", grep(metrics, "skiff_scheduler"))
	}
	if !strings.Contains(metrics, `skiff_scheduler_pending_pods{queue="active"}`) {
		t.Errorf("/metrics lacks the pending pods gauge:\n%s", grep(metrics, "skiff_scheduler"))
	}
	if got := get(t, "http://"+firstAddr+"/healthz"); got != "ok" {
		t.Errorf("/healthz = %q, want ok", got)
	}

	// Stop the leader: the standby takes over and schedules the rest.
	stopped, standby := first, 2
	if leader == 2 {
		stopped, standby = second, 1
	}
	stopped.cancel()
	select {
	case err := <-stopped.done:
		stopped.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("stopped leader returned %v, want nil on shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("leader did not stop")
	}
	createPods("after", 20)
	waitFor(t, "20 more pods bound after hand-over", allBound("after", 20))
	waitFor(t, "40 bind calls returned", recorded(40))

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("bind error other than a conflict: %s", e)
	}
	for name, by := range b.by {
		if len(by) != 1 {
			t.Errorf("pod %s bound %d times (by daemons %v)", name, len(by), by)
		}
		if strings.HasPrefix(name, "after-") && by[0] != standby {
			t.Errorf("pod %s bound by daemon %d after hand-over, want the standby %d", name, by[0], standby)
		}
	}
	if len(b.by) != 40 {
		t.Errorf("%d pods bound, want 40; conflicts: %q", len(b.by), b.conflicts)
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

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
