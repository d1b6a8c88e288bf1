package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/informer"
	metav1 "skiff.dev/proto/meta/v1"
)

// TestSchedulerThroughput measures pods per second and the latency from a
// pod's creation to its binding, through a real apiserver: `make
// bench-scheduler` (SKIFF_BENCH=1; SKIFF_BENCH_NODES and SKIFF_BENCH_PODS
// change the default 1000 nodes and 3000 pods). It asserts only that every
// pod is bound; the figures go to the log.
func TestSchedulerThroughput(t *testing.T) {
	if os.Getenv("SKIFF_BENCH") == "" {
		t.Skip("benchmark: set SKIFF_BENCH=1 (make bench-scheduler)")
	}
	numNodes, numPods := envInt("SKIFF_BENCH_NODES", 1000), envInt("SKIFF_BENCH_PODS", 3000)
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	parallel(numNodes, 16, func(i int) {
		name := fmt.Sprintf("node-%04d", i)
		n, err := c.cs.CoreV1().Nodes().Create(ctx, &corev1.Node{Metadata: &metav1.ObjectMeta{Name: name}})
		if err != nil {
			t.Errorf("create node: %v", err)
			return
		}
		n.Status = &corev1.NodeStatus{Allocatable: map[string]string{"cpu": "4", "memory": "16Gi", "pods": "110"},
			Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}
		if _, err := c.cs.CoreV1().Nodes().UpdateStatus(ctx, n); err != nil {
			t.Errorf("node status: %v", err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// Watch pods to time each binding as a client sees it.
	var mu sync.Mutex
	created := map[string]time.Time{}
	boundAt := map[string]time.Time{}
	waiting := map[string]chan struct{}{} // name prefix -> closed when all bound
	counts := map[string]int{}
	prefixOf := func(name string) string { return name[:strings.IndexByte(name, '-')] }
	f := informer.NewSharedInformerFactory(c.cs, 0)
	f.Core().V1().Pods().Informer().AddEventHandler(informer.TypedHandlerFuncs[*corev1.Pod]{
		UpdateFunc: func(_, p *corev1.Pod) {
			if p.GetSpec().GetNodeName() == "" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, ok := boundAt[p.Metadata.Name]; !ok {
				boundAt[p.Metadata.Name] = time.Now()
				pre := prefixOf(p.Metadata.Name)
				if counts[pre]++; counts[pre] == numPods {
					close(waiting[pre])
				}
			}
		},
	})
	f.Start(ctx)
	f.WaitForCacheSync(ctx)
	defer f.Shutdown()
	defer cancel()

	yes := true
	createPods := func(prefix string) {
		mu.Lock()
		waiting[prefix] = make(chan struct{})
		mu.Unlock()
		parallel(numPods, 16, func(i int) {
			name := fmt.Sprintf("%s-%05d", prefix, i)
			p := podObj(name, "100m", "256Mi", func(p *corev1.Pod) {
				p.Metadata.OwnerReferences = []*metav1.OwnerReference{{ApiVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", Uid: fmt.Sprint("rs-", i%10), Controller: &yes}}
			})
			mu.Lock()
			created[name] = time.Now()
			mu.Unlock()
			if _, err := c.cs.CoreV1().Pods("default").Create(ctx, p); err != nil {
				t.Errorf("create pod: %v", err)
			}
		})
		if t.Failed() {
			t.FailNow()
		}
	}
	report := func(prefix, what string, start time.Time) {
		select {
		case <-waiting[prefix]:
		case <-ctx.Done():
			t.Fatalf("%s: not every pod was bound", what)
		}
		total := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		var lat []time.Duration
		for name, at := range boundAt {
			if prefixOf(name) == prefix {
				lat = append(lat, at.Sub(created[name]))
			}
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[int(float64(len(lat)-1)*p)].Round(time.Millisecond) }
		t.Logf("RESULT %s: nodes=%d pods=%d all_bound_in=%v throughput=%.0f pods/s create-to-bound latency p50=%v p90=%v p99=%v max=%v",
			what, numNodes, numPods, total.Round(time.Millisecond), float64(numPods)/total.Seconds(),
			pct(0.5), pct(0.9), pct(0.99), pct(1))
	}

	// Backlog: every pod is pending before the scheduler starts, which
	// measures the scheduler alone (kube-scheduler's scheduler_perf
	// SchedulingThroughput).
	createPods("backlog")
	c.startScheduler(c.cs, nil)
	report("backlog", "backlog", time.Now())

	// Stream: pods created as fast as 16 clients can while the scheduler
	// runs; latency is from each pod's creation.
	start := time.Now()
	createPods("stream")
	t.Logf("stream: created %d pods in %v", numPods, time.Since(start).Round(time.Millisecond))
	report("stream", "stream", start)

	perNode := map[string]int{}
	list, err := c.cs.CoreV1().Pods("default").List(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list.GetItems() {
		perNode[p.GetSpec().GetNodeName()]++
	}
	minN, maxN := 2*numPods, 0
	for i := 0; i < numNodes; i++ {
		n := perNode[fmt.Sprintf("node-%04d", i)]
		minN, maxN = min(minN, n), max(maxN, n)
	}
	t.Logf("RESULT spread: pods per node min=%d max=%d", minN, maxN)
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// parallel runs fn(0..n-1) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
