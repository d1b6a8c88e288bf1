package pods

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"skiff.dev/kubelet/internal/nsdial"
	"skiff.dev/kubelet/internal/podruntime"
	corev1 "skiff.dev/proto/core/v1"
)

// PortForward connects to port on the loopback of a running pod of this
// node, from inside its network namespace (a hostNetwork pod's is the
// node's), as Kubernetes' container runtimes do for port-forward.
func (m *Manager) PortForward(ctx context.Context, namespace, pod string, port uint16) (net.Conn, error) {
	p, w, err := m.worker(namespace, pod)
	if err != nil {
		return nil, err
	}
	netns := ""
	if !p.GetSpec().GetHostNetwork() {
		w.mu.Lock()
		netns = w.net.NetNSPath
		w.mu.Unlock()
		if netns == "" {
			return nil, fmt.Errorf("pod %q in namespace %q has no network namespace yet", pod, namespace)
		}
	}
	conn, err := nsdial.Dial(ctx, netns, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("failed to connect to localhost:%d inside the pod's network namespace: %w", port, err)
	}
	return conn, nil
}

// worker finds a pod of this node and its worker.
func (m *Manager) worker(namespace, pod string) (*corev1.Pod, *worker, error) {
	p, err := m.pods.Get(namespace, pod)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%q in namespace %q)", ErrPodNotFound, pod, namespace)
	}
	m.mu.Lock()
	w := m.workers[p.GetMetadata().GetUid()]
	m.mu.Unlock()
	if w == nil {
		return nil, nil, fmt.Errorf("%w (%q in namespace %q): not started on this node yet", ErrPodNotFound, pod, namespace)
	}
	return p, w, nil
}

// RunningPod is a pod of this node with its running containers, for stats.
type RunningPod struct {
	Namespace, Name, UID string
	StartTime            time.Time
	Containers           []*podruntime.Container
}

// Running lists the pods of this node that have running containers.
func (m *Manager) Running() []RunningPod {
	m.mu.Lock()
	workers := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		workers = append(workers, w)
	}
	m.mu.Unlock()
	var out []RunningPod
	for _, w := range workers {
		w.mu.Lock()
		pod := w.pod
		rp := RunningPod{UID: w.uid, StartTime: w.startTime}
		for _, cs := range w.containers {
			if cs.cur != nil && cs.cur.State().Running {
				rp.Containers = append(rp.Containers, cs.cur)
			}
		}
		w.mu.Unlock()
		if pod == nil || len(rp.Containers) == 0 {
			continue
		}
		rp.Namespace, rp.Name = pod.GetMetadata().GetNamespace(), pod.GetMetadata().GetName()
		out = append(out, rp)
	}
	return out
}
