package stats

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/kubelet/internal/pods"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeHost writes /proc/stat and /proc/meminfo and a cgroup v1 tree with
// one container (cpu in ns, memory in bytes).
func fakeHost(t *testing.T, proc, cg string, nodeTicks, ctrCPU uint64) {
	write(t, filepath.Join(proc, "stat"), "cpu  "+strconv.FormatUint(nodeTicks, 10)+" 0 0 1000 50 0 0 0 0 0\ncpu0 1 2 3 4\n")
	write(t, filepath.Join(proc, "meminfo"), "MemTotal:       4194304 kB\nMemFree:        1048576 kB\nMemAvailable:   2097152 kB\nInactive(file):  524288 kB\nAnonPages:       262144 kB\n")
	write(t, filepath.Join(cg, "cpuacct", "skiff", "c1", "cpuacct.usage"), strconv.FormatUint(ctrCPU, 10)+"\n")
	write(t, filepath.Join(cg, "memory", "skiff", "c1", "memory.usage_in_bytes"), "50331648\n")
	write(t, filepath.Join(cg, "memory", "skiff", "c1", "memory.stat"), "cache 100\ntotal_rss 33554432\ntotal_inactive_file 8388608\n")
}

func TestProvider(t *testing.T) {
	dir := t.TempDir()
	proc, cg := filepath.Join(dir, "proc"), filepath.Join(dir, "cgroup")
	fakeHost(t, proc, cg, 1000, 2_000_000_000)
	ctr := &podruntime.Container{ID: "c1", Name: "app"}
	p := New(zaptest.NewLogger(t), Config{
		NodeName: "n1", CgroupRoot: cg, ProcRoot: proc, MinInterval: time.Nanosecond,
		Running: func() []pods.RunningPod {
			return []pods.RunningPod{{Namespace: "default", Name: "web", UID: "u1", Containers: []*podruntime.Container{ctr}}}
		},
		CgroupPath: func(context.Context, *podruntime.Container) (string, error) { return "/skiff/c1", nil },
	})
	ctx := context.Background()
	s, err := p.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node.CPU.UsageNanoCores != nil || *s.Node.CPU.UsageCoreNanoSeconds != 1000*1e7 {
		t.Errorf("first sample: node cpu %+v, want cumulative only", s.Node.CPU)
	}
	if *s.Node.Memory.WorkingSetBytes != (3<<30)-(512<<20) || *s.Node.Memory.AvailableBytes != 2<<30 {
		t.Errorf("node memory %+v", s.Node.Memory)
	}
	if len(s.Pods) != 1 || len(s.Pods[0].Containers) != 1 || *s.Pods[0].Memory.WorkingSetBytes != 40<<20 || *s.Pods[0].Containers[0].Memory.RSSBytes != 32<<20 {
		t.Fatalf("pods %+v", s.Pods)
	}
	time.Sleep(20 * time.Millisecond)
	fakeHost(t, proc, cg, 1100, 2_500_000_000) // +1 s of node CPU, +0.5 s of the container's
	s, err = p.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Node.CPU.UsageNanoCores == nil || *s.Node.CPU.UsageNanoCores == 0 {
		t.Fatalf("second sample: node cpu %+v, want a rate", s.Node.CPU)
	}
	ctrRate, podRate := s.Pods[0].Containers[0].CPU.UsageNanoCores, s.Pods[0].CPU.UsageNanoCores
	if ctrRate == nil || podRate == nil || *ctrRate != *podRate || *ctrRate*2 < *s.Node.CPU.UsageNanoCores-1 || *ctrRate*2 > *s.Node.CPU.UsageNanoCores+1 {
		t.Errorf("container rate %v, pod %v, node %d: want the container at half the node's", ctrRate, podRate, *s.Node.CPU.UsageNanoCores)
	}
}

func TestReadUsageV2(t *testing.T) {
	cg := t.TempDir()
	write(t, filepath.Join(cg, "skiff", "c1", "cpu.stat"), "usage_usec 1500\nuser_usec 1000\n")
	write(t, filepath.Join(cg, "skiff", "c1", "memory.current"), "10485760\n")
	write(t, filepath.Join(cg, "skiff", "c1", "memory.stat"), "anon 4194304\ninactive_file 2097152\n")
	got, err := podruntime.ReadUsage(cg, "/skiff/c1")
	want := podruntime.Usage{CPUNanoseconds: 1_500_000, MemoryUsage: 10 << 20, MemoryWorkingSet: 8 << 20, MemoryRSS: 4 << 20}
	if err != nil || got != want {
		t.Errorf("%+v %v, want %+v", got, err, want)
	}
	if _, err := podruntime.ReadUsage(cg, "/skiff/gone"); err == nil {
		t.Error("usage of a missing cgroup")
	}
}
