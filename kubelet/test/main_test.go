// Package test runs the kubelet against a real in-process apiserver, a
// containerd of the tests' own with runc, and lab network namespaces.
package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"skiff.dev/kubelet/internal/images"
	"skiff.dev/kubelet/internal/testutil"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
	metav1 "skiff.dev/proto/meta/v1"
)

func TestMain(m *testing.M) { testutil.Main(m) }

const waitLong = 90 * time.Second

func testPod(name string, containers ...*corev1.Container) *corev1.Pod {
	grace := int32(2)
	return &corev1.Pod{
		Metadata: &metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:     &corev1.PodSpec{Containers: containers, TerminationGracePeriodSeconds: &grace},
	}
}

func testServer(name string, args ...string) *corev1.Container {
	return &corev1.Container{Name: name, Image: images.TestServer, Args: args}
}

func running(p *corev1.Pod) bool {
	return p.GetStatus().GetPhase() == "Running" && p.GetStatus().GetPodIp() != ""
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == "Ready" {
			return c.GetStatus() == "True"
		}
	}
	return false
}

func condition(p *corev1.Pod, typ string) string {
	for _, c := range p.GetStatus().GetConditions() {
		if c.GetType() == typ {
			return c.GetStatus()
		}
	}
	return ""
}

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, s := range p.GetStatus().GetContainerStatuses() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

// eventually retries f until it returns nil or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, timeout, err)
}

// reasons are the reasons of the pod's events.
func reasons(t *testing.T, k *testutil.Kubelet, pod string) string {
	t.Helper()
	list, err := k.Client.CoreV1().Events("default").List(context.Background(), client.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []string
	for _, e := range list.GetItems() {
		if e.GetInvolvedObject().GetName() == pod {
			out = append(out, e.GetReason()+": "+e.GetMessage())
		}
	}
	return strings.Join(out, "\n")
}
