//go:build bench

// Package bench measures skiff-controller-manager with the real scheduler
// against a real apiserver: `make bench-controllers` (SKIFF_BENCH=1, the
// bench build tag, and SKIFF_SCHEDULER_BIN naming a skiff-scheduler
// binary). 100 simulated nodes; a Deployment scaled from 0 to 1,000
// replicas (time to 1,000 pods created and to 1,000 bound, API calls of the
// controller manager per created pod), then a rolling update of the 1,000
// pods with a simulated kubelet reporting each bound pod ready. It asserts
// only that the work completes; the figures go to the log as RESULT lines.
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/controller-manager/internal/app"
	appsv1 "skiff.dev/proto/apps/v1"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// countingConn counts the unary calls made through it.
type countingConn struct {
	grpc.ClientConnInterface
	calls atomic.Int64
}

func (c *countingConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.calls.Add(1)
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func TestControllerThroughput(t *testing.T) {
	if os.Getenv("SKIFF_BENCH") == "" {
		t.Fatal("benchmark: run it with `make bench-controllers`")
	}
	schedBin := os.Getenv("SKIFF_SCHEDULER_BIN")
	if schedBin == "" {
		t.Fatal("SKIFF_SCHEDULER_BIN must name a skiff-scheduler binary (make bench-controllers builds it)")
	}
	numNodes, numPods := envInt("SKIFF_BENCH_NODES", 100), int32(envInt("SKIFF_BENCH_PODS", 1000))
	t.Setenv("HOME", t.TempDir())
	t.Setenv(client.ConfigEnv, "")
	srv := apiservertest.Start(t, apiservertest.Options{Logger: zap.NewNop()})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cs, err := client.New(client.Options{Server: []string{srv.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	// 100 ready nodes.
	for i := range numNodes {
		n, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: fmt.Sprintf("node-%03d", i)}})
		if err != nil {
			t.Fatal(err)
		}
		n.Status = &corev1.NodeStatus{Allocatable: map[string]string{"cpu": "32", "memory": "128Gi", "pods": "110"},
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}
		if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	// The real scheduler, as a process.
	sched := exec.CommandContext(ctx, schedBin, "--server="+srv.URL, "--leader-elect=false", "--secure-port=0",
		"--bind-address=127.0.0.1", "--kube-api-qps=2000", "--kube-api-burst=2000", "--log-level=warn")
	sched.Stdout, sched.Stderr = os.Stderr, os.Stderr
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sched.Process.Signal(os.Interrupt)
		_ = sched.Wait()
	})

	// The controller manager, in-process, with its default client limits,
	// through a connection that counts its calls.
	args := []string{"--server=" + srv.URL, "--leader-elect=false", "--secure-port=0",
		"--bind-address=127.0.0.1", "--controllers=replicaset,deployment"}
	if extra := os.Getenv("SKIFF_BENCH_CM_FLAGS"); extra != "" {
		args = append(args, strings.Fields(extra)...)
	}
	cfg, err := app.LoadConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	cmClient, err := client.New(client.Options{Server: cfg.Server, QPS: cfg.KubeAPIQPS, Burst: cfg.KubeAPIBurst})
	if err != nil {
		t.Fatal(err)
	}
	defer cmClient.Close()
	counted := &countingConn{ClientConnInterface: cmClient.Conn()}
	cmCtx, stopCM := context.WithCancel(ctx)
	cmDone := make(chan error, 1)
	go func() {
		cmDone <- app.RunDaemonWithClient(cmCtx, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)), cfg, client.NewForConn(counted))
	}()
	t.Cleanup(func() { stopCM(); <-cmDone })

	// A kubelet for every node: bound pods become ready at once, and
	// terminating pods are confirmed gone.
	var mu sync.Mutex
	var created, bound int32
	var createdAt, boundAt, firstAt, halfAt time.Time
	start := time.Now()
	kubelet := make(chan *corev1.Pod, 10000)
	f := informer.NewSharedInformerFactory(cs, 0)
	f.Core().V1().Pods().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		AddFunc: func(p *corev1.Pod) {
			mu.Lock()
			defer mu.Unlock()
			switch created++; created {
			case 1:
				firstAt = time.Now()
			case numPods / 2:
				halfAt = time.Now()
			case numPods:
				createdAt = time.Now()
			}
		},
		UpdateFunc: func(old, p *corev1.Pod) {
			if p.GetMetadata().GetDeletionTimestamp() != nil && old.GetMetadata().GetDeletionTimestamp() == nil {
				kubelet <- p
				return
			}
			if old.GetSpec().GetNodeName() == "" && p.GetSpec().GetNodeName() != "" {
				mu.Lock()
				if bound++; bound == numPods {
					boundAt = time.Now()
				}
				mu.Unlock()
				kubelet <- p
			}
		},
	})
	f.Start(ctx)
	f.WaitForCacheSync(ctx)
	defer f.Shutdown()
	var kwg sync.WaitGroup
	for range 8 {
		kwg.Add(1)
		go func() {
			defer kwg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case p := <-kubelet:
					runKubelet(ctx, cs, p)
				}
			}
		}()
	}
	defer kwg.Wait()
	defer cancel()

	zero := int32(0)
	dep := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "bench", Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "bench"}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: map[string]string{"app": "bench"}},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "c", Image: "bench:v1"}}}}}}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the deployment's replicaset", func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "bench")
		return err == nil && d.GetStatus().GetObservedGeneration() == d.GetMetadata().GetGeneration()
	})

	// 0 -> 1,000.
	callsBefore := counted.calls.Load()
	mu.Lock()
	created, bound, start = 0, 0, time.Now()
	mu.Unlock()
	if _, err := cs.AppsV1().Deployments("default").UpdateScale(ctx, "bench", &appsv1.Scale{
		Metadata: &metav1.ObjectMeta{Name: "bench", Namespace: "default"}, Spec: &appsv1.ScaleSpec{Replicas: numPods}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "all pods bound", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return bound >= numPods
	})
	waitFor(t, ctx, "deployment available", func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "bench")
		return err == nil && d.GetStatus().GetAvailableReplicas() == numPods && d.GetStatus().GetUpdatedReplicas() == numPods
	})
	calls := counted.calls.Load() - callsBefore
	mu.Lock()
	t.Logf("RESULT scale 0->%d: %d pods created in %v (first after %v, half after %v), bound in %v (%d nodes)", numPods, numPods,
		createdAt.Sub(start).Round(time.Millisecond), firstAt.Sub(start).Round(time.Millisecond), halfAt.Sub(start).Round(time.Millisecond),
		boundAt.Sub(start).Round(time.Millisecond), numNodes)
	mu.Unlock()
	t.Logf("RESULT controller-manager API calls during scale-up until available: %d, %.2f per created pod", calls, float64(calls)/float64(numPods))

	// Rolling update v1 -> v2 (25%% surge, 25%% unavailable).
	callsBefore = counted.calls.Load()
	mu.Lock()
	created, bound = 0, 0
	mu.Unlock()
	rollStart := time.Now()
	for attempt := 0; ; attempt++ {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "bench")
		if err != nil {
			t.Fatal(err)
		}
		d.Spec.Template.Spec.Containers[0].Image = "bench:v2"
		if _, err = cs.AppsV1().Deployments("default").Update(ctx, d); err == nil {
			break
		} else if !client.IsConflict(err) || attempt > 10 {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, "rolling update done", func() bool {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "bench")
		s := d.GetStatus()
		return err == nil && s.GetObservedGeneration() == d.GetMetadata().GetGeneration() && s.GetUpdatedReplicas() == numPods &&
			s.GetReplicas() == numPods && s.GetAvailableReplicas() == numPods
	})
	calls = counted.calls.Load() - callsBefore
	t.Logf("RESULT rolling update of %d pods (bound by the scheduler, ready at once): %v, controller-manager API calls %d (%.2f per replaced pod)",
		numPods, time.Since(rollStart).Round(time.Millisecond), calls, float64(calls)/float64(numPods))
}

// runKubelet reports a bound pod ready, or confirms a terminating pod gone.
func runKubelet(ctx context.Context, cs *client.Clientset, p *corev1.Pod) {
	pc := cs.CoreV1().Pods(p.GetMetadata().GetNamespace())
	if p.GetMetadata().GetDeletionTimestamp() != nil {
		zero := int64(0)
		_ = pc.Delete(ctx, p.GetMetadata().GetName(), client.DeleteOptions{GracePeriodSeconds: &zero})
		return
	}
	cur := informer.Clone(p)
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			var err error
			if cur, err = pc.Get(ctx, p.GetMetadata().GetName()); err != nil || cur.GetMetadata().GetDeletionTimestamp() != nil {
				return
			}
		}
		now := timestamppb.Now()
		cur.Status = &corev1.PodStatus{Phase: "Running", PodIp: "10.244.0.1", StartTime: now,
			Conditions: []*corev1.PodCondition{{Type: "Ready", Status: "True", LastTransitionTime: now}}}
		if _, err := pc.UpdateStatus(ctx, cur); err == nil || !client.IsConflict(err) {
			return
		}
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for ctx.Err() == nil {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
