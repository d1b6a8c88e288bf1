package test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"skiff.dev/kubelet/internal/images"
	"skiff.dev/kubelet/internal/logs"
	"skiff.dev/kubelet/internal/testutil"
	"skiff.dev/proto/client"
	corev1 "skiff.dev/proto/core/v1"
)

// TestGracePeriod: deleting a pod sends SIGTERM to its containers, waits
// the grace period for one that ignores it, kills it, tears the network
// down and confirms the deletion; nothing of the pod is left.
func TestGracePeriod(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	stubborn := testServer("stubborn", "--listen=:8081")
	stubborn.Env = []*corev1.EnvVar{{Name: "IGNORE_SIGTERM", Value: "1"}}
	pod := testPod("grace", testServer("polite"), stubborn)
	grace := int32(3)
	pod.Spec.TerminationGracePeriodSeconds = &grace
	created := k.CreatePod(t, pod)
	k.WaitPod(t, "default", "grace", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })

	start := time.Now()
	if err := k.Client.CoreV1().Pods("default").Delete(context.Background(), "grace", client.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, waitLong, "pod deletion confirmed", func() error {
		_, err := k.Client.CoreV1().Pods("default").Get(context.Background(), "grace")
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("pod still there: %v", err)
	})
	if took := time.Since(start); took < 3*time.Second {
		t.Errorf("pod gone after %s, before its 3 s grace period", took)
	}
	uid := created.GetMetadata().GetUid()
	for _, c := range []string{"polite", "stubborn"} {
		b, _ := os.ReadFile(logs.Path(k.LogDir, "default", "grace", uid, c, 0))
		if !strings.Contains(string(b), "got signal terminated") {
			t.Errorf("container %s did not get SIGTERM; its log:\n%s", c, b)
		}
	}
	if n := k.Node.Pods(); n != 0 {
		t.Errorf("%d pod networks left, want 0", n)
	}
	left, err := k.Runtime.List(context.Background())
	if err != nil || len(left) != 0 {
		t.Errorf("containers left: %d (%v), want 0", len(left), err)
	}
}

// TestRestartKeepsContainers: a restarted kubelet picks its running
// containers back up: same container, same IP, no duplicates.
func TestRestartKeepsContainers(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	k.CreatePod(t, testPod("keep", testServer("app")))
	before := k.WaitPod(t, "default", "keep", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	k2 := k.Restart(t)
	after := k2.WaitPod(t, "default", "keep", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	if a, b := containerStatus(after, "app"), containerStatus(before, "app"); a.GetContainerId() != b.GetContainerId() || a.GetRestartCount() != 0 {
		t.Errorf("after restart: container %s restarts %d, want %s and 0", a.GetContainerId(), a.GetRestartCount(), b.GetContainerId())
	}
	if after.GetStatus().GetPodIp() != before.GetStatus().GetPodIp() {
		t.Errorf("pod IP %s after restart, want %s", after.GetStatus().GetPodIp(), before.GetStatus().GetPodIp())
	}
	code, body, err := k2.Get(after.GetStatus().GetPodIp(), 8080, "/")
	if err != nil || code != 200 || strings.TrimSpace(body) != "keep" {
		t.Errorf("GET / after restart = %d %q %v", code, body, err)
	}
	cs, err := k2.Runtime.List(context.Background())
	if err != nil || len(cs) != 2 {
		t.Errorf("containers after restart: %d (%v), want 2 (sandbox and app)", len(cs), err)
	}
}

// TestImageFromRegistry: an image not in --image-dir is pulled from a
// registry on loopback (plain HTTP, as containerd's CRI allows), with
// Kubernetes' Pulling and Pulled events.
func TestImageFromRegistry(t *testing.T) {
	t.Parallel()
	reg := testutil.StartRegistry(t)
	if err := reg.Push(testutil.ImageArchive(images.TestServer), "lab/web", "2.0"); err != nil {
		t.Fatal(err)
	}
	k := testutil.Start(t, testutil.Options{})
	image := reg.Host + "/lab/web:2.0"
	k.CreatePod(t, testPod("pulled", &corev1.Container{Name: "app", Image: image}))
	p := k.WaitPod(t, "default", "pulled", waitLong, "running and ready", func(p *corev1.Pod) bool { return running(p) && ready(p) })
	code, body, err := k.Get(p.GetStatus().GetPodIp(), 8080, "/")
	if err != nil || code != 200 || strings.TrimSpace(body) != "pulled" {
		t.Errorf("GET / = %d %q %v", code, body, err)
	}
	ev := reasons(t, k, "pulled")
	for _, want := range []string{fmt.Sprintf("Pulling: Pulling image %q", image), fmt.Sprintf("Pulled: Successfully pulled image %q in ", image)} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %q:\n%s", want, ev)
		}
	}
}

// TestLeftoversCollected: a pod deleted while the kubelet was down leaves
// containers and a network behind; the restarted kubelet removes them.
func TestLeftoversCollected(t *testing.T) {
	t.Parallel()
	k := testutil.Start(t, testutil.Options{})
	k.CreatePod(t, testPod("gone", testServer("app")))
	k.WaitPod(t, "default", "gone", waitLong, "running", running)
	k.Stop()
	zero := int64(0)
	if err := k.Client.CoreV1().Pods("default").Delete(context.Background(), "gone", client.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	k2 := k.Restart(t)
	eventually(t, waitLong, "leftovers removed", func() error {
		cs, err := k2.Runtime.List(context.Background())
		if err != nil || len(cs) != 0 || k2.Node.Pods() != 0 {
			return fmt.Errorf("%d containers (%v), %d networks left", len(cs), err, k2.Node.Pods())
		}
		return nil
	})
}
