package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// TestServiceClusterIPAndNodePort exposes web (two pods, one per node) as
// a NodePort Service: from node n2, 50 requests to the ClusterIP are all
// answered, by both pods; from the master (no kube-proxy there), the
// NodePort answers on every node's address.
func TestServiceClusterIPAndNodePort(t *testing.T) {
	l := startSeedCluster(t, nil)
	pods, svc := createWebService(t, l)
	waitServiceAnswers(t, l, "n2", svc.clusterURL(), 50, pods)

	for _, node := range nodes {
		h, err := l.Host(node)
		if err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("http://%s:%d/", h.IP, svc.Spec.Ports[0].NodePort)
		framework.Eventually(t, time.Minute, time.Second, "NodePort "+url+" answers from m1", func(ctx context.Context) error {
			out, err := l.Exec(ctx, admin, "curl", "-s", "--max-time", "5", url)
			if err != nil {
				return err
			}
			return answeredBy(map[string]int{strings.TrimSpace(out): 1}, pods, false)
		})
	}
}

// TestSelfHealing: a container whose process is killed is restarted in
// its pod (restartCount 1, Ready again); a deleted pod is replaced by a new
// one; scaling 2 → 5 → 1 ends with that many pods Running and Ready.
func TestSelfHealing(t *testing.T) {
	l := startSeedCluster(t, nil)
	pods := createWeb(t, l, 2)

	victim := pods[0]
	killContainer(t, l, victim)
	waitWebPods(t, l, 2, "the killed container restarted in its pod", func(now []pod) error {
		for _, p := range now {
			switch {
			case p.Metadata.UID != victim.Metadata.UID:
			case p.restarts() != 1:
				return fmt.Errorf("pod %v: restartCount %d, want 1", p, p.restarts())
			case p.containerID() == victim.containerID():
				return fmt.Errorf("pod %v still reports the killed container %s", p, victim.containerID())
			default:
				return nil
			}
		}
		return fmt.Errorf("pod %s is gone: %v", victim.Metadata.Name, now)
	})

	deleted := pods[1]
	framework.Skiffctl(t, l, admin, "delete", "pod", deleted.Metadata.Name)
	waitWebPods(t, l, 2, "the deleted pod replaced", func(now []pod) error {
		for _, p := range now {
			if p.Metadata.UID == deleted.Metadata.UID {
				return fmt.Errorf("deleted pod %v still there", p)
			}
		}
		return nil
	})

	for _, n := range []int{5, 1} {
		framework.Skiffctl(t, l, admin, "scale", "deployment", "web", fmt.Sprintf("--replicas=%d", n))
		waitWebPods(t, l, n, fmt.Sprintf("web scaled to %d", n), nil)
	}
}
