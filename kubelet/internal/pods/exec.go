package pods

import (
	"context"
	"errors"
	"fmt"
	"io"

	"skiff.dev/kubelet/internal/podruntime"
	"skiff.dev/proto/remotecommand"
)

// Errors of Exec, in the words of Kubernetes' kubelet.
var (
	ErrPodNotFound         = errors.New("pod not found")
	ErrContainerNotFound   = errors.New("container not found")
	ErrContainerNotRunning = errors.New("container not running")
)

// Exec runs cmd in the running container of a pod of this node with the
// given streams and returns its exit code (the kubelet API's executor).
func (m *Manager) Exec(ctx context.Context, namespace, pod, container string, cmd []string,
	stdin io.Reader, stdout, stderr io.Writer, tty bool, resize <-chan remotecommand.TerminalSize) (int, error) {
	c, err := m.runningContainer(namespace, pod, container)
	if err != nil {
		return 0, err
	}
	return m.rt.Exec(ctx, c, cmd, podruntime.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr, TTY: tty, Resize: resize})
}

// ContainerRunning says whether the container of a pod of this node runs
// now (the kubelet API ends a followed log when it does not).
func (m *Manager) ContainerRunning(namespace, pod, container string) bool {
	_, err := m.runningContainer(namespace, pod, container)
	return err == nil
}

// runningContainer finds a container of the pod's spec that runs now.
func (m *Manager) runningContainer(namespace, pod, container string) (*podruntime.Container, error) {
	p, err := m.pods.Get(namespace, pod)
	if err != nil {
		return nil, fmt.Errorf("%w (%q in namespace %q)", ErrPodNotFound, pod, namespace)
	}
	inSpec := false
	for _, c := range p.GetSpec().GetContainers() {
		inSpec = inSpec || c.GetName() == container
	}
	if !inSpec {
		return nil, fmt.Errorf("%w (%q)", ErrContainerNotFound, container)
	}
	m.mu.Lock()
	w := m.workers[p.GetMetadata().GetUid()]
	m.mu.Unlock()
	var c *podruntime.Container
	if w != nil {
		c = w.current(container)
	}
	if c == nil || !c.State().Running {
		return nil, fmt.Errorf("%w (%q)", ErrContainerNotRunning, container)
	}
	return c, nil
}
