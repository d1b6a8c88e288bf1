package test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
	"skiff.dev/e2e/lab"
)

// Node-loss timings for the lab's controller-manager: a node silent for
// gracePeriod (two of the kubelet's 10 s lease renewals) is not ready, its
// pods are evicted evictionTimeout later.
const (
	gracePeriod     = 20 * time.Second
	evictionTimeout = 10 * time.Second
)

// TestNodeLoss unplugs node n2 (its cable pulled: no kubelet heartbeat, no
// traffic): n2 turns not ready, its pod is replaced on n1 and the Service
// answers only from live pods; plugged back, n2 is Ready again and web has
// exactly its two pods, the evicted one gone from the API and from n2.
func TestNodeLoss(t *testing.T) {
	l := startSeedCluster(t, map[string][]string{"controller-manager": {
		"--node-monitor-grace-period", gracePeriod.String(), "--node-monitor-period", "2s",
		"--pod-eviction-timeout", evictionTimeout.String(),
	}})
	pods, svc := createWebService(t, l)
	url := svc.clusterURL()
	var lost pod
	for _, p := range pods {
		if p.Spec.NodeName == "n2" {
			lost = p
		}
	}
	if lost.Metadata.Name == "" {
		t.Fatalf("no pod on n2: %v", pods)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.Unplug(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	unplugged := time.Now()
	plugged := false
	t.Cleanup(func() {
		if !plugged {
			_ = l.Plug(context.Background(), "n2")
		}
	})
	framework.Eventually(t, gracePeriod+time.Minute, time.Second, "n2 not ready", func(ctx context.Context) error {
		st, err := framework.NodeReadyStatus(ctx, l, admin, "n2")
		if err == nil && st == "True" {
			return fmt.Errorf("n2 Ready=%s", st)
		}
		return err
	})
	t.Logf("n2 not ready %s after the unplug (grace period %s)", time.Since(unplugged).Round(time.Second), gracePeriod)

	var live []pod
	framework.Eventually(t, podWait, time.Second, "n2's pod replaced on n1", func(ctx context.Context) error {
		all, err := webPods(ctx, l)
		if err != nil {
			return err
		}
		live = live[:0]
		for _, p := range all {
			if p.Metadata.DeletionTimestamp == nil {
				live = append(live, p)
			}
		}
		if len(live) != 2 {
			return fmt.Errorf("%d pods not being deleted, want 2: %v", len(live), all)
		}
		for _, p := range live {
			if p.Metadata.UID == lost.Metadata.UID || p.Spec.NodeName != "n1" || p.Status.Phase != "Running" || !p.ready() {
				return fmt.Errorf("want two Running, Ready pods on n1, none of them %s: %v", lost.Metadata.Name, all)
			}
		}
		return nil
	})
	t.Logf("replacement Ready on n1 %s after the unplug", time.Since(unplugged).Round(time.Second))
	waitServiceAnswers(t, l, "n1", url, 50, live)

	if err := l.Plug(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	plugged = true
	framework.WaitNodesReady(t, l, admin, 2*time.Minute, "n2")
	waitWebPods(t, l, 2, "web back to its two pods, the evicted one gone", func(now []pod) error {
		for i, p := range now {
			if p.Metadata.UID != live[i].Metadata.UID {
				return fmt.Errorf("pods %v, want exactly %v", now, live)
			}
		}
		return nil
	})
	framework.Eventually(t, podWait, time.Second, "no container of the evicted pod left on n2", func(ctx context.Context) error {
		ids := runningContainers(ctx, t, l, "n2")
		if len(ids) > 0 {
			return fmt.Errorf("containers still running on n2: %v", ids)
		}
		return nil
	})
}

// runningContainers lists the IDs of the running containers of node's
// containerd namespace, as runc sees them.
func runningContainers(ctx context.Context, t *testing.T, l *lab.Lab, node string) []string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "runc", "--root", "/run/containerd/runc/"+l.Config().Prefix+"-"+node, "list", "-q").CombinedOutput()
	if err != nil {
		// No state directory: runc has never run a container there.
		if strings.Contains(string(out), "no such file") {
			return nil
		}
		t.Fatalf("runc list on %s: %v\n%s", node, err, out)
	}
	return strings.Fields(string(out))
}

// TestNodeDaemonsRestart restarts the kubelet, then kube-proxy, of n1
// while a client on n2 sends requests to the Service all the time: no
// request fails, and the pods keep their containers (same IDs, no
// restart).
func TestNodeDaemonsRestart(t *testing.T) {
	l := startSeedCluster(t, nil)
	pods, svc := createWebService(t, l)
	url := svc.clusterURL()
	waitServiceAnswers(t, l, "n2", url, 10, pods)

	// A client on n1, whose kube-proxy restarts, asks until stopped.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	answers := map[string]int{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 10000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			got, err := askMany(ctx, l, "n1", url, 5)
			cancel()
			mu.Lock()
			if err != nil {
				answers["error: "+err.Error()]++
			}
			for a, n := range got {
				answers[a] += n
			}
			mu.Unlock()
		}
	}()
	stopClient := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	t.Cleanup(stopClient)

	for _, d := range []string{"kubelet", "kube-proxy"} {
		old, err := l.Proc("n1", d)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		p, err := l.Restart(ctx, "n1", d)
		cancel()
		if err != nil {
			t.Fatalf("restart n1/%s: %v", d, err)
		}
		if old.Alive() || !p.Alive() || p.PID == old.PID {
			t.Fatalf("restart n1/%s: old pid %d alive=%v, new pid %d alive=%v", d, old.PID, old.Alive(), p.PID, p.Alive())
		}
		t.Logf("n1/%s restarted: pid %d, then %d", d, old.PID, p.PID)
	}
	framework.WaitNodesReady(t, l, admin, 2*time.Minute, "n1")
	// The restarted kubelet has synced its pods; they must stay as they
	// were while it runs on.
	for i := 0; i < 10; i++ {
		now := waitWebPods(t, l, 2, "web's pods still Running and Ready", nil)
		for j, p := range now {
			if p.Metadata.UID != pods[j].Metadata.UID || p.containerID() != pods[j].containerID() || p.restarts() != 0 {
				t.Fatalf("pods after the restarts %v (containers %s, %s), want untouched %v (containers %s, %s)",
					now, now[0].containerID(), now[len(now)-1].containerID(), pods, pods[0].containerID(), pods[1].containerID())
			}
		}
		time.Sleep(time.Second)
	}
	stopClient()
	t.Logf("answers during the restarts: %v", answers)
	if err := answeredBy(answers, pods, true); err != nil {
		t.Errorf("the Service during the restarts: %v", err)
	}
}
