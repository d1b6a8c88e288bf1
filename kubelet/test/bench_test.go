package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"skiff.dev/apiserver/apiservertest"
	"skiff.dev/kubelet/internal/testutil"
	"skiff.dev/proto/client"
)

// TestBenchKubelet is `make bench-kubelet` (SKIFF_BENCH=1): a real
// skiff-kubelet process (real network manager in a lab namespace, the
// tests' containerd) against an in-process apiserver. It measures pod
// startup latency (created → Running, image present) of 30 pods created
// together, and the kubelet process's RSS and CPU with 30 and 100 pods
// running; SKIFF_BENCH_OUT names the markdown file the results are
// appended to.
func TestBenchKubelet(t *testing.T) {
	if os.Getenv("SKIFF_BENCH") == "" {
		t.Skip("benchmark: set SKIFF_BENCH=1 (make bench-kubelet)")
	}
	env := testutil.Shared()
	mod, err := testutil.ModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "skiff-kubelet")
	if out, err := exec.Command("go", "build", "-C", mod, "-o", bin, "./cmd/skiff-kubelet").CombinedOutput(); err != nil {
		t.Fatalf("build skiff-kubelet: %v\n%s", err, out)
	}
	api := apiservertest.Start(t, apiservertest.Options{})
	hostNS := testutil.NewNetNS(t)
	ns := "skk-bench"
	t.Cleanup(func() { testutil.DeleteNetNSWithPrefix("skk-b") })
	t.Cleanup(func() { testutil.RemoveAll(t, ns) })
	logFile, err := os.Create(filepath.Join(t.TempDir(), "kubelet.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--server", api.URL, "--node-name", "bench", "--node-ip", "127.0.0.1",
		"--containerd-address", env.Containerd.Address, "--containerd-namespace", ns,
		"--root-dir", t.TempDir(), "--pod-log-dir", t.TempDir(), "--image-dir", env.ImageDir,
		"--pod-cidr", "10.251.0.0/24", "--host-netns", hostNS, "--netns-prefix", "skk-b",
		"--address", "127.0.0.1", "--port", strconv.Itoa(apiservertest.FreePort(t)), "--insecure-http",
		"--healthz-port", "0", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("kubelet log:\n%s", b)
		}
	})
	cs, err := client.New(client.Options{Server: []string{api.URL}, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	eventually(t, waitLong, "node registered", func() error {
		_, err := cs.CoreV1().Nodes().Get(context.Background(), "bench")
		return err
	})

	load0 := loadAvg()
	lat := startPods(t, cs, 0, 30)
	p50, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
	rss30, cpu30 := sample(t, cmd.Process.Pid)
	startPods(t, cs, 30, 100)
	rss100, cpu100 := sample(t, cmd.Process.Pid)

	load := load0 + " at the start, " + loadAvg() + " at the end"
	res := fmt.Sprintf("pod startup (30 pods created together, image present): p50 %s, p99 %s; kubelet RSS %.1f MB, CPU %.1f %% with 30 pods; RSS %.1f MB, CPU %.1f %% with 100 pods",
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), rss30, cpu30, rss100, cpu100)
	t.Log("RESULT " + res + "; load average " + load)
	if out := os.Getenv("SKIFF_BENCH_OUT"); out != "" {
		appendResult(t, out, load, p50, p99, rss30, cpu30, rss100, cpu100)
	}
	// Delete everything, so the cleanup finds only terminated pods.
	zero := int64(0)
	for i := range 100 {
		_ = cs.CoreV1().Pods("default").Delete(context.Background(), fmt.Sprintf("bench-%d", i), client.DeleteOptions{GracePeriodSeconds: &zero})
	}
}

// startPods creates pods bench-from … bench-(to-1) at once and returns
// each one's created → Running latency, sorted.
func startPods(t *testing.T, cs *client.Clientset, from, to int) []time.Duration {
	t.Helper()
	ctx := context.Background()
	w, err := cs.CoreV1().Pods("default").Watch(ctx, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created := make(map[string]time.Time)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := from; i < to; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := testPod(fmt.Sprintf("bench-%d", i), testServer("app"))
			p.Spec.NodeName = "bench"
			mu.Lock()
			created[p.Metadata.Name] = time.Now()
			mu.Unlock()
			if _, err := cs.CoreV1().Pods("default").Create(ctx, p); err != nil {
				t.Errorf("create: %v", err)
			}
		}()
	}
	running := map[string]time.Duration{}
	deadline := time.Now().Add(10 * time.Minute)
	for len(running) < to-from && time.Now().Before(deadline) {
		ev, err := w.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		p := ev.Object
		name := p.GetMetadata().GetName()
		mu.Lock()
		start, ok := created[name]
		mu.Unlock()
		if _, done := running[name]; ok && !done && p.GetStatus().GetPhase() == "Running" {
			running[name] = time.Since(start)
		}
	}
	wg.Wait()
	if len(running) < to-from {
		t.Fatalf("%d of %d pods running after 10 minutes", len(running), to-from)
	}
	var lat []time.Duration
	for _, d := range running {
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return lat
}

// sample lets the kubelet settle, then reads its RSS (MB) and CPU use (%
// of one core) over 20 s.
func sample(t *testing.T, pid int) (rssMB, cpuPct float64) {
	t.Helper()
	time.Sleep(10 * time.Second)
	ticks := func() float64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		return u + s
	}
	t0, c0 := time.Now(), ticks()
	time.Sleep(20 * time.Second)
	cpuPct = (ticks() - c0) / 100 / time.Since(t0).Seconds() * 100
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			rssMB = kb / 1024
		}
	}
	return rssMB, cpuPct
}

func appendResult(t *testing.T, path, load string, p50, p99 time.Duration, rss30, cpu30, rss100, cpu100 float64) {
	t.Helper()
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	text := fmt.Sprintf(`
## skiff-kubelet: pod startup, RSS and CPU (%s)

Machine: %d cores (%s), %s; containerd %s with runc; one skiff-kubelet
process against an in-process apiserver, pods of skiff.dev/testserver:1.0
(image already imported), each a pause sandbox and one app container, in
a lab network namespace. `+"`make bench-kubelet`"+`. The machine was shared:
1-minute load average %s.

| measure | value | goal |
|---|---|---|
| pod startup p50 (30 pods created together, created → Running) | %s | |
| pod startup p99 | %s | < 2 s (Kubernetes' SLO 5 s) |
| kubelet RSS, 30 pods running | %.1f MB | |
| kubelet CPU, 30 pods running | %.1f %% of a core | |
| kubelet RSS, 100 pods running | %.1f MB | < 50 MB |
| kubelet CPU, 100 pods running | %.1f %% of a core | |
`, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), model, memTotal(), containerdVersion(), load,
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), rss30, cpu30, rss100, cpu100)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return fmt.Sprintf("%.0f GB RAM", kb/1024/1024)
		}
	}
	return "unknown RAM"
}

func containerdVersion() string {
	out, err := exec.Command("containerd", "--version").Output()
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(out))
	return f[len(f)-1]
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
