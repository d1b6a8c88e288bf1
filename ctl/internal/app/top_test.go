package app

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"skiff.dev/kubelet/kubelettest"
	"skiff.dev/proto/stats"
)

func TestTopFormatting(t *testing.T) {
	for _, c := range []struct {
		nano uint64
		want string
	}{{0, "0m"}, {1, "1m"}, {1_000_000, "1m"}, {1_000_001, "2m"}, {12_300_000, "13m"}, {2_000_000_000, "2000m"}} {
		if got := formatCPU(c.nano); got != c.want {
			t.Errorf("formatCPU(%d) = %q, want %q", c.nano, got, c.want)
		}
	}
	for _, c := range []struct {
		bytes uint64
		want  string
	}{{0, "0Mi"}, {1<<20 - 1, "0Mi"}, {34 << 20, "34Mi"}, {34<<20 + 999, "34Mi"}} {
		if got := formatMemory(c.bytes); got != c.want {
			t.Errorf("formatMemory(%d) = %q, want %q", c.bytes, got, c.want)
		}
	}
	for _, c := range []struct {
		milli int64
		avail string
		want  string
	}{{250, "2", "12%"}, {1000 * (1 << 30), "4Gi", "25%"}, {999, "1", "99%"}} {
		if got, ok := percent(c.milli, c.avail); !ok || got != c.want {
			t.Errorf("percent(%d, %s) = %q, want %q", c.milli, c.avail, got, c.want)
		}
	}
	if _, ok := percent(1, ""); ok {
		t.Error("percent of nothing")
	}
}

// TestTop: skiffctl top reads every node's Summary through the apiserver's
// node proxy and prints kubectl's tables.
func TestTop(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	now := time.Now()
	summary := &stats.Summary{
		Node: stats.NodeStats{NodeName: "node-1", CPU: &stats.CPUStats{Time: now, UsageNanoCores: u(250_000_000)},
			Memory: &stats.MemoryStats{Time: now, WorkingSetBytes: u(1 << 30)}},
		Pods: []stats.PodStats{
			{PodRef: stats.PodReference{Name: "web", Namespace: "default"}, Containers: []stats.ContainerStats{
				{Name: "app", CPU: &stats.CPUStats{UsageNanoCores: u(12_000_000)}, Memory: &stats.MemoryStats{WorkingSetBytes: u(34 << 20)}},
				{Name: "side", CPU: &stats.CPUStats{UsageNanoCores: u(1_500_000)}, Memory: &stats.MemoryStats{WorkingSetBytes: u(5 << 20)}},
			}},
			{PodRef: stats.PodReference{Name: "fresh", Namespace: "default"}, Containers: []stats.ContainerStats{
				{Name: "app", CPU: &stats.CPUStats{}, Memory: &stats.MemoryStats{WorkingSetBytes: u(1 << 20)}}, // no rate yet
			}},
		},
	}
	e := newKubeletEnv(t, kubelettest.Options{Summary: func(context.Context) (*stats.Summary, error) { return summary, nil }})
	e.node("node-1", e.k.Port)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e.node("node-2", down) // its kubelet does not answer
	n := e.rest("GET", "/api/v1/nodes/node-1", "")
	n["status"].(map[string]any)["allocatable"] = map[string]any{"cpu": "2", "memory": "4Gi"}
	b, _ := json.Marshal(n)
	e.rest("PUT", "/api/v1/nodes/node-1/status", string(b))
	summary.Pods[0].PodRef.UID = e.pod("web", "node-1", "app", "side")
	summary.Pods[1].PodRef.UID = e.pod("fresh", "node-1", "app")

	for _, c := range []struct {
		args []string
		out  string
	}{
		{[]string{"top", "node"}, "" +
			"NAME     CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n" +
			"node-1   250m         12%         1024Mi          25%         \n" +
			"node-2   <unknown>    <unknown>   <unknown>       <unknown>   \n"},
		{[]string{"top", "pods"}, "" +
			"NAME   CPU(cores)   MEMORY(bytes)   \n" +
			"web    14m          39Mi            \n"},
		{[]string{"top", "pod", "web", "--containers"}, "" +
			"POD   NAME   CPU(cores)   MEMORY(bytes)   \n" +
			"web   app    12m          34Mi            \n" +
			"web   side   2m           5Mi             \n"},
		{[]string{"top", "pod", "-A", "--no-headers"}, "" +
			"default   web   14m   39Mi   \n"},
	} {
		out, errOut, code := e.run(c.args...)
		if code != 0 || out != c.out || errOut != "" {
			t.Errorf("skiffctl %s: exit %d stderr %q\n%s\nwant\n%s", strings.Join(c.args, " "), code, errOut, out, c.out)
		}
	}
	out, errOut, code := e.run("top", "pod", "fresh")
	if code != 1 || out != "" || errOut != "error: metrics not available yet\n" {
		t.Errorf("top pod fresh: exit %d %q %q", code, out, errOut)
	}
	out, errOut, code = e.run("top", "pod", "-n", "empty")
	if code != 0 || out != "" || errOut != "No resources found in empty namespace.\n" {
		t.Errorf("top pod in an empty namespace: exit %d %q %q", code, out, errOut)
	}
}
