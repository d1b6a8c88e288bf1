package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "skiff.dev/proto/core/v1"
	"skiff.dev/proto/stats"
)

// TestPortForwardAndStats: `skiffctl port-forward`'s and `skiffctl top`'s
// paths into a real pod: the client's PortForward through the apiserver's
// pods/portforward to the daemon's kubelet API, which connects to the
// port inside the pod's network namespace (a port nobody listens on comes
// back as the kubelet's error); and the node's Summary through the
// apiserver's node proxy, with the busy container's CPU rate and memory
// read from its cgroup.
func TestPortForwardAndStats(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, daemonOptions{node: "node-pf", containerdNS: "skk-pf", netNSPrefix: "ske-pf", podCIDR: "10.250.6.0/24"})
	d.k.CreatePod(t, testPod("web", testServer("app", "--spin-percent=20", "--alloc-mb=16")))
	d.k.WaitPod(t, "default", "web", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	local, remote := net.Pipe()
	done := make(chan error, 1)
	go func() {
		err := d.client.PortForward(ctx, "default", "web", 8080, remote)
		remote.Close() // the local connection ends with the stream, as skiffctl closes it
		done <- err
	}()
	fmt.Fprint(local, "GET / HTTP/1.0\r\n\r\n")
	b, _ := io.ReadAll(local)
	if err := <-done; err != nil {
		t.Errorf("PortForward: %v", err)
	}
	if _, body, _ := strings.Cut(string(b), "\r\n\r\n"); body != "web\n" {
		t.Errorf("GET / through port-forward: %q, want the pod's name", b)
	}

	local, remote = net.Pipe()
	go func() { _, _ = io.Copy(io.Discard, local) }()
	err := d.client.PortForward(ctx, "default", "web", 9999, remote)
	want := "error forwarding port 9999 to pod web: failed to connect to localhost:9999 inside the pod's network namespace: dial tcp4 127.0.0.1:9999: connect: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("port 9999: %v, want %q", err, want)
	}

	eventually(t, waitLong, "the summary shows the busy container", func() error {
		b, err := d.client.RESTGet(ctx, "/api/v1/nodes/node-pf/proxy/stats/summary")
		if err != nil {
			return err
		}
		var s stats.Summary
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s.Node.NodeName != "node-pf" || s.Node.CPU.UsageNanoCores == nil || *s.Node.Memory.WorkingSetBytes == 0 {
			return fmt.Errorf("node %+v", s.Node)
		}
		for _, p := range s.Pods {
			if p.PodRef.Name != "web" || len(p.Containers) != 1 {
				continue
			}
			c := p.Containers[0]
			if c.Name != "app" || c.CPU.UsageNanoCores == nil || *c.CPU.UsageNanoCores < 20_000_000 || *c.Memory.WorkingSetBytes < 16<<20 {
				return fmt.Errorf("container %s: cpu %v memory %v, want over 20m (spinning 20%%) and 16 MiB", c.Name, c.CPU.UsageNanoCores, *c.Memory.WorkingSetBytes)
			}
			return nil
		}
		return fmt.Errorf("no pod web in %+v", s.Pods)
	})
}
